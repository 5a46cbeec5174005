// docs/dialects.md §2: the live-streaming platform of seed 001 against a server whose
// default dialect is `livestream`. The seed clients below emit the seed's own events
// with the seed's payloads (`stream:join {streamId}`, `chat:new {streamId, message}`,
// 001:182-213) and no acks, with the official socket.io-client; a native client
// (`auth.dialect: "native"`) shares the same stream and hears the same chat and gifts
// in native terms.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as Y from 'yjs';
import {
  checkedSeq, connect, emitAck, seedSocket, emitOk, rest, restOk, server, startServer, stopServer, token, track, uid, waitFor, withoutSeq,
} from '../lib/server.mjs';

before(() => startServer({
  args: ['--dialect', 'livestream'],
  env: {
    CHORUS_BLOCKLIST: 'scam',
    CHORUS_STREAM_METRICS_INTERVAL_MS: '300',
    CHORUS_BATTLE_MIN_SECS: '1',
  },
}));
after(() => stopServer());

/** The seed's client: `io(url, {auth: {token}})`, nothing else. */
const seedClient = (userId, name) => seedSocket(token(userId, { name }));

/** A native client on the same server. */
const nativeSocket = (userId, name) => connect(token(userId, { name }), { auth: { token: token(userId, { name }), dialect: 'native' } });

/** Resolves if `event` does not arrive within `ms`; fails if it does. */
function silence(socket, event, ms = 500, predicate = () => true) {
  return new Promise((ok, fail) => {
    const seen = (data) => { if (predicate(data)) fail(new Error(`unexpected ${event}: ${JSON.stringify(data)}`)); };
    socket.on(event, seen);
    setTimeout(() => { socket.off(event, seen); ok(); }, ms);
  });
}

async function liveStream(ownerId, title) {
  const tok = token(ownerId, { name: ownerId });
  const stream = await restOk('POST', '/api/streams', { token: tok, body: { title } });
  await restOk('POST', `/api/streams/${stream.id}/status`, { token: tok, body: { status: 'live' } });
  return stream;
}

function credit(userId, amount) {
  return restOk('POST', `/api/server/wallets/${encodeURIComponent(userId)}/credit`, { serverKey: true, body: { amount, reference: uid('topup') } });
}

const isInfo = (p) => p && typeof p === 'object' && 'stream' in p;
const isNotification = (p) => p && typeof p === 'object' && 'user' in p;

