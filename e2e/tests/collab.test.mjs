// PROTOCOL.md §10, collaborative documents: real Yjs documents (the npm `yjs` package,
// as a browser editor uses it) joined through Chorus. Two editors typing at once
// converge, a third client joining late gets the merged state, viewers and strangers
// are refused edits, garbage is refused, and awareness is relayed and forgotten.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import * as Y from 'yjs';
import {
  checkedSeq, connect, emitAck, emitOk, restOk, startServer, stopServer, token, uid, waitFor,
} from '../lib/server.mjs';

before(() => startServer());
after(() => stopServer());

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const unb64 = (text) => new Uint8Array(Buffer.from(text, 'base64'));

function assertError(ack, code, what) {
  assert.equal(ack?.ok, false, `${what}: expected {ok:false}, got ${JSON.stringify(ack)?.slice(0, 300)}`);
  assert.equal(ack.error?.code, code, `${what}: expected ${code}, got ${JSON.stringify(ack).slice(0, 300)}`);
}

async function createDoc(owner, { editorIds = [], viewerIds = [] } = {}) {
  const doc = await restOk('POST', '/api/docs', { token: token(owner), body: { title: 'Shared notes', editorIds, viewerIds } });
  assert.equal(doc.ownerId, owner);
  return doc.id;
}

/**
 * A Yjs editor bound to a document through a socket: joins, applies the state, sends
 * every local change as `collab:update` and applies the relayed ones.
 */
async function openEditor(userId, docId) {
  const socket = await connect(token(userId));
  const joined = await emitOk(socket, 'collab:join', { docId });
  const doc = new Y.Doc();
  Y.applyUpdate(doc, unb64(joined.state), 'remote');
  const acks = [];
  doc.on('update', (update, origin) => {
    if (origin === 'remote') return;
    acks.push(emitAck(socket, 'collab:update', { docId, update: b64(update) }));
  });
  socket.on('collab:update', (msg) => {
    if (msg.docId === docId) Y.applyUpdate(doc, unb64(msg.update), 'remote');
  });
  return { socket, doc, text: doc.getText('content'), joined, acks };
}

async function eventually(check, what, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

test('two editors typing at once converge, and a late joiner gets the merged state', async () => {
  const [ann, bob, cat] = [uid('ann'), uid('bob'), uid('cat')];
  const docId = await createDoc(ann, { editorIds: [bob], viewerIds: [cat] });
  const a = await openEditor(ann, docId);
  const b = await openEditor(bob, docId);
  assert.equal(a.joined.canEdit, true);
  assert.equal(b.joined.canEdit, true);

  // Both type in the same moment, many small edits each, without waiting on the other.
  for (let i = 0; i < 20; i += 1) {
    a.text.insert(0, `A${i} `);
    b.text.insert(b.text.length, `b${i} `);
  }
  const acks = await Promise.all([...a.acks, ...b.acks]);
  for (const ack of acks) assert.equal(ack.ok, true, JSON.stringify(ack));
  await eventually(() => a.text.toString() === b.text.toString() && a.text.length === 2 * (20 * 3 + 10 * 1),
    'the two editors to converge');
  const merged = a.text.toString();
  for (let i = 0; i < 20; i += 1) assert.ok(merged.includes(`A${i} `) && merged.includes(`b${i} `), merged);

  const c = await openEditor(cat, docId);
  assert.equal(c.joined.canEdit, false);
  assert.equal(c.text.toString(), merged, 'the late joiner starts from the merged document');

  // The viewer's edits are refused, and nothing of them reaches the others.
  c.text.insert(0, 'vandalism ');
  const [refused] = await Promise.all(c.acks);
  assertError(refused, 'forbidden', 'a viewer edit');
  const d = await openEditor(ann, docId);
  assert.equal(d.text.toString(), merged);
  for (const e of [a, b, c, d]) e.socket.close();
});

test('garbage updates, strangers and unknown documents get clear errors', async () => {
  const [owner, stranger] = [uid('owner'), uid('stranger')];
  const docId = await createDoc(owner);
  const o = await openEditor(owner, docId);
  o.text.insert(0, 'kept');
  assert.equal((await o.acks[0]).ok, true);

  assertError(await emitAck(o.socket, 'collab:update', { docId, update: b64(Buffer.from('not a Yjs update at all')) }), 'bad_request', 'garbage');
  assertError(await emitAck(o.socket, 'collab:update', { docId, update: '***' }), 'bad_request', 'not base64');
  const s = await connect(token(stranger));
  assertError(await emitAck(s, 'collab:join', { docId }), 'forbidden', 'a stranger joining');
  const other = new Y.Doc();
  other.getText('content').insert(0, 'x');
  assertError(await emitAck(s, 'collab:update', { docId, update: b64(Y.encodeStateAsUpdate(other)) }), 'forbidden', 'a stranger editing');
  assertError(await emitAck(s, 'collab:join', { docId: uid('missing') }), 'not_found', 'an unknown document');

  const check = await openEditor(owner, docId);
  assert.equal(check.text.toString(), 'kept');
  for (const sock of [o.socket, s, check.socket]) sock.close();
});

test('awareness reaches the others and is cleared when a client leaves', async () => {
  const [ann, bob] = [uid('ann'), uid('bob')];
  const docId = await createDoc(ann, { viewerIds: [bob] });
  const a = await openEditor(ann, docId);
  const b = await openEditor(bob, docId);
  const cursor = { anchor: 2, head: 4, user: { name: 'Bob', color: '#f00' } };
  const seen = waitFor(a.socket, 'collab:awareness', (m) => m.userId === bob && m.state?.anchor === 2);
  await emitOk(b.socket, 'collab:awareness', { docId, state: cursor });
  assert.deepEqual(checkedSeq(await seen), { docId, userId: bob, state: cursor });

  const cleared = waitFor(a.socket, 'collab:awareness', (m) => m.userId === bob && m.state === null);
  b.socket.close();
  await cleared;
  a.socket.close();
});
