// docs/dialects.md §4: the chat and blog app of seed 003 against a server whose default
// dialect is `chatblog`. The seed shows its client wrapper's methods and its backend's
// handlers (003:54-107); the event names follow the readings of §4.5. Official
// socket.io-client throughout.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { emitAck, seedSocket, registerContent, restOk, silence, startServer, stopServer, token, uid, waitFor, withoutSeq } from '../lib/server.mjs';

before(() => startServer({ args: ['--dialect', 'chatblog'] }));
after(() => stopServer());

// `socketService.connect(userToken)` (003:57) is `seedSocket(token)`: the token in the
// handshake, no dialect named.

/** `socket.emit("join-room", roomId)` with the bare id, waiting for its ack. */
async function joinRoom(socket, roomId) {
  const r = await new Promise((ok) => socket.timeout(5_000).emit('join-room', roomId, (err, res) => ok(err ? { ok: false, error: String(err) } : res)));
  assert.equal(r.ok, true, `join-room ${roomId}: ${JSON.stringify(r)}`);
}

async function groupRoom(owner, memberIds) {
  const room = await restOk('POST', '/api/chat/rooms', { token: token(owner), body: { kind: 'group', title: 'momo', memberIds } });
  return room.id;
}

/** Two users in a new group room, each with a connected seed client. */
async function pairInRoom() {
  const ann = uid('ann');
  const bob = uid('bob');
  const roomId = await groupRoom(ann, [bob]);
  return { ann, bob, roomId, a: await seedSocket(token(ann)), b: await seedSocket(token(bob)) };
}

test('chat rooms: join-room with a bare id, user-joined to the others, send-message to new-message, typing, reactions (003:60-107)', { timeout: 20_000 }, async () => {
  const { ann, bob, roomId, a, b } = await pairInRoom();
  await joinRoom(a, roomId);
  const joined = waitFor(a, 'user-joined');
  b.emit('join-room', roomId); // as the seed does: no ack
  const j = withoutSeq(await joined);
  assert.equal(j.roomId, roomId);
  assert.equal(j.user.id, bob);

  const got = waitFor(b, 'new-message');
  const echoed = waitFor(a, 'new-message');
  a.emit('send-message', { roomId, text: 'Hello everyone!' });
  const m = await got;
  assert.equal(m.text, 'Hello everyone!');
  assert.equal(m.roomId, roomId);
  assert.equal(m.userId, ann);
  assert.equal(m.user.id, ann);
  assert.equal((await echoed).id, m.id, 'io.to(roomId) includes the sender (003:106)');

  const typing = waitFor(b, 'typing-start');
  const notToSelf = silence(a, 'typing-start');
  a.emit('typing-start', { roomId });
  const t = withoutSeq(await typing);
  assert.deepEqual(Object.keys(t).sort(), ['roomId', 'user']);
  assert.equal(t.roomId, roomId);
  assert.equal(t.user.id, ann);
  await notToSelf;

  const reacted = waitFor(a, 'message-reaction');
  b.emit('send-reaction', { roomId, messageId: m.id, emoji: '👍' });
  const r = await reacted;
  assert.deepEqual({ messageId: r.messageId, emoji: r.emoji, userId: r.userId, count: r.count }, { messageId: m.id, emoji: '👍', userId: bob, count: 1 });

  const place = waitFor(b, 'new-message', (x) => x.kind === 'location');
  a.emit('share-location', { roomId, location: { lat: 35.6762, lng: 139.6503 } });
  assert.deepEqual((await place).location, { lat: 35.6762, lng: 139.6503 });

  const left = waitFor(a, 'user-left');
  b.emit('leave-room', roomId);
  assert.equal((await left).userId, bob);
});

