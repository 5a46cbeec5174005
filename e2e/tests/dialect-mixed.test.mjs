// docs/dialects.md §0: one state, many dialects. On a native server, a native client, a
// `video` client (auth.dialect) and a `chatnotify` client (?dialect=) share content, a
// chat room and a stream; each hears every change in its own terms, and only in them.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  checkedSeq, connect, emitOk, rawSocket, registerContent, restOk, server, startServer, stopServer, token, uid, waitFor, withoutSeq,
  silence,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

const video = (userId) => connect(token(userId), { auth: { token: token(userId), dialect: 'video' } });
const chatnotify = (userId) => connect(token(userId), { query: { dialect: 'chatnotify' } });

test('a like and a comment on one item reach native and video clients, each in its own protocol', { timeout: 20_000 }, async () => {
  const contentId = uid('item');
  await registerContent(contentId, { type: 'video', ownerId: uid('owner') });
  const nat = await connect(token(uid('native')));
  const vid = await video(uid('video'));
  await emitOk(nat, 'content:join', { contentId });
  const joined = waitFor(vid, 'video:joined');
  vid.emit('video:join', { contentId });
  assert.equal((await joined).viewerCount, 2, 'one room, whatever the dialect');

  const nativeLike = waitFor(nat, 'content:like');
  const videoLike = waitFor(vid, 'video:like');
  const noVideoAtNative = silence(nat, 'video:like');
  const noNativeAtVideo = silence(vid, 'content:like');
  const liker = uid('fan');
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(liker) });
  const [n, v] = await Promise.all([nativeLike, videoLike]);
  assert.deepEqual(withoutSeq(v), withoutSeq(n), 'the same fields under the video name');
  assert.equal(v.userId, liker);
  checkedSeq(v);
  assert.equal(v.seq, n.seq, 'one event, one seq');
  await Promise.all([noVideoAtNative, noNativeAtVideo]);

  // The video client comments natively (a native command its dialect does not rename).
  const nativeComment = waitFor(nat, 'content:comment');
  const videoComment = waitFor(vid, 'video:comment');
  await emitOk(vid, 'content:comment', { contentId, text: 'from the video app' });
  const [nc, vc] = await Promise.all([nativeComment, videoComment]);
  assert.equal(nc.comment.text, 'from the video app');
  assert.equal(vc.comment._id, nc.comment.id);
  assert.equal(vc.commentsCount, 1);
});

test('a chat room shared by a native and a chatnotify client', { timeout: 20_000 }, async () => {
  const ann = uid('ann');
  const bob = uid('bob');
  const room = await restOk('POST', '/api/chat/rooms', { token: token(ann), body: { otherUserId: bob } });
  const nat = await connect(token(ann));
  const cn = await chatnotify(bob);
  await emitOk(nat, 'chat:join', { roomId: room.id });
  cn.emit('join_room', { chatRoomId: room.id });
  await new Promise((ok) => setTimeout(ok, 200));

  const atNative = waitFor(nat, 'chat:message');
  const atChatnotify = waitFor(cn, 'receive_message');
  cn.emit('send_message', { chatRoomId: room.id, text: 'hi from chatnotify' });
  const [n, c] = await Promise.all([atNative, atChatnotify]);
  assert.equal(n.message.text, 'hi from chatnotify');
  assert.equal(n.message.sender.id, bob);
  assert.equal(c._id, n.message.id);
  assert.equal(c.senderId, bob);

  const typing = waitFor(cn, 'typing');
  await emitOk(nat, 'chat:typing', { roomId: room.id, typing: true });
  assert.deepEqual(withoutSeq(await typing), { chatRoomId: room.id, userId: ann, isTyping: true });
  const nativeTyping = waitFor(nat, 'chat:typing');
  cn.emit('typing', { chatRoomId: room.id, isTyping: true });
  assert.equal((await nativeTyping).user.id, bob);
});

