// Issue 6 §3: session resume across nodes. A client on node 1 records its session id and
// the last sequence number it saw; node 1 is SIGKILLed; events are sent meanwhile; the
// client reconnects to node 2 with `auth.resume = {sessionId, lastSeq}` and gets
// `recovered: true`, its rooms back, and every missed event in order, no gap, no
// duplicate.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, delay, emitOk, node, rawSocket, recordAll, redis, restOk, startCluster, stopCluster, token, uid, waitFor,
} from './lib/cluster.mjs';

before(() => startCluster());
// One test restarts Redis: the nodes say they lost it for a moment.
after(() => stopCluster({ expectedWarnings: [/redis/i] }));

const seqOf = (e) => (e.payload && typeof e.payload === 'object' ? e.payload.seq : undefined);

/** Highest seq seen so far; asserts every event carrying one increases it. */
function lastSeq(events) {
  let last = null;
  for (const e of events) {
    const s = seqOf(e);
    if (typeof s === 'number') last = s;
  }
  return last;
}

// `seq` is opaque but ordered: the replay starts after `lastSeq`, and every seq is
// higher than the one before (no duplicate, no reordering). "No gap" is checked on the
// events themselves (checkMissed): every event sent while away is there.
function assertResumed(events, lastSeen, what) {
  const seqs = events.map(seqOf).filter((s) => typeof s === 'number');
  assert.ok(seqs.length > 0, `${what}: the resumed events carry seq: ${JSON.stringify(events).slice(0, 800)}`);
  assert.ok(seqs[0] > lastSeen, `${what}: the replay starts after lastSeq ${lastSeen}: ${JSON.stringify(seqs)}`);
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(seqs[i] > seqs[i - 1], `${what}: seqs strictly increase (no duplicate, in order): ${JSON.stringify(seqs)}`);
  }
  // Coalesced snapshots (counts, viewer numbers, typing) may go without: a resumed client
  // gets the next snapshot anyway. Every discrete event carries one.
  const coalesced = /^(content:counts|content:viewers|stream:viewers|battle:update|metrics:update|ranking:update|.*:typing)$/;
  const missing = events.filter((e) => typeof seqOf(e) !== 'number' && !coalesced.test(e.event)).map((e) => e.event);
  assert.deepEqual(missing, [], `${what}: every replayed discrete event carries seq`);
}

/** Markers of `event` payloads, in arrival order. */
const markers = (events, event) => events.filter((e) => e.event === event).map((e) => e.payload?.marker ?? e.payload?.comment?.text ?? e.payload?.message?.text);

async function setup(at) {
  const userId = uid('mobile');
  const friendId = uid('friend');
  const contentId = uid('video');
  const room = await restOk(1, 'POST', '/api/chat/rooms', { token: token(friendId), body: { otherUserId: userId } });
  const s = await connect(at, token(userId, { name: 'Mobile' }));
  const seen = recordAll(s);
  assert.equal(typeof s.session.sessionId, 'string', `session:ready gives a sessionId: ${JSON.stringify(s.session)}`);
  await emitOk(s, 'content:join', { contentId });
  const friend = await connect(2, token(friendId, { name: 'Friend' }));
  await emitOk(friend, 'content:join', { contentId });
  // some events before the outage, each carrying a seq
  const pre = waitFor(s, 'app:note', (p) => p.marker === 'pre', 8_000);
  await restOk(2, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId }, event: 'app:note', data: { marker: 'pre' } } });
  await pre;
  const preComment = waitFor(s, 'content:comment', (p) => p.comment?.text === 'before', 8_000);
  await emitOk(friend, 'content:comment', { contentId, text: 'before' });
  await preComment;
  await delay(300);
  return { userId, friendId, contentId, room, s, seen, friend };
}

async function sendMissed({ userId, contentId, room, friend }, via) {
  for (let i = 1; i <= 3; i++) {
    await restOk(via, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId }, event: 'app:note', data: { marker: `missed-${i}` } } });
    await emitOk(friend, 'content:comment', { contentId, text: `comment-${i}` });
    await emitOk(friend, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: `chat-${i}` });
  }
}

/** Opens a socket with `auth`, recording every event from the first packet; resolves after session:ready. */
async function open(at, auth) {
  const socket = rawSocket(at, null, { auth });
  const events = recordAll(socket);
  const ready = await waitFor(socket, 'session:ready', () => true, 8_000);
  return { socket, events, ready };
}

/** Waits until the three kinds of missed events are in (or the timeout), then a little more for strays. */
async function settle(events) {
  const deadline = Date.now() + 8_000;
  while (markers(events, 'chat:message').length < 3 || markers(events, 'content:comment').length < 3 || markers(events, 'app:note').length < 3) {
    if (Date.now() > deadline) break;
    await delay(100);
  }
  await delay(500);
  return events.filter((e) => e.event !== 'session:ready');
}

