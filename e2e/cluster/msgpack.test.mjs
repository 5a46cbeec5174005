// docs/protocol.md §1 "Parser" in cluster mode: two nodes started with
// CHORUS_PARSER=msgpack and clients with the official socket.io-msgpack-parser on
// each. Broadcasts, chat, a server API emit, room sizes over the Redis adapter and a
// disconnect asked on the other node all cross nodes as with JSON.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import parser from 'socket.io-msgpack-parser';
import {
  connect, delay, emitOk, fence, restOk, startCluster, stopCluster, token, track, uid, waitDisconnect, waitFor,
} from './lib/cluster.mjs';

before(() => startCluster({ nodes: 2, env: { CHORUS_PARSER: 'msgpack' } }));
after(() => stopCluster());

const mp = (at, tok, opts = {}) => connect(at, tok, { parser, ...opts });

test('a like, a comment and the counts made on one node reach a msgpack viewer on the other, once each', { timeout: 30_000 }, async () => {
  const contentId = uid('video');
  await restOk(0, 'PUT', `/api/server/content/${contentId}`, { serverKey: true, body: { type: 'video', ownerId: uid('owner') } });
  const alice = uid('alice');
  const a = await mp(0, token(alice, { name: 'Alice' }));
  const b = await mp(1, token(uid('bob')), { transports: ['polling'] });
  await emitOk(a, 'content:join', { contentId });
  assert.equal((await emitOk(b, 'content:join', { contentId })).viewerCount, 2, 'the viewer count is cluster-wide');
  const likes = track(b, 'content:like', (p) => p.contentId === contentId);
  const comments = track(b, 'content:comment', (p) => p.contentId === contentId);
  const counts = track(b, 'content:counts', (p) => p.contentId === contentId);

  assert.deepEqual(await emitOk(a, 'content:like', { contentId, like: true }), { isLiked: true, likesCount: 1 });
  const comment = await emitOk(a, 'content:comment', { contentId, text: 'from node one ✓' });
  const like = await likes.until((p) => p.userId === alice);
  assert.equal(like.likesCount, 1);
  assert.ok(Number.isSafeInteger(like.seq) && like.seq > 0, `seq ${like.seq}`);
  assert.equal((await comments.until((p) => p.comment.id === comment.comment.id)).comment.text, 'from node one ✓');
  await counts.until((p) => p.likes === 1 && p.comments === 1);
  await fence([a, b]);
  await delay(300);
  assert.equal(likes.events.length, 1, 'one content:like');
  assert.equal(comments.events.length, 1, 'one content:comment');

  const room = await restOk(1, 'GET', `/api/server/rooms/content:${contentId}`, { serverKey: true });
  assert.equal(room.size, 2, 'room sizes over the Redis adapter');
  a.close();
  b.close();
});

test('a chat message sent on one node reaches the member on the other, and a server API emit reaches both', { timeout: 30_000 }, async () => {
  const alice = uid('alice');
  const bob = uid('bob');
  const a = await mp(0, token(alice));
  const b = await mp(1, token(bob));
  const { room } = await emitOk(a, 'chat:open', { otherUserId: bob });
  await emitOk(a, 'chat:join', { roomId: room.id });
  await emitOk(b, 'chat:join', { roomId: room.id });
  const atB = waitFor(b, 'chat:message', (p) => p.roomId === room.id);
  const sent = await emitOk(a, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'across nodes' });
  assert.deepEqual((await atB).message, sent.message);
  const history = await emitOk(b, 'chat:history', { roomId: room.id });
  assert.deepEqual(history.messages.map((m) => m.id), [sent.message.id]);

  const marker = uid('m');
  const got = [a, b].map((s) => waitFor(s, 'test:direct', (p) => p.marker === marker));
  await restOk(1, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId: alice }, event: 'test:direct', data: { marker } } });
  await restOk(0, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId: bob }, event: 'test:direct', data: { marker } } });
  await Promise.all(got);
  a.close();
  b.close();
});

test('revoking a user\'s tokens on one node closes their msgpack socket on the other', { timeout: 20_000 }, async () => {
  const user = uid('revoked');
  const s = await mp(1, token(user));
  const gone = waitDisconnect(s, 8_000);
  await restOk(0, 'POST', `/api/server/users/${user}/revoke-tokens`, { serverKey: true, body: {} });
  assert.equal(await gone, 'io server disconnect');
});
