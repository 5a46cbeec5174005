// docs/protocol.md §1 "Parser": a server with `parser = "msgpack"` and the official
// socket.io-client with the official socket.io-msgpack-parser, exactly as an app would
// write `io(url, {parser})`. The content and chat flows, refusals with their codes, a
// seed dialect, the connect_error data, and what a client with the default JSON parser
// gets from such a server.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import parser from 'socket.io-msgpack-parser';
import {
  checkedSeq, connect, emitAck, emitOk, expectRefused, rawSocket, registerContent, restOk, startServer, stopServer,
  silence, token, track, uid, waitDisconnect, waitFor, withoutSeq,
} from '../lib/server.mjs';

before(() => startServer({ args: ['--parser', 'msgpack'] }));
after(() => stopServer());

const isRfc3339 = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$/.test(s) && !Number.isNaN(Date.parse(s));

/** A client of a msgpack server: the harness's socket with `parser` set. */
const mp = (tok, opts = {}) => connect(tok, { parser, ...opts });

function assertError(ack, code, what) {
  assert.equal(ack?.ok, false, `${what}: expected {ok:false}, got ${JSON.stringify(ack)?.slice(0, 300)}`);
  assert.equal(ack.error?.code, code, `${what}: expected code ${code}, got ${JSON.stringify(ack).slice(0, 300)}`);
  assert.equal(typeof ack.error.message, 'string', `${what}: error.message is a string`);
  assert.equal('data' in ack, false, `${what}: a failed ack carries no data`);
}

test('session:ready reaches a msgpack client with the same fields as a JSON one, on both transports', { timeout: 15_000 }, async () => {
  for (const transports of [['websocket'], ['polling']]) {
    const user = uid('u');
    const s = await mp(token(user), { transports });
    assert.equal(s.session.userId, user, transports[0]);
    assert.equal(typeof s.session.sid, 'string');
    assert.ok(isRfc3339(s.session.serverTime), `serverTime ${s.session.serverTime}`);
    assert.equal(s.session.recovered, false);
    assert.equal(s.session.unreadNotifications, 0);
    s.close();
  }
});

