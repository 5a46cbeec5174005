// PROTOCOL.md §2 and §4: the ack envelope, error codes, the `error` event, and the
// comment commands (threads, reactions, edits, deletes, typing).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  checkedSeq, connect, emitAck, emitOk, rest, serverAlive, startServer, stopServer, token, uid,
  waitDisconnect, waitFor,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

function assertError(ack, code, what) {
  assert.equal(ack?.ok, false, `${what}: expected {ok:false}, got ${JSON.stringify(ack)?.slice(0, 300)}`);
  assert.equal(ack.error?.code, code, `${what}: expected code ${code}, got ${JSON.stringify(ack).slice(0, 300)}`);
  assert.equal(typeof ack.error.message, 'string', `${what}: error.message is a string`);
  assert.equal('data' in ack, false, `${what}: a failed ack carries no data`);
}

async function twoViewers(contentId) {
  const ua = uid('a');
  const ub = uid('b');
  const a = await connect(token(ua, { name: `name-${ua}` }));
  const b = await connect(token(ub, { name: `name-${ub}` }));
  await emitOk(a, 'content:join', { contentId });
  await emitOk(b, 'content:join', { contentId });
  return { a, b, ua, ub };
}

test('wrongly shaped payloads ack bad_request', { timeout: 15_000 }, async () => {
  const s = await connect(token(uid('u')));
  const contentId = uid('c');
  const cases = [
    ['content:like', 5],
    ['content:like', 'just-a-string'],
    ['content:like', null],
    ['content:like', [contentId]],
    ['content:like', { contentId: 5 }],
    ['content:like', {}],
    ['content:like', { contentId, like: 'yes' }],
    ['content:join', {}],
    ['content:join', { contentId: '' }],
    ['content:comment', { contentId }],
    ['content:comment', { text: 'no content id' }],
    ['content:comment', { contentId, text: '' }],
    ['content:comment', { contentId, text: 42 }],
    ['content:comment', { contentId, text: 'x'.repeat(100_000) }],
    ['content:view', { contentId: { nested: true } }],
    ['content:share', { contentId: true }],
    ['comment:react', { commentId: uid('cm') }],
    ['comment:edit', { commentId: uid('cm') }],
    ['comment:delete', {}],
    ['comment:typing', { contentId }],
    ['ranking:subscribe', { scope: 42, limit: 3 }],
  ];
  for (const [event, data] of cases) {
    const ack = await emitAck(s, event, data);
    assertError(ack, 'bad_request', `${event} ${JSON.stringify(data).slice(0, 60)}`);
  }
  // none of that changed the content
  const joined = await emitOk(s, 'content:join', { contentId });
  assert.deepEqual(joined.counts, { likes: 0, comments: 0, views: 0, shares: 0 });
  s.close();
});

test('an unknown event without an ack yields an error event with bad_request', async () => {
  const s = await connect(token(uid('u')));
  const err = waitFor(s, 'error', (p) => p?.event === 'no:such:event');
  s.emit('no:such:event', { hello: 'world' });
  const ev = await err;
  assert.equal(ev.code, 'bad_request');
  assert.equal(typeof ev.message, 'string');
  // and the connection still works
  await emitOk(s, 'content:join', { contentId: uid('c') });
  s.close();
});

test('a failing command sent without an ack yields an error event naming the command', async () => {
  const s = await connect(token(uid('u')));
  let err = waitFor(s, 'error', (p) => p?.event === 'content:like');
  s.emit('content:like', { contentId: 5 });
  let ev = await err;
  assert.equal(ev.code, 'bad_request');
  assert.equal(typeof ev.message, 'string');

  err = waitFor(s, 'error', (p) => p?.event === 'comment:edit');
  s.emit('comment:edit', { commentId: uid('missing'), text: 'hello' });
  ev = await err;
  assert.equal(ev.code, 'not_found');
  assert.equal(typeof ev.message, 'string');
  s.close();
});