test('stream join flow, chat message flow, blocked chat, gifts, throne and metrics, shared with a native client (001)', { timeout: 40_000 }, async () => {
  const stream = await liveStream(uid('creator'), 'Launch party');
  const streamId = stream.id;
  const [annId, bobId, natId] = [uid('ann'), uid('bob'), uid('nat')];

  const nat = await nativeSocket(natId, 'Nat');
  const natJoins = track(nat, 'stream:viewer_joined', (p) => p.streamId === streamId);
  const natLeaves = track(nat, 'stream:viewer_left', (p) => p.streamId === streamId);
  const natViewers = track(nat, 'stream:viewers', (p) => p.streamId === streamId);
  await emitOk(nat, 'stream:join', { streamId });
  assert.equal((await natJoins.until((p) => p.user.id === natId)).viewerCount, 1, 'natively too, the joiner hears their own join');

  // Stream Join Flow (001:178-191): `stream:join {streamId}` → the stream info to the
  // joiner, then the join notification to the room, the joiner included.
  const ann = await seedClient(annId, 'ann');
  const annJoins = track(ann, 'stream:join');
  ann.emit('stream:join', { streamId });
  const info = await annJoins.until(isInfo);
  assert.equal(info.stream.id, streamId);
  assert.equal(info.stream.status, 'live');
  assert.equal(info.viewerCount, 2);
  assert.deepEqual([info.throne, info.battle], [null, null]);
  assert.ok(info.gifts.some((g) => g.id === 'rose'));
  assert.ok(!('seq' in info), 'a reply to one socket has no seq');
  const annJoined = await annJoins.until(isNotification);
  assert.deepEqual({ ...checkedSeq(annJoined), user: annJoined.user.id }, { streamId, user: annId, viewerCount: 2 });
  const natSawAnn = await natJoins.until((p) => p.user.id === annId);
  assert.equal(natSawAnn.seq, annJoined.seq, 'one event, one seq, two names');

  const bob = await seedClient(bobId, 'bob');
  const bobJoins = track(bob, 'stream:join');
  bob.emit('stream:join', { streamId });
  assert.equal((await bobJoins.until(isInfo)).viewerCount, 3);
  const annSawBob = await annJoins.until((p) => isNotification(p) && p.user.id === bobId);
  assert.deepEqual([annSawBob.streamId, annSawBob.viewerCount, annSawBob.user.username], [streamId, 3, 'bob']);
  // The coalesced count goes to native clients; seed clients have it in the notifications.
  await natViewers.until((p) => p.viewerCount === 3);
  await silence(ann, 'stream:viewers');

  // Chat Message Flow (001:193-214): approved → `chat:new` to the room, sender included.
  const annChat = track(ann, 'chat:new');
  const bobChat = track(bob, 'chat:new');
  const natChat = track(nat, 'stream:chat');
  const noNativeChatAtSeed = silence(bob, 'stream:chat');
  ann.emit('chat:new', { streamId, message: 'Hello @bob and @nat!' });
  const heard = await bobChat.until(() => true);
  assert.deepEqual(
    { ...checkedSeq(heard), id: undefined, createdAt: undefined, user: heard.user.id },
    { id: undefined, streamId, user: annId, message: 'Hello @bob and @nat!', type: 'text', mentions: ['bob', 'nat'], createdAt: undefined },
  );
  assert.equal(typeof heard.id, 'string');
  assert.ok(!Number.isNaN(Date.parse(heard.createdAt)));
  assert.equal((await annChat.until(() => true)).id, heard.id, 'the sender gets the broadcast');
  const natHeard = await natChat.until(() => true);
  assert.deepEqual([natHeard.message.id, natHeard.message.text, natHeard.seq], [heard.id, 'Hello @bob and @nat!', heard.seq]);
  await noNativeChatAtSeed;

  // Message blocked → `ai:warning` to the sender, and nothing else (001:211-212).
  const warned = waitFor(bob, 'ai:warning');
  const noError = silence(bob, 'error');
  const noModerationWarning = silence(bob, 'moderation:warning');
  const blockedNowhere = silence(ann, 'chat:new', 500, (p) => /scam/.test(p.message));
  bob.emit('chat:new', { streamId, message: 'free coins, total scam' });
  const warning = await warned;
  assert.equal(warning.streamId, streamId);
  assert.equal(warning.strikes, 1);
  assert.equal(typeof warning.reason, 'string');
  await Promise.all([noError, noModerationWarning, blockedNowhere]);
  assert.ok(!natChat.events.some((p) => /scam/.test(p.message.text)));
  // An app that moves to acks gets the refusal in the ack.
  const acked = await emitAck(bob, 'chat:new', { streamId, message: 'another scam' });
  assert.equal(acked.ok, false);
  assert.equal(acked.error.code, 'blocked');

  // Other refusals go as `error` under the client's event name.
  const refused = waitFor(ann, 'error', (e) => e.event === 'chat:new');
  ann.emit('chat:new', { streamId });
  assert.deepEqual(await refused, { code: 'bad_request', event: 'chat:new', message: 'message is required' });

  // Gifts: `gift:sent` without an idempotency key sends a gift each time.
  const toppedUp = waitFor(ann, 'wallet:updated', (p) => p.balance === 500);
  await credit(annId, 500);
  await toppedUp;
  const bobGifts = track(bob, 'gift:sent');
  const natGifts = track(nat, 'gift:sent');
  const bobThrone = track(bob, 'throne:claimed');
  const noWallet = silence(ann, 'wallet:updated');
  ann.emit('gift:sent', { streamId, giftId: 'rose', count: 5 });
  const gift = await bobGifts.until(() => true);
  assert.deepEqual([gift.streamId, gift.sender.id, gift.gift.id, gift.count, gift.coins], [streamId, annId, 'rose', 5, 5]);
  assert.equal((await natGifts.until(() => true)).transactionId, gift.transactionId, 'the native client sees the same gift');
  const throne = await bobThrone.until(() => true);
  assert.deepEqual([throne.streamId, throne.user.id, throne.coins, throne.previous], [streamId, annId, 5, null]);
  ann.emit('gift:sent', { streamId, giftId: 'rose', count: 5 });
  const second = await bobGifts.until((p) => p.transactionId !== gift.transactionId);
  assert.equal(second.coins, 5);
  await noWallet;
  assert.deepEqual(await emitOk(ann, 'wallet:balance', {}), { balance: 490, earnings: 0 }, 'two gifts paid (native pass-through)');
  // Too few coins: a conflict, as `error`.
  const poor = waitFor(bob, 'error', (e) => e.event === 'gift:sent');
  bob.emit('gift:sent', { streamId, giftId: 'rose' });
  assert.equal((await poor).code, 'conflict');

  // The throne cannot be claimed: it follows gifts.
  const claim = waitFor(bob, 'error', (e) => e.event === 'throne:claimed');
  bob.emit('throne:claimed', { streamId });
  assert.equal((await claim).code, 'bad_request');

  // The server API takes the seed's throne room for the stream room.
  const room = await restOk('GET', `/api/server/rooms/throne:${streamId}`, { serverKey: true });
  assert.equal(room.size, 3);

  // Metrics: `metrics:update` as natively.
  const metrics = await track(ann, 'metrics:update', (p) => p.streamId === streamId).until((p) => p.coins === 10, 5_000);
  assert.deepEqual([metrics.viewers, metrics.gifts], [3, 10]);

  // Leaving: `stream:leave {streamId}`; the others hear `{streamId, userId, viewerCount}`.
  const annLeaves = track(ann, 'stream:leave');
  bob.emit('stream:leave', { streamId });
  const bobLeft = await annLeaves.until(() => true);
  assert.deepEqual(checkedSeq(bobLeft), { streamId, userId: bobId, viewerCount: 2 });
  assert.equal((await natLeaves.until((p) => p.userId === bobId)).viewerCount, 2);
  // Closing the app leaves too.
  ann.close();
  assert.deepEqual(withoutSeq(await natLeaves.until((p) => p.userId === annId)), { streamId, userId: annId, viewerCount: 1 });
  nat.close();
});

