// Issue 6 §1: presence across nodes (a follower on node 2 watching a friend on node 3),
// offline only after the grace period, and the cluster-wide server stats and room sizes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  GRACE_MS, connect, delay, emitOk, eventually, restOk, startCluster, stopCluster, token, track, uid, waitFor,
} from './lib/cluster.mjs';

before(() => startCluster());
after(() => stopCluster());

test('a follower on node 2 sees a friend on node 3 go online and, after the grace period, offline', { timeout: 60_000 }, async () => {
  const friend = uid('friend');
  const watcherId = uid('watcher');
  // §6: one may watch the presence of people one follows.
  await restOk(0, 'POST', `/api/users/${friend}/follow`, { token: token(watcherId) });

  const watcher = await connect(1, token(watcherId));
  const updates = track(watcher, 'presence:update', (p) => p.userId === friend);
  const sub = await emitOk(watcher, 'presence:subscribe', { userIds: [friend] });
  assert.equal(sub.statuses[friend].status, 'offline');

  const f1 = await connect(2, token(friend));
  await updates.until((p) => p.status === 'online', 8_000);
  assert.equal((await emitOk(watcher, 'presence:subscribe', { userIds: [friend] })).statuses[friend].status, 'online',
    'node 2 reads the friend on node 3 as online');

  // a second device on node 1, then the first closes: still online (another node holds a socket)
  const f2 = await connect(0, token(friend));
  const before = updates.events.length;
  f1.close();
  await delay(GRACE_MS * 4);
  assert.deepEqual(updates.events.slice(before).map((p) => p.status), [], 'closing one of two devices on different nodes is no transition');
  assert.equal((await emitOk(watcher, 'presence:subscribe', { userIds: [friend] })).statuses[friend].status, 'online');

  // away set on node 1 is seen on node 2
  await emitOk(f2, 'presence:set', { status: 'away' });
  await updates.until((p) => p.status === 'away', 8_000);
  await emitOk(f2, 'presence:set', { status: 'online' });
  await updates.until((p) => p.status === 'online' && updates.events.some((q) => q.status === 'away'), 8_000);

  // the last socket closes: offline, but not before the grace period
  const offline = waitFor(watcher, 'presence:update', (p) => p.userId === friend && p.status === 'offline', 10_000);
  const closedAt = Date.now();
  f2.close();
  const off = await offline;
  const after = Date.now() - closedAt;
  assert.ok(after >= GRACE_MS - 20, `offline ${after} ms after the close, before the ${GRACE_MS} ms grace`);
  assert.equal(typeof off.lastSeen, 'string');
  assert.equal((await emitOk(watcher, 'presence:subscribe', { userIds: [friend] })).statuses[friend].status, 'offline');
});

test('a reconnect to another node within the grace period is no transition', { timeout: 30_000 }, async () => {
  const friend = uid('friend');
  const watcherId = uid('watcher');
  await restOk(0, 'POST', `/api/users/${friend}/follow`, { token: token(watcherId) });
  const watcher = await connect(1, token(watcherId));
  const updates = track(watcher, 'presence:update', (p) => p.userId === friend);
  await emitOk(watcher, 'presence:subscribe', { userIds: [friend] });
  const f1 = await connect(2, token(friend));
  await updates.until((p) => p.status === 'online', 8_000);
  const before = updates.events.length;
  f1.close();
  await connect(0, token(friend), { transports: ['websocket'] });
  await delay(GRACE_MS * 4);
  assert.deepEqual(updates.events.slice(before).map((p) => p.status), [], 'moving from node 3 to node 1 inside the grace is no transition');
});

// Every numeric leaf of a JSON value, by dotted path.
function numericLeaves(v, prefix = '', out = {}) {
  if (typeof v === 'number') out[prefix] = v;
  else if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) numericLeaves(x, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

function pick(data, re) {
  const leaves = numericLeaves(data);
  const keys = Object.keys(leaves).filter((k) => re.test(k));
  return { leaves, keys };
}

test('server stats and room sizes count every node', { timeout: 60_000 }, async () => {
  const base = await restOk(0, 'GET', '/api/server/stats', { serverKey: true });
  const { leaves: b, keys: socketKeys } = pick(base, /socket|connection/i);
  const { keys: userKeys } = pick(base, /user/i);
  assert.ok(socketKeys.length > 0 && userKeys.length > 0, `stats name sockets and users: ${JSON.stringify(base)}`);

  // 3 users, 5 sockets, over three nodes
  const users = [uid('s'), uid('s'), uid('s')];
  const socks = [
    await connect(0, token(users[0])),
    await connect(1, token(users[0])),
    await connect(1, token(users[1])),
    await connect(2, token(users[2])),
    await connect(2, token(users[2])),
  ];
  const room = `content:${uid('c')}`;
  for (const s of socks.slice(0, 4)) await emitOk(s, 'content:join', { contentId: room.slice('content:'.length) });

  for (const at of [0, 1, 2]) {
    await eventually(async () => {
      const data = await restOk(at, 'GET', '/api/server/stats', { serverKey: true });
      const leaves = numericLeaves(data);
      const socketsOk = socketKeys.some((k) => leaves[k] - (b[k] ?? 0) === 5);
      const usersOk = userKeys.some((k) => leaves[k] - (b[k] ?? 0) === 3);
      return socketsOk && usersOk ? data : false;
    }, { timeoutMs: 8_000, what: `node ${at + 1} stats count 5 more sockets and 3 more online users across the cluster (before: ${JSON.stringify(base)})` });
    const size = await restOk(at, 'GET', `/api/server/rooms/${room}`, { serverKey: true });
    assert.equal(size.size, 4, `room size from node ${at + 1}: ${JSON.stringify(size)}`);
    const userRoom = await restOk(at, 'GET', `/api/server/rooms/user:${users[0]}`, { serverKey: true });
    assert.equal(userRoom.size, 2, `user room of a user on nodes 1 and 2, asked at node ${at + 1}`);
  }
  for (const s of socks) s.close();
  // closed sockets leave the counts everywhere (users after the grace)
  for (const at of [0, 1, 2]) {
    await eventually(async () => {
      const size = await restOk(at, 'GET', `/api/server/rooms/${room}`, { serverKey: true });
      return size.size === 0;
    }, { timeoutMs: 8_000, what: `room empty seen from node ${at + 1}` });
  }
});
