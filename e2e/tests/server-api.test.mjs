// PROTOCOL.md §11 (+ §12 envelope): the app backend's server API.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  checkedSeq, connect, emitOk, expectRefused, rawSocket, rest, restOk, server, startServer, stopServer, token, uid, waitFor,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

// Missing or wrong credentials are 401 `unauthorized` with `WWW-Authenticate: Bearer`;
// valid credentials that may not do this (a user token) are 403 `forbidden`.
function assertRefused(r, status, what) {
  const code = { 401: 'unauthorized', 403: 'forbidden' }[status];
  assert.equal(r.status, status, `${what}: status ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body?.success, false, `${what}: envelope ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error?.code, code, `${what}: code in ${JSON.stringify(r.body)}`);
  assert.equal(r.headers.get('www-authenticate'), status === 401 ? 'Bearer' : null, `${what}: WWW-Authenticate`);
}

// Every numeric leaf of a JSON value, by dotted path.
function numericLeaves(v, prefix = '', out = {}) {
  if (typeof v === 'number') out[prefix] = v;
  else if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) numericLeaves(x, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

test('a user token, a wrong key or no key is refused on every server endpoint', async () => {
  const userTok = token(uid('u'));
  const calls = [
    ['GET', '/api/server/stats'],
    ['GET', '/api/server/rooms/content:x'],
    ['PUT', `/api/server/content/${uid('c')}`, { type: 'video', ownerId: 'o' }],
    ['PUT', `/api/server/users/${uid('u')}`, { username: 'mallory' }],
    ['POST', '/api/server/emit', { to: { all: true }, event: 'x', data: {} }],
  ];
  for (const [method, path, body] of calls) {
    assertRefused(await rest(method, path, { token: userTok, body }), 403, `${method} ${path} with a user token`);
    assertRefused(await rest(method, path, { serverKey: 'wrong-key', body }), 401, `${method} ${path} with a wrong key`);
    assertRefused(await rest(method, path, { serverKey: `${server().serverKey}x`, body }), 401, `${method} ${path} with the key and one more character`);
    assertRefused(await rest(method, path, { body }), 401, `${method} ${path} without a key`);
    assertRefused(await rest(method, path, { headers: { authorization: `Basic ${Buffer.from(`x:${server().serverKey}`).toString('base64')}` }, body }), 401, `${method} ${path} with another scheme`);
  }
  // the server key itself is not a user token
  const err = await expectRefused(rawSocket(server().serverKey));
  assert.equal(err.message, 'unauthorized');
  assert.deepEqual(err.data, { code: 'auth_invalid' });
});

test('POST /api/server/emit to a user reaches every socket of that user and nobody else', async () => {
  const target = uid('target');
  const t1 = await connect(token(target));
  const t2 = await connect(token(target), { transports: ['polling'] });
  const other = await connect(token(uid('other')));
  const stray = [];
  other.on('app:ping', (p) => stray.push(p));
  const marker = uid('m');
  const got1 = waitFor(t1, 'app:ping', (p) => p.marker === marker);
  const got2 = waitFor(t2, 'app:ping', (p) => p.marker === marker);
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { userId: target }, event: 'app:ping', data: { marker, n: 1 } } });
  assert.deepEqual(checkedSeq(await got1), { marker, n: 1 });
  assert.deepEqual(checkedSeq(await got2), { marker, n: 1 });

  // an emit to all, sent afterwards, reaches `other`; the user-targeted one never did
  const all = uid('all');
  const gotAll = waitFor(other, 'app:ping', (p) => p.marker === all);
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { all: true }, event: 'app:ping', data: { marker: all } } });
  await gotAll;
  assert.deepEqual(stray.map((p) => p.marker), [all]);
  t1.close(); t2.close(); other.close();
});

test('POST /api/server/emit to a room reaches its members only', async () => {
  const contentId = uid('c');
  const inside1 = await connect(token(uid('in')));
  const inside2 = await connect(token(uid('in')));
  const outside = await connect(token(uid('out')));
  await emitOk(inside1, 'content:join', { contentId });
  await emitOk(inside2, 'content:join', { contentId });
  const stray = [];
  outside.on('app:room', (p) => stray.push(p));
  const g1 = waitFor(inside1, 'app:room');
  const g2 = waitFor(inside2, 'app:room');
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { room: `content:${contentId}` }, event: 'app:room', data: { hello: contentId } } });
  assert.deepEqual(checkedSeq(await g1), { hello: contentId });
  assert.deepEqual(checkedSeq(await g2), { hello: contentId });
  const fence = waitFor(outside, 'app:fence');
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { all: true }, event: 'app:fence', data: {} } });
  await fence;
  assert.deepEqual(stray, []);
  inside1.close(); inside2.close(); outside.close();
});

test('POST /api/server/emit to all reaches every connected socket', async () => {
  const sockets = await Promise.all([
    connect(token(uid('x'))),
    connect(token(uid('y')), { transports: ['websocket'] }),
    connect(token(uid('z')), { transports: ['polling'] }),
  ]);
  const marker = uid('all');
  const waits = sockets.map((s) => waitFor(s, 'app:broadcast', (p) => p.marker === marker));
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { all: true }, event: 'app:broadcast', data: { marker } } });
  for (const w of waits) assert.deepEqual(checkedSeq(await w), { marker });
  for (const s of sockets) s.close();
});

