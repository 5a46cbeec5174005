// PROTOCOL.md §12 operations endpoints, and graceful shutdown with clients attached.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, emitOk, rest, startServer, stopServer, token, uid, waitDisconnect,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

test('GET /healthz and GET /readyz answer 200', async () => {
  assert.equal((await rest('GET', '/healthz')).status, 200);
  const ready = await rest('GET', '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.body, { status: 'ready', redis: 'off', database: 'ok' });
});

test('GET /metrics exposes chorus_* metrics in the Prometheus text format', async () => {
  // some activity first, so that there is something to expose
  const s = await connect(token(uid('u')));
  const contentId = uid('c');
  await emitOk(s, 'content:join', { contentId });
  await emitOk(s, 'content:like', { contentId });
  const metrics = await rest('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(String(metrics.body), /^# TYPE \w+ (counter|gauge|histogram|summary)$/m, `Prometheus text format: ${String(metrics.body).slice(0, 300)}`);
  assert.match(String(metrics.body), /^chorus_\w+(\{[^}]*\})? [0-9.e+-]+$/m, 'chorus_* samples');
  // the like is a domain event, counted off the event stream
  const liked = String(metrics.body).match(/^chorus_domain_events_total\{area="content"\} (\d+)$/m);
  assert.ok(liked && Number(liked[1]) >= 1, `chorus_domain_events_total{area="content"}: ${String(metrics.body).slice(0, 2000)}`);
  s.close();
});

test('GET /openapi.json is an OpenAPI 3 document that describes the content API', async () => {
  const openapi = await rest('GET', '/openapi.json');
  assert.equal(openapi.status, 200);
  assert.equal(typeof openapi.body, 'object', 'openapi.json is JSON');
  assert.match(String(openapi.body.openapi), /^3\./);
  const paths = Object.keys(openapi.body.paths ?? {});
  for (const p of ['/api/content/{id}', '/api/content/{id}/like', '/api/content/{id}/comments', '/api/server/emit']) {
    assert.ok(paths.includes(p), `${p} documented; paths: ${JSON.stringify(paths)}`);
  }
});

test('an unknown REST route answers 404 with the error envelope', async () => {
  const r = await rest('GET', `/api/${uid('nothing')}`, { token: token(uid('u')) });
  assert.equal(r.status, 404);
  assert.equal(r.body.success, false);
  assert.equal(r.body.error.code, 'not_found');
});

// Runs last in this file: it stops the server.
test('SIGTERM with clients still connected: they are disconnected and the server exits 0', { timeout: 20_000 }, async () => {
  const ws = await connect(token(uid('ws')), { transports: ['websocket'] });
  const poll = await connect(token(uid('poll')), { transports: ['polling'] });
  const contentId = uid('c');
  await emitOk(ws, 'content:join', { contentId });
  await emitOk(poll, 'content:join', { contentId });
  const wsGone = waitDisconnect(ws, 15_000);
  const pollGone = waitDisconnect(poll, 15_000);
  const exit = await stopServer({ closeSockets: false });
  assert.equal(exit.code, 0);
  await wsGone;
  await pollGone;
});