test('stream events pass through to dialects that name none for them; announcements reach everyone once', { timeout: 20_000 }, async () => {
  const owner = uid('streamer');
  const stream = await restOk('POST', '/api/streams', { token: token(owner), body: { title: 'Live' } });
  const nat = await connect(token(uid('native')));
  const vid = await video(uid('video'));
  const cn = await chatnotify(uid('cn'));
  await emitOk(nat, 'stream:join', { streamId: stream.stream?.id ?? stream.id });
  const streamId = stream.stream?.id ?? stream.id;
  await emitOk(vid, 'stream:join', { streamId });

  const nativeStatus = waitFor(nat, 'stream:status');
  const videoStatus = waitFor(vid, 'stream:status');
  await restOk('POST', `/api/streams/${streamId}/status`, { token: token(owner), body: { status: 'live' } });
  const [ns, vs] = await Promise.all([nativeStatus, videoStatus]);
  assert.deepEqual(vs, ns);

  const everyone = [nat, vid, cn].map((s) => waitFor(s, 'system:announcement'));
  const counts = [nat, vid, cn].map((s) => {
    let n = 0;
    s.on('system:announcement', () => { n += 1; });
    return () => n;
  });
  await restOk('POST', '/api/server/announcements', { serverKey: true, body: { message: 'maintenance at noon' } });
  for (const a of await Promise.all(everyone)) assert.equal(a.message, 'maintenance at noon');
  await new Promise((ok) => setTimeout(ok, 300));
  assert.deepEqual(counts.map((c) => c()), [1, 1, 1], 'each socket hears it once');
});

test('a dialect socket resumes its session: the events it missed arrive translated', { timeout: 20_000 }, async () => {
  const contentId = uid('item');
  await registerContent(contentId, { type: 'video', ownerId: uid('owner') });
  const userId = uid('video');
  const first = await video(userId);
  const joined = waitFor(first, 'video:joined');
  first.emit('video:join', { contentId });
  await joined;
  const liked = waitFor(first, 'video:like');
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('a')) });
  const { seq: lastSeq } = await liked;
  const { sessionId } = first.session;
  first.close();
  await new Promise((ok) => setTimeout(ok, 100));
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('b')) });

  const again = rawSocket(token(userId), { auth: { token: token(userId), dialect: 'video', resume: { sessionId, lastSeq } } });
  // Missed events come before session:ready: listen from the start.
  const missed = [];
  again.on('video:like', (d) => missed.push(d));
  again.on('content:like', (d) => missed.push({ native: d }));
  const ready = await waitFor(again, 'session:ready');
  assert.equal(ready.recovered, true);
  assert.deepEqual(missed.map((d) => d.likesCount), [2], 'the missed like, as video:like');
  const next = waitFor(again, 'video:like', (d) => d.likesCount === 3);
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('c')) });
  assert.equal((await next).contentId, contentId, 'the resumed socket is back in the video room');
});

test('a broadcast is encoded once per dialect in the room, not once per socket', { timeout: 20_000 }, async () => {
  const contentId = uid('item');
  await registerContent(contentId, { type: 'video', ownerId: uid('owner') });
  const sockets = [];
  for (let i = 0; i < 3; i++) {
    const s = await video(uid(`video${i}`));
    const joined = waitFor(s, 'video:joined');
    s.emit('video:join', { contentId });
    await joined;
    sockets.push(s);
  }
  const encodings = async () => {
    const res = await fetch(`${server().url}/metrics`);
    const line = (await res.text()).split('\n').find((l) => l.startsWith('chorus_dialect_encodings_total{')
      && l.includes('dialect="video"') && l.includes('as="video:like"'));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const before = await encodings();
  const likes = sockets.map((s) => waitFor(s, 'video:like', (d) => d.contentId === contentId));
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('fan')) });
  await Promise.all(likes);
  assert.equal(await encodings() - before, 1, 'three video sockets, one encoding');
});
