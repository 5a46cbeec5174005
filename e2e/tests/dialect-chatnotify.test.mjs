// docs/dialects.md §5: the chat and notifications app of seed 004 against a server whose
// default dialect is `chatnotify`. The client code is the seed's own (its "SOCKET EVENTS
// REFERENCE" and "QUICK TEST"), with the official socket.io-client.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { emitAck, seedSocket, registerContent, restOk, startServer, stopServer, token, uid, waitFor, withoutSeq, silence } from '../lib/server.mjs';

before(() => startServer({ args: ['--dialect', 'chatnotify'] }));
after(() => stopServer());


/** "1. Create Chat Room (REST)": POST /api/chat/rooms {otherUserId}. */
async function directRoom(tok, otherUserId) {
  const room = await restOk('POST', '/api/chat/rooms', { token: tok, body: { otherUserId } });
  return room.id;
}

const isoTime = (s) => typeof s === 'string' && !Number.isNaN(Date.parse(s));

test('the quick test: create a room, join it, send and receive messages with the seed model fields (004 QUICK TEST)', { timeout: 20_000 }, async () => {
  const ann = uid('ann');
  const bob = uid('bob');
  const tokAnn = token(ann);
  const tokBob = token(bob);
  const ROOM_ID = await directRoom(tokAnn, bob);

  const socket = await seedSocket(tokAnn);
  const other = await seedSocket(tokBob);
  socket.emit('join_room', { chatRoomId: ROOM_ID });
  other.emit('join_room', { chatRoomId: ROOM_ID });

  const got = waitFor(other, 'receive_message');
  const echoed = waitFor(socket, 'receive_message');
  socket.emit('send_message', { chatRoomId: ROOM_ID, text: 'Hello!' });
  const msg = await got;
  assert.equal(msg.text, 'Hello!');
  assert.equal(msg.chatRoomId, ROOM_ID);
  assert.equal(msg.senderId, ann);
  assert.equal(typeof msg._id, 'string');
  assert.ok(isoTime(msg.createdAt) && isoTime(msg.updatedAt));
  assert.equal((await echoed)._id, msg._id, 'the sender gets the broadcast too');

  // Each send_message is a new message (the seed sends no idempotency key).
  const second = waitFor(other, 'receive_message', (m) => m._id !== msg._id);
  socket.emit('send_message', { chatRoomId: ROOM_ID, text: 'Hello!' });
  assert.equal((await second).text, 'Hello!');
});

test('history by offset: get_history {chatRoomId, limit, skip} answers message_history, newest first (004 Chat Events)', { timeout: 20_000 }, async () => {
  const ann = uid('ann');
  const tokAnn = token(ann);
  const chatRoomId = await directRoom(tokAnn, uid('bob'));
  const socket = await seedSocket(tokAnn);
  socket.emit('join_room', { chatRoomId });
  for (let i = 1; i <= 5; i++) {
    const stored = waitFor(socket, 'receive_message', (m) => m.text === `m${i}`);
    socket.emit('send_message', { chatRoomId, text: `m${i}` });
    await stored;
  }
  const page = waitFor(socket, 'message_history');
  socket.emit('get_history', { chatRoomId, limit: 2, skip: 1 });
  const data = await page;
  assert.equal(data.chatRoomId, chatRoomId);
  assert.deepEqual(data.messages.map((m) => m.text), ['m4', 'm3']);
  assert.equal(data.hasMore, true);
  assert.equal(data.messages[0].senderId, ann);
  const last = waitFor(socket, 'message_history', (d) => d.hasMore === false);
  socket.emit('get_history', { chatRoomId, limit: 10, skip: 3 });
  assert.deepEqual((await last).messages.map((m) => m.text), ['m2', 'm1']);
  const beyond = waitFor(socket, 'message_history', (d) => d.messages.length === 0);
  socket.emit('get_history', { chatRoomId, limit: 10, skip: 50 });
  assert.equal((await beyond).hasMore, false);
});

