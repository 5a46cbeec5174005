// PROTOCOL.md §1: where the token may come from, how refusals look, session:ready,
// and disconnection at token expiry unless refreshed.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import {
  connect, emitAck, emitOk, expectRefused, rawSocket, server, startServer, stopServer, token,
  uid, unsignedToken, waitDisconnect,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

function assertSessionReady(socket, userId) {
  const s = socket.session;
  assert.equal(s.userId, userId);
  assert.equal(typeof s.sid, 'string');
  assert.ok(s.sid.length > 0);
  assert.equal(typeof s.serverTime, 'string');
  assert.ok(/Z$|\+00:00$/.test(s.serverTime), `serverTime ${s.serverTime} is UTC`);
  assert.ok(Math.abs(Date.parse(s.serverTime) - Date.now()) < 60_000, `serverTime ${s.serverTime} is now`);
  assert.equal(s.recovered, false);
  assert.equal(s.unreadNotifications, 0);
}

async function canJoin(socket) {
  const contentId = uid('c');
  const data = await emitOk(socket, 'content:join', { contentId });
  assert.equal(data.contentId, contentId);
}

test('a token in the handshake auth.token is accepted and session:ready describes the session', async () => {
  const userId = uid('u');
  const s = await connect(token(userId));
  assertSessionReady(s, userId);
  await canJoin(s);
  s.close();
});

test('a token in the Authorization: Bearer header is accepted', async () => {
  const userId = uid('u');
  const s = await connect(null, { auth: null, extraHeaders: { Authorization: `Bearer ${token(userId)}` } });
  assertSessionReady(s, userId);
  await canJoin(s);
  s.close();
});

test('a token in the Authorization header is accepted over websocket only', async () => {
  const userId = uid('u');
  const s = await connect(null, {
    auth: null,
    transports: ['websocket'],
    extraHeaders: { Authorization: `Bearer ${token(userId)}` },
  });
  assertSessionReady(s, userId);
  s.close();
});

test('a token in the ?token= query is accepted', async () => {
  const userId = uid('u');
  const s = await connect(null, { auth: null, query: { token: token(userId) } });
  assertSessionReady(s, userId);
  await canJoin(s);
  s.close();
});

test('auth.token wins over a bad Authorization header', async () => {
  const userId = uid('u');
  const s = await connect(token(userId), { extraHeaders: { Authorization: 'Bearer garbage' } });
  assert.equal(s.session.userId, userId);
  s.close();
});

test('the name claim shows up as the user summary username', async () => {
  const userId = uid('u');
  const other = uid('o');
  const contentId = uid('c');
  const a = await connect(token(userId, { name: 'Named Person' }));
  const b = await connect(token(other));
  await emitOk(a, 'content:join', { contentId });
  await emitOk(b, 'content:join', { contentId });
  const typing = new Promise((ok) => b.once('comment:typing', ok));
  await emitOk(a, 'comment:typing', { contentId, typing: true });
  const ev = await typing;
  assert.equal(ev.user.id, userId);
  assert.equal(ev.user.username, 'Named Person');
  a.close();
  b.close();
});