test('the blog: blog-room hears the backend\'s new-post (emitToRoom), post rooms hear post-like and new-comment (003:92, 003:222-225)', { timeout: 20_000 }, async () => {
  const reader = await seedSocket(token(uid('reader')));
  const writer = uid('writer');
  const author = await seedSocket(token(writer));
  await joinRoom(reader, 'blog-room');
  const post = waitFor(reader, 'new-post');
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { room: 'blog-room' }, event: 'new-post', data: { id: 'p1', title: 'Hello' } } });
  assert.deepEqual(withoutSeq(await post), { id: 'p1', title: 'Hello' });
  const stats = await restOk('GET', '/api/server/rooms/blog-room', { serverKey: true });
  assert.equal(stats.size, 1);

  const postId = uid('post');
  await registerContent(postId, { type: 'post', ownerId: writer });
  await joinRoom(reader, `post-${postId}`);
  const liked = waitFor(reader, 'post-like');
  // "User clicks like → API call + Socket emission" (003:223).
  await restOk('POST', `/api/content/${postId}/like`, { token: token(uid('fan')) });
  const like = withoutSeq(await liked);
  assert.equal(like.postId, postId);
  assert.equal(like.likesCount, 1);
  assert.equal(like.isLiked, true);

  const commented = waitFor(reader, 'new-comment');
  author.emit('like-post', { postId });
  await waitFor(reader, 'post-like', (l) => l.likesCount === 2);
  const c = await restOk('POST', `/api/content/${postId}/comments`, { token: token(writer), body: { text: 'thanks all' } });
  const n = await commented;
  assert.equal(n.postId, postId);
  assert.equal(n.commentsCount, 1);
  assert.equal(n.comment.id, c.comment.id);

  const left = silence(reader, 'new-post');
  reader.emit('leave-room', 'blog-room');
  await new Promise((r) => setTimeout(r, 200));
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { room: 'blog-room' }, event: 'new-post', data: { id: 'p2' } } });
  await left;
});

test('toasts and announcements: notification {title, message, type}, system-announcement {message} (003:95, 003:189-203)', { timeout: 20_000 }, async () => {
  const me = uid('me');
  const socket = await seedSocket(token(me));
  const toast = waitFor(socket, 'notification');
  await restOk('POST', '/api/server/notifications', { serverKey: true, body: { userId: me, type: 'custom', text: 'Your post is live', data: { title: 'Published', variant: 'success' } } });
  const t = await toast;
  assert.deepEqual({ title: t.title, message: t.message, type: t.type, kind: t.kind }, { title: 'Published', message: 'Your post is live', type: 'success', kind: 'custom' });

  const follow = waitFor(socket, 'notification', (n) => n.kind === 'follow');
  await restOk('POST', `/api/users/${me}/follow`, { token: token(uid('fan')) });
  const f = await follow;
  assert.equal(f.title, 'New follower');
  assert.equal(f.type, 'default');

  const announced = waitFor(socket, 'system-announcement');
  await restOk('POST', '/api/server/announcements', { serverKey: true, body: { message: 'System maintenance in 5 minutes' } });
  assert.equal((await announced).message, 'System maintenance in 5 minutes');
});

test('calls: initiate-call rings the room as incoming-call and answers call-initiated; refusals come as error (003:85)', { timeout: 20_000 }, async () => {
  const { ann, bob, roomId, a, b } = await pairInRoom();
  const ringing = waitFor(b, 'incoming-call');
  const initiated = waitFor(a, 'call-initiated');
  a.emit('initiate-call', { roomId, type: 'video' });
  const call = await initiated;
  const ring = await ringing;
  assert.equal(ring.callId, call.callId);
  assert.equal(ring.roomId, roomId);
  assert.equal(ring.type, 'video');
  assert.equal(ring.from.id, ann);

  const refused = waitFor(a, 'error', (e) => e.event === 'join-room');
  a.emit('join-room', ['not', 'a', 'string']);
  assert.equal((await refused).code, 'bad_request');
  const acked = await emitAck(a, 'send-message', { roomId: 'no-such-room', text: 'hi' });
  assert.equal(acked.ok, false);
  assert.ok(['not_found', 'forbidden'].includes(acked.error.code), JSON.stringify(acked));
});

test('typing-stop and comment-updated: the end of typing and an edited comment in the post room', { timeout: 20_000 }, async () => {
  const { ann, bob, roomId, a, b } = await pairInRoom();
  await joinRoom(a, roomId);
  await joinRoom(b, roomId);
  const started = waitFor(b, 'typing-start');
  a.emit('typing-start', { roomId });
  await started; // events of one socket run concurrently: stop after the start is told
  const stopped = waitFor(b, 'typing-stop');
  a.emit('typing-stop', { roomId });
  const s = withoutSeq(await stopped);
  assert.equal(s.roomId, roomId);
  assert.equal(s.user.id, ann);

  const postId = uid('post');
  await registerContent(postId, { type: 'post', ownerId: ann });
  await joinRoom(b, `post-${postId}`);
  const c = await restOk('POST', `/api/content/${postId}/comments`, { token: token(ann), body: { text: 'frist' } });
  const updated = waitFor(b, 'comment-updated');
  await restOk('PATCH', `/api/comments/${c.comment.id}`, { token: token(ann), body: { text: 'first' } });
  const u = withoutSeq(await updated);
  assert.equal(u.postId, postId);
  assert.equal(u.comment.text, 'first');
});
