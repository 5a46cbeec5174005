// PROTOCOL.md §1 "Resuming a session", single node: a client that drops its
// connection and reconnects with auth.resume = {sessionId, lastSeq} gets its rooms back
// and exactly the events it missed, in seq order, then session:ready {recovered: true}.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  connect, emitOk, rawSocket, registerContent, restOk, startServer, stopServer, token, uid, waitFor,
} from '../lib/server.mjs';

// A short window and a short log, so expiry and trimming can be reached in a test.
before(() => startServer({ env: { CHORUS_RESUME_WINDOW_SECS: '3', CHORUS_RESUME_LOG_MAX_EVENTS: '40' } }));
after(() => stopServer());

/** A socket whose handshake auth asks to resume `state` once it holds a session. */
function resumable(tok, state) {
  const socket = rawSocket(null, {
    auth: (cb) => cb(state.sessionId ? { token: tok, resume: { sessionId: state.sessionId, lastSeq: state.lastSeq } } : { token: tok }),
  });
  state.received = [];
  socket.onAny((event, data) => {
    state.received.push({ event, data });
    if (data?.seq) state.lastSeq = data.seq;
  });
  socket.on('session:ready', (s) => { state.sessionId = s.sessionId; });
  return socket;
}

function once(socket, event, timeoutMs = 5_000) {
  return waitFor(socket, event, () => true, timeoutMs);
}

/** Drops the transport without a namespace disconnect, as a network loss would. */
async function drop(socket) {
  const gone = new Promise((ok) => socket.once('disconnect', ok));
  socket.io.engine.close();
  return gone;
}

const seqsOf = (list) => list.filter((e) => typeof e.data?.seq === 'number').map((e) => e.data.seq);

test('a dropped client resumes: rooms back, every missed event once and in order, then live events', { timeout: 30_000 }, async () => {
  const me = uid('me');
  const other = uid('other');
  const videoId = uid('video');
  await registerContent(videoId, { ownerId: other });
  const room = await restOk('POST', '/api/chat/rooms', { token: token(other), body: { otherUserId: me } });

  const state = {};
  const socket = resumable(token(me), state);
  const first = await once(socket, 'session:ready');
  assert.equal(typeof first.sessionId, 'string');
  assert.ok(first.sessionId.length > 0);
  assert.equal(first.recovered, false);
  await emitOk(socket, 'content:join', { contentId: videoId });
  await emitOk(socket, 'chat:join', { roomId: room.id });
  // A second socket of the same user in the same rooms witnesses what was sent.
  const witness = await connect(token(me));
  await emitOk(witness, 'content:join', { contentId: videoId });
  const witnessed = [];
  witness.onAny((event, data) => witnessed.push({ event, data }));
  const sender = await connect(token(other));
  await emitOk(sender, 'chat:join', { roomId: room.id });

  // One event while connected: it carries a seq, and it is the resume point.
  const seen = waitFor(socket, 'chat:message', (p) => p.message.text === 'before');
  await emitOk(sender, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'before' });
  const before = await seen;
  assert.equal(typeof before.seq, 'number');
  assert.equal(state.lastSeq, before.seq);
  const lastSeq = state.lastSeq;

  await drop(socket);
  const sentIds = [];
  for (let i = 0; i < 3; i++) {
    sentIds.push((await emitOk(sender, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: `missed ${i}` })).message.id);
    sentIds.push((await emitOk(sender, 'content:comment', { contentId: videoId, text: `comment ${i}` })).comment.id);
  }
  await delay(300);
  const missedAtWitness = witnessed.filter((e) => typeof e.data?.seq === 'number' && e.data.seq > lastSeq);
  const idOf = (e) => e.data.message?.id ?? e.data.comment?.id;
  assert.deepEqual(
    missedAtWitness.filter((e) => e.event === 'chat:message' || e.event === 'content:comment').map(idOf),
    sentIds,
    'the witness saw every event',
  );
  const horizon = Math.max(...missedAtWitness.map((e) => e.data.seq));

  state.received = [];
  const ready = once(socket, 'session:ready');
  socket.connect();
  const again = await ready;
  assert.equal(again.recovered, true, JSON.stringify(again));
  assert.equal(again.sessionId, first.sessionId);
  const readyAt = state.received.findIndex((e) => e.event === 'session:ready');
  const replayed = state.received.slice(0, readyAt).filter((e) => typeof e.data?.seq === 'number' && e.data.seq <= horizon);
  assert.deepEqual(
    replayed.map((e) => [e.event, e.data.seq]),
    missedAtWitness.map((e) => [e.event, e.data.seq]),
    'exactly the missed events, in order',
  );

  // Rooms are back: new events of both rooms arrive, after the replay, with higher seqs.
  const chatLive = waitFor(socket, 'chat:message', (p) => p.message.text === 'after');
  const commentLive = waitFor(socket, 'content:comment', (p) => p.comment.text === 'live comment');
  await emitOk(sender, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'after' });
  await emitOk(sender, 'content:comment', { contentId: videoId, text: 'live comment' });
  const [c, m] = [await chatLive, await commentLive];
  assert.ok(c.seq > horizon && m.seq > c.seq);
  const all = seqsOf(state.received);
  assert.ok(all.every((s, i) => i === 0 || s > all[i - 1]), `no duplicate, in order: ${all}`);
  socket.close();
  witness.close();
  sender.close();
});