test('the content flow over msgpack: join, like and unlike, comment, reply, delete, view, share, and the counts reach another viewer', { timeout: 30_000 }, async () => {
  const videoId = uid('video');
  const ownerId = uid('owner');
  const userA = uid('alice');
  const userB = uid('bob');
  await registerContent(videoId, { type: 'video', ownerId, title: 'Launch video' });
  const a = await mp(token(userA, { name: 'Alice' }));
  // Bob on long-polling only: msgpack packets travel base64-encoded there.
  const b = await mp(token(userB, { name: 'Bob' }), { transports: ['polling'] });
  const forVideo = (p) => p?.contentId === videoId;
  const countsAtB = track(b, 'content:counts', forVideo);
  const viewersAtA = track(a, 'content:viewers', forVideo);

  assert.deepEqual(await emitOk(a, 'content:join', { contentId: videoId }), {
    contentId: videoId, contentType: 'video', counts: { likes: 0, comments: 0, views: 0, shares: 0 }, viewerCount: 1, likedByMe: false,
  });
  assert.equal((await emitOk(b, 'content:join', { contentId: videoId })).viewerCount, 2);
  assert.deepEqual(await viewersAtA.until((p) => p.viewerCount === 2), { contentId: videoId, contentType: 'video', viewerCount: 2 });

  // like, then unlike; each reaches the other viewer with its seq
  let seen = waitFor(b, 'content:like', (p) => forVideo(p) && p.isLiked === true);
  assert.deepEqual(await emitOk(a, 'content:like', { contentId: videoId, like: true }), { isLiked: true, likesCount: 1 });
  let ev = await seen;
  assert.deepEqual({ ...checkedSeq(ev), timestamp: undefined }, { contentId: videoId, contentType: 'video', userId: userA, isLiked: true, likesCount: 1, timestamp: undefined });
  assert.ok(isRfc3339(ev.timestamp));
  seen = waitFor(b, 'content:like', (p) => forVideo(p) && p.isLiked === false);
  assert.deepEqual(await emitOk(a, 'content:like', { contentId: videoId, like: false }), { isLiked: false, likesCount: 0 });
  assert.equal((await seen).likesCount, 0);
  assert.deepEqual(await emitOk(a, 'content:like', { contentId: videoId }), { isLiked: true, likesCount: 1 }, 'no `like` toggles');

  // a comment, a reply to it, and the delete of the reply
  seen = waitFor(b, 'content:comment', (p) => forVideo(p) && p.comment?.text === 'first!');
  const parent = await emitOk(a, 'content:comment', { contentId: videoId, text: 'first!' });
  assert.equal(parent.commentsCount, 1);
  assert.equal(parent.comment.parentId ?? null, null);
  ev = await seen;
  assert.equal(ev.comment.id, parent.comment.id);
  assert.equal(ev.commentsCount, 1);
  const replyAtA = waitFor(a, 'content:comment', (p) => forVideo(p) && p.comment?.parentId === parent.comment.id);
  const reply = await emitOk(b, 'content:comment', { contentId: videoId, text: 'a reply 😀', parentId: parent.comment.id });
  assert.equal(reply.comment.text, 'a reply 😀', 'text survives the msgpack round trip');
  assert.equal((await replyAtA).comment.id, reply.comment.id);
  assertError(await emitAck(a, 'comment:delete', { commentId: reply.comment.id }), 'forbidden', 'deleting another user\'s reply');
  const deletedAtA = waitFor(a, 'comment:deleted', (p) => p.commentId === reply.comment.id);
  assert.deepEqual(await emitOk(b, 'comment:delete', { commentId: reply.comment.id }), {});
  assert.deepEqual(checkedSeq(await deletedAtA), { contentId: videoId, commentId: reply.comment.id, commentsCount: 1 });

  // a view counts once per viewer; a share
  seen = waitFor(b, 'content:view', (p) => forVideo(p) && p.viewsCount === 1);
  assert.deepEqual(await emitOk(a, 'content:view', { contentId: videoId }), { viewsCount: 1, counted: true });
  await seen;
  assert.deepEqual(await emitOk(a, 'content:view', { contentId: videoId }), { viewsCount: 1, counted: false });
  seen = waitFor(b, 'content:share', forVideo);
  assert.deepEqual(await emitOk(a, 'content:share', { contentId: videoId, channel: 'copy_link' }), { sharesCount: 1 });
  assert.equal((await seen).userId, userA);

  // comment typing reaches the other viewer, not the typist
  const typingAtB = waitFor(b, 'comment:typing', forVideo);
  const notEchoed = silence(a, 'comment:typing');
  await emitOk(a, 'comment:typing', { contentId: videoId, typing: true });
  assert.equal((await typingAtB).user.username, 'Alice');
  await notEchoed;

  // the coalesced counts reach the other viewer with the final numbers
  const final = { likes: 1, comments: 1, views: 1, shares: 1 };
  assert.deepEqual(await countsAtB.until((p) => p.likes === 1 && p.comments === 1 && p.views === 1 && p.shares === 1), { contentId: videoId, contentType: 'video', ...final });
  assert.deepEqual((await restOk('GET', `/api/content/${videoId}`, { token: token(userB) })).counts, final, 'REST agrees');

  // an event from the server API reaches msgpack clients too
  const marker = uid('fence');
  const fenced = Promise.all([a, b].map((s) => waitFor(s, 'test:fence', (p) => p?.marker === marker)));
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { all: true }, event: 'test:fence', data: { marker, n: 1.5, list: [1, null] } } });
  for (const got of await fenced) assert.deepEqual(withoutSeq(got), { marker, n: 1.5, list: [1, null] });

  const left = waitFor(a, 'content:viewers', (p) => forVideo(p) && p.viewerCount === 1);
  assert.deepEqual(await emitOk(b, 'content:leave', { contentId: videoId }), {});
  await left;
  a.close();
  b.close();
});