test('battle boosts: `battle:boost {battleId, side}` buys the first boost; scores come back as `battle:boost` (001:49, 001:109)', { timeout: 20_000 }, async () => {
  const creatorId = uid('creator');
  const rivalId = uid('rival');
  const stream = await liveStream(creatorId, 'Battle night');
  const rivalStream = await liveStream(rivalId, 'Rival');
  const creator = await nativeSocket(creatorId, 'Creator');
  const rival = await nativeSocket(rivalId, 'Rival');
  const pending = await emitOk(creator, 'battle:start', { streamId: stream.id, opponentStreamId: rivalStream.id, durationSec: 30 });
  await emitOk(rival, 'battle:accept', { battleId: pending.battle.id });

  const fanId = uid('fan');
  await credit(fanId, 120);
  const fan = await seedClient(fanId, 'fan');
  const joined = waitFor(fan, 'stream:join', isInfo);
  fan.emit('stream:join', { streamId: stream.id });
  assert.equal((await joined).battle.id, pending.battle.id);
  await emitOk(creator, 'stream:join', { streamId: stream.id });
  const nativeScores = track(creator, 'battle:update', (p) => p.battleId === pending.battle.id);
  const scores = track(fan, 'battle:boost', (p) => p.battleId === pending.battle.id);
  const noUpdate = silence(fan, 'battle:update', 800);

  fan.emit('battle:boost', { battleId: pending.battle.id, side: stream.id });
  const boosted = await scores.until((p) => p.scores[stream.id] === 100);
  assert.deepEqual(withoutSeq(boosted), { battleId: pending.battle.id, scores: { [stream.id]: 100, [rivalStream.id]: 0 } });
  await nativeScores.until((p) => p.scores[stream.id] === 100);
  await noUpdate;
  // No `clientTxId`: a second boost is a second purchase.
  fan.emit('battle:boost', { battleId: pending.battle.id, side: stream.id });
  await scores.until((p) => p.scores[stream.id] === 200);
  assert.deepEqual(await emitOk(fan, 'wallet:balance', {}), { balance: 20, earnings: 0 }, 'two boosts of 50 coins');
  const broke = waitFor(fan, 'error', (e) => e.event === 'battle:boost');
  fan.emit('battle:boost', { battleId: pending.battle.id, side: stream.id });
  assert.equal((await broke).code, 'conflict');
  const unknown = waitFor(fan, 'error', (e) => e.event === 'battle:boost');
  fan.emit('battle:boost', { battleId: pending.battle.id, side: stream.id, boostId: 'rose' });
  assert.equal((await unknown).code, 'bad_request', 'a gift is not a boost');
  for (const s of [creator, rival]) s.close();
});

