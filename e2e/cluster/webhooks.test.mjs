// docs/protocol.md §11.1 in cluster mode: three nodes on one PostgreSQL database share
// one outbox, and every node runs a delivery worker. Likes made on all three nodes
// reach the backend once each (claimed by one node with FOR UPDATE SKIP LOCKED), in
// order per content, each verified with the official standardwebhooks library.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { delay, eventually, restOk, startCluster, stopCluster, token, uid } from './lib/cluster.mjs';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const verifier = new Webhook(SECRET);
const received = [];
const refused = [];
const backend = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      const event = verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers);
      received.push({ id: req.headers['webhook-id'], event });
      res.writeHead(200).end('ok');
    } catch (e) {
      refused.push(e.message);
      res.writeHead(400).end();
    }
  });
});

before(async () => {
  await new Promise((ok) => backend.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${backend.address().port}/hooks`;
  await startCluster({ nodes: 3, env: { CHORUS_WEBHOOK_URL: url, CHORUS_WEBHOOK_SECRET: SECRET, CHORUS_WEBHOOK_EVENTS: 'content.liked' } });
});
after(async () => {
  await stopCluster();
  backend.close();
});

test('likes made on three nodes reach the backend once each, in order per content', { timeout: 60_000 }, async () => {
  const contents = [uid('a'), uid('b'), uid('c')];
  const likes = [];
  for (let i = 0; i < 30; i++) {
    const contentId = contents[i % contents.length];
    // Each content is liked from every node in turn.
    likes.push(restOk(i % 3, 'POST', `/api/content/${contentId}/like`, { token: token(uid('fan')), body: { like: true } }));
  }
  await Promise.all(likes);
  const ours = () => received.filter((d) => contents.includes(d.event.data.contentId));
  await eventually(() => ours().length >= 30, { timeoutMs: 20_000, what: '30 webhooks' });
  await delay(1_500); // a second delivery of any of them would have arrived by now
  const got = ours();
  assert.equal(refused.length, 0, 'every delivery verifies');
  assert.equal(got.length, 30, `each like told once: ${got.length} deliveries`);
  assert.equal(new Set(got.map((d) => d.id)).size, 30, 'no webhook-id twice');
  for (const contentId of contents) {
    const counts = got.filter((d) => d.event.data.contentId === contentId).map((d) => d.event.data.likesCount);
    assert.deepEqual(counts, [...counts].sort((x, y) => x - y), `in order for ${contentId}: ${counts}`);
    assert.equal(counts.at(-1), 10);
  }
});
