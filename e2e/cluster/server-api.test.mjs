// Issue 6 §1: the server API and notifications across nodes: an emit or a notification
// posted to node 1 reaches a user whose sockets are on node 3 (and only them), once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, delay, emitOk, fence, restOk, startCluster, stopCluster, token, track, uid, waitFor,
} from './lib/cluster.mjs';

before(() => startCluster());
after(() => stopCluster());

test('POST /api/server/emit on node 1 reaches a user on node 3, a room across nodes, and everyone', { timeout: 60_000 }, async () => {
  const target = uid('target');
  const t3 = await connect(2, token(target));
  const t2 = await connect(1, token(target));
  const other = await connect(0, token(uid('other')));
  const atT3 = track(t3, 'app:ping');
  const atT2 = track(t2, 'app:ping');
  const atOther = track(other, 'app:ping');
  const marker = uid('m');
  await restOk(0, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId: target }, event: 'app:ping', data: { marker } } });
  assert.equal((await atT3.until((p) => p.marker === marker, 8_000)).marker, marker);
  await atT2.until((p) => p.marker === marker, 8_000);

  const contentId = uid('c');
  await emitOk(t3, 'content:join', { contentId });
  await emitOk(other, 'content:join', { contentId });
  const roomT3 = waitFor(t3, 'app:room', (p) => p.marker === contentId, 8_000);
  const roomOther = waitFor(other, 'app:room', (p) => p.marker === contentId, 8_000);
  await restOk(1, 'POST', '/api/server/emit', { serverKey: true, body: { to: { room: `content:${contentId}` }, event: 'app:room', data: { marker: contentId } } });
  await roomT3;
  await roomOther;

  await fence([t3, t2, other], 2);
  await delay(200);
  assert.equal(atT3.events.length, 1, 'once on node 3');
  assert.equal(atT2.events.length, 1, 'once on node 2');
  assert.equal(atOther.events.length, 0, 'never to another user');
});

test('a notification posted on node 1 is delivered live to the user on node 3 and listed from node 2', { timeout: 60_000 }, async () => {
  const userId = uid('user');
  const s = await connect(2, token(userId));
  const notes = track(s, 'notification:new');
  await restOk(0, 'POST', '/api/server/notifications', { serverKey: true, body: { userId, type: 'system', text: 'hello across nodes' } });
  const n = await notes.until((p) => p.notification?.text === 'hello across nodes', 8_000);
  assert.equal(n.unreadCount, 1);
  const list = await emitOk(await connect(1, token(userId)), 'notifications:list', {});
  assert.equal(list.unreadCount, 1);
  assert.equal(list.notifications[0].id, n.notification.id);

  // a like on node 2 of content owned by a user on node 3 notifies the owner there
  const owner = uid('owner');
  const contentId = uid('c');
  await restOk(0, 'PUT', `/api/server/content/${contentId}`, { serverKey: true, body: { type: 'video', ownerId: owner } });
  const o = await connect(2, token(owner));
  const ownerNotes = track(o, 'notification:new', (p) => p.notification?.type === 'like');
  const fan = await connect(1, token(uid('fan'), { name: 'Fan' }));
  await emitOk(fan, 'content:like', { contentId, like: true });
  await ownerNotes.until(() => true, 8_000);

  // an announcement reaches everyone on every node
  const all = [s, o, fan];
  const anns = all.map((x) => waitFor(x, 'system:announcement', (p) => p.message === 'maintenance at 5', 8_000));
  await restOk(1, 'POST', '/api/server/announcements', { serverKey: true, body: { message: 'maintenance at 5', level: 'info' } });
  await Promise.all(anns);

  // reading on node 2 tells the user's socket on node 3
  const unread = waitFor(s, 'notifications:unread', () => true, 8_000);
  const reader = await connect(1, token(userId));
  await emitOk(reader, 'notifications:read', { all: true });
  assert.equal((await unread).unreadCount, 0);
});
