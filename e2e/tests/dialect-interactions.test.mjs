// docs/dialects.md §1: the universal content interactions app of seed 000 against a
// server whose default dialect is `interactions`. The seed shows its event names and
// three payloads (count-update, new-comment-notification, viewer-count-update); the
// rest follows the readings of §1.5. Official socket.io-client throughout.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { emitAck, seedSocket, registerContent, restOk, server, startServer, stopServer, token, uid, waitFor, withoutSeq, silence } from '../lib/server.mjs';

before(() => startServer({ args: ['--dialect', 'interactions'] }));
after(() => stopServer());

/** Joins and waits for the join to be done (an ack the seed client may ask for too). */
async function joined(socket, event, data) {
  const r = await emitAck(socket, event, data);
  assert.equal(r.ok, true, `${event}: ${JSON.stringify(r)}`);
  return r.data;
}

test('content rooms: reactions, count-update and the like notification, in the seed terms; a native client sees the same like', { timeout: 20_000 }, async () => {
  const owner = uid('owner');
  const contentId = uid('post');
  await registerContent(contentId, { type: 'post', ownerId: owner });
  const ann = uid('ann');
  const viewer = await seedSocket(token(ann));
  const other = await seedSocket(token(uid('bob')));
  const creator = await seedSocket(token(owner));
  const native = await seedSocket(token(uid('nat')), { dialect: 'native' });
  await joined(viewer, 'join-content', { contentId, contentType: 'post' });
  await joined(other, 'join-content', { contentId, contentType: 'post' });
  await emitAck(native, 'content:join', { contentId });

  const reaction = waitFor(other, 'content-reaction');
  const media = waitFor(other, 'media-reaction');
  const counts = waitFor(other, 'count-update', (c) => c.likeCount === 1);
  const nativeLike = waitFor(native, 'content:like');
  const notified = waitFor(creator, 'new-like-notification');
  viewer.emit('content-reaction', { contentId, contentType: 'post', action: 'like' });

  const r = withoutSeq(await reaction);
  assert.deepEqual({ ...r, timestamp: typeof r.timestamp }, { contentId, contentType: 'post', userId: ann, isLiked: true, likeCount: 1, timestamp: 'string' });
  assert.equal((await media).mediaId, contentId, 'the media twin of the same like (I-R4)');
  assert.deepEqual(await counts, { contentId, contentType: 'post', likeCount: 1, commentCount: 0, shareCount: 0 }, 'the seed snippet 000:88-94');
  const n = await nativeLike;
  assert.equal(n.likesCount, 1);
  assert.equal(n.contentType, 'post', 'native payloads carry the item type too');
  const like = await notified;
  assert.equal(like.contentId, contentId);
  assert.equal(like.contentType, 'post');
  assert.equal(like.author.userId, ann);

  const unliked = waitFor(other, 'content-reaction', (e) => e.isLiked === false);
  viewer.emit('content-reaction', { contentId, contentType: 'post', action: 'unlike' });
  assert.equal((await unliked).likeCount, 0);
});

test('comments: content-comment and new-comment broadcasts, the owner\'s new-comment-notification (000:104-113), comment reactions', { timeout: 20_000 }, async () => {
  const owner = uid('owner');
  const contentId = uid('vid');
  await registerContent(contentId, { type: 'video', ownerId: owner });
  const ann = uid('ann');
  const author = await seedSocket(token(ann));
  const watcher = await seedSocket(token(uid('bob')));
  const creator = await seedSocket(token(owner));
  await joined(author, 'join-media', { mediaId: contentId });
  await joined(watcher, 'join-content', { contentId, contentType: 'video' });

  const universal = waitFor(watcher, 'content-comment');
  const mediaComment = waitFor(watcher, 'new-comment');
  const notified = waitFor(creator, 'new-comment-notification');
  author.emit('new-comment', { mediaId: contentId, text: 'Great shot' });
  const c = await universal;
  assert.equal(c.contentId, contentId);
  assert.equal(c.contentType, 'video');
  assert.equal(c.commentCount, 1);
  assert.equal(c.comment.text, 'Great shot');
  assert.equal(c.comment.user.userId, ann, 'user summaries carry userId (I-R16)');
  assert.equal((await mediaComment).mediaId, contentId);
  const note = await notified;
  assert.deepEqual(
    { contentId: note.contentId, contentType: note.contentType, text: note.comment.text, author: note.author.userId },
    { contentId, contentType: 'video', text: 'Great shot', author: ann },
  );

  const reacted = waitFor(watcher, 'comment-reaction');
  author.emit('comment-reaction', { commentId: c.comment.id, emoji: '🔥' });
  assert.deepEqual(withoutSeq(await reacted), { contentId, contentType: 'video', commentId: c.comment.id, emoji: '🔥', userId: ann, count: 1 });
});

