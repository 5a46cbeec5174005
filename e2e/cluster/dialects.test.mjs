// docs/dialects.md §0.4 across nodes: every node translates what its follower delivers,
// so dialect clients on any node hear a change made on another, once, in their terms;
// the server API's dialect room names work on every node.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, emitOk, fence, restOk, startCluster, stopCluster, token, track, uid, waitFor } from './lib/cluster.mjs';

// The nodes' default dialect is `video`, so the server API takes its room names.
before(() => startCluster({ env: { CHORUS_DIALECT: 'video' } }));
after(() => stopCluster());

const speaking = (dialect, at, userId) => connect(at, token(userId), { auth: { token: token(userId), dialect } });

test('a like made through node 1 reaches video clients on nodes 2 and 3 and a native one on node 1, once each', { timeout: 60_000 }, async () => {
  const contentId = uid('video');
  await restOk(0, 'PUT', `/api/server/content/${contentId}`, { serverKey: true, body: { type: 'video', ownerId: uid('owner') } });
  const nativeId = uid('native');
  const native = await speaking('native', 0, nativeId);
  await emitOk(native, 'content:join', { contentId });
  const viewers = [];
  for (const at of [1, 2]) {
    const s = await speaking('video', at, uid(`video${at}`));
    const joined = waitFor(s, 'video:joined');
    s.emit('video:join', { contentId });
    await joined;
    viewers.push(s);
  }
  const likes = viewers.map((v) => track(v, 'video:like', (p) => p.contentId === contentId));
  const nativeLikes = track(native, 'content:like', (p) => p.contentId === contentId);
  const untranslated = viewers.map((v) => track(v, 'content:like'));
  await restOk(0, 'POST', `/api/content/${contentId}/like`, { token: token(uid('fan')) });
  await fence([native, ...viewers], 0);
  await fence([native, ...viewers], 2);
  for (const l of likes) assert.deepEqual(l.events.map((p) => p.likesCount), [1]);
  assert.equal(nativeLikes.events.length, 1);
  for (const u of untranslated) assert.equal(u.events.length, 0);

  // The backend's emitVideoView through node 3, into the seed's room name.
  const views = viewers.map((v) => waitFor(v, 'video:view', (p) => p.viewsCount === 99));
  await restOk(2, 'POST', '/api/server/emit', { serverKey: true, body: { to: { room: `video_${contentId}` }, event: 'video:view', data: { contentId, viewsCount: 99 } } });
  await Promise.all(views);
  const stats = await restOk(1, 'GET', `/api/server/rooms/video_${contentId}`, { serverKey: true });
  assert.equal(stats.size, 3, 'native and dialect sockets, on every node');
});

test('a chatnotify message sent on node 2 reaches the other member on node 3 as receive_message', { timeout: 60_000 }, async () => {
  const ann = uid('ann');
  const bob = uid('bob');
  const room = await restOk(0, 'POST', '/api/chat/rooms', { token: token(ann), body: { otherUserId: bob } });
  const a = await speaking('chatnotify', 1, ann);
  const b = await speaking('chatnotify', 2, bob);
  a.emit('join_room', { chatRoomId: room.id });
  b.emit('join_room', { chatRoomId: room.id });
  const got = waitFor(b, 'receive_message');
  a.emit('send_message', { chatRoomId: room.id, text: 'across nodes' });
  const msg = await got;
  assert.equal(msg.text, 'across nodes');
  assert.equal(msg.chatRoomId, room.id);
  assert.equal(msg.senderId, ann);
});