test('an unknown session, a lastSeq the log no longer holds or an expired session is not recovered', { timeout: 30_000 }, async () => {
  const me = uid('me');
  const unknown = await connect(null, { auth: { token: token(me), resume: { sessionId: 'no-such-session', lastSeq: 0 } } });
  assert.equal(unknown.session.recovered, false);
  assert.ok(unknown.session.sessionId && unknown.session.sessionId !== 'no-such-session');
  unknown.close();

  // A lastSeq from the future (or from another log) can't be continued.
  const first = await connect(token(me));
  const sessionId = first.session.sessionId;
  await drop(first);
  const future = await connect(null, { auth: { token: token(me), resume: { sessionId, lastSeq: Number.MAX_SAFE_INTEGER } } });
  assert.equal(future.session.recovered, false);
  const trimmedId = future.session.sessionId;
  await drop(future);

  // More events to me than the log keeps (40 in this suite): the gap can't be filled.
  const other = uid('other');
  const room = await restOk('POST', '/api/chat/rooms', { token: token(other), body: { otherUserId: me } });
  const sender = await connect(token(other));
  for (let i = 0; i < 45; i++) {
    await emitOk(sender, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: `flood ${i}` });
  }
  sender.close();
  const trimmed = await connect(null, { auth: { token: token(me), resume: { sessionId: trimmedId, lastSeq: 0 } } });
  assert.equal(trimmed.session.recovered, false);
  trimmed.close();

  // Closed for longer than the window (3 s in this suite).
  const second = await connect(token(me));
  const old = second.session.sessionId;
  await drop(second);
  await delay(4_500);
  const late = await connect(null, { auth: { token: token(me), resume: { sessionId: old, lastSeq: 0 } } });
  assert.equal(late.session.recovered, false);
  assert.notEqual(late.session.sessionId, old);
  late.close();
});

test("another user's session is not recovered with my token and gives me none of its rooms", { timeout: 30_000 }, async () => {
  const victim = uid('victim');
  const thief = uid('thief');
  const videoId = uid('video');
  await registerContent(videoId, { ownerId: victim });
  const v = await connect(token(victim));
  await emitOk(v, 'content:join', { contentId: videoId });
  const sessionId = v.session.sessionId;
  await drop(v);
  const t = await connect(null, { auth: { token: token(thief), resume: { sessionId, lastSeq: 0 } } });
  assert.equal(t.session.recovered, false);
  assert.notEqual(t.session.sessionId, sessionId);
  let leaked = false;
  t.on('content:comment', () => { leaked = true; });
  const poster = await connect(token(uid('poster')));
  await emitOk(poster, 'content:comment', { contentId: videoId, text: 'not for the thief' });
  await delay(300);
  assert.equal(leaked, false, "the victim's rooms were not given away");
  // The victim can still resume its own session.
  const back = await connect(null, { auth: { token: token(victim), resume: { sessionId, lastSeq: 0 } } });
  assert.equal(back.session.recovered, true);
  assert.equal(back.session.sessionId, sessionId);
  t.close();
  back.close();
  poster.close();
});