test('a successful command sent without an ack still takes effect and sends no error', async () => {
  const contentId = uid('c');
  const { a, b } = await twoViewers(contentId);
  const errors = [];
  a.on('error', (e) => errors.push(e));
  const seen = waitFor(b, 'content:like', (p) => p.contentId === contentId);
  a.emit('content:like', { contentId, like: true });
  assert.equal((await seen).likesCount, 1);
  await emitOk(a, 'content:join', { contentId }); // a round trip after the like
  assert.deepEqual(errors, []);
  a.close();
  b.close();
});

test('liking twice with like:true keeps the count at 1 and like:false undoes it', async () => {
  const s = await connect(token(uid('u')));
  const contentId = uid('c');
  assert.deepEqual(await emitOk(s, 'content:like', { contentId, like: true }), { isLiked: true, likesCount: 1 });
  assert.deepEqual(await emitOk(s, 'content:like', { contentId, like: true }), { isLiked: true, likesCount: 1 });
  assert.deepEqual(await emitOk(s, 'content:like', { contentId, like: false }), { isLiked: false, likesCount: 0 });
  assert.deepEqual(await emitOk(s, 'content:like', { contentId, like: false }), { isLiked: false, likesCount: 0 });
  // absent `like` toggles
  assert.deepEqual(await emitOk(s, 'content:like', { contentId }), { isLiked: true, likesCount: 1 });
  assert.deepEqual(await emitOk(s, 'content:like', { contentId }), { isLiked: false, likesCount: 0 });
  s.close();
});

test('a view counts once per viewer', async () => {
  const contentId = uid('c');
  const a = await connect(token(uid('u')));
  const b = await connect(token(uid('u')));
  assert.deepEqual(await emitOk(a, 'content:view', { contentId }), { viewsCount: 1, counted: true });
  assert.deepEqual(await emitOk(a, 'content:view', { contentId }), { viewsCount: 1, counted: false });
  assert.deepEqual(await emitOk(b, 'content:view', { contentId }), { viewsCount: 2, counted: true });
  a.close();
  b.close();
});

test('a reply names its parent and reaches the room; a reply to an unknown comment is not_found', async () => {
  const contentId = uid('c');
  const { a, b, ub } = await twoViewers(contentId);
  const parent = await emitOk(a, 'content:comment', { contentId, text: 'top level' });
  assert.equal(parent.comment.parentId ?? null, null);

  const seen = waitFor(a, 'content:comment', (p) => p.contentId === contentId && p.comment?.parentId === parent.comment.id);
  const reply = await emitOk(b, 'content:comment', { contentId, text: 'a reply', parentId: parent.comment.id });
  assert.equal(reply.comment.parentId, parent.comment.id);
  assert.equal(reply.comment.text, 'a reply');
  assert.equal(reply.comment.contentId ?? contentId, contentId);
  const ev = await seen;
  assert.equal(ev.comment.id, reply.comment.id);
  assert.equal(ev.comment.user?.id ?? ev.comment.userId, ub);

  assertError(
    await emitAck(b, 'content:comment', { contentId, text: 'orphan', parentId: uid('missing') }),
    'not_found', 'reply to unknown parent',
  );
  a.close();
  b.close();
});