test('the chat flow over msgpack: open, join, send, history, typing, reactions, read receipts, edit, delete, leave', { timeout: 30_000 }, async () => {
  const alice = uid('alice');
  const bob = uid('bob');
  const a = await mp(token(alice, { name: 'Alice' }));
  const b = await mp(token(bob, { name: 'Bob' }), { transports: ['polling'] });
  const opened = await emitOk(a, 'chat:open', { otherUserId: bob });
  assert.equal(opened.created, true);
  const room = opened.room;
  assert.equal(room.kind, 'direct');
  assert.deepEqual([...room.memberIds].sort(), [alice, bob].sort());
  assert.equal((await emitOk(b, 'chat:open', { otherUserId: alice })).created, false, 'one direct room per pair');

  assert.equal((await emitOk(a, 'chat:join', { roomId: room.id })).room.id, room.id);
  const userJoined = waitFor(a, 'chat:user_joined', (p) => p.roomId === room.id);
  await emitOk(b, 'chat:join', { roomId: room.id });
  assert.equal((await userJoined).user.id, bob);

  const atB = track(b, 'chat:message', (p) => p.roomId === room.id);
  const sent = await emitOk(a, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'Hi Bob! ✓' });
  const m1 = sent.message;
  assert.equal(sent.duplicate, false);
  assert.equal(m1.text, 'Hi Bob! ✓');
  assert.deepEqual(m1.sender, { id: alice, username: 'Alice', avatar: null, verified: false });
  assert.equal(m1.editedAt, null);
  assert.deepEqual(m1.reactions, {});
  assert.deepEqual((await atB.until((p) => p.message.id === m1.id)).message, m1, 'the broadcast carries the acked message, nulls and empty maps included');
  const loc = await emitOk(b, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), kind: 'location', location: { lat: 52.52, lng: 13.405 }, text: 'Here', replyTo: m1.id });
  assert.deepEqual(loc.message.location, { lat: 52.52, lng: 13.405 }, 'floats survive the round trip');
  assert.equal(loc.message.replyTo, m1.id);

  const history = await emitOk(b, 'chat:history', { roomId: room.id, limit: 1 });
  assert.deepEqual(history.messages.map((m) => m.id), [loc.message.id]);
  assert.equal(history.hasMore, true);
  const older = await emitOk(b, 'chat:history', { roomId: room.id, before: history.nextCursor });
  assert.deepEqual(older.messages.map((m) => m.id), [m1.id]);

  const typingAtB = waitFor(b, 'chat:typing', (p) => p.roomId === room.id && p.typing === true);
  assert.deepEqual(await emitOk(a, 'chat:typing', { roomId: room.id, typing: true }), {});
  assert.equal((await typingAtB).user.id, alice);

  const reactionAtA = waitFor(a, 'chat:reaction', (p) => p.messageId === m1.id);
  assert.deepEqual(await emitOk(b, 'chat:react', { messageId: m1.id, emoji: '❤️' }), { emoji: '❤️', count: 1, reacted: true });
  assert.deepEqual(checkedSeq(await reactionAtA), { roomId: room.id, messageId: m1.id, emoji: '❤️', userId: bob, count: 1 });

  const receiptAtA = waitFor(a, 'chat:read', (p) => p.roomId === room.id);
  assert.deepEqual(await emitOk(b, 'chat:read', { roomId: room.id, messageId: m1.id }), { unreadCount: 0 });
  const receipt = await receiptAtA;
  assert.equal(receipt.userId, bob);
  assert.ok(isRfc3339(receipt.readAt));

  const editedAtB = waitFor(b, 'chat:edited', (p) => p.message.id === m1.id);
  assert.equal((await emitOk(a, 'chat:edit', { messageId: m1.id, text: 'Hi Bob! (edited)' })).message.text, 'Hi Bob! (edited)');
  assert.ok(isRfc3339((await editedAtB).message.editedAt));
  assertError(await emitAck(b, 'chat:delete', { messageId: m1.id }), 'forbidden', 'deleting another user\'s message');
  const deletedAtB = waitFor(b, 'chat:deleted', (p) => p.messageId === m1.id);
  assert.deepEqual(await emitOk(a, 'chat:delete', { messageId: m1.id }), {});
  assert.deepEqual(checkedSeq(await deletedAtB), { roomId: room.id, messageId: m1.id });
  assert.equal((await emitOk(b, 'chat:history', { roomId: room.id })).messages.find((m) => m.id === m1.id).deleted, true);

  const leftAtB = waitFor(b, 'chat:user_left', (p) => p.roomId === room.id);
  assert.deepEqual(await emitOk(a, 'chat:leave', { roomId: room.id }), {});
  assert.equal((await leftAtB).userId, alice);
  a.close();
  b.close();
});

