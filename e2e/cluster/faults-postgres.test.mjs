// Issue 6 §4, PostgreSQL unreachable: the nodes reach PostgreSQL through a TCP proxy
// that the test cuts (the shared PostgreSQL server itself keeps running). Commands then
// ack `{ok:false, error:{code:"unavailable"}}` within a few seconds, nothing that was
// acked ok is lost, and once the proxy is restored commands succeed again.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, delay, emitAck, emitOk, node, pgProxy, restOk, startCluster, stopCluster, token, track, uid,
} from './lib/cluster.mjs';

// "within a few seconds": the ack must come well before a client would give up.
const UNAVAILABLE_ACK_MS = 8_000;

before(() => startCluster());
after(async () => {
  await pgProxy().restore();
  // The cut is meant to be seen: failed store calls, counts not read, slow pool waits,
  // and sqlx's own notes on the connections the proxy cut.
  await stopCluster({ expectedWarnings: [/store unavailable|pool timed out|slow threshold|communicating with database|testing the connection/] });
});

test('PostgreSQL cut: chat:send and content:like ack unavailable; nothing acked is lost; after restore commands succeed', { timeout: 120_000 }, async () => {
  const alice = uid('alice');
  const bob = uid('bob');
  const room = await restOk(0, 'POST', '/api/chat/rooms', { token: token(alice), body: { otherUserId: bob } });
  const contentId = uid('c');
  const a = await connect(0, token(alice));
  const b = await connect(1, token(bob));
  const atB = track(b, 'chat:message', (p) => p.roomId === room.id);
  const acked = []; // clientMsgIds acked ok
  const failed = []; // clientMsgIds acked unavailable
  const first = uid('cm');
  await emitOk(a, 'chat:send', { roomId: room.id, clientMsgId: first, text: 'before the cut' });
  acked.push(first);
  await emitOk(b, 'content:like', { contentId, like: true });

  await pgProxy().cut();
  try {
    // a few commands in a row during the outage; each acks, and none acks ok unless stored
    for (let i = 0; i < 3; i++) {
      const clientMsgId = uid('cm');
      const started = Date.now();
      const ack = await emitAck(a, 'chat:send', { roomId: room.id, clientMsgId, text: `during the cut ${i}` }, UNAVAILABLE_ACK_MS)
        .catch((e) => assert.fail(`chat:send during the PostgreSQL outage: ${e.message}`));
      if (ack.ok) {
        acked.push(clientMsgId);
      } else {
        assert.equal(ack.error?.code, 'unavailable', `chat:send during the outage acks unavailable: ${JSON.stringify(ack)}`);
        assert.ok(Date.now() - started <= UNAVAILABLE_ACK_MS);
        failed.push(clientMsgId);
      }
    }
    assert.ok(failed.length > 0, 'chat:send fails while PostgreSQL is unreachable');
    const like = await emitAck(a, 'content:like', { contentId, like: true }, UNAVAILABLE_ACK_MS)
      .catch((e) => assert.fail(`content:like during the outage: ${e.message}`));
    assert.equal(like.ok, false, `content:like during the outage: ${JSON.stringify(like)}`);
    assert.equal(like.error?.code, 'unavailable', JSON.stringify(like));
    // the connections themselves stay up
    assert.equal(a.connected && b.connected, true, 'sockets survive the database outage');
  } finally {
    await pgProxy().restore();
  }

  // commands succeed again (the pool reconnects on its own)
  const deadline = Date.now() + 30_000;
  let after;
  for (;;) {
    const clientMsgId = uid('cm');
    const ack = await emitAck(a, 'chat:send', { roomId: room.id, clientMsgId, text: 'after the restore' }, 10_000).catch(() => null);
    if (ack?.ok) { acked.push(clientMsgId); after = ack.data.message; break; }
    if (Date.now() > deadline) assert.fail(`chat:send never succeeded after PostgreSQL came back; last ack ${JSON.stringify(ack)}`);
    await delay(500);
  }
  await atB.until((p) => p.message.id === after.id, 8_000);
  const liked = await emitOk(a, 'content:like', { contentId, like: true });
  assert.equal(liked.likesCount, 2);

  // a client retrying the failed sends with the same clientMsgId gets each stored once
  for (const clientMsgId of failed) {
    await emitOk(a, 'chat:send', { roomId: room.id, clientMsgId, text: 'retried' });
    acked.push(clientMsgId);
  }
  // nothing acked ok is lost (read from another node), and nothing is stored twice
  const page = await restOk(2, 'GET', `/api/chat/rooms/${room.id}/messages?limit=50`, { token: token(bob) });
  const stored = page.messages.map((m) => m.clientMsgId).filter(Boolean);
  const texts = page.messages.map((m) => m.text);
  assert.equal(page.messages.length, acked.length, `stored ${JSON.stringify(texts)} for ${acked.length} acked sends`);
  if (stored.length) {
    for (const id of acked) assert.equal(stored.filter((x) => x === id).length, 1, `clientMsgId ${id} stored once`);
  }
});

test('PostgreSQL cut: a REST write answers 503 unavailable; after restore REST writes succeed', { timeout: 60_000 }, async () => {
  const user = uid('u');
  const contentId = uid('c');
  await restOk(1, 'POST', `/api/content/${contentId}/like`, { token: token(user) });
  await pgProxy().cut();
  try {
    const started = Date.now();
    const r = await fetch(`${node(1).url}/api/content/${contentId}/share`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(user)}` },
      signal: AbortSignal.timeout(UNAVAILABLE_ACK_MS + 2_000),
    }).catch((e) => assert.fail(`REST write during the outage did not answer: ${e.message}`));
    const body = await r.json().catch(() => null);
    assert.equal(r.status, 503, `REST write during the outage: ${r.status} ${JSON.stringify(body)}`);
    assert.equal(body?.error?.code, 'unavailable', JSON.stringify(body));
    assert.ok(Date.now() - started <= UNAVAILABLE_ACK_MS + 2_000);
  } finally {
    await pgProxy().restore();
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await fetch(`${node(1).url}/api/content/${contentId}/share`, {
      method: 'POST', headers: { authorization: `Bearer ${token(user)}` }, signal: AbortSignal.timeout(10_000),
    }).catch(() => null);
    if (r?.status === 200 || r?.status === 201) break;
    if (Date.now() > deadline) assert.fail(`REST write never succeeded after restore (${r?.status})`);
    await delay(500);
  }
});
