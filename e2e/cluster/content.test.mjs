// Issue 6 §1–2: content broadcasts, counts and viewer numbers with viewers spread over
// three nodes. A like or comment made on node 1 reaches viewers on every node once;
// coalesced `content:counts` reach each receiver once per tick (not once per node);
// the viewer count is cluster-wide.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, counter, delay, emitOk, fence, restOk, startCluster, stopCluster, token, track, uid,
} from './lib/cluster.mjs';

const TICK_MS = 250;

before(() => startCluster({ env: { CHORUS_TICK_MS: String(TICK_MS) } }));
after(() => stopCluster());

const stripSeq = ({ seq, ...rest }) => rest; // eslint-disable-line no-unused-vars

async function threeViewers(contentId) {
  const viewers = [];
  for (let i = 0; i < 3; i++) {
    const id = uid(`viewer${i + 1}`);
    const s = await connect(i, token(id, { name: `Viewer ${i + 1}` }));
    s.userId = id;
    s.viewers = track(s, 'content:viewers', (p) => p.contentId === contentId);
    viewers.push(s);
  }
  return viewers;
}

test('likes, comments and shares made on node 1 or 3 reach viewers on all three nodes, once each', { timeout: 60_000 }, async () => {
  const contentId = uid('video');
  await restOk(0, 'PUT', `/api/server/content/${contentId}`, { serverKey: true, body: { type: 'video', ownerId: uid('owner') } });
  const viewers = await threeViewers(contentId);
  for (const v of viewers) await emitOk(v, 'content:join', { contentId });

  const likes = viewers.map((v) => track(v, 'content:like', (p) => p.contentId === contentId));
  const comments = viewers.map((v) => track(v, 'content:comment', (p) => p.contentId === contentId));
  const shares = viewers.map((v) => track(v, 'content:share', (p) => p.contentId === contentId));

  const like = await emitOk(viewers[0], 'content:like', { contentId, like: true });
  assert.equal(like.likesCount, 1);
  const comment = await emitOk(viewers[0], 'content:comment', { contentId, text: 'from node one' });
  // A REST action on node 3 has the same broadcast.
  await restOk(2, 'POST', `/api/content/${contentId}/share`, { token: token(viewers[2].userId) });

  for (const [i] of viewers.entries()) {
    const l = await likes[i].until((p) => p.userId === viewers[0].userId, 8_000);
    assert.equal(l.likesCount, 1);
    const c = await comments[i].until((p) => p.comment.id === comment.comment.id, 8_000);
    assert.equal(c.comment.text, 'from node one');
    await shares[i].until((p) => p.userId === viewers[2].userId, 8_000);
  }
  await fence(viewers);
  await delay(300);
  for (const [i] of viewers.entries()) {
    assert.equal(likes[i].events.length, 1, `viewer on node ${i + 1} got ${likes[i].events.length} content:like`);
    assert.equal(comments[i].events.length, 1, `viewer on node ${i + 1} got ${comments[i].events.length} content:comment`);
    assert.equal(shares[i].events.length, 1, `viewer on node ${i + 1} got ${shares[i].events.length} content:share`);
  }
  // the stored counts are the same read from any node
  for (const at of [0, 1, 2]) {
    const item = await restOk(at, 'GET', `/api/content/${contentId}`, { token: token(viewers[1].userId) });
    const counts = item.counts ?? item;
    assert.equal(counts.likes, 1, `likes from node ${at + 1}: ${JSON.stringify(item)}`);
    assert.equal(counts.comments, 1, `comments from node ${at + 1}: ${JSON.stringify(item)}`);
    assert.equal(counts.shares, 1, `shares from node ${at + 1}: ${JSON.stringify(item)}`);
  }
});