test('comment:react counts reactions per emoji and broadcasts comment:reaction', async () => {
  const contentId = uid('c');
  const { a, b, ua, ub } = await twoViewers(contentId);
  const { comment } = await emitOk(a, 'content:comment', { contentId, text: 'react to me' });

  let seen = waitFor(a, 'comment:reaction', (p) => p.commentId === comment.id && p.userId === ub);
  assert.deepEqual(await emitOk(b, 'comment:react', { commentId: comment.id, emoji: '🔥' }), { emoji: '🔥', count: 1, reacted: true });
  const reaction = await seen;
  for (const [k, v] of Object.entries({ contentId, commentId: comment.id, emoji: '🔥', userId: ub, count: 1 })) {
    assert.equal(reaction[k], v, `comment:reaction.${k} in ${JSON.stringify(reaction)}`);
  }

  seen = waitFor(b, 'comment:reaction', (p) => p.commentId === comment.id && p.userId === ua);
  assert.deepEqual(await emitOk(a, 'comment:react', { commentId: comment.id, emoji: '🔥', on: true }), { emoji: '🔥', count: 2, reacted: true });
  assert.equal((await seen).count, 2);
  // on:true again is a no-op
  assert.deepEqual(await emitOk(a, 'comment:react', { commentId: comment.id, emoji: '🔥', on: true }), { emoji: '🔥', count: 2, reacted: true });
  assert.deepEqual(await emitOk(a, 'comment:react', { commentId: comment.id, emoji: '🔥', on: false }), { emoji: '🔥', count: 1, reacted: false });
  // absent `on` toggles
  assert.deepEqual(await emitOk(b, 'comment:react', { commentId: comment.id, emoji: '🔥' }), { emoji: '🔥', count: 0, reacted: false });

  assertError(await emitAck(a, 'comment:react', { commentId: uid('missing'), emoji: '🔥' }), 'not_found', 'react on unknown comment');
  a.close();
  b.close();
});

test('comment:edit changes the author\'s comment for everyone; someone else gets forbidden', async () => {
  const contentId = uid('c');
  const { a, b } = await twoViewers(contentId);
  const { comment } = await emitOk(a, 'content:comment', { contentId, text: 'tpyo' });

  assertError(await emitAck(b, 'comment:edit', { commentId: comment.id, text: 'hijacked' }), 'forbidden', 'edit by another user');

  const seen = waitFor(b, 'comment:edited', (p) => p.comment?.id === comment.id);
  const edited = await emitOk(a, 'comment:edit', { commentId: comment.id, text: 'typo' });
  assert.equal(edited.comment.id, comment.id);
  assert.equal(edited.comment.text, 'typo');
  const ev = await seen;
  assert.equal(ev.contentId, contentId);
  assert.equal(ev.comment.text, 'typo');

  assertError(await emitAck(a, 'comment:edit', { commentId: uid('missing'), text: 'x' }), 'not_found', 'edit unknown comment');
  assertError(await emitAck(a, 'comment:edit', { commentId: comment.id, text: '' }), 'bad_request', 'edit to empty text');
  a.close();
  b.close();
});

test('comment:delete removes the author\'s comment for everyone; someone else gets forbidden', async () => {
  const contentId = uid('c');
  const { a, b } = await twoViewers(contentId);
  await emitOk(a, 'content:comment', { contentId, text: 'keep me' });
  const { comment, commentsCount } = await emitOk(a, 'content:comment', { contentId, text: 'delete me' });
  assert.equal(commentsCount, 2);

  assertError(await emitAck(b, 'comment:delete', { commentId: comment.id }), 'forbidden', 'delete by another user');

  const seen = waitFor(b, 'comment:deleted', (p) => p.commentId === comment.id);
  assert.deepEqual(await emitOk(a, 'comment:delete', { commentId: comment.id }), {});
  assert.deepEqual(checkedSeq(await seen), { contentId, commentId: comment.id, commentsCount: 1 });

  assertError(await emitAck(a, 'comment:delete', { commentId: comment.id }), 'not_found', 'delete twice');
  assertError(await emitAck(a, 'comment:delete', { commentId: uid('missing') }), 'not_found', 'delete unknown comment');
  const joined = await emitOk(b, 'content:join', { contentId });
  assert.equal(joined.counts.comments, 1);
  a.close();
  b.close();
});