const refusals = [
  ['no token at all is refused with auth_missing', () => rawSocket(null, { auth: null }), 'auth_missing'],
  ['an empty auth.token is refused with auth_missing', () => rawSocket(null, { auth: { token: '' } }), 'auth_missing'],
  ['a garbage token is refused with auth_invalid', () => rawSocket('not.a.jwt'), 'auth_invalid'],
  ['a token signed with another secret is refused with auth_invalid',
    () => rawSocket(token(uid('u'), { secret: 'some-other-secret-that-is-long-enough' })), 'auth_invalid'],
  ['an alg:none token is refused with auth_invalid', () => rawSocket(unsignedToken(uid('u'))), 'auth_invalid'],
  ['an HS512 token (algorithm switching) is refused with auth_invalid',
    (secret) => rawSocket(jwt.sign({ sub: uid('u'), exp: Math.floor(Date.now() / 1000) + 600 }, secret, { algorithm: 'HS512' })), 'auth_invalid'],
  ['a token without exp is refused with auth_invalid', () => rawSocket(token(uid('u'), { noExp: true })), 'auth_invalid'],
  ['a token without sub is refused with auth_invalid',
    (secret) => rawSocket(jwt.sign({ exp: Math.floor(Date.now() / 1000) + 600 }, secret, { algorithm: 'HS256' })), 'auth_invalid'],
  ['an expired token is refused with auth_expired', () => rawSocket(token(uid('u'), { expSec: -3600 })), 'auth_expired'],
  ['a garbage Bearer header is refused with auth_invalid',
    () => rawSocket(null, { auth: null, extraHeaders: { Authorization: 'Bearer nope' } }), 'auth_invalid'],
  ['an expired ?token= is refused with auth_expired',
    () => rawSocket(null, { auth: null, query: { token: token(uid('u'), { expSec: -3600 }) } }), 'auth_expired'],
  ['an expired token over websocket only is refused with auth_expired',
    () => rawSocket(token(uid('u'), { expSec: -3600 }), { transports: ['websocket'] }), 'auth_expired'],
];

for (const [name, make, code] of refusals) {
  test(name, async () => {
    const err = await expectRefused(make(server().jwtSecret));
    assert.equal(err.message, 'unauthorized');
    assert.deepEqual(err.data, { code });
  });
}

test('a refused client does not disturb a connected one', async () => {
  const ok = await connect(token(uid('u')));
  await expectRefused(rawSocket('garbage'));
  await canJoin(ok);
  ok.close();
});

test('a connection is closed by the server when its token expires', { timeout: 15_000 }, async () => {
  const t0 = Date.now();
  const exp = Math.floor(t0 / 1000) + 3;
  const s = await connect(token(uid('u'), { expSec: exp - Math.floor(t0 / 1000) }));
  await canJoin(s);
  const reason = await waitDisconnect(s, exp * 1000 - Date.now() + 3_000);
  assert.equal(reason, 'io server disconnect');
  assert.ok(Date.now() >= exp * 1000 - 1_000, `disconnected ${exp * 1000 - Date.now()} ms before exp`);
});

test('auth:refresh with a newer token for the same user keeps the connection past the old exp', { timeout: 15_000 }, async () => {
  const userId = uid('u');
  const now = Math.floor(Date.now() / 1000);
  const exp = now + 3;
  const s = await connect(token(userId, { expSec: exp - now }));
  let disconnected = null;
  s.on('disconnect', (r) => { disconnected = r; });
  const ack = await emitAck(s, 'auth:refresh', { token: token(userId, { expSec: 3600 }) });
  assert.equal(ack.ok, true, `auth:refresh acked ${JSON.stringify(ack)}`);
  // Nothing to await here: the behaviour is that no disconnect happens. Wait past exp.
  await delay(exp * 1000 - Date.now() + 1_500);
  assert.equal(disconnected, null, `disconnected (${disconnected}) despite auth:refresh`);
  assert.equal(s.connected, true);
  await canJoin(s);
  s.close();
});

test('auth:refresh with a token for another user is refused and the connection still expires', { timeout: 15_000 }, async () => {
  const userId = uid('u');
  const now = Math.floor(Date.now() / 1000);
  const exp = now + 3;
  const s = await connect(token(userId, { expSec: exp - now }));
  const ack = await emitAck(s, 'auth:refresh', { token: token(uid('someone-else'), { expSec: 3600 }) });
  assert.equal(ack.ok, false, `auth:refresh for another sub acked ${JSON.stringify(ack)}`);
  assert.ok(['unauthorized', 'forbidden', 'bad_request'].includes(ack.error?.code), JSON.stringify(ack));
  const reason = await waitDisconnect(s, exp * 1000 - Date.now() + 3_000);
  assert.equal(reason, 'io server disconnect');
});

test('auth:refresh with an invalid token is refused', async () => {
  const s = await connect(token(uid('u')));
  const ack = await emitAck(s, 'auth:refresh', { token: 'garbage' });
  assert.equal(ack.ok, false);
  assert.equal(ack.error.code, 'unauthorized');
  await canJoin(s);
  s.close();
});