test('notifications: subscribe_notifications without arguments; stored notifications arrive as `notification` (004 Notification Events)', { timeout: 20_000 }, async () => {
  const owner = uid('owner');
  const socket = await seedSocket(token(owner));
  const noError = silence(socket, 'error');
  socket.emit('subscribe_notifications');
  await noError;

  // The backend's own notification (notification.service's emit on creation).
  let seen = waitFor(socket, 'notification');
  await restOk('POST', '/api/server/notifications', { serverKey: true, body: { userId: owner, type: 'event_rsvp', text: 'Ann is going', data: { eventId: 'e1' } } });
  let n = await seen;
  assert.equal(n.type, 'EVENT_RSVP');
  assert.equal(n.text, 'Ann is going');
  assert.deepEqual(n.data, { eventId: 'e1' });
  assert.equal(typeof n._id, 'string');
  assert.equal(n.read, false);
  assert.ok(isoTime(n.createdAt));
  assert.equal(n.unreadCount, 1);

  // Chorus's own: a like on the owner's content.
  const contentId = uid('post');
  await registerContent(contentId, { type: 'post', ownerId: owner });
  seen = waitFor(socket, 'notification', (x) => x.type === 'LIKE');
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('fan')) });
  n = await seen;
  assert.equal(n.unreadCount, 2);
});

test('planned features: typing, mark_read → message_read, leave_room (004 Next Steps)', { timeout: 20_000 }, async () => {
  const ann = uid('ann');
  const bob = uid('bob');
  const chatRoomId = await directRoom(token(ann), bob);
  const a = await seedSocket(token(ann));
  const b = await seedSocket(token(bob));
  a.emit('join_room', { chatRoomId });
  b.emit('join_room', { chatRoomId });
  await new Promise((ok) => setTimeout(ok, 200));

  const typing = waitFor(b, 'typing');
  const notEchoed = silence(a, 'typing');
  a.emit('typing', { chatRoomId, isTyping: true });
  assert.deepEqual(withoutSeq(await typing), { chatRoomId, userId: ann, isTyping: true });
  await notEchoed;

  const message = waitFor(a, 'receive_message');
  b.emit('send_message', { chatRoomId, text: 'read me' });
  const { _id: messageId } = await message;
  const read = waitFor(b, 'message_read');
  a.emit('mark_read', { chatRoomId, messageId });
  const r = await read;
  assert.equal(r.chatRoomId, chatRoomId);
  assert.equal(r.userId, ann);
  assert.equal(r.messageId, messageId);
  assert.ok(isoTime(r.readAt));

  a.emit('leave_room', { chatRoomId });
  await new Promise((ok) => setTimeout(ok, 200));
  const quiet = silence(a, 'typing');
  b.emit('typing', { chatRoomId, isTyping: true });
  await quiet;
});

test('the security checklist: participant check and non-empty messages, refused with the native codes; nothing stored', { timeout: 20_000 }, async () => {
  const ann = uid('ann');
  const chatRoomId = await directRoom(token(ann), uid('bob'));
  const stranger = await seedSocket(token(uid('eve')));
  let refused = waitFor(stranger, 'error', (e) => e.event === 'join_room');
  stranger.emit('join_room', { chatRoomId });
  assert.ok(['forbidden', 'not_found'].includes((await refused).code));
  refused = waitFor(stranger, 'error', (e) => e.event === 'send_message');
  stranger.emit('send_message', { chatRoomId, text: 'let me in' });
  assert.ok(['forbidden', 'not_found'].includes((await refused).code));

  const socket = await seedSocket(token(ann));
  refused = waitFor(socket, 'error', (e) => e.event === 'send_message');
  socket.emit('send_message', { chatRoomId, text: '   ' });
  assert.equal((await refused).code, 'bad_request');
  refused = waitFor(socket, 'error', (e) => e.event === 'get_history');
  socket.emit('get_history', { chatRoomId, skip: -1 });
  assert.equal((await refused).code, 'bad_request');
  // With an ack the history is the reply's payload.
  const ack = await emitAck(socket, 'get_history', { chatRoomId, limit: 5, skip: 0 });
  assert.equal(ack.ok, true);
  assert.deepEqual(ack.data, { chatRoomId, messages: [], hasMore: false });
});