test('viewer-count-update and typing: counts of distinct users; typing-start, typing-stop and user-typing to the others only', { timeout: 20_000 }, async () => {
  const contentId = uid('item');
  await registerContent(contentId, { type: 'short' });
  const ann = uid('ann');
  const typist = await seedSocket(token(ann));
  const watcher = await seedSocket(token(uid('bob')));
  await joined(watcher, 'join-content', { contentId, contentType: 'short' });
  const two = waitFor(watcher, 'viewer-count-update', (v) => v.viewerCount === 2);
  await joined(typist, 'join-content', { contentId, contentType: 'short' });
  assert.deepEqual(await two, { contentId, contentType: 'short', viewerCount: 2 }, 'the seed snippet 000:127-131');

  const start = waitFor(watcher, 'typing-start');
  const generic = waitFor(watcher, 'user-typing', (t) => t.isTyping === true);
  const notToSelf = silence(typist, 'typing-start');
  typist.emit('typing-start', { contentId, contentType: 'short' });
  assert.deepEqual(withoutSeq(await start), { contentId, contentType: 'short', userId: ann, username: ann });
  assert.equal((await generic).userId, ann);
  await notToSelf;
  const stop = waitFor(watcher, 'typing-stop');
  typist.emit('typing-indicator', { contentId, contentType: 'short', isTyping: false });
  assert.equal((await stop).userId, ann);
});

test('live streams: stream-chat and live-chat-message, stream-status and stream-update, viewer counts by stream', { timeout: 20_000 }, async () => {
  const owner = uid('host');
  const created = await restOk('POST', '/api/streams', { token: token(owner), body: { title: 'Live' } });
  const streamId = created.stream?.id ?? created.id;
  const host = await seedSocket(token(owner));
  const fan = uid('fan');
  const viewer = await seedSocket(token(fan));
  await joined(host, 'join-stream', { streamId });
  const status = waitFor(viewer, 'stream-status', (s) => s.status === 'live');
  const update = waitFor(viewer, 'stream-update', (s) => s.status === 'live');
  await joined(viewer, 'join-stream', { streamId });
  host.emit('stream-status', { streamId, status: 'live' });
  assert.equal((await status).streamId, streamId);
  await update;

  const chat = waitFor(host, 'stream-chat');
  const alias = waitFor(host, 'live-chat-message');
  viewer.emit('stream-chat', { streamId, message: 'hello @host' });
  const line = await chat;
  assert.equal(line.message, 'hello @host');
  assert.equal(line.user.userId, fan);
  assert.equal(line.streamId, streamId);
  assert.equal((await alias).id, line.id, 'the planned alias carries the same line (I-R11)');

  const refused = waitFor(viewer, 'error', (e) => e.event === 'stream-status');
  viewer.emit('stream-status', { streamId, status: 'ended' });
  assert.equal((await refused).code, 'forbidden', 'only the owner sets the status');
});

test('private chats: join-chat, send-message, chat typing, and presence of the chat\'s members', { timeout: 20_000 }, async () => {
  const ann = uid('ann');
  const bob = uid('bob');
  const room = await restOk('POST', '/api/chat/rooms', { token: token(ann), body: { otherUserId: bob } });
  const chatId = room.id;
  const a = await seedSocket(token(ann));
  const b = await seedSocket(token(bob));
  await joined(a, 'join-chat', { chatId });
  await joined(b, 'join-chat', { chatId });

  const got = waitFor(b, 'send-message');
  a.emit('send-message', { chatId, text: 'hi bob' });
  const m = await got;
  assert.equal(m.chatId, chatId);
  assert.equal(m.message.text, 'hi bob');
  assert.equal(m.message.sender.userId, ann);

  const typing = waitFor(b, 'chat-typing-start');
  const generic = waitFor(b, 'user-typing', (t) => t.chatId === chatId);
  a.emit('chat-typing-start', { chatId });
  assert.deepEqual(withoutSeq(await typing), { chatId, userId: ann, username: ann });
  assert.equal((await generic).isTyping, true);

  // join-chat watched the members (I-R12): bob's status reaches ann.
  const away = waitFor(a, 'user-presence', (p) => p.userId === bob && p.status === 'away');
  b.emit('user-presence', { status: 'away' });
  await away;

  // A direct message by recipient opens (here: gets) the pair's room, then sends (I-R15).
  const direct = waitFor(b, 'send-message', (x) => x.message.text === 'direct');
  const acked = await emitAck(a, 'send-message', { recipientId: bob, text: 'direct' });
  assert.equal(acked.ok, true, JSON.stringify(acked));
  assert.equal(acked.data.message.text, 'direct', 'the ack is the message sent');
  assert.equal((await direct).chatId, chatId, 'the room the pair already had');
  const carol = uid('carol');
  const opened = await emitAck(a, 'send-message', { recipientId: carol, text: 'hello carol' });
  assert.equal(opened.ok, true, JSON.stringify(opened));
  assert.notEqual(opened.data.message.roomId, chatId, 'a new direct room for a new pair');
  const self = await emitAck(a, 'send-message', { recipientId: ann, text: 'me' });
  assert.equal(self.error.code, 'bad_request');
});

