// Signed webhooks to the app's backend: every delivery is verified with the official
// `standardwebhooks` library, exactly as a backend would; retries keep their id; a
// delivery that fails until its deadline becomes a dead letter the server API lists
// and replays; a server killed with SIGKILL sends what it owed after a restart.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import {
  startServer, stopServer, killServer, server, connect, emitAck, emitOk, token, uid, rest, restOk,
} from '../lib/server.mjs';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const verifier = new Webhook(SECRET);

/**
 * A backend's webhook endpoint: verifies each delivery, records it, and answers with
 * the status `answer(delivery)` chooses (200 unless told otherwise).
 */
function receiver() {
  const state = { received: [], refused: [], hung: [], answer: () => 200, waiters: [] };
  const http = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event;
      try {
        event = verifier.verify(body, req.headers);
      } catch (e) {
        state.refused.push({ error: e.message, headers: req.headers, body });
        res.writeHead(400).end();
        return;
      }
      const delivery = { id: req.headers['webhook-id'], timestamp: req.headers['webhook-timestamp'], event, at: Date.now() };
      state.received.push(delivery);
      const status = state.answer(delivery);
      if (status === 'hang') {
        state.hung.push(res); // never answered: the attempt is still in flight
      } else {
        res.writeHead(status).end(status === 200 ? 'ok' : 'not now');
      }
      for (const w of state.waiters.splice(0)) w();
    });
  });
  state.http = http;
  state.listen = () => new Promise((ok) => http.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${http.address().port}/hooks`)));
  /** Waits until `predicate(received)` holds. */
  state.until = async (predicate, what, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!predicate(state.received)) {
      if (Date.now() > deadline) {
        throw new Error(`webhooks: ${what} not seen within ${ms} ms; got ${JSON.stringify(state.received.map((d) => d.event.type))}, refused ${state.refused.length}`);
      }
      await new Promise((ok) => { state.waiters.push(ok); setTimeout(ok, 100); });
    }
    return state.received;
  };
  return state;
}

const hooks = receiver();
let url;

function webhookEnv(extra = {}) {
  return {
    CHORUS_WEBHOOK_URL: url,
    CHORUS_WEBHOOK_SECRET: SECRET,
    CHORUS_WEBHOOK_RETRY_MIN_MS: '100',
    CHORUS_WEBHOOK_RETRY_MAX_MS: '400',
    CHORUS_BLOCKLIST: 'scam',
    CHORUS_MODERATION_SURFACES: 'comment,chat',
    ...extra,
  };
}

before(async () => {
  url = await hooks.listen();
  await startServer({ env: webhookEnv() });
});

after(async () => {
  await stopServer();
  hooks.http.close();
});

const ofContent = (id) => (d) => d.event.data?.contentId === id || d.event.data?.comment?.contentId === id;

test('likes, comments and shares reach the backend signed, in order, with the native payloads', async () => {
  const contentId = uid('clip');
  const ann = uid('ann');
  const s = await connect(token(ann));
  await emitOk(s, 'content:join', { contentId });
  await emitOk(s, 'content:like', { contentId, like: true });
  await emitOk(s, 'content:like', { contentId, like: true }); // a repeated like changes nothing: no webhook
  const posted = await emitOk(s, 'content:comment', { contentId, text: 'first!' });
  await emitOk(s, 'content:share', { contentId, channel: 'whatsapp' });
  await emitOk(s, 'content:like', { contentId, like: false });
  await emitOk(s, 'comment:delete', { commentId: posted.comment.id });
  const mine = (await hooks.until((r) => r.filter(ofContent(contentId)).length >= 5, 'five deliveries')).filter(ofContent(contentId));
  assert.deepEqual(mine.map((d) => d.event.type), ['content.liked', 'comment.created', 'content.shared', 'content.unliked', 'comment.deleted']);
  assert.equal(hooks.refused.length, 0, 'every delivery verifies with the official library');
  const [liked, commented, shared, unliked, deleted] = mine.map((d) => d.event);
  assert.deepEqual(
    { contentId: liked.data.contentId, userId: liked.data.userId, isLiked: liked.data.isLiked, likesCount: liked.data.likesCount },
    { contentId, userId: ann, isLiked: true, likesCount: 1 },
  );
  assert.ok(!Number.isNaN(Date.parse(liked.timestamp)), `timestamp is a date: ${liked.timestamp}`);
  assert.equal(commented.data.comment.text, 'first!');
  assert.equal(commented.data.comment.user.id, ann);
  assert.equal(shared.data.sharesCount, 1);
  assert.equal(unliked.data.likesCount, 0);
  assert.equal(deleted.data.commentId, posted.comment.id);
  assert.equal(new Set(mine.map((d) => d.id)).size, 5, 'each delivery has its own webhook-id');
  for (const d of mine) assert.match(d.id, /^msg_/);
  await delay(300);
  assert.equal(hooks.received.filter(ofContent(contentId)).length, 5, 'nothing more: the repeated like was not told');
  s.close();
});

test('a delivery the backend refuses is retried under the same webhook-id until it is taken', async () => {
  const contentId = uid('retry');
  let refusals = 0;
  hooks.answer = (d) => (d.event.data?.contentId === contentId && refusals++ < 2 ? 500 : 200);
  try {
    await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('u')), body: { like: true } });
    const attempts = (await hooks.until((r) => r.filter(ofContent(contentId)).length >= 3, 'three attempts')).filter(ofContent(contentId));
    assert.equal(attempts.length, 3, 'two refusals, then one success');
    assert.equal(new Set(attempts.map((d) => d.id)).size, 1, 'the same webhook-id on every retry');
    assert.deepEqual(attempts[0].event, attempts[2].event, 'the same body on every retry');
    await delay(600);
    assert.equal(hooks.received.filter(ofContent(contentId)).length, 3, 'taken once, not sent again');
  } finally {
    hooks.answer = () => 200;
  }
});

test('the server API refuses a bad dead-letter page or an unknown id, and wants the server key', async () => {
  const { serverKey } = server();
  assert.equal((await rest('GET', '/api/server/webhooks/failed')).status, 401);
  assert.equal((await rest('GET', '/api/server/webhooks/failed?limit=0', { serverKey })).body.error.code, 'bad_request');
  assert.equal((await rest('GET', '/api/server/webhooks/failed?limit=x', { serverKey })).status, 400);
  const unknown = await rest('POST', '/api/server/webhooks/msg_nothing/replay', { serverKey });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'not_found');
  const page = await restOk('GET', '/api/server/webhooks/failed', { serverKey });
  assert.deepEqual(page, { failed: [], next: null });
});

/** The deliveries of `type` whose data satisfies `match`, once `count` of them arrived. */
async function delivered(type, match, what, count = 1) {
  const pick = (r) => r.filter((d) => d.event.type === type && match(d.event.data));
  return pick(await hooks.until((r) => pick(r).length >= count, what));
}

test('follows, notifications, chat messages, gifts, stream status, bans and moderation refusals reach the backend', { timeout: 30_000 }, async () => {
  const [ann, bob, carol, eve] = [uid('ann'), uid('bob'), uid('carol'), uid('eve')];
  const { serverKey } = server();

  // --- a follow, and the notification it makes for the followee
  await restOk('POST', `/api/users/${bob}/follow`, { token: token(ann) });
  const [follow] = await delivered('follow.created', (d) => d.followeeId === bob, 'follow.created');
  assert.equal(follow.event.data.followerId, ann);
  assert.ok(!Number.isNaN(Date.parse(follow.event.data.timestamp)));
  const [note] = await delivered('notification.created', (d) => d.userId === bob, 'the follow notification');
  assert.equal(note.event.data.notification.type, 'follow');
  assert.equal(typeof note.event.data.unreadCount, 'number');

  // --- a chat message, its deletion, and a text moderation refuses
  const room = await restOk('POST', '/api/chat/rooms', { token: token(ann), body: { otherUserId: bob } });
  const s = await connect(token(ann));
  await emitOk(s, 'chat:join', { roomId: room.id });
  const sent = await emitOk(s, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'hi bob' });
  const [message] = await delivered('message.created', (d) => d.roomId === room.id, 'message.created');
  assert.equal(message.event.data.message.id, sent.message.id);
  assert.equal(message.event.data.message.text, 'hi bob');
  assert.equal(message.event.data.message.sender.id, ann);
  assert.deepEqual([...message.event.data.memberIds].sort(), [ann, bob].sort());
  await emitOk(s, 'chat:delete', { messageId: sent.message.id });
  const [deleted] = await delivered('message.deleted', (d) => d.roomId === room.id, 'message.deleted');
  assert.equal(deleted.event.data.messageId, sent.message.id);
  const refused = await emitAck(s, 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'a scam for you' });
  assert.equal(refused.error?.code, 'blocked', JSON.stringify(refused));
  const [blocked] = await delivered('moderation.blocked', (d) => d.roomId === room.id, 'moderation.blocked');
  assert.equal(blocked.event.data.surface, 'chat');
  assert.equal(blocked.event.data.userId, ann);
  assert.equal(typeof blocked.event.data.reason, 'string');
  assert.ok(!JSON.stringify(blocked.event).includes('scam for you'), 'the refused text itself is not sent');
  s.close();

  // --- a stream goes live and gets a paid gift
  const stream = await restOk('POST', '/api/streams', { token: token(carol), body: { title: 'Hooked' } });
  await restOk('POST', `/api/streams/${stream.id}/status`, { token: token(carol), body: { status: 'live' } });
  const [status] = await delivered('stream.status_changed', (d) => d.streamId === stream.id, 'stream.status_changed');
  assert.equal(status.event.data.status, 'live');
  await restOk('POST', `/api/server/wallets/${ann}/credit`, { serverKey, body: { amount: 100, reference: uid('topup') } });
  const paid = await restOk('POST', `/api/streams/${stream.id}/gifts`, { token: token(ann), body: { giftId: 'heart', count: 2, clientTxId: uid('tx') } });
  const [gift] = await delivered('gift.sent', (d) => d.streamId === stream.id, 'gift.sent');
  assert.equal(gift.event.data.creatorId, carol);
  assert.equal(gift.event.data.balance, 80);
  assert.equal(paid.balance, 80);
  await delivered('notification.created', (d) => d.userId === carol && d.notification?.type === 'gift', 'the gift notification');

  // --- a server-wide ban through the server API
  await restOk('POST', '/api/server/moderation/ban', { serverKey, body: { userId: eve, reason: 'spam' } });
  const [ban] = await delivered('user.banned', (d) => d.userId === eve, 'user.banned');
  assert.deepEqual({ ...ban.event.data, timestamp: undefined }, { userId: eve, streamId: null, by: null, until: null, reason: 'spam', timestamp: undefined });
  assert.equal(hooks.refused.length, 0, 'every delivery verifies with the official library');
});

// Runs last: it restarts the server with a short deadline and kills it.
test('a delivery failing past its deadline is a dead letter, replayed on request; a killed server sends what it owed', { timeout: 60_000 }, async () => {
  await stopServer();
  await startServer({ env: webhookEnv({ CHORUS_WEBHOOK_RETRY_FOR_SECS: '1' }) });
  const contentId = uid('dead');
  hooks.answer = (d) => (d.event.data?.contentId === contentId ? 503 : 200);
  const { serverKey } = server();
  await restOk('POST', `/api/content/${contentId}/like`, { token: token(uid('u')), body: { like: true } });
  let failed;
  for (let i = 0; i < 100; i++) {
    failed = (await restOk('GET', '/api/server/webhooks/failed', { serverKey })).failed;
    if (failed.length > 0) break;
    await delay(100);
  }
  assert.equal(failed.length, 1, 'the delivery is a dead letter once its deadline passed');
  const [dead] = failed;
  assert.equal(dead.type, 'content.liked');
  assert.equal(dead.endpoint, 'default');
  assert.equal(dead.subject, `content:${contentId}`);
  assert.ok(dead.attempts >= 2, `retried before giving up: ${dead.attempts}`);
  assert.match(dead.lastError, /^HTTP 503/);
  assert.equal(dead.body.data.contentId, contentId);
  const attemptsSoFar = hooks.received.filter(ofContent(contentId)).length;

  hooks.answer = () => 200;
  await restOk('POST', `/api/server/webhooks/${dead.id}/replay`, { serverKey });
  const replayed = await hooks.until((r) => r.filter(ofContent(contentId)).length > attemptsSoFar, 'the replay');
  assert.equal(replayed.filter(ofContent(contentId)).at(-1).id, dead.id, 'replayed under its own id');
  assert.deepEqual((await restOk('GET', '/api/server/webhooks/failed', { serverKey })).failed, []);
  assert.equal((await rest('POST', `/api/server/webhooks/${dead.id}/replay`, { serverKey })).status, 404, 'a delivered letter is no dead letter');

  // The server is killed outright while a delivery is in flight (the backend holds
  // the request and never answers).
  const killedId = uid('killed');
  hooks.answer = (d) => (d.event.data?.contentId === killedId ? 'hang' : 200);
  await stopServer();
  const quick = { CHORUS_WEBHOOK_TIMEOUT_MS: '1000' };
  await startServer({ env: webhookEnv(quick) });
  const tok = token(uid('fan'), { secret: server().jwtSecret });
  await restOk('POST', `/api/content/${killedId}/like`, { token: tok, body: { like: true } });
  await hooks.until((r) => r.some(ofContent(killedId)), 'the first attempt');
  const kept = await killServer();
  for (const res of hooks.hung.splice(0)) res.destroy();
  hooks.answer = () => 200;
  const before = hooks.received.filter(ofContent(killedId)).length;
  // Restarted on the same database: once the dead node's claim has lapsed, the owed
  // delivery goes out again under its id.
  await startServer({ reuse: kept, env: webhookEnv(quick) });
  const after = await hooks.until((r) => r.filter(ofContent(killedId)).length > before, 'the delivery owed before the kill', 30_000);
  const sent = after.filter(ofContent(killedId));
  assert.equal(new Set(sent.map((d) => d.id)).size, 1, 'the same webhook-id before and after the kill');
  assert.equal(sent.at(-1).event.type, 'content.liked');
});
