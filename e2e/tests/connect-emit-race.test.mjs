// Connect, then emit at once. The official client buffers an emit made right after
// `io()` and flushes it the moment the CONNECT ack arrives, so the command reaches the
// server immediately after it acknowledged the connection. socketioxide sends that ack
// before handlers registered inside a connect handler exist; Chorus must register its
// handlers earlier. Every single ack must arrive.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, emitOk, rawSocket, startServer, stopServer, token, uid,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

const ITERATIONS = Number(process.env.E2E_RACE_ITERATIONS || 2000);
const TIME_BUDGET_MS = Number(process.env.E2E_RACE_BUDGET_MS || 40_000);
const PARALLEL = 8;
const ACK_TIMEOUT_MS = 5_000;

function oneRound(i, contentId) {
  const transports = i % 2 === 0 ? ['websocket'] : ['polling', 'websocket'];
  const userId = `race-${i}`;
  const socket = rawSocket(token(userId), { transports });
  // Synchronously after io(): the socket is not connected yet, the client buffers this.
  const connectedAtEmit = socket.connected;
  const ack = socket.timeout(ACK_TIMEOUT_MS).emitWithAck('content:join', { contentId });
  // Diagnostics only, to tell a lost ack from a failed handshake in the report.
  const seen = [];
  socket.on('connect', () => seen.push('connect'));
  socket.on('session:ready', () => seen.push('session:ready'));
  socket.on('connect_error', (e) => seen.push(`connect_error:${e.message}:${e.description?.message ?? e.description ?? ''}:${e.context?.status ?? ''}`));
  socket.on('disconnect', (r) => seen.push(`disconnect:${r}`));
  return ack.then(
    (res) => { socket.close(); return { i, connectedAtEmit, res, transports }; },
    (err) => { socket.close(); return { i, connectedAtEmit, err: err.message, transports, seen }; },
  );
}

test('a content:join emitted synchronously after io() is always acknowledged', { timeout: TIME_BUDGET_MS + 20_000 }, async () => {
  const contentId = uid('race');
  const started = Date.now();
  const failures = [];
  let done = 0;
  let next = 0;
  let emittedBeforeConnect = 0;
  async function worker() {
    while (next < ITERATIONS && Date.now() - started < TIME_BUDGET_MS && failures.length < 20) {
      const i = next++;
      const r = await oneRound(i, contentId);
      done++;
      if (!r.connectedAtEmit) emittedBeforeConnect++;
      if (r.err || r.res?.ok !== true || r.res.data?.contentId !== contentId) {
        failures.push({ i: r.i, transports: r.transports.join('+'), error: r.err, ack: r.res, seen: r.seen });
      }
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const elapsed = Date.now() - started;
  console.log(`connect-then-emit: ${done} rounds in ${elapsed} ms, ${failures.length} failures`);
  assert.ok(done >= Math.min(ITERATIONS, 200), `only ${done} rounds ran in ${elapsed} ms`);
  assert.equal(emittedBeforeConnect, done, 'every emit was made before the socket connected');
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${done} connect-then-emit rounds lost their ack`);
});

test('the server still answers normally after the connect storm', async () => {
  const s = await connect(token(uid('after')));
  const data = await emitOk(s, 'content:join', { contentId: uid('c') });
  assert.equal(data.viewerCount, 1);
  s.close();
});
