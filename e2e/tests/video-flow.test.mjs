// PROTOCOL.md §4 + §12: the video-app flow. The app backend registers a video, two
// viewers watch it, one of them interacts through the socket and through REST, and
// the other sees every change live.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, emitAck, emitOk, registerContent, rest, restOk, startServer, stopServer,
  token, track, uid, waitFor,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

const isRfc3339 = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$/.test(s) && !Number.isNaN(Date.parse(s));

// The shape of a comment list page is not fixed by PROTOCOL.md (an array or an object
// holding one); accept both and report which one was seen when neither.
function commentList(data) {
  if (Array.isArray(data)) return data;
  for (const k of ['comments', 'items']) if (Array.isArray(data?.[k])) return data[k];
  assert.fail(`comment list page has no array (data, data.comments, data.items): ${JSON.stringify(data).slice(0, 300)}`);
}

test('a registered video shows its type and zero counts to the first viewer', { timeout: 15_000 }, async () => {
  const videoId = uid('video');
  const ownerId = uid('owner');
  await registerContent(videoId, { type: 'video', ownerId, title: 'Intro' });
  const a = await connect(token(uid('viewer')));
  const joined = await emitOk(a, 'content:join', { contentId: videoId });
  assert.deepEqual(joined, {
    contentId: videoId,
    contentType: 'video',
    counts: { likes: 0, comments: 0, views: 0, shares: 0 },
    viewerCount: 1,
    likedByMe: false,
  });
  a.close();
});