function checkMissed(events) {
  assert.deepEqual(markers(events, 'app:note'), ['missed-1', 'missed-2', 'missed-3'], 'server emits to the user, in order, once');
  assert.deepEqual(markers(events, 'content:comment'), ['comment-1', 'comment-2', 'comment-3'], 'room events of the rooms it was in, in order, once');
  assert.deepEqual(markers(events, 'chat:message'), ['chat-1', 'chat-2', 'chat-3'], 'chat messages, in order, once');
}

test('a client whose node was SIGKILLed resumes on node 2: recovered, every missed event in order, no gap, no duplicate, rooms back', { timeout: 90_000 }, async () => {
  const ctx = await setup(0);
  const { userId, contentId, s, seen, friend } = ctx;
  const sessionId = s.session.sessionId;
  const last = lastSeq(seen);
  assert.equal(typeof last, 'number', `events sent to the session carry seq: ${JSON.stringify(seen).slice(0, 800)}`);

  await node(0).kill();
  s.close();
  try {
    await sendMissed(ctx, 1);

    const { socket: resumed, events, ready } = await open(1, { token: token(userId, { name: 'Mobile' }), resume: { sessionId, lastSeq: last } });
    assert.equal(ready.recovered, true, `session:ready after resume: ${JSON.stringify(ready)}`);
    const replay = await settle(events);
    checkMissed(replay);
    assertResumed(replay, last, 'resume on node 2');

    // the rooms came back: a new comment reaches the resumed socket without a new join
    const again = waitFor(resumed, 'content:comment', (p) => p.comment?.text === 'after', 8_000);
    await emitOk(friend, 'content:comment', { contentId, text: 'after' });
    await again;
    resumed.close();
  } finally {
    if (!node(0).alive()) await node(0).start();
  }
});

test('resume on another node after a plain disconnect (node alive) fills the gap too', { timeout: 60_000 }, async () => {
  const ctx = await setup(2);
  const { userId, s, seen } = ctx;
  const sessionId = s.session.sessionId;
  const last = lastSeq(seen);
  s.close();
  await sendMissed(ctx, 0);
  const { events, ready } = await open(0, { token: token(userId), resume: { sessionId, lastSeq: last } });
  assert.equal(ready.recovered, true, JSON.stringify(ready));
  const all = await settle(events);
  checkMissed(all);
  assertResumed(all, last, 'resume after a disconnect');
});

test('an unknown session id resumes with recovered: false (the client refetches)', { timeout: 30_000 }, async () => {
  const s = await connect(1, null, { auth: { token: token(uid('u')), resume: { sessionId: uid('nosuch'), lastSeq: 7 } } });
  assert.equal(s.session.recovered, false, JSON.stringify(s.session));
  assert.equal(typeof s.session.sessionId, 'string');
});

test('a session id cannot be resumed by another user', { timeout: 30_000 }, async () => {
  const owner = await connect(0, token(uid('owner')));
  const sessionId = owner.session.sessionId;
  assert.equal(typeof sessionId, 'string', `session:ready gives a sessionId: ${JSON.stringify(owner.session)}`);
  owner.close();
  const thief = await connect(1, null, { auth: { token: token(uid('thief')), resume: { sessionId, lastSeq: 0 } } });
  assert.equal(thief.session.recovered, false, JSON.stringify(thief.session));
  assert.notEqual(thief.session.sessionId, sessionId);
});

test('after a Redis restart a resume never hides a gap: recovered with every missed event, or recovered: false', { timeout: 60_000 }, async () => {
  const ctx = await setup(1);
  const { userId, s, seen } = ctx;
  const sessionId = s.session.sessionId;
  assert.equal(typeof sessionId, 'string', `session:ready gives a sessionId: ${JSON.stringify(s.session)}`);
  const last = lastSeq(seen);
  s.close();
  await redis().restart();
  // wait until cross-node delivery is back (issue: within 10 s)
  const probeId = uid('probe');
  const probe = await connect(2, token(probeId));
  const got = [];
  probe.on('probe', (p) => got.push(p));
  const deadline = Date.now() + 10_000;
  while (!got.length) {
    if (Date.now() > deadline) assert.fail('cross-node delivery did not come back within 10 s of the Redis restart');
    await restOk(0, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId: probeId }, event: 'probe', data: {} } }).catch(() => null);
    await delay(200);
  }
  await sendMissed(ctx, 0);
  const { events, ready } = await open(2, { token: token(userId), resume: { sessionId, lastSeq: last } });
  if (ready.recovered === true) {
    const all = await settle(events);
    checkMissed(all);
    assertResumed(all, last, 'resume after a Redis restart');
  } else {
    assert.equal(ready.recovered, false, JSON.stringify(ready));
  }
});
