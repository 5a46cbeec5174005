// Tokens of an identity provider (CHORUS_JWT_JWKS_URL, docs/security.md §3.1): the
// server fetches a JSON Web Key Set from a tiny provider in this test, keys made and
// tokens signed with node's crypto, and the official socket.io-client connects with
// them: RS256, ES256 and EdDSA, a key rotation, an unknown kid and a wrong algorithm.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connect, expectRefused, rawSocket, rest, startServer, stopServer, uid } from '../lib/server.mjs';

/** A key pair of one type, published under `kid`. */
function makeKey(kid, alg) {
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT for `userId` signed with `key`, its header naming `kid` and `alg`. */
function signed(key, userId, { kid = key.kid, alg = key.alg } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg, typ: 'JWT', kid })}.${b64({ sub: userId, iat: now, exp: now + 3600 })}`;
  const signature = key.alg === 'EdDSA' ? sign(null, Buffer.from(input), key.privateKey)
    : key.alg === 'ES256' ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const rsa = makeKey('rsa-2026', 'RS256');
const ec = makeKey('ec-2026', 'ES256');
const ed = makeKey('ed-2026', 'EdDSA');
const provider = { keys: [rsa.jwk, ec.jwk, ed.jwk], requests: 0 };
let jwks;

before(async () => {
  jwks = createServer((req, res) => {
    provider.requests += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
    res.end(JSON.stringify({ keys: provider.keys }));
  });
  await new Promise((ok) => jwks.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${jwks.address().port}/.well-known/jwks.json`;
  await startServer({ jwtSecret: false, env: { CHORUS_JWT_JWKS_URL: url } });
});

after(async () => {
  await stopServer();
  await new Promise((ok) => jwks.close(ok));
});

async function refusalCode(tok) {
  const err = await expectRefused(rawSocket(tok));
  assert.equal(err.message, 'unauthorized');
  return err.data?.code;
}

test('RS256, ES256 and EdDSA tokens of the key set connect as their user', async () => {
  for (const key of [rsa, ec, ed]) {
    const userId = uid(key.alg);
    const socket = await connect(signed(key, userId));
    assert.equal(socket.session.userId, userId, key.alg);
    socket.close();
  }
  const { status } = await rest('GET', '/api/notifications', { token: signed(ed, uid('rest')) });
  assert.equal(status, 200);
  assert.equal(provider.requests, 1, 'fetched once at startup; cached kids need no request');
});

test('a rotated key is accepted without a restart and the removed one is refused', async () => {
  const next = makeKey('ed-2027', 'EdDSA');
  provider.keys = [rsa.jwk, ec.jwk, next.jwk];
  const userId = uid('rotated');
  const socket = await connect(signed(next, userId));
  assert.equal(socket.session.userId, userId);
  socket.close();
  assert.equal(await refusalCode(signed(ed, uid('old'))), 'auth_invalid');
  assert.equal(provider.requests, 2, 'one refetch for the new kid');
});

test('a token whose kid the set does not hold is refused with auth_invalid', async () => {
  const stranger = makeKey('not-published', 'EdDSA');
  assert.equal(await refusalCode(signed(stranger, uid('mallory'))), 'auth_invalid');
  // Under a published kid, its signature does not verify either.
  assert.equal(await refusalCode(signed(stranger, uid('mallory'), { kid: ec.kid })), 'auth_invalid');
});

test('an algorithm that does not fit the key, or HS256 and none, is refused with auth_invalid', async () => {
  // An RS256 signature under the EC key's kid.
  assert.equal(await refusalCode(signed(rsa, uid('m'), { kid: ec.kid })), 'auth_invalid');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: rsa.kid })}.${b64({ sub: 'mallory', exp: now + 3600 })}`;
  const hs256 = `${input}.${createHmac('sha256', 'guess').update(input).digest('base64url')}`;
  assert.equal(await refusalCode(hs256), 'auth_invalid');
  const none = `${b64({ alg: 'none', kid: rsa.kid })}.${b64({ sub: 'mallory', exp: now + 3600 })}.`;
  assert.equal(await refusalCode(none), 'auth_invalid');
});