test('bad input over msgpack is refused with the same codes as over JSON, and changes nothing', { timeout: 20_000 }, async () => {
  const s = await mp(token(uid('u')));
  const contentId = uid('c');
  for (const [event, payload, what] of [
    ['content:like', 5, 'a number'],
    ['content:like', 'just-a-string', 'a string'],
    ['content:like', null, 'null'],
    ['content:like', undefined, 'undefined (read as null, as JSON.stringify makes it)'],
    ['content:like', [contentId], 'an array'],
    ['content:like', { contentId: 5 }, 'a wrongly typed field'],
    ['content:like', {}, 'a missing field'],
    ['content:like', Buffer.from([1, 2, 3]), 'a Buffer'],
    ['content:like', { contentId, extra: Buffer.from([4]) }, 'a Buffer inside'],
    ['content:like', { contentId: new Uint8Array([99]) }, 'a typed array'],
    ['content:comment', { contentId, text: 'when', at: new Date() }, 'a Date'],
    ['content:comment', { contentId, text: '   ' }, 'blank text'],
    ['no:such:event', { hello: 'world' }, 'an unknown event'],
  ]) {
    assertError(await emitAck(s, event, payload), 'bad_request', what);
  }
  const asNull = await emitAck(s, 'content:like', null);
  assert.deepEqual(await emitAck(s, 'content:like', undefined), asNull, 'undefined is refused as null is, not as unreadable');
  assertError(await emitAck(s, 'comment:edit', { commentId: uid('missing'), text: 'x' }), 'not_found', 'an unknown comment');
  // A command without any argument: the ack is its only argument.
  assertError(await s.timeout(5_000).emitWithAck('content:join'), 'bad_request', 'no payload at all');
  // Without an ack, a refusal comes as `error` naming the command.
  const err = waitFor(s, 'error', (p) => p?.event === 'content:like');
  s.emit('content:like', { contentId: 5 });
  const ev = await err;
  assert.equal(ev.code, 'bad_request');
  assert.equal(typeof ev.message, 'string');
  // `undefined` fields of an object are dropped, as JSON.stringify drops them.
  assert.deepEqual(await emitOk(s, 'content:like', { contentId, like: undefined }), { isLiked: true, likesCount: 1 });
  assert.deepEqual((await emitOk(s, 'content:join', { contentId })).counts, { likes: 1, comments: 0, views: 0, shares: 0 }, 'only the good like counted');
  s.close();
});

test('a packet nested deeper than the msgpack parser reads closes only that connection', { timeout: 15_000 }, async () => {
  const contentId = uid('c');
  const ok = await mp(token(uid('ok')));
  const odd = await mp(token(uid('odd')));
  let deep = { contentId };
  for (let i = 0; i < 200; i++) deep = { deep };
  const gone = waitDisconnect(odd);
  odd.emit('content:comment', deep);
  assert.equal(await gone, 'transport close');
  assert.deepEqual(await emitOk(ok, 'content:like', { contentId }), { isLiked: true, likesCount: 1 });
  ok.close();
});