test('a viewer interacting through the socket and through REST is seen live by another viewer, and the read APIs agree', { timeout: 30_000 }, async () => {
  const videoId = uid('video');
  const ownerId = uid('owner');
  const userA = uid('alice');
  const userB = uid('bob');
  const tokA = token(userA, { name: 'Alice' });
  const tokB = token(userB, { name: 'Bob' });
  await registerContent(videoId, { type: 'video', ownerId, title: 'Launch video' });

  const a = await connect(tokA);
  const b = await connect(tokB);
  const forVideo = (p) => p?.contentId === videoId;
  const viewersAtA = track(a, 'content:viewers', forVideo);
  const countsAtB = track(b, 'content:counts', forVideo);

  const joinA = await emitOk(a, 'content:join', { contentId: videoId });
  assert.equal(joinA.viewerCount, 1);
  const joinB = await emitOk(b, 'content:join', { contentId: videoId });
  assert.equal(joinB.contentId, videoId);
  assert.equal(joinB.contentType, 'video');
  assert.deepEqual(joinB.counts, { likes: 0, comments: 0, views: 0, shares: 0 });
  assert.equal(joinB.viewerCount, 2);
  assert.equal(joinB.likedByMe, false);
  const v2 = await viewersAtA.until((p) => p.viewerCount === 2);
  assert.deepEqual(v2, { contentId: videoId, contentType: 'video', viewerCount: 2 });

  // --- socket: like
  let seen = waitFor(b, 'content:like', forVideo);
  assert.deepEqual(await emitOk(a, 'content:like', { contentId: videoId }), { isLiked: true, likesCount: 1 });
  let ev = await seen;
  assert.equal(ev.userId, userA);
  assert.equal(ev.isLiked, true);
  assert.equal(ev.likesCount, 1);
  assert.ok(isRfc3339(ev.timestamp), `timestamp ${ev.timestamp} is RFC 3339 UTC`);

  // --- socket: comment
  seen = waitFor(b, 'content:comment', forVideo);
  const c1 = await emitOk(a, 'content:comment', { contentId: videoId, text: 'first!' });
  assert.equal(c1.commentsCount, 1);
  assert.equal(typeof c1.comment.id, 'string');
  assert.equal(c1.comment.text, 'first!');
  ev = await seen;
  assert.equal(ev.commentsCount, 1);
  assert.equal(ev.comment.id, c1.comment.id);
  assert.equal(ev.comment.text, 'first!');
  assert.ok(isRfc3339(ev.timestamp));

  // --- socket: view (counted once per viewer)
  seen = waitFor(b, 'content:view', (p) => forVideo(p) && p.viewsCount === 1);
  assert.deepEqual(await emitOk(a, 'content:view', { contentId: videoId }), { viewsCount: 1, counted: true });
  ev = await seen;
  assert.equal(ev.viewsCount, 1);
  assert.ok(isRfc3339(ev.timestamp));

  // --- socket: share
  seen = waitFor(b, 'content:share', forVideo);
  assert.deepEqual(await emitOk(a, 'content:share', { contentId: videoId, channel: 'copy_link' }), { sharesCount: 1 });
  ev = await seen;
  assert.equal(ev.userId, userA);
  assert.equal(ev.sharesCount, 1);
  assert.ok(isRfc3339(ev.timestamp));

  // --- REST: unlike, like again
  seen = waitFor(b, 'content:like', (p) => forVideo(p) && p.isLiked === false);
  let data = await restOk('DELETE', `/api/content/${videoId}/like`, { token: tokA });
  assert.equal(data.isLiked, false);
  assert.equal(data.likesCount, 0);
  ev = await seen;
  assert.equal(ev.userId, userA);
  assert.equal(ev.likesCount, 0);

  seen = waitFor(b, 'content:like', (p) => forVideo(p) && p.isLiked === true);
  data = await restOk('POST', `/api/content/${videoId}/like`, { token: tokA });
  assert.equal(data.isLiked, true);
  assert.equal(data.likesCount, 1);
  ev = await seen;
  assert.equal(ev.likesCount, 1);

  // --- REST: comment
  seen = waitFor(b, 'content:comment', (p) => forVideo(p) && p.commentsCount === 2);
  data = await restOk('POST', `/api/content/${videoId}/comments`, { token: tokA, body: { text: 'via REST' } });
  assert.equal(data.commentsCount, 2);
  assert.equal(data.comment.text, 'via REST');
  ev = await seen;
  assert.equal(ev.comment.id, data.comment.id);

  // --- REST: view by A again does not count; B's view does and reaches A
  data = await restOk('POST', `/api/content/${videoId}/view`, { token: tokA });
  assert.equal(data.counted, false);
  assert.equal(data.viewsCount, 1);
  seen = waitFor(a, 'content:view', (p) => forVideo(p) && p.viewsCount === 2);
  data = await restOk('POST', `/api/content/${videoId}/view`, { token: tokB });
  assert.equal(data.counted, true);
  assert.equal(data.viewsCount, 2);
  await seen;

  // --- REST: share
  seen = waitFor(b, 'content:share', (p) => forVideo(p) && p.sharesCount === 2);
  data = await restOk('POST', `/api/content/${videoId}/share`, { token: tokA });
  assert.equal(data.sharesCount, 2);
  ev = await seen;
  assert.equal(ev.userId, userA);

  // --- the coalesced counts stream reaches the final numbers
  const final = { likes: 1, comments: 2, views: 2, shares: 2 };
  const last = await countsAtB.until((p) => p.likes === 1 && p.comments === 2 && p.views === 2 && p.shares === 2);
  assert.deepEqual(last, { contentId: videoId, contentType: 'video', ...final });

  // --- GET /api/content/{id}
  const item = await restOk('GET', `/api/content/${videoId}`, { token: tokB });
  assert.equal(item.id, videoId);
  assert.equal(item.type, 'video');
  assert.equal(item.ownerId, ownerId);
  assert.deepEqual(item.counts, final);

  // --- likedByMe reflects the liker
  const b2 = await connect(tokA);
  const rejoin = await emitOk(b2, 'content:join', { contentId: videoId });
  assert.equal(rejoin.likedByMe, true);
  assert.deepEqual(rejoin.counts, final);
  b2.close();

  // --- leaving updates the viewer count
  const afterLeave = waitFor(a, 'content:viewers', (p) => forVideo(p) && p.viewerCount === 1);
  assert.deepEqual(await emitOk(b, 'content:leave', { contentId: videoId }), {});
  await afterLeave; // b left and b2 disconnected
  a.close();
  b.close();
});

