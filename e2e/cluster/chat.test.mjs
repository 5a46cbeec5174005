// Issue 6 §1: chat with members' devices spread over three nodes. A message reaches
// every member device on every node once; `chat:send` is idempotent by clientMsgId
// even when the retry lands on another node.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  connect, delay, emitAck, emitOk, fence, restOk, startCluster, stopCluster, token, track, uid,
} from './lib/cluster.mjs';

before(() => startCluster());
after(() => stopCluster());

async function devices(userId, nodes, name) {
  const out = [];
  for (const at of nodes) {
    const s = await connect(at, token(userId, { name }));
    s.userId = userId;
    s.at = at;
    out.push(s);
  }
  return out;
}

test('a direct chat between users on different nodes reaches every device of both, once', { timeout: 60_000 }, async () => {
  const alice = uid('alice');
  const bob = uid('bob');
  const room = await restOk(1, 'POST', '/api/chat/rooms', { token: token(alice), body: { otherUserId: bob } });
  const again = await restOk(2, 'POST', '/api/chat/rooms', { token: token(bob), body: { otherUserId: alice } });
  assert.equal(again.id, room.id, 'one direct room per pair, whichever node is asked');

  const a = await devices(alice, [0, 2], 'Alice');
  const b = await devices(bob, [1, 2], 'Bob');
  const all = [...a, ...b];
  const got = all.map((s) => track(s, 'chat:message', (p) => p.roomId === room.id));
  await emitOk(a[0], 'chat:join', { roomId: room.id });
  await emitOk(b[0], 'chat:join', { roomId: room.id });

  const m1 = (await emitOk(a[0], 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'hi from node 1' })).message;
  const m2 = (await emitOk(b[0], 'chat:send', { roomId: room.id, clientMsgId: uid('cm'), text: 'hello from node 2' })).message;
  for (const [i, t] of got.entries()) {
    for (const m of [m1, m2]) {
      const seen = await t.until((p) => p.message.id === m.id, 8_000)
        .catch((e) => { throw new Error(`${all[i].userId} on node ${all[i].at + 1}: ${e.message}`); });
      assert.equal(seen.message.text, m.text);
    }
  }
  await fence(all);
  await delay(200);
  for (const [i, t] of got.entries()) {
    const ids = t.events.map((p) => p.message.id);
    assert.deepEqual(ids, [m1.id, m2.id], `${all[i].userId} on node ${all[i].at + 1}: each message once, in order`);
  }

  // typing from node 3 reaches the other member on node 2, not the typist
  const typing = track(b[0], 'chat:typing', (p) => p.roomId === room.id);
  await emitOk(a[1], 'chat:join', { roomId: room.id });
  await emitOk(a[1], 'chat:typing', { roomId: room.id, typing: true });
  const ty = await typing.until((p) => p.user?.id === alice, 8_000);
  assert.equal(ty.typing, true);

  // history is the same from every node
  for (const at of [0, 1, 2]) {
    const page = await restOk(at, 'GET', `/api/chat/rooms/${room.id}/messages`, { token: token(bob) });
    const texts = page.messages.map((m) => m.text).sort();
    assert.deepEqual(texts, ['hello from node 2', 'hi from node 1'], `history from node ${at + 1}`);
  }
});

test('a group chat reaches every member device on every node', { timeout: 60_000 }, async () => {
  const owner = uid('owner');
  const m1 = uid('m1');
  const m2 = uid('m2');
  const group = await restOk(0, 'POST', '/api/chat/rooms', { token: token(owner), body: { kind: 'group', title: 'Crew', memberIds: [m1, m2] } });
  const socks = [
    ...await devices(owner, [0], 'Owner'),
    ...await devices(m1, [1, 2], 'M1'),
    ...await devices(m2, [2, 0], 'M2'),
  ];
  const got = socks.map((s) => track(s, 'chat:message', (p) => p.roomId === group.id));
  const sent = [];
  for (const [k, s] of [socks[0], socks[1], socks[3]].entries()) {
    sent.push((await emitOk(s, 'chat:send', { roomId: group.id, clientMsgId: uid('cm'), text: `msg ${k}` })).message);
  }
  for (const [i, t] of got.entries()) {
    for (const m of sent) {
      await t.until((p) => p.message.id === m.id, 8_000)
        .catch((e) => { throw new Error(`${socks[i].userId} on node ${socks[i].at + 1}: ${e.message}`); });
    }
  }
  await fence(socks);
  await delay(200);
  for (const [i, t] of got.entries()) {
    assert.equal(t.events.length, sent.length, `${socks[i].userId} on node ${socks[i].at + 1} got ${t.events.length} messages for ${sent.length}`);
  }
});

test('chat:send is idempotent by clientMsgId across nodes: a retry on another node returns the stored message, delivered once', { timeout: 60_000 }, async () => {
  const alice = uid('alice');
  const bob = uid('bob');
  const room = await restOk(0, 'POST', '/api/chat/rooms', { token: token(alice), body: { otherUserId: bob } });
  const a1 = await connect(0, token(alice));
  const a2 = await connect(1, token(alice));
  const b = await connect(2, token(bob));
  const atB = track(b, 'chat:message', (p) => p.roomId === room.id);
  const clientMsgId = uid('cm');
  const first = await emitOk(a1, 'chat:send', { roomId: room.id, clientMsgId, text: 'only once' });
  const retry = await emitOk(a2, 'chat:send', { roomId: room.id, clientMsgId, text: 'only once' });
  assert.equal(retry.message.id, first.message.id, 'the retry on node 2 returns the message stored via node 1');
  assert.equal(retry.duplicate, true);

  // both at once on two nodes: one message
  const racedId = uid('cm');
  const [x, y] = await Promise.all([
    emitAck(a1, 'chat:send', { roomId: room.id, clientMsgId: racedId, text: 'raced' }),
    emitAck(a2, 'chat:send', { roomId: room.id, clientMsgId: racedId, text: 'raced' }),
  ]);
  assert.equal(x.ok, true, JSON.stringify(x));
  assert.equal(y.ok, true, JSON.stringify(y));
  assert.equal(x.data.message.id, y.data.message.id, 'concurrent sends with one clientMsgId on two nodes store one message');

  await atB.until((p) => p.message.id === x.data.message.id, 8_000);
  await fence([b]);
  await delay(200);
  const ids = atB.events.map((p) => p.message.id);
  assert.deepEqual(ids, [first.message.id, x.data.message.id], 'bob got each message once');
  const page = await restOk(2, 'GET', `/api/chat/rooms/${room.id}/messages`, { token: token(bob) });
  assert.equal(page.messages.length, 2, `stored: ${JSON.stringify(page.messages.map((m) => m.text))}`);
});
