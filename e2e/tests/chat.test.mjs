// PROTOCOL.md §7: chat with the official client. Two users open a direct room over
// REST and talk over the socket (history, typing, reactions, read receipts, edits and
// deletes); a member who was offline finds everything on reconnect; resends are
// idempotent; bad input is refused and changes nothing.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  checkedSeq, connect, emitAck, emitOk, rest, restOk, startServer, stopServer, token, track, uid, waitFor,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

const isRfc3339 = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s);

function assertError(ack, code, what) {
  assert.equal(ack?.ok, false, `${what}: expected {ok:false}, got ${JSON.stringify(ack)?.slice(0, 300)}`);
  assert.equal(ack.error?.code, code, `${what}: expected ${code}, got ${JSON.stringify(ack).slice(0, 300)}`);
}

async function directRoom(userA, userB) {
  return restOk('POST', '/api/chat/rooms', { token: token(userA), body: { otherUserId: userB } });
}

const texts = (page) => page.messages.map((m) => m.text);

test('two users chat in a direct room: messages, history, typing, reactions, read receipts, edits and deletes', { timeout: 30_000 }, async () => {
  const alice = uid('alice');
  const bob = uid('bob');
  const room = await directRoom(alice, bob);
  assert.equal(room.kind, 'direct');
  assert.deepEqual([...room.memberIds].sort(), [alice, bob].sort());
  assert.equal(room.unreadCount, 0);
  assert.equal(room.lastMessage, null);
  assert.ok(isRfc3339(room.createdAt));
  const again = await directRoom(bob, alice);
  assert.equal(again.id, room.id, 'one direct room per pair');

  const a = await connect(token(alice, { name: 'Alice' }));
  // Bob on long-polling only: delivery does not depend on the transport.
  const b = await connect(token(bob, { name: 'Bob' }), { transports: ['polling'] });
  const joinedA = await emitOk(a, 'chat:join', { roomId: room.id });
  assert.equal(joinedA.room.id, room.id);
  assert.deepEqual([...joinedA.onlineMemberIds].sort(), [alice, bob].sort());
  const userJoined = waitFor(a, 'chat:user_joined', (p) => p.roomId === room.id);
  await emitOk(b, 'chat:join', { roomId: room.id });
  assert.equal((await userJoined).user.id, bob);

  // --- messages both ways; each socket gets each message once
  const atA = track(a, 'chat:message', (p) => p.roomId === room.id);
  const atB = track(b, 'chat:message', (p) => p.roomId === room.id);
  const sent = await emitOk(a, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'Hi Bob!' });
  assert.equal(sent.duplicate, false);
  const m1 = sent.message;
  assert.equal(m1.text, 'Hi Bob!');
  assert.equal(m1.kind, 'text');
  assert.deepEqual(m1.sender, { id: alice, username: 'Alice', avatar: null, verified: false });
  assert.ok(isRfc3339(m1.createdAt));
  assert.equal(m1.editedAt, null);
  assert.equal(m1.deleted, false);
  assert.deepEqual(m1.reactions, {});
  assert.deepEqual((await atB.until((p) => p.message.id === m1.id)).message, m1);
  await atA.until((p) => p.message.id === m1.id);

  const reply = await emitOk(b, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'Hey Alice', replyTo: m1.id });
  const m2 = reply.message;
  assert.equal(m2.replyTo, m1.id);
  await atA.until((p) => p.message.id === m2.id);
  const loc = await emitOk(a, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), kind: 'location', location: { lat: 52.52, lng: 13.405 }, text: 'Here' });
  const m3 = loc.message;
  assert.deepEqual(m3.location, { lat: 52.52, lng: 13.405 });
  await atB.until((p) => p.message.id === m3.id);
  await delay(150);
  assert.equal(atA.events.length, 3, 'alice saw three messages, once each');
  assert.equal(atB.events.length, 3, 'bob saw three messages, once each');

  // --- history over the socket and REST, newest first
  const history = await emitOk(b, 'chat:history', { roomId: room.id, limit: 2 });
  assert.deepEqual(history.messages.map((m) => m.id), [m3.id, m2.id]);
  assert.equal(history.hasMore, true);
  const older = await restOk('GET', `/api/chat/rooms/${room.id}/messages?before=${history.nextCursor}`, { token: token(bob) });
  assert.deepEqual(texts(older), ['Hi Bob!']);
  assert.equal(older.hasMore, false);

  // --- typing: the other side sees it, the typist does not
  const typingAtB = waitFor(b, 'chat:typing', (p) => p.roomId === room.id && p.typing === true);
  let typingAtA = 0;
  a.on('chat:typing', () => { typingAtA += 1; });
  assert.deepEqual(await emitOk(a, 'chat:typing', { roomId: room.id, typing: true }), {});
  const typing = await typingAtB;
  assert.equal(typing.user.id, alice);
  assert.equal(typing.user.username, 'Alice');
  const stoppedAtB = waitFor(b, 'chat:typing', (p) => p.roomId === room.id && p.typing === false);
  await emitOk(a, 'chat:typing', { roomId: room.id, typing: false });
  await stoppedAtB;
  assert.equal(typingAtA, 0);

  // --- reactions
  const reactionAtA = waitFor(a, 'chat:reaction', (p) => p.messageId === m1.id);
  assert.deepEqual(await emitOk(b, 'chat:react', { messageId: m1.id, emoji: '❤️' }), { emoji: '❤️', count: 1, reacted: true });
  assert.deepEqual(checkedSeq(await reactionAtA), { roomId: room.id, messageId: m1.id, emoji: '❤️', userId: bob, count: 1 });

  // --- read receipts and unread counts
  let rooms = (await restOk('GET', '/api/chat/rooms', { token: token(bob) })).rooms;
  let mine = rooms.find((r) => r.id === room.id);
  assert.equal(mine.unreadCount, 2, 'two messages from alice are unread for bob');
  assert.equal(mine.lastMessage.id, m3.id);
  const receiptAtA = waitFor(a, 'chat:read', (p) => p.roomId === room.id);
  assert.deepEqual(await emitOk(b, 'chat:read', { roomId: room.id, messageId: m3.id }), { unreadCount: 0 });
  const receipt = await receiptAtA;
  assert.equal(receipt.userId, bob);
  assert.equal(receipt.messageId, m3.id);
  assert.ok(isRfc3339(receipt.readAt));

  // --- edit and delete: the sender only
  assertError(await emitAck(b, 'chat:edit', { messageId: m1.id, text: 'not yours' }), 'forbidden', 'editing another user\'s message');
  const editedAtB = waitFor(b, 'chat:edited', (p) => p.message.id === m1.id);
  const edited = await emitOk(a, 'chat:edit', { messageId: m1.id, text: 'Hi Bob! (edited)' });
  assert.equal(edited.message.text, 'Hi Bob! (edited)');
  assert.ok(isRfc3339(edited.message.editedAt));
  assert.equal((await editedAtB).roomId, room.id);
  assertError(await emitAck(b, 'chat:delete', { messageId: m1.id }), 'forbidden', 'deleting another user\'s message');
  const deletedAtB = waitFor(b, 'chat:deleted', (p) => p.messageId === m1.id);
  assert.deepEqual(await emitOk(a, 'chat:delete', { messageId: m1.id }), {});
  assert.deepEqual(checkedSeq(await deletedAtB), { roomId: room.id, messageId: m1.id });
  const after = await emitOk(b, 'chat:history', { roomId: room.id });
  assert.equal(after.messages.length, 3, 'a deleted message keeps its place');
  const gone = after.messages.find((m) => m.id === m1.id);
  assert.equal(gone.deleted, true);
  assert.equal(gone.text, '');
  assert.deepEqual(gone.reactions, {});

  const leftAtB = waitFor(b, 'chat:user_left', (p) => p.roomId === room.id);
  assert.deepEqual(await emitOk(a, 'chat:leave', { roomId: room.id }), {});
  assert.equal((await leftAtB).userId, alice);
  a.close();
  b.close();
});

