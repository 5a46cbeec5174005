// PROTOCOL.md §9: the live-stream flow with the official client. A creator goes live,
// three viewers join and see the viewer count, chat flows, a blocked message draws a
// warning, gifts move the throne, a viewer crosses an OG tier, a battle runs to its
// end with a winner, metrics arrive, and the ended stream refuses further chat.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  checkedSeq, connect, emitAck, emitOk, restOk, startServer, stopServer, token, track, uid, waitFor,
} from '../lib/server.mjs';

// Short periods so the flow runs in seconds; production defaults are 2 s metrics and 30 s battles.
before(() => startServer({
  env: {
    CHORUS_BLOCKLIST: 'darn,scam',
    CHORUS_STREAM_METRICS_INTERVAL_MS: '300',
    CHORUS_BATTLE_MIN_SECS: '1',
  },
}));
after(() => stopServer());

async function newStream(owner, title) {
  return restOk('POST', '/api/streams', { token: token(owner, { name: owner }), body: { title } });
}

function credit(userId, amount) {
  return restOk('POST', `/api/server/wallets/${encodeURIComponent(userId)}/credit`, {
    serverKey: true,
    body: { amount, reference: uid('topup') },
  });
}

async function expectError(socket, event, data, code) {
  const ack = await emitAck(socket, event, data);
  assert.equal(ack?.ok, false, `${event} ${JSON.stringify(data)} should fail: ${JSON.stringify(ack)}`);
  assert.equal(ack.error.code, code, `${event} ${JSON.stringify(data)}: ${JSON.stringify(ack)}`);
  return ack.error;
}

