// PROTOCOL.md §10, call signalling: a call rings every device of the callee, the first
// device to accept wins and the other stops with `answered_elsewhere`, SDP and ICE
// flow both ways between the parties, a stranger's signal is refused, and a call
// nobody answers times out into a missed-call notification. No media involved.
//
// The server runs with a 500 ms ring timeout.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkedSeq, connect, emitAck, emitOk, restOk, startServer, stopServer, token, uid, waitFor } from '../lib/server.mjs';

const RING_TIMEOUT_MS = 500;

before(() => startServer({ env: { CHORUS_CALL_RING_TIMEOUT_MS: String(RING_TIMEOUT_MS) } }));
after(() => stopServer());

function assertError(ack, code, what) {
  assert.equal(ack?.ok, false, `${what}: expected {ok:false}, got ${JSON.stringify(ack)?.slice(0, 300)}`);
  assert.equal(ack.error?.code, code, `${what}: expected ${code}, got ${JSON.stringify(ack).slice(0, 300)}`);
}

test('a call rings both devices, one accepts, signals flow both ways, a stranger is refused', async () => {
  const [ann, bob, eve] = [uid('ann'), uid('bob'), uid('eve')];
  const caller = await connect(token(ann));
  const phone = await connect(token(bob));
  const laptop = await connect(token(bob));
  const stranger = await connect(token(eve));

  const rings = [phone, laptop].map((s) => waitFor(s, 'call:incoming', (m) => m.from?.id === ann));
  const { callId } = await emitOk(caller, 'call:invite', { toUserId: bob, media: 'video' });
  for (const incoming of await Promise.all(rings)) {
    assert.equal(incoming.callId, callId);
    assert.equal(incoming.media, 'video');
  }

  const accepted = waitFor(caller, 'call:accepted', (m) => m.callId === callId);
  const elsewhere = waitFor(phone, 'call:ended', (m) => m.callId === callId);
  await emitOk(laptop, 'call:accept', { callId });
  assert.equal((await accepted).userId, bob);
  assert.equal((await elsewhere).reason, 'answered_elsewhere');
  assertError(await emitAck(phone, 'call:accept', { callId }), 'conflict', 'a second accept');

  const offer = { type: 'offer', sdp: 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
  const gotOffer = waitFor(laptop, 'call:signal', (m) => m.callId === callId);
  await emitOk(caller, 'call:signal', { callId, toUserId: bob, signal: offer });
  assert.deepEqual(checkedSeq(await gotOffer), { callId, fromUserId: ann, signal: offer });

  const answer = { type: 'answer', sdp: 'v=0\r\n' };
  const candidate = { candidate: 'candidate:0 1 UDP 2122252543 192.0.2.1 49203 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  const back = [];
  const gotBoth = new Promise((ok) => {
    caller.on('call:signal', (m) => { if (m.callId === callId) { back.push(m.signal); if (back.length === 2) ok(); } });
  });
  await emitOk(laptop, 'call:signal', { callId, toUserId: ann, signal: answer });
  await emitOk(laptop, 'call:signal', { callId, toUserId: ann, signal: candidate });
  await gotBoth;
  assert.deepEqual(back, [answer, candidate]);

  assertError(await emitAck(stranger, 'call:signal', { callId, toUserId: bob, signal: offer }), 'forbidden', 'a stranger signalling');
  assertError(await emitAck(caller, 'call:signal', { callId, toUserId: eve, signal: offer }), 'forbidden', 'signalling a non-party');
  assertError(await emitAck(caller, 'call:signal', { callId: uid('nope'), toUserId: bob, signal: offer }), 'not_found', 'an unknown call');

  const ended = waitFor(laptop, 'call:ended', (m) => m.callId === callId);
  await emitOk(caller, 'call:end', { callId });
  assert.equal((await ended).reason, 'ended');
  for (const s of [caller, phone, laptop, stranger]) s.close();
});

test('an unanswered call times out into a missed-call notification', async () => {
  const [ann, bob] = [uid('ann'), uid('bob')];
  const caller = await connect(token(ann));
  const callee = await connect(token(bob));
  const ring = waitFor(callee, 'call:incoming');
  const { callId } = await emitOk(caller, 'call:invite', { toUserId: bob, media: 'audio' });
  await ring;
  const timeouts = [caller, callee].map((s) => waitFor(s, 'call:ended', (m) => m.callId === callId, RING_TIMEOUT_MS + 3_000));
  const note = waitFor(callee, 'notification:new', (m) => m.notification?.subject?.kind === 'call', RING_TIMEOUT_MS + 3_000);
  for (const ended of await Promise.all(timeouts)) assert.equal(ended.reason, 'timeout');
  const { notification } = await note;
  assert.equal(notification.type, 'message');
  assert.deepEqual(notification.subject, { kind: 'call', id: callId });
  assert.equal(notification.actor.id, ann);
  assertError(await emitAck(callee, 'call:accept', { callId }), 'not_found', 'accepting after the timeout');

  const inbox = await restOk('GET', '/api/notifications', { token: token(bob) });
  assert.ok(inbox.notifications.some((n) => n.subject?.id === callId), JSON.stringify(inbox));
  caller.close();
  callee.close();
});

test('a busy callee is refused with conflict', async () => {
  const [ann, bob, cat] = [uid('ann'), uid('bob'), uid('cat')];
  const a = await connect(token(ann));
  const b = await connect(token(bob));
  const c = await connect(token(cat));
  const { callId } = await emitOk(a, 'call:invite', { toUserId: bob, media: 'audio' });
  await emitOk(b, 'call:accept', { callId });
  assertError(await emitAck(c, 'call:invite', { toUserId: bob, media: 'audio' }), 'conflict', 'calling a busy user');
  await emitOk(b, 'call:end', { callId });
  await emitOk(c, 'call:invite', { toUserId: bob, media: 'audio' });
  for (const s of [a, b, c]) s.close();
});