test('comment:typing reaches the others in the room but not the sender', async () => {
  const contentId = uid('c');
  const { a, b, ua } = await twoViewers(contentId);
  const atSender = [];
  a.on('comment:typing', (p) => atSender.push(p));

  let seen = waitFor(b, 'comment:typing', (p) => p.contentId === contentId && p.typing === true);
  assert.deepEqual(await emitOk(a, 'comment:typing', { contentId, typing: true }), {});
  let ev = await seen;
  assert.equal(ev.user.id, ua);
  assert.equal(ev.user.username, `name-${ua}`);

  seen = waitFor(b, 'comment:typing', (p) => p.contentId === contentId && p.typing === false);
  assert.deepEqual(await emitOk(a, 'comment:typing', { contentId, typing: false }), {});
  ev = await seen;
  assert.equal(ev.user.id, ua);

  await emitOk(a, 'content:join', { contentId }); // one more round trip on the sender
  assert.deepEqual(atSender, [], 'the sender received its own typing event');
  a.close();
  b.close();
});

test('a packet over the maximum payload closes only that client; the others keep working', { timeout: 20_000 }, async () => {
  const contentId = uid('c');
  const { a, b } = await twoViewers(contentId);
  const big = await connect(token(uid('big')), { transports: ['websocket'] });
  const gone = waitDisconnect(big, 10_000);
  big.emit('content:comment', { contentId, text: 'x'.repeat(4 * 1024 * 1024) });
  const reason = await gone;
  assert.match(reason, /transport (close|error)|io server disconnect/);

  const seen = waitFor(b, 'content:like', (p) => p.contentId === contentId);
  assert.deepEqual(await emitOk(a, 'content:like', { contentId, like: true }), { isLiked: true, likesCount: 1 });
  await seen;
  assert.ok(serverAlive());
  assert.equal((await rest('GET', '/healthz')).status, 200);
  const joined = await emitOk(b, 'content:join', { contentId });
  assert.equal(joined.counts.comments, 0, 'the oversized comment was not stored');
  a.close();
  b.close();
});

test('an oversized long-polling POST closes only that client', { timeout: 20_000 }, async () => {
  const contentId = uid('c');
  const { a, b } = await twoViewers(contentId);
  const big = await connect(token(uid('big')), { transports: ['polling'] });
  const gone = waitDisconnect(big, 10_000);
  big.emit('content:comment', { contentId, text: 'y'.repeat(4 * 1024 * 1024) });
  await gone;
  await emitOk(a, 'content:like', { contentId, like: true });
  const joined = await emitOk(b, 'content:join', { contentId });
  assert.equal(joined.counts.likes, 1);
  assert.equal(joined.counts.comments, 0);
  a.close();
  b.close();
});

test('odd packets (binary, extra arguments, deep nesting) do not break the server or other clients', { timeout: 15_000 }, async () => {
  const contentId = uid('c');
  const { a, b } = await twoViewers(contentId);
  const odd = await connect(token(uid('odd')));
  let deep = { contentId };
  for (let i = 0; i < 200; i++) deep = { deep };
  odd.emit('content:like', Buffer.from([1, 2, 3]));
  odd.emit('content:like', { contentId }, 'extra', 42);
  odd.emit('content:comment', deep);
  odd.emit('content:comment', { contentId, text: '\u0000\uffff😀' });
  odd.emit('content:join');
  // No command takes binary data: a Buffer, as the whole payload or inside it, is
  // refused with bad_request and changes nothing (docs/protocol.md §1).
  for (const payload of [Buffer.from([1, 2, 3]), { contentId, extra: Buffer.from([4]) }, { contentId: Buffer.from('c') }]) {
    const refused = await emitAck(odd, 'content:like', payload);
    assert.equal(refused.error?.code, 'bad_request', `a Buffer payload: ${JSON.stringify(refused)}`);
  }
  const ack = await emitAck(odd, 'content:like', { contentId: 'x'.repeat(10_000) });
  assert.equal(ack.ok === true || ack.error?.code === 'bad_request', true, JSON.stringify(ack).slice(0, 200));
  assert.deepEqual(await emitOk(a, 'content:share', { contentId }), { sharesCount: 1 });
  await emitOk(b, 'content:join', { contentId });
  odd.close();
  a.close();
  b.close();
});