test('a refused msgpack client gets connect_error with message and data.code, on both transports', { timeout: 15_000 }, async () => {
  for (const [what, make, code] of [
    ['no token', () => rawSocket(null, { auth: null, parser }), 'auth_missing'],
    ['a garbage token', () => rawSocket('not.a.jwt', { parser }), 'auth_invalid'],
    ['an expired token', () => rawSocket(token(uid('u'), { expSec: -3600 }), { parser }), 'auth_expired'],
    ['an expired token over websocket', () => rawSocket(token(uid('u'), { expSec: -3600 }), { parser, transports: ['websocket'] }), 'auth_expired'],
    ['an unknown dialect', () => rawSocket(null, { auth: { token: token(uid('u')), dialect: 'klingon' }, parser }), 'bad_request'],
  ]) {
    const err = await expectRefused(make());
    assert.deepEqual(err.data?.code, code, `${what}: ${JSON.stringify(err.data)}`);
    if (code !== 'bad_request') assert.equal(err.message, 'unauthorized', what);
  }
});

test('a client with the default JSON parser cannot talk to a msgpack server: its CONNECT closes the connection', { timeout: 15_000 }, async () => {
  // What socket.io-client reports when the server closes the connection at its first
  // packet: a WebSocket that closes, a long-poll that fails.
  for (const [transports, event, reason] of [[['websocket'], 'disconnect', 'transport close'], [['polling'], 'connect_error', 'xhr poll error']]) {
    const json = rawSocket(token(uid('json')), { transports });
    let ready = false;
    json.on('session:ready', () => { ready = true; });
    const seen = await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`${transports[0]}: neither connect_error nor disconnect within 5 s`)), 5_000);
      for (const name of ['connect_error', 'disconnect']) {
        json.once(name, (why) => { clearTimeout(timer); ok([name, why?.message ?? why]); });
      }
    });
    json.close();
    assert.deepEqual(seen, [event, reason], transports[0]);
    assert.equal(ready, false, `${transports[0]}: never connected`);
    // and the server serves msgpack clients as before
    const s = await mp(token(uid('u')), { transports });
    assert.deepEqual(await emitOk(s, 'content:view', { contentId: uid('c') }), { viewsCount: 1, counted: true });
    s.close();
  }
});

test('a seed dialect works over msgpack: the video app joins, subscribes without arguments and sees likes in its own words', { timeout: 15_000 }, async () => {
  const contentId = uid('clip');
  const viewer = uid('viewer');
  const tok = token(viewer, { claims: { username: '@viewer' } });
  await registerContent(contentId, { type: 'video', ownerId: uid('creator') });
  const watcher = await mp(token(uid('watcher')), { auth: { token: token(uid('watcher')), dialect: 'video' } });
  const joined = waitFor(watcher, 'video:joined');
  watcher.emit('video:join', { contentId });
  assert.deepEqual(await joined, { contentId, likesCount: 0, commentsCount: 0, viewsCount: 0, sharesCount: 0, viewerCount: 1, isLiked: false });
  const subscribed = waitFor(watcher, 'feed:subscribed');
  watcher.emit('feed:subscribe');
  assert.deepEqual(await subscribed, {}, 'an event without arguments');

  const native = await mp(tok);
  const liked = waitFor(watcher, 'video:like');
  const noNative = silence(watcher, 'content:like');
  await emitOk(native, 'content:like', { contentId, like: true });
  const ev = await liked;
  assert.deepEqual({ ...withoutSeq(ev), timestamp: undefined }, { contentId, contentType: 'video', userId: viewer, isLiked: true, likesCount: 1, timestamp: undefined });
  await noNative;
  await delay(50);
  watcher.close();
  native.close();
});