test('the viewer count and the room size are cluster-wide', { timeout: 60_000 }, async () => {
  const contentId = uid('video');
  const viewers = await threeViewers(contentId);
  const acks = [];
  for (const v of viewers) acks.push(await emitOk(v, 'content:join', { contentId }));
  assert.equal(acks[2].viewerCount, 3, `the third joiner sees 3 viewers across the nodes: ${JSON.stringify(acks[2])}`);
  for (const [i, v] of viewers.entries()) {
    await v.viewers.until((p) => p.viewerCount === 3, 8_000).catch((e) => { throw new Error(`viewer on node ${i + 1}: ${e.message}`); });
  }
  for (const at of [0, 1, 2]) {
    const room = await restOk(at, 'GET', `/api/server/rooms/content:${contentId}`, { serverKey: true });
    assert.equal(room.size, 3, `room size from node ${at + 1}: ${JSON.stringify(room)}`);
  }
  // a viewer leaves on node 2: everyone left sees 2
  await emitOk(viewers[1], 'content:leave', { contentId });
  for (const v of [viewers[0], viewers[2]]) await v.viewers.until((p) => p.viewerCount === 2, 8_000);
  const room = await restOk(1, 'GET', `/api/server/rooms/content:${contentId}`, { serverKey: true });
  assert.equal(room.size, 2);
  // a viewer's socket on node 3 closes: the count drops for the others
  viewers[2].close();
  await viewers[0].viewers.until((p) => p.viewerCount === 1, 8_000);
});

test('content:counts reach each receiver once per tick, whatever the number of nodes', { timeout: 60_000 }, async () => {
  const contentId = uid('viral');
  const viewers = await threeViewers(contentId);
  for (const v of viewers) await emitOk(v, 'content:join', { contentId });
  await delay(4 * TICK_MS); // let the join-time updates settle

  // One change: exactly one content:counts per receiver (three nodes must not make it three).
  const single = viewers.map((v) => counter(v, 'content:counts', (p) => p.contentId === contentId));
  await emitOk(viewers[0], 'content:like', { contentId, like: true });
  await delay(6 * TICK_MS);
  for (const [i, c] of single.entries()) {
    c.stop();
    assert.equal(c.times.length, 1, `viewer on node ${i + 1}: ${c.times.length} content:counts for one like: ${JSON.stringify(c.times.map((t) => t.p))}`);
    assert.equal(c.times[0].p.likes, 1);
  }

  // A burst: likes from users on every node and comments from node 1 for ~2 s.
  const burst = viewers.map((v) => counter(v, 'content:counts', (p) => p.contentId === contentId));
  const started = Date.now();
  const likers = [];
  for (let i = 0; i < 9; i++) likers.push(await connect(i % 3, token(uid('liker'))));
  let comments = 0;
  while (Date.now() - started < 2_000) {
    await emitOk(viewers[0], 'content:comment', { contentId, text: `c${comments}` });
    comments += 1;
    const l = likers[comments % likers.length];
    if (!l.liked) { await emitOk(l, 'content:like', { contentId, like: true }); l.liked = true; }
    await delay(40);
  }
  const window = Date.now() - started;
  const expectedLikes = 1 + likers.filter((l) => l.liked).length;
  // the last state arrives everywhere
  for (const [i, c] of burst.entries()) {
    const deadline = Date.now() + 5_000;
    while (!c.times.some((t) => t.p.comments === comments && t.p.likes === expectedLikes)) {
      if (Date.now() > deadline) assert.fail(`viewer on node ${i + 1} never saw comments=${comments} likes=${expectedLikes}: ${JSON.stringify(c.times.slice(-3).map((t) => t.p))}`);
      await delay(50);
    }
  }
  const total = Date.now() - started;
  await delay(3 * TICK_MS);
  const bound = Math.ceil((total + 3 * TICK_MS) / TICK_MS) + 2;
  for (const [i, c] of burst.entries()) {
    c.stop();
    assert.ok(c.times.length <= bound,
      `viewer on node ${i + 1} got ${c.times.length} content:counts over ~${total} ms (tick ${TICK_MS} ms, at most ${bound}); multiplied by nodes?`);
    // no copy of one tick's state from each node: the same state twice within one tick.
    // (The same state again on the next tick is a redundant update, not a multiplication.)
    for (let k = 1; k < c.times.length; k++) {
      const gap = c.times[k].at - c.times[k - 1].at;
      const same = JSON.stringify(stripSeq(c.times[k].p)) === JSON.stringify(stripSeq(c.times[k - 1].p));
      assert.ok(!(same && gap < TICK_MS / 2),
        `viewer on node ${i + 1} got the same content:counts twice ${gap} ms apart ` +
          `(${c.times.length} updates in ~${total} ms): ${JSON.stringify(c.times[k].p)}`);
    }
    assert.ok(c.times.length >= 2, `a 2 s burst gives more than one update (got ${c.times.length})`);
  }
  void window;
});