test('collaboration: `content_updated {sessionId, update}` reaches the other participants of collab:${sessionId} (001:150)', { timeout: 20_000 }, async () => {
  const [annId, bobId] = [uid('ann'), uid('bob')];
  // A session is a collaborative document (POST /api/docs): its id is the sessionId.
  const { id: sessionId } = await restOk('POST', '/api/docs', { token: token(annId), body: { title: 'Stream notes', editorIds: [bobId] } });
  const [ann, bob] = await Promise.all([seedClient(annId, 'ann'), seedClient(bobId, 'bob')]);
  // With an ack, to know when each has joined.
  assert.equal(typeof (await emitOk(ann, 'collab:join', { sessionId })).state, 'string');
  await emitOk(bob, 'collab:join', { sessionId });

  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'hello');
  const update = Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64');
  const heard = waitFor(bob, 'content_updated');
  const notEchoed = silence(ann, 'content_updated');
  const noNative = silence(bob, 'collab:update');
  ann.emit('content_updated', { sessionId, update });
  const got = await heard;
  assert.equal(got.sessionId, sessionId);
  assert.equal(got.userId, annId);
  const copy = new Y.Doc();
  Y.applyUpdate(copy, new Uint8Array(Buffer.from(got.update, 'base64')));
  assert.equal(copy.getText('t').toString(), 'hello');
  await Promise.all([notEchoed, noNative]);

  const bad = waitFor(ann, 'error', (e) => e.event === 'content_updated');
  ann.emit('content_updated', { sessionId, update: 'not yjs' });
  assert.equal((await bad).code, 'bad_request');
  // Left: no more updates.
  await emitOk(bob, 'collab:leave', { sessionId });
  const gone = silence(bob, 'content_updated');
  ann.emit('content_updated', { sessionId, update });
  await gone;
});

test('unknown seed events are refused as natively; native commands pass through', { timeout: 10_000 }, async () => {
  const ann = await seedClient(uid('ann'), 'ann');
  const refused = waitFor(ann, 'error', (e) => e.event === 'og:claim');
  ann.emit('og:claim', {});
  assert.deepEqual(await refused, { code: 'bad_request', event: 'og:claim', message: 'unknown event: og:claim' });
  const catalog = await emitOk(ann, 'gift:catalog', {});
  assert.ok(catalog.gifts.some((g) => g.id === 'boost'), 'the native ack, as natively');
  const r = await rest('GET', '/api/gifts');
  assert.equal(r.status, 200);
});