test('a live stream from going live to its end, as the official client sees it', { timeout: 60_000 }, async () => {
  const creatorId = uid('creator');
  const rivalId = uid('rival');
  const [v1Id, v2Id, v3Id] = [uid('ann'), uid('bob'), uid('cat')];

  // --- the creator goes live
  const stream = await newStream(creatorId, 'Launch party');
  assert.equal(stream.status, 'idle');
  assert.equal(stream.ownerId, creatorId);
  const creator = await connect(token(creatorId, { name: 'Creator' }));
  const creatorViewers = track(creator, 'stream:viewers', (p) => p.streamId === stream.id);
  const creatorMetrics = track(creator, 'metrics:update', (p) => p.streamId === stream.id);
  const creatorNotes = track(creator, 'notification:new', (p) => p.notification?.type === 'gift');
  await emitOk(creator, 'stream:join', { streamId: stream.id });
  const live = await emitOk(creator, 'stream:status', { streamId: stream.id, status: 'live' });
  assert.equal(live.stream.status, 'live');

  // --- three viewers join and see the viewer count
  const viewers = [];
  for (const [id, name] of [[v1Id, 'Ann'], [v2Id, 'Bob'], [v3Id, 'Cat']]) {
    const s = await connect(token(id, { name }));
    s.tracked = {
      viewers: track(s, 'stream:viewers', (p) => p.streamId === stream.id),
      chat: track(s, 'stream:chat', (p) => p.streamId === stream.id),
      gifts: track(s, 'gift:sent', (p) => p.streamId === stream.id),
      throne: track(s, 'throne:claimed', (p) => p.streamId === stream.id),
      metrics: track(s, 'metrics:update', (p) => p.streamId === stream.id),
      battle: track(s, 'battle:ended'),
    };
    const joined = await emitOk(s, 'stream:join', { streamId: stream.id });
    assert.equal(joined.stream.id, stream.id);
    assert.equal(joined.stream.status, 'live');
    assert.equal(joined.throne, null);
    assert.equal(joined.battle, null);
    assert.deepEqual(joined.gifts.map((g) => [g.id, g.coins]), [['rose', 1], ['heart', 10], ['crown', 100], ['rocket', 1000], ['boost', 50]]);
    viewers.push(s);
  }
  const [v1, v2, v3] = viewers;
  await creatorViewers.until((p) => p.viewerCount === 4);
  for (const v of viewers) await v.tracked.viewers.until((p) => p.viewerCount === 4);

  // --- chat flows
  const sent = await emitOk(v1, 'stream:chat', { streamId: stream.id, text: 'hello everyone' });
  assert.equal(sent.message.user.id, v1Id);
  for (const v of [v2, v3]) {
    const got = await v.tracked.chat.until((p) => p.message.id === sent.message.id);
    assert.equal(got.message.text, 'hello everyone');
    assert.equal(got.message.user.username, 'Ann');
  }

  // --- a blocked message draws a warning and reaches nobody
  const warning = waitFor(v3, 'moderation:warning');
  const aiWarning = waitFor(v3, 'ai:warning');
  const blocked = await expectError(v3, 'stream:chat', { streamId: stream.id, text: 'free coins, no $c4m' }, 'blocked');
  assert.match(blocked.message, /blocked/);
  const w = await warning;
  assert.equal(w.strikes, 1);
  assert.equal(w.severity, 'high');
  assert.equal(typeof w.reason, 'string');
  assert.deepEqual(checkedSeq(await aiWarning), checkedSeq(w), 'ai:warning carries the same payload');
  await emitOk(v2, 'stream:chat', { streamId: stream.id, text: 'after the storm' });
  await v1.tracked.chat.until((p) => p.message.text === 'after the storm');
  assert.ok(!v1.tracked.chat.events.some((p) => /c4m/.test(p.message.text)), 'the blocked text was never shown');

  // --- gifts move the throne
  await credit(v1Id, 500);
  await credit(v2Id, 2000);
  const g1 = await emitOk(v1, 'gift:send', { streamId: stream.id, giftId: 'rose', count: 5, clientTxId: uid('tx') });
  assert.equal(g1.balance, 495);
  const shown = await v3.tracked.gifts.until((p) => p.sender.id === v1Id);
  assert.deepEqual([shown.gift.id, shown.count, shown.coins], ['rose', 5, 5]);
  let throne = await v3.tracked.throne.until((p) => p.user.id === v1Id);
  assert.equal(throne.coins, 5);
  assert.equal(throne.previous, null);
  await emitOk(v2, 'gift:send', { streamId: stream.id, giftId: 'heart', count: 1, clientTxId: uid('tx') });
  throne = await v3.tracked.throne.until((p) => p.user.id === v2Id);
  assert.equal(throne.coins, 10);
  assert.equal(throne.previous.user.id, v1Id);
  assert.equal(throne.previous.coins, 5);

  // --- a viewer crosses an OG tier (bronze at 100 coins to this creator)
  const og = waitFor(v1, 'og:changed');
  const crownTx = uid('tx');
  const crown = await emitOk(v1, 'gift:send', { streamId: stream.id, giftId: 'crown', count: 1, clientTxId: crownTx });
  assert.equal(crown.balance, 395);
  const tier = await og;
  assert.deepEqual([tier.creatorId, tier.tier, tier.previousTier], [creatorId, 'bronze', null]);
  throne = await v2.tracked.throne.until((p) => p.user.id === v1Id && p.previous?.user.id === v2Id);
  assert.equal(throne.coins, 105);
  // a retry is the same gift; the same clientTxId for another gift is refused
  const retry = await emitOk(v1, 'gift:send', { streamId: stream.id, giftId: 'crown', count: 1, clientTxId: crownTx });
  assert.equal(retry.transaction.id, crown.transaction.id);
  assert.equal(retry.balance, 395);
  await expectError(v1, 'gift:send', { streamId: stream.id, giftId: 'rocket', count: 1, clientTxId: crownTx }, 'conflict');
  await expectError(v1, 'gift:send', { streamId: stream.id, giftId: 'rocket', count: 1, clientTxId: uid('tx') }, 'conflict');
  assert.deepEqual(await emitOk(v1, 'wallet:balance', {}), { balance: 395, earnings: 0 });
  const note = await creatorNotes.until(() => true);
  assert.equal(note.notification.subject.id, stream.id);

  // --- a battle against another live stream runs to its end with a winner
  const rivalStream = await newStream(rivalId, 'Rival show');
  const rival = await connect(token(rivalId, { name: 'Rival' }));
  await emitOk(rival, 'stream:status', { streamId: rivalStream.id, status: 'live' });
  await expectError(creator, 'battle:start', { streamId: stream.id, opponentStreamId: stream.id, durationSec: 2 }, 'bad_request');
  const invited = waitFor(rival, 'battle:invite');
  const pending = await emitOk(creator, 'battle:start', { streamId: stream.id, opponentStreamId: rivalStream.id, durationSec: 2 });
  assert.equal(pending.battle.status, 'pending');
  const invite = await invited;
  assert.equal(invite.battle.id, pending.battle.id);
  const startedSeen = waitFor(v1, 'battle:started', (p) => p.battle.id === pending.battle.id);
  const accepted = await emitOk(rival, 'battle:accept', { battleId: pending.battle.id });
  assert.equal(accepted.battle.status, 'active');
  const started = await startedSeen;
  assert.ok(Date.parse(started.endsAt) > Date.now() - 1000);
  const updates = track(v2, 'battle:update', (p) => p.battleId === pending.battle.id);
  const boost = await emitOk(v2, 'battle:boost', { battleId: pending.battle.id, side: stream.id, boostId: 'boost', clientTxId: uid('tx') });
  assert.equal(boost.scores[stream.id], 100);
  assert.equal(boost.scores[rivalStream.id], 0);
  await emitOk(v2, 'gift:send', { streamId: stream.id, giftId: 'heart', count: 2, clientTxId: uid('tx') });
  await updates.until((p) => p.scores[stream.id] === 120);
  const ended = await v1.tracked.battle.until((p) => p.battleId === pending.battle.id, 8_000);
  assert.equal(ended.winner, stream.id);
  assert.deepEqual(ended.scores, { [stream.id]: 120, [rivalStream.id]: 0 });
  await expectError(v2, 'battle:boost', { battleId: pending.battle.id, side: stream.id, boostId: 'boost', clientTxId: uid('tx') }, 'conflict');

  // --- metrics arrive while live
  await emitOk(v3, 'stream:like', { streamId: stream.id, count: 3 });
  const metrics = await creatorMetrics.until((p) => p.likes === 3 && p.coins === 135);
  assert.equal(metrics.viewers, 4);
  assert.equal(metrics.peakViewers, 4);
  assert.equal(metrics.gifts, 9);
  assert.ok(metrics.chatPerMin >= 2, `chatPerMin ${metrics.chatPerMin}`);
  await v3.tracked.metrics.until((p) => p.coins === 135);

  // --- the stream ends and refuses further chat
  const endedSeen = waitFor(v1, 'stream:status', (p) => p.status === 'ended');
  await emitOk(creator, 'stream:status', { streamId: stream.id, status: 'ended' });
  assert.equal((await endedSeen).streamId, stream.id);
  await expectError(v1, 'stream:chat', { streamId: stream.id, text: 'anyone?' }, 'conflict');
  await expectError(v2, 'gift:send', { streamId: stream.id, giftId: 'rose', count: 1, clientTxId: uid('tx') }, 'conflict');
  await expectError(v2, 'stream:like', { streamId: stream.id }, 'conflict');
  const wallet = await restOk('GET', '/api/wallet', { token: token(creatorId) });
  // 135 coins of gifts and the 50-coin boost bought for the creator's side.
  assert.deepEqual(wallet, { balance: 0, earnings: 185 });

  for (const s of [creator, rival, ...viewers]) s.close();
});

