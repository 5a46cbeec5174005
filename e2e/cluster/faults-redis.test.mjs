// Issue 6 §4, Redis faults: Redis restarted or its client connections killed → the
// nodes reconnect and resubscribe by themselves and cross-node delivery resumes within
// 10 s; Redis stopped → delivery on one node continues and `/readyz` reports degraded;
// Redis back → ready again and cross-node delivery resumes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, delay, emitAck, emitOk, killRedisClients, outputs, readyz, redis, rest, startCluster, stopCluster, token, track, uid,
} from './lib/cluster.mjs';

const RECOVERY_BOUND_MS = 10_000;

before(() => startCluster());
// Redis is stopped, restarted and cut here: every node says so.
after(() => stopCluster({ expectedWarnings: [/redis/i] }));

/**
 * Sends server-API emits through node `via` to `userId` every 200 ms until `socket`
 * receives one; resolves with the ms from `since` to the first delivery.
 */
async function crossNodeDelivery(via, userId, socket, since, boundMs, what = 'of the fault clearing') {
  const got = [];
  const h = (p) => got.push(p);
  socket.on('probe', h);
  try {
    const deadline = since + boundMs;
    let n = 0;
    while (Date.now() < deadline + 1_000) {
      n += 1;
      const marker = `p${n}`;
      try {
        await rest(via, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId }, event: 'probe', data: { marker } }, timeoutMs: 1_000 });
      } catch { /* the node may still be reconnecting */ }
      await delay(200);
      if (got.length) return Date.now() - since;
    }
    throw new Error(`no cross-node delivery (server emit via node ${via + 1} to a user on another node) within ${boundMs} ms ${what}\n${outputs(2000)}`);
  } finally {
    socket.off('probe', h);
  }
}

/** A chat message from node 1 to a user on node 3 arrives. */
async function chatAcross() {
  const a = uid('a');
  const b = uid('b');
  const sa = await connect(0, token(a));
  const sb = await connect(2, token(b));
  const { body } = await rest(0, 'POST', '/api/chat/rooms', { token: token(a), body: { otherUserId: b } });
  const roomId = body.data.id;
  const got = track(sb, 'chat:message', (p) => p.roomId === roomId);
  const sent = await emitOk(sa, 'chat:send', { roomId, clientMsgId: uid('cm'), text: 'across' });
  await got.until((p) => p.message.id === sent.message.id, 8_000);
  sa.close();
  sb.close();
}

function readyBody(r) {
  if (r.body && typeof r.body === 'object') return r.body;
  try { return JSON.parse(r.body); } catch { return { raw: r.body }; }
}

test('Redis restarted: cross-node delivery resumes within 10 s without help', { timeout: 60_000 }, async () => {
  const userId = uid('far');
  const far = await connect(2, token(userId));
  await crossNodeDelivery(0, userId, far, Date.now(), 5_000, 'before any fault'); // works before the fault

  await redis().restart();
  const restartedAt = Date.now();
  const took = await crossNodeDelivery(0, userId, far, restartedAt, RECOVERY_BOUND_MS);
  assert.ok(took <= RECOVERY_BOUND_MS, `delivery resumed after ${took} ms`);
  assert.equal(far.connected, true, 'the client on node 3 stayed connected through the Redis restart');
  await chatAcross();
});

test('Redis client connections killed: cross-node delivery resumes within 10 s without help', { timeout: 60_000 }, async () => {
  const userId = uid('far');
  const far = await connect(1, token(userId));
  await crossNodeDelivery(2, userId, far, Date.now(), 5_000, 'before any fault');

  const killed = await killRedisClients();
  assert.ok(killed.normal + killed.pubsub > 0, `the nodes had Redis connections to kill: ${JSON.stringify(killed)}`);
  const took = await crossNodeDelivery(2, userId, far, Date.now(), RECOVERY_BOUND_MS);
  assert.ok(took <= RECOVERY_BOUND_MS, `delivery resumed after ${took} ms`);
  // and once more, the other way round
  const back = uid('back');
  const near = await connect(2, token(back));
  await crossNodeDelivery(1, back, near, Date.now(), 5_000);
});

async function readyzUntil(at, pred, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let r;
  for (;;) {
    r = await readyz(at);
    const body = readyBody(r);
    if (pred(body, r.status)) return { body, status: r.status };
    if (Date.now() > deadline) assert.fail(`node ${at + 1} /readyz ${what}: ${r.status} ${JSON.stringify(body)}`);
    await delay(200);
  }
}

test('Redis stopped: delivery on one node continues; Redis back: cross-node delivery resumes within 10 s', { timeout: 90_000 }, async () => {
  const contentId = uid('local');
  const a = await connect(0, token(uid('a')));
  const b = await connect(0, token(uid('b')));
  await emitOk(a, 'content:join', { contentId });
  await emitOk(b, 'content:join', { contentId });
  const farId = uid('far');
  const far = await connect(2, token(farId));

  await redis().stop();
  try {
    await delay(1_000);
    // delivery between two sockets of node 1 still works
    const comments = track(b, 'content:comment', (p) => p.contentId === contentId);
    const ack = await emitAck(a, 'content:comment', { contentId, text: 'while redis is down' }, 8_000);
    assert.equal(ack.ok, true, `a command on node 1 while Redis is down: ${JSON.stringify(ack)}`);
    await comments.until((p) => p.comment.id === ack.data.comment.id, 8_000);
    const likes = track(b, 'content:like', (p) => p.contentId === contentId);
    await emitOk(a, 'content:like', { contentId, like: true }, 8_000);
    await likes.until(() => true, 8_000);
    // new connections are still accepted on a node
    const late = await connect(1, token(uid('late')));
    late.close();
  } finally {
    await redis().start();
  }
  const backAt = Date.now();
  const took = await crossNodeDelivery(0, farId, far, backAt, RECOVERY_BOUND_MS);
  assert.ok(took <= RECOVERY_BOUND_MS, `cross-node delivery resumed ${took} ms after Redis came back`);
  await chatAcross();
});

test('/readyz: ready with Redis, degraded (redis unreachable) without it, ready again when it is back', { timeout: 90_000 }, async () => {
  for (const at of [0, 1, 2]) {
    const { status, body } = await readyzUntil(at, (b) => b.status === 'ready', 'before the fault', 5_000);
    assert.equal(status, 200);
    assert.equal(body.redis, 'ok', `node ${at + 1}: ${JSON.stringify(body)}`);
  }
  await redis().stop();
  try {
    for (const at of [0, 1, 2]) {
      await readyzUntil(at, (b) => b.status === 'degraded' && b.redis === 'unreachable', 'while Redis is down');
    }
  } finally {
    await redis().start();
  }
  for (const at of [0, 1, 2]) {
    const { status } = await readyzUntil(at, (b) => b.status === 'ready' && b.redis === 'ok', 'after Redis came back');
    assert.equal(status, 200);
  }
});