test('followers, refusals in the dialect\'s terms, and the server API on seed room names', { timeout: 20_000 }, async () => {
  const star = uid('star');
  const fan = uid('fan');
  const starSocket = await seedSocket(token(star));
  const followed = waitFor(starSocket, 'new-follower-notification');
  await restOk('POST', `/api/users/${star}/follow`, { token: token(fan) });
  assert.equal((await followed).follower.userId, fan);

  const wrong = waitFor(starSocket, 'error', (e) => e.event === 'content-reaction');
  starSocket.emit('content-reaction', { contentId: 'x1', action: 'love' });
  assert.equal((await wrong).code, 'bad_request');
  const acked = await emitAck(starSocket, 'media-reaction', { mediaId: 'x1', emoji: '😀' });
  assert.equal(acked.ok, false);
  assert.equal(acked.error.code, 'bad_request');

  const contentId = uid('doc');
  await registerContent(contentId, { type: 'article' });
  await joined(starSocket, 'join-content', { contentId, contentType: 'article' });
  const relayed = waitFor(starSocket, 'count-update', (c) => c.custom === true);
  await restOk('POST', '/api/server/emit', { serverKey: server().serverKey, body: { to: { room: `content:article:${contentId}` }, event: 'count-update', data: { custom: true } } });
  await relayed;
  const stats = await restOk('GET', `/api/server/rooms/${encodeURIComponent(`content:article:${contentId}`)}`, { serverKey: true });
  assert.equal(stats.size, 1);
});

test('leaving and the planned aliases: leave-content, leave-media, leave-stream, leave-chat, chat-typing-stop, live-chat-message and stream-update from the client, stream viewer counts', { timeout: 20_000 }, async () => {
  const owner = uid('host');
  const created = await restOk('POST', '/api/streams', { token: token(owner), body: { title: 'Live' } });
  const streamId = created.stream?.id ?? created.id;
  const host = await seedSocket(token(owner));
  const fan = await seedSocket(token(uid('fan')));
  await joined(host, 'join-stream', { streamId });
  const two = waitFor(host, 'viewer-count-update', (v) => v.streamId === streamId && v.viewerCount === 2);
  await joined(fan, 'join-stream', { streamId });
  assert.deepEqual(await two, { streamId, viewerCount: 2 });
  const live = waitFor(fan, 'stream-update', (s) => s.status === 'live');
  host.emit('stream-update', { streamId, status: 'live' });
  await live;
  const line = waitFor(host, 'stream-chat', (c) => c.message === 'via the alias');
  fan.emit('live-chat-message', { streamId, text: 'via the alias' });
  await line;
  const one = waitFor(host, 'viewer-count-update', (v) => v.streamId === streamId && v.viewerCount === 1);
  await joined(fan, 'leave-stream', { streamId });
  await one;

  const contentId = uid('clip');
  await registerContent(contentId, { type: 'clip' });
  const a = await seedSocket(token(uid('ann')));
  const b = await seedSocket(token(uid('bob')));
  await joined(a, 'join-content', { contentId, contentType: 'clip' });
  await joined(b, 'join-media', { mediaId: contentId });
  const down = waitFor(a, 'viewer-count-update', (v) => v.contentId === contentId && v.viewerCount === 1);
  await joined(b, 'leave-media', { mediaId: contentId });
  await down;
  await joined(a, 'leave-content', { contentId, contentType: 'clip' });
  const gone = silence(a, 'content-reaction');
  b.emit('content-reaction', { contentId, action: 'like' });
  await gone;

  const ann = uid('ann');
  const bob = uid('bob');
  const room = await restOk('POST', '/api/chat/rooms', { token: token(ann), body: { otherUserId: bob } });
  const sa = await seedSocket(token(ann));
  const sb = await seedSocket(token(bob));
  await joined(sa, 'join-chat', { chatId: room.id });
  await joined(sb, 'join-chat', { chatId: room.id });
  const started = waitFor(sb, 'chat-typing-start');
  sa.emit('chat-typing-start', { chatId: room.id });
  await started; // events of one socket run concurrently: stop after the start is told
  const stop = waitFor(sb, 'chat-typing-stop');
  sa.emit('chat-typing-stop', { chatId: room.id });
  assert.equal((await stop).userId, ann);
  await joined(sb, 'leave-chat', { chatId: room.id });
  const quiet = silence(sb, 'chat-typing-start');
  sa.emit('chat-typing-start', { chatId: room.id });
  await quiet;
});