test('comment pages by page number and by before-cursor agree', { timeout: 20_000 }, async () => {
  const videoId = uid('video');
  await registerContent(videoId, { type: 'video', ownerId: uid('owner') });
  const tok = token(uid('writer'));
  const a = await connect(tok);
  const ids = [];
  for (let i = 1; i <= 5; i++) {
    const d = await emitOk(a, 'content:comment', { contentId: videoId, text: `comment ${i}` });
    assert.equal(d.commentsCount, i);
    ids.push(d.comment.id);
  }
  a.close();

  const page1 = commentList(await restOk('GET', `/api/content/${videoId}/comments?page=1&limit=2`, { token: tok }));
  const page2 = commentList(await restOk('GET', `/api/content/${videoId}/comments?page=2&limit=2`, { token: tok }));
  const page3 = commentList(await restOk('GET', `/api/content/${videoId}/comments?page=3&limit=2`, { token: tok }));
  assert.equal(page1.length, 2);
  assert.equal(page2.length, 2);
  assert.equal(page3.length, 1);
  const paged = [...page1, ...page2, ...page3].map((c) => c.id);
  assert.deepEqual([...paged].sort(), [...ids].sort(), 'pages cover every comment exactly once');
  // newest first, as a comment list is read
  assert.deepEqual(paged, [...ids].reverse());

  const cursor = page1[page1.length - 1].id;
  const byCursor = commentList(
    await restOk('GET', `/api/content/${videoId}/comments?before=${encodeURIComponent(cursor)}&limit=2`, { token: tok }),
  );
  assert.deepEqual(byCursor.map((c) => c.id), page2.map((c) => c.id));
  const all = commentList(await restOk('GET', `/api/content/${videoId}/comments?limit=50`, { token: tok }));
  assert.deepEqual(all.map((c) => c.id), paged);
});

test('REST content actions without a token are refused with the error envelope', { timeout: 10_000 }, async () => {
  const videoId = uid('video');
  const r = await rest('POST', `/api/content/${videoId}/like`);
  assert.equal(r.status, 401);
  assert.equal(r.body.success, false);
  assert.equal(r.body.error.code, 'unauthorized');
  const viewer = await connect(token(uid('viewer')));
  const joined = await emitAck(viewer, 'content:join', { contentId: videoId });
  assert.equal(joined.ok, true);
  assert.equal(joined.data.counts.likes, 0, 'the refused like changed nothing');
  viewer.close();
});

test('a burst of likes reaches watchers as a bounded content:counts stream, not one event per like', { timeout: 20_000 }, async () => {
  const videoId = uid('viral');
  await registerContent(videoId, { type: 'video', ownerId: uid('owner') });
  const watcher = await connect(token(uid('watcher')));
  await emitOk(watcher, 'content:join', { contentId: videoId });
  const counts = track(watcher, 'content:counts', (p) => p.contentId === videoId);
  const N = 60;
  const tokens = Array.from({ length: N }, () => token(uid('fan')));
  const started = Date.now();
  const results = await Promise.all(tokens.map((t) => restOk('POST', `/api/content/${videoId}/like`, { token: t })));
  assert.ok(results.every((r) => r.isLiked === true));
  assert.deepEqual(results.map((r) => r.likesCount).sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i + 1),
    'every like saw a distinct count');
  const last = await counts.until((p) => p.likes === N);
  const elapsed = Date.now() - started;
  assert.equal(last.comments, 0);
  // tick is 250 ms by default: at most one content:counts per tick, plus one either side
  const bound = Math.ceil(elapsed / 250) + 2;
  assert.ok(counts.events.length <= bound,
    `${counts.events.length} content:counts in ${elapsed} ms (bound ${bound}) for ${N} likes`);
  assert.ok(counts.events.length < N, `${counts.events.length} content:counts for ${N} likes`);
  watcher.close();
});