test('bad input gets a clear error and changes nothing', { timeout: 20_000 }, async () => {
  const ownerId = uid('owner');
  const fanId = uid('fan');
  const stream = await newStream(ownerId, 'Checks');
  const owner = await connect(token(ownerId));
  const fan = await connect(token(fanId));
  await emitOk(owner, 'stream:status', { streamId: stream.id, status: 'live' });
  await credit(fanId, 50);
  const gift = (giftId, count) => ({ streamId: stream.id, giftId, count, clientTxId: uid('tx') });
  await expectError(fan, 'gift:send', gift('unicorn', 1), 'bad_request');
  for (const count of [0, -1, 1e9]) await expectError(fan, 'gift:send', gift('rose', count), 'bad_request');
  await expectError(fan, 'stream:status', { streamId: stream.id, status: 'ended' }, 'forbidden');
  await expectError(fan, 'stream:chat', { streamId: uid('missing'), text: 'hi' }, 'not_found');
  assert.deepEqual(await restOk('GET', '/api/wallet', { token: token(fanId) }), { balance: 50, earnings: 0 });
  const catalog = await restOk('GET', '/api/gifts');
  assert.deepEqual(catalog.gifts.find((g) => g.id === 'boost'), { id: 'boost', name: 'Boost', coins: 50, kind: 'boost', points: 100 });
  owner.close();
  fan.close();
});