test('POST /api/server/emit with no target or no event is a bad_request', async () => {
  for (const body of [{ event: 'x', data: {} }, { to: { all: true }, data: {} }, { to: {}, event: 'x' }, 'not json']) {
    const r = await rest('POST', '/api/server/emit', { serverKey: true, body });
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.success, false);
    assert.equal(r.body.error.code, 'bad_request');
  }
});

test('GET /api/server/rooms/content:{id} gives the room size as viewers come and go', async () => {
  const contentId = uid('c');
  const room = `content:${contentId}`;
  assert.equal((await restOk('GET', `/api/server/rooms/${room}`, { serverKey: true })).size, 0);
  const a = await connect(token(uid('a')));
  const b = await connect(token(uid('b')));
  await emitOk(a, 'content:join', { contentId });
  await emitOk(b, 'content:join', { contentId });
  assert.equal((await restOk('GET', `/api/server/rooms/${room}`, { serverKey: true })).size, 2);
  await emitOk(b, 'content:leave', { contentId });
  assert.equal((await restOk('GET', `/api/server/rooms/${room}`, { serverKey: true })).size, 1);
  // percent-encoded colon names the same room
  assert.equal((await restOk('GET', `/api/server/rooms/${encodeURIComponent(room)}`, { serverKey: true })).size, 1);
  a.close();
  b.close();
});

test('GET /api/server/stats counts the connected sockets and online users', async () => {
  const u = uid('stats');
  const sockets = [
    await connect(token(u)),
    await connect(token(u)),
    await connect(token(uid('stats'))),
  ];
  const data = await restOk('GET', '/api/server/stats', { serverKey: true });
  const leaves = numericLeaves(data);
  const socketKeys = Object.keys(leaves).filter((k) => /socket|connection/i.test(k));
  const userKeys = Object.keys(leaves).filter((k) => /user/i.test(k));
  const roomKeys = Object.keys(leaves).filter((k) => /room/i.test(k));
  assert.ok(socketKeys.some((k) => leaves[k] >= 3), `a connected-sockets count >= 3 in ${JSON.stringify(data)}`);
  assert.ok(userKeys.some((k) => leaves[k] >= 2), `an online-users count >= 2 in ${JSON.stringify(data)}`);
  assert.ok(roomKeys.length > 0, `a rooms count in ${JSON.stringify(data)}`);
  for (const s of sockets) s.close();
});

test('PUT /api/server/users/{id} sets the profile that user summaries show', async () => {
  const userId = uid('creator');
  const profile = { username: `star_${userId.slice(-4)}`, avatar: 'https://cdn.example.test/a.png', verified: true };
  await restOk('PUT', `/api/server/users/${userId}`, { serverKey: true, body: profile });
  const contentId = uid('c');
  const s = await connect(token(userId));
  const watcher = await connect(token(uid('watcher')));
  await emitOk(s, 'content:join', { contentId });
  await emitOk(watcher, 'content:join', { contentId });

  const { comment } = await emitOk(s, 'content:comment', { contentId, text: 'hello' });
  assert.deepEqual(comment.user, { id: userId, ...profile });

  const typing = waitFor(watcher, 'comment:typing', (p) => p.contentId === contentId);
  await emitOk(s, 'comment:typing', { contentId, typing: true });
  assert.deepEqual((await typing).user, { id: userId, ...profile });

  // an update replaces it (PROTOCOL.md does not say whether `avatar: null` clears: not tested)
  const newer = { username: `renamed_${userId.slice(-4)}`, avatar: 'https://cdn.example.test/b.png', verified: false };
  await restOk('PUT', `/api/server/users/${userId}`, { serverKey: true, body: newer });
  const again = await emitOk(s, 'content:comment', { contentId, text: 'again' });
  assert.deepEqual(again.comment.user, { id: userId, ...newer });
  s.close();
  watcher.close();
});

test('PUT /api/server/content/{id} registers an owner and type that content:join reports', async () => {
  const contentId = uid('post');
  const ownerId = uid('owner');
  const first = await rest('PUT', `/api/server/content/${contentId}`, { serverKey: true, body: { type: 'post', ownerId, title: 'Hi' } });
  assert.ok([200, 201].includes(first.status), `${first.status} ${JSON.stringify(first.body)}`);
  assert.equal(first.body.success, true);
  const again = await rest('PUT', `/api/server/content/${contentId}`, { serverKey: true, body: { type: 'post', ownerId, title: 'Hi again' } });
  assert.ok([200, 201].includes(again.status), 'registering twice is idempotent');
  const s = await connect(token(uid('v')));
  const joined = await emitOk(s, 'content:join', { contentId });
  assert.equal(joined.contentType, 'post');
  const item = await restOk('GET', `/api/content/${contentId}`, { token: token(uid('v')) });
  assert.equal(item.ownerId, ownerId);
  assert.equal(item.type, 'post');
  const bad = await rest('PUT', `/api/server/content/${uid('c')}`, { serverKey: true, body: { ownerId } });
  assert.equal(bad.status, 400, `missing type → ${bad.status} ${JSON.stringify(bad.body)}`);
  assert.equal(bad.body.error.code, 'bad_request');
  s.close();
});
