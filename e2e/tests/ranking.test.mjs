// PROTOCOL.md §4: live rankings. `ranking:subscribe {scope, limit}` acks the current
// top list and then pushes `ranking:update` when likes change it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, emitAck, emitOk, registerContent, restOk, startServer, stopServer, token,
  track, uid,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

async function likeBy(contentId, n) {
  for (let i = 0; i < n; i++) {
    await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('fan')) });
  }
}

const top = (items) => items.map(({ contentId, likes, rank }) => ({ contentId, likes, rank }));

test('ranking:subscribe to type:video acks the top 3 and ranking:update follows when likes reorder it', { timeout: 20_000 }, async () => {
  const [v1, v2, v3, v4] = [uid('v1'), uid('v2'), uid('v3'), uid('v4')];
  const owner = uid('owner');
  for (const v of [v1, v2, v3, v4]) await registerContent(v, { type: 'video', ownerId: owner });
  await registerContent(uid('post'), { type: 'post', ownerId: owner });
  await likeBy(v1, 3);
  await likeBy(v2, 2);
  await likeBy(v3, 1);

  const s = await connect(token(uid('watcher')));
  const updates = track(s, 'ranking:update', (p) => p.scope === 'type:video');
  const sub = await emitOk(s, 'ranking:subscribe', { scope: 'type:video', limit: 3 });
  assert.deepEqual(top(sub.items), [
    { contentId: v1, likes: 3, rank: 1 },
    { contentId: v2, likes: 2, rank: 2 },
    { contentId: v3, likes: 1, rank: 3 },
  ]);

  await likeBy(v4, 4);
  const expected = [
    { contentId: v4, likes: 4, rank: 1 },
    { contentId: v1, likes: 3, rank: 2 },
    { contentId: v2, likes: 2, rank: 3 },
  ];
  const upd = await updates.until((p) => JSON.stringify(top(p.items)) === JSON.stringify(expected));
  assert.equal(upd.scope, 'type:video');
  assert.ok(upd.items.length <= 3);
  for (const u of updates.events) assert.ok(u.items.length <= 3, `limit respected: ${JSON.stringify(u)}`);

  // a socket like moves it too
  const liker = await connect(token(uid('liker')));
  await emitOk(liker, 'content:like', { contentId: v3, like: true });
  await emitOk(liker, 'content:like', { contentId: v3, like: true }); // idempotent: still 2
  await likeBy(v3, 2); // 4 likes now
  await updates.until((p) => p.items.some((i) => i.contentId === v3 && i.likes === 4));
  liker.close();

  assert.deepEqual(await emitOk(s, 'ranking:unsubscribe', { scope: 'type:video' }), {});
  s.close();
});

test('ranking:subscribe by owner only ranks that owner\'s content', { timeout: 20_000 }, async () => {
  const owner = uid('owner');
  const otherOwner = uid('owner');
  const mine = [uid('m1'), uid('m2')];
  const theirs = uid('t1');
  for (const m of mine) await registerContent(m, { type: 'video', ownerId: owner });
  await registerContent(theirs, { type: 'video', ownerId: otherOwner });
  await likeBy(theirs, 3);
  await likeBy(mine[0], 1);

  const s = await connect(token(uid('watcher')));
  const scope = `owner:${owner}`;
  const updates = track(s, 'ranking:update', (p) => p.scope === scope);
  const sub = await emitOk(s, 'ranking:subscribe', { scope, limit: 5 });
  assert.ok(sub.items.every((i) => mine.includes(i.contentId)), JSON.stringify(sub.items));
  assert.equal(sub.items[0].contentId, mine[0]);
  assert.equal(sub.items[0].likes, 1);
  assert.equal(sub.items[0].rank, 1);

  await likeBy(mine[1], 2);
  const upd = await updates.until((p) => p.items[0]?.contentId === mine[1]);
  assert.deepEqual(top(upd.items).slice(0, 2), [
    { contentId: mine[1], likes: 2, rank: 1 },
    { contentId: mine[0], likes: 1, rank: 2 },
  ]);
  assert.ok(updates.events.every((u) => u.items.every((i) => i.contentId !== theirs)));
  s.close();
});

test('ranking:subscribe with an unknown scope kind is a bad_request', async () => {
  const s = await connect(token(uid('u')));
  for (const data of [{ scope: 'everything', limit: 3 }, { scope: 'type:video', limit: 0 }, { scope: 'type:video', limit: 'ten' }]) {
    const ack = await emitAck(s, 'ranking:subscribe', data);
    assert.equal(ack.ok, false, `${JSON.stringify(data)} acked ${JSON.stringify(ack)}`);
    assert.equal(ack.error.code, 'bad_request');
  }
  s.close();
});