test('a member who was offline finds the messages in history, the unread count and one message notification on reconnect', { timeout: 20_000 }, async () => {
  const sender = uid('sender');
  const away = uid('away');
  const room = await directRoom(sender, away);
  const s = await connect(token(sender, { name: 'Sender' }));
  for (const text of ['first', 'second', 'third']) {
    await emitOk(s, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text });
  }
  // Notifications are stored after the ack; give them a moment.
  let inbox;
  for (let i = 0; i < 100; i += 1) {
    inbox = await restOk('GET', '/api/notifications', { token: token(away) });
    if (inbox.notifications.length > 0) break;
    await delay(20);
  }
  await delay(200);
  inbox = await restOk('GET', '/api/notifications', { token: token(away) });
  assert.equal(inbox.notifications.length, 1, `a burst is one notification: ${JSON.stringify(inbox)}`);
  const n = inbox.notifications[0];
  assert.equal(n.type, 'message');
  assert.equal(n.actor.id, sender);
  assert.deepEqual(n.subject, { kind: 'chat', id: room.id });

  const back = await connect(token(away));
  assert.ok(back.session.unreadNotifications >= 1, `session:ready counts the waiting notification: ${JSON.stringify(back.session)}`);
  const rooms = (await restOk('GET', '/api/chat/rooms', { token: token(away) })).rooms;
  const listed = rooms.find((r) => r.id === room.id);
  assert.equal(listed.unreadCount, 3);
  assert.equal(listed.lastMessage.text, 'third');
  const history = await emitOk(back, 'chat:history', { roomId: room.id });
  assert.deepEqual(texts(history), ['third', 'second', 'first']);
  assert.deepEqual(await emitOk(back, 'chat:read', { roomId: room.id, messageId: listed.lastMessage.id }), { unreadCount: 0 });
  s.close();
  back.close();
});

