// PROTOCOL.md §1: WebSocket and HTTP long-polling both work with the official client,
// on their own and together (with the default polling → websocket upgrade).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, emitOk, startServer, stopServer, token, uid, waitFor,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

for (const transports of [['polling'], ['websocket'], ['polling', 'websocket'], ['websocket', 'polling']]) {
  test(`a client on ${transports.join(' then ')} connects, joins and likes`, { timeout: 15_000 }, async () => {
    const contentId = uid('c');
    const userId = uid('u');
    const s = await connect(token(userId), { transports });
    assert.equal(s.session.userId, userId);
    const joined = await emitOk(s, 'content:join', { contentId });
    assert.equal(joined.contentId, contentId);
    assert.equal(joined.likedByMe, false);
    const liked = await emitOk(s, 'content:like', { contentId, like: true });
    assert.deepEqual(liked, { isLiked: true, likesCount: 1 });
    s.close();
  });
}

test('a like from a websocket client reaches a polling client and back', { timeout: 15_000 }, async () => {
  const contentId = uid('c');
  const wsUser = uid('ws');
  const pollUser = uid('poll');
  const ws = await connect(token(wsUser), { transports: ['websocket'] });
  const poll = await connect(token(pollUser), { transports: ['polling'] });
  await emitOk(ws, 'content:join', { contentId });
  await emitOk(poll, 'content:join', { contentId });

  let seen = waitFor(poll, 'content:like', (p) => p.contentId === contentId);
  await emitOk(ws, 'content:like', { contentId, like: true });
  let ev = await seen;
  assert.equal(ev.userId, wsUser);
  assert.equal(ev.likesCount, 1);

  seen = waitFor(ws, 'content:like', (p) => p.contentId === contentId && p.userId === pollUser);
  await emitOk(poll, 'content:like', { contentId, like: true });
  ev = await seen;
  assert.equal(ev.likesCount, 2);
  assert.equal(ev.isLiked, true);
  ws.close();
  poll.close();
});
