// Issue 18 §2: a reconnect storm from one address comes back whole. 150 official
// clients in one process connect at once, are frozen (SIGSTOP) past the ping timeout,
// so the server drops every connection, and are resumed: all 150 reconnect at the
// same moment, well past the `connect_ip` burst (100). The address rate is taken on
// the Engine.IO handshake, where a refusal (HTTP 429) is a transport error that the
// client's reconnection back-off retries, so every client comes back by itself.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { restOk, server, startServer, stopServer, uid } from '../lib/server.mjs';

const CLIENTS = 150;
const PING_INTERVAL_MS = 400;
const PING_TIMEOUT_MS = 400;
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'storm-clients.mjs');

before(() => startServer({
  env: {
    // the real limits, defaults included (connect_ip: 20/s, burst 100)
    CHORUS_RATE_LIMITS_ENABLED: 'true',
    CHORUS_PING_INTERVAL_MS: String(PING_INTERVAL_MS),
    CHORUS_PING_TIMEOUT_MS: String(PING_TIMEOUT_MS),
  },
}));
after(() => stopServer());

function crowd() {
  const child = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, CHORUS_URL: server().url, CHORUS_JWT_SECRET: server().jwtSecret, STORM_CLIENTS: String(CLIENTS), STORM_PREFIX: uid('storm') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const state = { child, ready: new Map(), refusals: [], gaveUp: new Set(), exited: false };
  child.on('exit', () => { state.exited = true; });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const ev = JSON.parse(line);
    if ('ready' in ev) state.ready.set(ev.ready, [...(state.ready.get(ev.ready) ?? []), ev.sid]);
    if ('refused' in ev) state.refusals.push(ev);
    if ('gaveUp' in ev) state.gaveUp.add(ev.gaveUp);
  });
  return state;
}

async function until(what, check, timeoutMs, state) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      const counts = [...state.ready.values()].map((s) => s.length);
      throw new Error(`${what} within ${timeoutMs} ms: ${state.ready.size} clients ready (sessions per client ${JSON.stringify(counts.slice(0, 20))}...), ${state.refusals.length} refusals (last ${JSON.stringify(state.refusals.slice(-3))}), gave up ${state.gaveUp.size}`);
    }
    await delay(100);
  }
}

async function connections() {
  return (await restOk('GET', '/api/server/stats', { serverKey: true })).connectedSockets;
}

/**
 * Waits (at most 10 s) until the server holds one connection per client. With pings
 * 400 ms apart on a loaded machine, one client may time out and come straight back
 * while the count is taken, so the count is read until it settles; a client that
 * stays away still fails.
 */
async function allConnected() {
  const deadline = Date.now() + 10_000;
  let held = await connections();
  while (held !== CLIENTS && Date.now() < deadline) {
    await delay(200);
    held = await connections();
  }
  assert.equal(held, CLIENTS, 'the server holds one connection per client');
}

test('150 clients frozen past the ping timeout, then resumed at once: every one comes back', { timeout: 120_000 }, async () => {
  const state = crowd();
  try {
    // The first connect is a storm already: 150 handshakes against a burst of 100.
    await until('every client connected', () => state.ready.size === CLIENTS, 45_000, state);
    await allConnected();

    state.child.kill('SIGSTOP');
    // The server times every connection out (interval + timeout), then closes it.
    const frozeAt = Date.now();
    for (;;) {
      if (await connections() === 0) break;
      assert.ok(Date.now() - frozeAt < 20_000, 'the server drops the frozen connections on their heartbeat timeout');
      await delay(200);
    }
    const refusedBefore = state.refusals.length;
    state.child.kill('SIGCONT');

    await until('every client reconnected after the freeze', () => [...state.ready.values()].filter((s) => s.length >= 2).length === CLIENTS, 60_000, state);
    assert.equal(state.gaveUp.size, 0, `no client gave up: ${JSON.stringify([...state.gaveUp])}`);
    const stormRefusals = state.refusals.slice(refusedBefore);
    assert.ok(stormRefusals.length > 0, 'the storm went past the connect_ip burst (otherwise this test proves nothing)');
    for (const r of stormRefusals) {
      assert.equal(r.description, 429, `a storm refusal is an HTTP 429 on the handshake, which the client retries: ${JSON.stringify(r)}`);
    }
    for (const [i, sids] of state.ready) assert.notEqual(sids[0], sids.at(-1), `client ${i} is on a new connection`);
    await allConnected();
  } finally {
    state.child.kill('SIGCONT');
    state.child.kill('SIGKILL');
  }
});