test('a resent clientMsgId is acknowledged with the stored message, flagged duplicate, and delivered once', { timeout: 15_000 }, async () => {
  const a = uid('a');
  const b = uid('b');
  const room = await directRoom(a, b);
  const sa = await connect(token(a));
  const sb = await connect(token(b));
  const atB = track(sb, 'chat:message', (p) => p.roomId === room.id);
  const clientMsgId = uid('cm');
  const first = await emitOk(sa, 'chat:send', { roomId: room.id, clientMsgId, text: 'only once' });
  const again = await emitOk(sa, 'chat:send', { roomId: room.id, clientMsgId, text: 'a different text' });
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.message, first.message, 'the stored message wins');
  await atB.until((p) => p.message.id === first.message.id);
  await delay(200);
  assert.equal(atB.events.length, 1);
  assert.deepEqual(texts(await emitOk(sb, 'chat:history', { roomId: room.id })), ['only once']);
  sa.close();
  sb.close();
});

test('non-members are refused and invalid input is refused without changing anything', { timeout: 15_000 }, async () => {
  const owner = uid('owner');
  const member = uid('member');
  const outsider = uid('outsider');
  const group = await restOk('POST', '/api/chat/rooms', { token: token(owner), body: { kind: 'group', title: 'Crew', memberIds: [member] } });
  assert.equal(group.kind, 'group');
  assert.equal(group.title, 'Crew');
  const so = await connect(token(owner));
  const sx = await connect(token(outsider));
  assertError(await emitAck(sx, 'chat:join', { roomId: group.id }), 'forbidden', 'joining as a non-member');
  assertError(await emitAck(sx, 'chat:send', { roomId: group.id, clientMsgId: uid('cm'), text: 'hi' }), 'forbidden', 'sending as a non-member');
  assertError(await emitAck(sx, 'chat:history', { roomId: group.id }), 'forbidden', 'reading as a non-member');
  const denied = await rest('GET', `/api/chat/rooms/${group.id}/messages`, { token: token(outsider) });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error.code, 'forbidden');

  for (const [what, payload] of [
    ['latitude out of range', { kind: 'location', location: { lat: 90.5, lng: 0 } }],
    ['longitude out of range', { kind: 'location', location: { lat: 0, lng: 200 } }],
    ['coordinates that are not numbers', { kind: 'location', location: { lat: 'x', lng: 0 } }],
    ['empty text', { text: '   ' }],
    ['text over 4000 characters', { text: 'y'.repeat(4001) }],
    ['an unknown kind', { kind: 'poll', text: 'x' }],
  ]) {
    assertError(await emitAck(so, 'chat:send', { roomId: group.id, clientMsgId: uid('cm'), ...payload }), 'bad_request', what);
  }
  assertError(await emitAck(so, 'chat:history', { roomId: group.id, limit: 500 }), 'bad_request', 'a history limit over 100');
  assert.deepEqual((await emitOk(so, 'chat:history', { roomId: group.id })).messages, [], 'nothing was stored');

  const self = await rest('POST', '/api/chat/rooms', { token: token(owner), body: { otherUserId: owner } });
  assert.equal(self.status, 400);
  assert.equal(self.body.error.code, 'bad_request');
  const missing = await emitAck(so, 'chat:join', { roomId: uid('nope') });
  assertError(missing, 'not_found', 'an unknown room');
  so.close();
  sx.close();
});
