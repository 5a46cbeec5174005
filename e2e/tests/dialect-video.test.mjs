// docs/dialects.md §3: the video app of seed 002 against a server whose default dialect
// is `video`. The client code below is the seed's own (its snippets, with the seed's
// event names, payloads and ids), connected with the official socket.io-client and
// nothing changed but the URL and the token.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';
import {
  closeAllSockets, emitAck, expectRefused, rawSocket, registerContent, rest, restOk, server, startServer, stopServer,
  token, uid, waitFor, withoutSeq,
  silence,
} from '../lib/server.mjs';

before(() => startServer({ args: ['--dialect', 'video'] }));
after(() => stopServer());

const opened = [];
/** The seed's own `io(url, {auth: {token}})` (002, "React/JavaScript"). */
function seedSocket(tok, opts = {}) {
  const socket = io(server().url, { auth: { token: tok }, forceNew: true, reconnection: false, ...opts });
  opened.push(socket);
  return socket;
}
after(() => opened.forEach((s) => s.close()));

const connected = (socket) => new Promise((ok, fail) => {
  socket.once('connect', ok);
  socket.once('connect_error', (e) => fail(new Error(`connect_error: ${e.message} ${JSON.stringify(e.data)}`)));
});

const isoTime = (s) => typeof s === 'string' && !Number.isNaN(Date.parse(s));

test('video rooms: join, like, comment, view and share through REST, typing, leave (002 §1, §2, §4)', { timeout: 30_000 }, async () => {
  const contentId = '123';
  await registerContent(contentId, { type: 'video', ownerId: uid('creator'), title: 'Launch' });
  const viewer = uid('user');
  const tokViewer = token(viewer, { claims: { username: '@johndoe' } });
  const tokWatcher = token(uid('watcher'));

  // Flutter/Dart: `IO.io(url, {'transports': ['websocket'], 'auth': {'token': token}})`.
  const watcher = seedSocket(tokWatcher, { transports: ['websocket'] });
  await connected(watcher);
  const watcherJoined = waitFor(watcher, 'video:joined');
  watcher.emit('video:join', { contentId: '123' });
  const joined = await watcherJoined;
  assert.deepEqual(joined, {
    contentId: '123', likesCount: 0, commentsCount: 0, viewsCount: 0, sharesCount: 0, viewerCount: 1, isLiked: false,
  });

  // React/JavaScript.
  const socket = seedSocket(tokViewer);
  await connected(socket);
  const viewerJoined = waitFor(socket, 'video:joined');
  socket.emit('video:join', { contentId: '123' });
  assert.equal((await viewerJoined).contentId, '123');

  // "Client sends like action: POST /api/content/:id/like" → `video:like` to the room.
  let seen = waitFor(watcher, 'video:like');
  const liked = await rest('POST', `/api/content/${contentId}/like`, { token: tokViewer });
  assert.equal(liked.status, 200);
  assert.equal(liked.body.success, true);
  assert.deepEqual(liked.body.data, { isLiked: true, likesCount: 1 });
  let ev = await seen;
  assert.deepEqual({ ...withoutSeq(ev), timestamp: undefined }, { contentId: '123', contentType: 'video', userId: viewer, isLiked: true, likesCount: 1, timestamp: undefined },
    'the seed fields, and the item type native content events carry');
  assert.ok(isoTime(ev.timestamp));

  // Comment → `video:comment` with the seed's comment shape.
  seen = waitFor(watcher, 'video:comment');
  const commented = await restOk('POST', `/api/content/${contentId}/comments`, { token: tokViewer, body: { text: 'Great video!', parentId: null } });
  assert.equal(commented.commentsCount, 1);
  ev = await seen;
  assert.equal(ev.contentId, '123');
  assert.equal(ev.commentsCount, 1);
  assert.ok(isoTime(ev.timestamp));
  assert.equal(ev.comment.text, 'Great video!');
  assert.equal(ev.comment._id, commented.comment.id);
  assert.ok(isoTime(ev.comment.createdAt));
  assert.deepEqual(
    { _id: ev.comment.user._id, username: ev.comment.user.username, isVerified: ev.comment.user.isVerified },
    { _id: viewer, username: '@johndoe', isVerified: false },
  );
  assert.ok('avatar' in ev.comment.user);

  // View → `video:view` (at most once per tick).
  seen = waitFor(watcher, 'video:view', (d) => d.viewsCount === 1);
  await restOk('POST', `/api/content/${contentId}/view`, { token: tokViewer });
  ev = await seen;
  assert.equal(ev.contentId, '123');
  assert.ok(isoTime(ev.timestamp));

  // Share → `video:share`.
  seen = waitFor(watcher, 'video:share');
  await restOk('POST', `/api/content/${contentId}/share`, { token: tokViewer });
  ev = await seen;
  assert.deepEqual({ contentId: ev.contentId, userId: ev.userId, sharesCount: ev.sharesCount }, { contentId: '123', userId: viewer, sharesCount: 1 });
  assert.ok(isoTime(ev.timestamp));

  // Typing: the others see it, the typer does not.
  seen = waitFor(watcher, 'video:user_typing');
  const notEchoed = silence(socket, 'video:user_typing');
  socket.emit('video:comment_typing', { contentId: '123' });
  assert.deepEqual(withoutSeq(await seen), { contentId: '123', userId: viewer, username: '@johndoe' });
  await notEchoed;

  // Native events the dialect says in its own words are not sent as well.
  const noNativeLike = silence(watcher, 'content:like');
  const noNativeCounts = silence(watcher, 'content:counts');
  seen = waitFor(watcher, 'video:like', (d) => d.isLiked === false);
  await restOk('DELETE', `/api/content/${contentId}/like`, { token: tokViewer });
  await seen;
  await Promise.all([noNativeLike, noNativeCounts]);

  // Leave: `video:left`, then nothing more from the room.
  const left = waitFor(watcher, 'video:left');
  watcher.emit('video:leave', { contentId: '123' });
  assert.deepEqual(await left, { contentId: '123' });
  const quiet = silence(watcher, 'video:like');
  await restOk('POST', `/api/content/${contentId}/like`, { token: tokViewer });
  await quiet;
});

test('feed: subscribe without arguments, new content reaches followers, unsubscribe (002 §3)', { timeout: 20_000 }, async () => {
  const creator = uid('creator');
  const follower = uid('fan');
  const tokCreator = token(creator, { claims: { username: '@creator' } });
  const tokFollower = token(follower);
  await restOk('POST', `/api/users/${creator}/follow`, { token: tokFollower });

  const fan = seedSocket(tokFollower);
  await connected(fan);
  const subscribed = waitFor(fan, 'feed:subscribed');
  fan.emit('feed:subscribe');
  assert.deepEqual(await subscribed, {});

  const maker = seedSocket(tokCreator);
  await connected(maker);
  const refresh = waitFor(fan, 'feed:refresh');
  const broadcasted = waitFor(maker, 'feed:content_broadcasted');
  maker.emit('feed:new_content', { contentId: '456', contentType: 'video' });
  assert.deepEqual(await broadcasted, { contentId: '456', followersNotified: 1 });
  const data = await refresh;
  assert.equal(data.type, 'new_content');
  assert.equal(data.contentId, '456');
  assert.equal(data.contentType, 'video');
  assert.deepEqual({ id: data.creator.id, username: data.creator.username }, { id: creator, username: '@creator' });
  assert.ok('avatar' in data.creator);
  assert.ok(isoTime(data.timestamp));

  fan.emit('feed:unsubscribe');
  await new Promise((ok) => setTimeout(ok, 200));
  const quiet = silence(fan, 'feed:refresh');
  maker.emit('feed:new_content', { contentId: '457', contentType: 'video' });
  await quiet;
});

test('engagement analytics: watch progress is acknowledged, a quality change is stored silently (002 §5)', { timeout: 15_000 }, async () => {
  const contentId = uid('clip');
  await registerContent(contentId, { type: 'video', ownerId: uid('creator') });
  const socket = seedSocket(token(uid('user')));
  await connected(socket);
  const joined = waitFor(socket, 'video:joined');
  socket.emit('video:join', { contentId });
  await joined;

  const tracked = waitFor(socket, 'video:progress_tracked');
  socket.emit('video:watch_progress', { contentId, watchTime: 45.5, completed: false });
  assert.deepEqual(await tracked, { contentId });

  const noError = silence(socket, 'error');
  const noReply = silence(socket, 'video:progress_tracked');
  socket.emit('video:quality_change', { contentId, quality: '720p', buffering: false });
  await Promise.all([noError, noReply]);
  const analytics = await restOk('GET', `/api/server/content/${contentId}/analytics`, { serverKey: server().serverKey });
  assert.deepEqual(analytics.qualityDistribution, { '720p': 1 });
});

test('authentication the seed shows: auth.token and the Authorization header; user_${id} is joined (002 §Authentication)', { timeout: 15_000 }, async () => {
  const userId = uid('user');
  const socket = seedSocket(undefined, { auth: undefined, extraHeaders: { Authorization: `Bearer ${token(userId)}` }, transports: ['websocket'] });
  await connected(socket);
  // socketService.emitToUser(userId, 'notification', {...}) → the server API.
  const note = waitFor(socket, 'notification');
  await restOk('POST', '/api/server/emit', { serverKey: server().serverKey, body: { to: { userId }, event: 'notification', data: { title: 'Hi' } } });
  assert.deepEqual(withoutSeq(await note), { title: 'Hi' });
  // The same through the seed's room name.
  const again = waitFor(socket, 'notification', (d) => d.title === 'room');
  await restOk('POST', '/api/server/emit', { serverKey: server().serverKey, body: { to: { room: `user_${userId}` }, event: 'notification', data: { title: 'room' } } });
  await again;
});

test("the backend's socketService maps onto the server API with the seed's room names (002 §Socket Service API)", { timeout: 15_000 }, async () => {
  const contentId = uid('v');
  await registerContent(contentId, { type: 'video', ownerId: uid('creator') });
  const a = seedSocket(token(uid('user')));
  const b = seedSocket(token(uid('user')));
  await Promise.all([connected(a), connected(b)]);
  for (const s of [a, b]) {
    const joined = waitFor(s, 'video:joined');
    s.emit('video:join', { contentId });
    await joined;
  }
  // getRoomStats('video_123') → { size: 45, connected: true }
  const stats = await restOk('GET', `/api/server/rooms/video_${contentId}`, { serverKey: server().serverKey });
  assert.deepEqual(stats, { room: `video_${contentId}`, size: 2, connected: true });
  // emitVideoView(contentId, viewsCount), through the server API into `video_${contentId}`.
  const seen = waitFor(b, 'video:view', (d) => d.viewsCount === 15234);
  await restOk('POST', '/api/server/emit', {
    serverKey: server().serverKey,
    body: { to: { room: `video_${contentId}` }, event: 'video:view', data: { contentId, viewsCount: 15234, timestamp: new Date().toISOString() } },
  });
  assert.equal((await seen).contentId, contentId);
  // broadcast('event', {...}) → everyone.
  const everyone = waitFor(a, 'event');
  await restOk('POST', '/api/server/emit', { serverKey: server().serverKey, body: { to: { all: true }, event: 'event', data: { x: 1 } } });
  assert.deepEqual(withoutSeq(await everyone), { x: 1 });
  const unknown = await rest('GET', '/api/server/rooms/photo_1', { serverKey: server().serverKey });
  assert.equal(unknown.status, 400);
});

test('bad input gets the native refusals in the dialect: as `error` without an ack, in the envelope with one; nothing changes', { timeout: 15_000 }, async () => {
  const contentId = uid('v');
  await registerContent(contentId, { type: 'video', ownerId: uid('creator') });
  const socket = seedSocket(token(uid('user')));
  await connected(socket);

  const refused = waitFor(socket, 'error');
  socket.emit('video:join', { contentId: '' });
  const err = await refused;
  assert.equal(err.code, 'bad_request');
  assert.equal(err.event, 'video:join');
  assert.equal(typeof err.message, 'string');

  const wrongType = waitFor(socket, 'error', (e) => e.event === 'video:watch_progress');
  socket.emit('video:watch_progress', { contentId, watchTime: 'long', completed: false });
  assert.equal((await wrongType).code, 'bad_request');

  const unknown = waitFor(socket, 'error', (e) => e.event === 'video:dance');
  socket.emit('video:dance', { contentId });
  assert.equal((await unknown).code, 'bad_request');

  const stats = await restOk('GET', `/api/server/rooms/video_${contentId}`, { serverKey: server().serverKey });
  assert.equal(stats.size, 0, 'no refused command joined a room');

  // An app that moves to acks gets the reply's payload as `data`, and no reply event.
  const noReplyEvent = silence(socket, 'video:joined');
  const ack = await emitAck(socket, 'video:join', { contentId });
  assert.equal(ack.ok, true);
  assert.deepEqual(Object.keys(ack.data).sort(), ['commentsCount', 'contentId', 'isLiked', 'likesCount', 'sharesCount', 'viewerCount', 'viewsCount']);
  await noReplyEvent;
  const bad = await emitAck(socket, 'video:leave', { contentId: 42.5 });
  assert.equal(bad.ok, false);
  assert.equal(bad.error.code, 'bad_request');
});

test('a client may still speak natively on a video server, and an unknown dialect is refused at connect', { timeout: 15_000 }, async () => {
  const contentId = uid('v');
  await registerContent(contentId, { type: 'video', ownerId: uid('creator') });
  const native = rawSocket(token(uid('n')), { auth: { token: token(uid('n')), dialect: 'native' } });
  await connected(native);
  const joined = await emitAck(native, 'content:join', { contentId });
  assert.equal(joined.ok, true);
  assert.equal(joined.data.contentId, contentId);
  const like = waitFor(native, 'content:like');
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('fan')) });
  assert.equal((await like).likesCount, 1);

  const err = await expectRefused(rawSocket(token(uid('x')), { auth: { token: token(uid('x')), dialect: 'klingon' } }));
  assert.equal(err.data?.code, 'bad_request');
  assert.match(err.message, /unknown dialect: klingon/);
  closeAllSockets();
});
