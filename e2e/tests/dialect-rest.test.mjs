// docs/dialects.md §3.6 and §5.6: the seed apps' REST calls, sent as the seeds show
// them, against servers started with CHORUS_DIALECT. The video app's five routes
// (002 "API Endpoints with Real-Time Events") with only `Authorization: Bearer`, and
// the chat app's three (004 "REST API ENDPOINTS"), the room one with the seed's own
// `curl` (no Content-Type). Then a server without a dialect, which keeps the native
// answers.
//
// One server at a time (lib/server.mjs): each `describe` starts its own and stops it.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { rest, server, startServer, stopServer, token, uid, waitFor } from '../lib/server.mjs';

const run = promisify(execFile);
const isoTime = (s) => typeof s === 'string' && !Number.isNaN(Date.parse(s));

/** The seed's request: `Authorization: Bearer <jwt_token>` and nothing else. */
async function seedFetch(method, path, jwt) {
  const res = await fetch(`${server().url}${path}`, {
    method,
    headers: jwt ? { Authorization: `Bearer ${jwt}` } : {},
    signal: AbortSignal.timeout(5_000),
  });
  return { status: res.status, body: await res.json() };
}

/** 004 "QUICK TEST" 1, as written: `curl -X POST …/api/chat/rooms -H "Authorization: Bearer {JWT}" -d '{"otherUserId": "USER_ID"}'`. */
async function seedCurl(jwt, otherUserId) {
  const { stdout } = await run('curl', [
    '-s', '-w', '\n%{http_code}',
    '-X', 'POST', `${server().url}/api/chat/rooms`,
    '-H', `Authorization: Bearer ${jwt}`,
    '-d', `{"otherUserId": "${otherUserId}"}`,
  ]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) };
}

describe('dialect = video: the seed\'s REST answers (002:237-359)', () => {
  before(() => startServer({ env: { CHORUS_DIALECT: 'video' } }));
  after(() => stopServer());

  test('like toggles and says so; view, share and comments answer the seed\'s shapes', { timeout: 20_000 }, async () => {
    const id = uid('video');
    const viewer = uid('user');
    const jwt = token(viewer, { name: '@johndoe' });

    // "Like/Unlike Content": POST /api/content/:id/like, one route both ways.
    let r = await seedFetch('POST', `/api/content/${id}/like`, jwt);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { success: true, data: { isLiked: true, likesCount: 1 }, message: 'Content liked' });
    r = await seedFetch('POST', `/api/content/${id}/like`, jwt);
    assert.deepEqual(r.body, { success: true, data: { isLiked: false, likesCount: 0 }, message: 'Content unliked' });
    r = await seedFetch('POST', `/api/content/${id}/like`, jwt);
    assert.equal(r.body.data.isLiked, true);

    // "Record View": optional auth, `{viewsCount}` and no message.
    r = await seedFetch('POST', `/api/content/${id}/view`);
    assert.equal(r.status, 200);
    assert.equal(r.body.success, true);
    assert.equal(r.body.data.viewsCount, 1);
    assert.equal('message' in r.body, false);

    // "Share Content".
    r = await seedFetch('POST', `/api/content/${id}/share`, jwt);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { success: true, data: { sharesCount: 1 }, message: 'Share recorded' });

    // "Create Comment": body `{text, parentId: null}` as JSON.
    const res = await fetch(`${server().url}/api/content/${id}/comments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'Great video!', parentId: null }),
    });
    assert.equal(res.status, 201);
    const created = await res.json();
    assert.equal(created.success, true);
    assert.equal(created.message, 'Comment created');
    assert.equal(created.data.commentsCount, 1);
    const comment = created.data.comment;
    assert.equal(typeof comment._id, 'string');
    assert.equal(comment.text, 'Great video!');
    assert.ok(isoTime(comment.createdAt));
    assert.deepEqual(comment.userId, { _id: viewer, username: '@johndoe', avatar: null, isVerified: false });

    // "Get Comments": GET /api/content/:id/comments?limit=20&page=1.
    r = await seedFetch('GET', `/api/content/${id}/comments?limit=20&page=1`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data.pagination, { total: 1, page: 1, limit: 20, pages: 1 });
    assert.equal(r.body.data.comments.length, 1);
    assert.equal(r.body.data.comments[0]._id, comment._id);
    assert.deepEqual(r.body.data.comments[0].userId, comment.userId);
  });

  test('page is honoured and pages = ceil(total / limit)', { timeout: 20_000 }, async () => {
    const id = uid('video');
    const jwt = token(uid('user'));
    for (let n = 1; n <= 5; n += 1) {
      const r = await rest('POST', `/api/content/${id}/comments`, { token: jwt, body: { text: `comment ${n}` } });
      assert.equal(r.status, 201);
    }
    const r = await seedFetch('GET', `/api/content/${id}/comments?limit=2&page=3`);
    assert.deepEqual(r.body.data.pagination, { total: 5, page: 3, limit: 2, pages: 3 });
    assert.deepEqual(r.body.data.comments.map((c) => c.text), ['comment 1']);
  });

  test('bad input gets the native codes', { timeout: 20_000 }, async () => {
    const id = uid('video');
    let r = await seedFetch('POST', `/api/content/${id}/like`);
    assert.deepEqual([r.status, r.body.success, r.body.error.code], [401, false, 'unauthorized']);
    r = await rest('POST', `/api/content/${id}/comments`, { token: token(uid('user')), body: { text: '   ' } });
    assert.deepEqual([r.status, r.body.error.code], [400, 'bad_request']);
    r = await seedFetch('GET', `/api/content/${id}/comments?limit=0&page=1`);
    assert.deepEqual([r.status, r.body.error.code], [400, 'bad_request']);
    r = await seedFetch('GET', `/api/content/${id}/comments?limit=20&page=x`);
    assert.deepEqual([r.status, r.body.error.code], [400, 'bad_request']);
  });
});

describe('dialect = chatnotify: the seed\'s REST routes (004:143-192)', () => {
  before(() => startServer({ env: { CHORUS_DIALECT: 'chatnotify' } }));
  after(() => stopServer());

  test('the quick test\'s curl creates the room; rooms and history carry the seed model\'s fields', { timeout: 20_000 }, async () => {
    const ann = uid('ann');
    const bob = uid('bob');
    const created = await seedCurl(token(ann), bob);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const room = created.body.data;
    assert.equal(room._id, room.id);
    assert.deepEqual(room.participants, [ann, bob].sort());
    const again = await seedCurl(token(bob), ann);
    assert.equal(again.status, 200, 'the pair\'s room is got, not made twice');
    assert.equal(again.body.data._id, room._id);

    const listed = await seedFetch('GET', '/api/chat/rooms', token(ann));
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.rooms.map((x) => [x._id, x.participants]), [[room._id, room.participants]]);

    // Messages sent by the seed's own socket client.
    const socket = io(server().url, { auth: { token: token(ann) }, forceNew: true, reconnection: false });
    try {
      await new Promise((ok, fail) => { socket.once('connect', ok); socket.once('connect_error', fail); });
      socket.emit('join_room', { chatRoomId: room._id });
      for (const text of ['one', 'two', 'three']) {
        const echoed = waitFor(socket, 'receive_message', (m) => m.text === text);
        socket.emit('send_message', { chatRoomId: room._id, text });
        await echoed;
      }
    } finally {
      socket.close();
    }

    // "GET /api/chat/messages/:id - Get message history".
    const page = await seedFetch('GET', `/api/chat/messages/${room._id}?limit=1&skip=1`, token(bob));
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.equal(page.body.data.chatRoomId, room._id);
    assert.equal(page.body.data.hasMore, true);
    assert.deepEqual(page.body.data.messages.map((m) => [m.text, m.chatRoomId, m.senderId]), [['two', room._id, ann]]);
    const m = page.body.data.messages[0];
    assert.equal(m._id, m.id);
    assert.equal(m.updatedAt, m.createdAt);
    const all = await seedFetch('GET', `/api/chat/messages/${room._id}`, token(ann));
    assert.deepEqual(all.body.data.messages.map((x) => x.text), ['three', 'two', 'one']);
    assert.equal(all.body.data.hasMore, false);
  });

  test('members only, and bad input gets the native codes', { timeout: 20_000 }, async () => {
    const ann = uid('ann');
    const created = await seedCurl(token(ann), uid('bob'));
    const roomId = created.body.data._id;
    let r = await seedFetch('GET', `/api/chat/messages/${roomId}`, token(uid('eve')));
    assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden']);
    r = await seedFetch('GET', `/api/chat/messages/${roomId}`);
    assert.deepEqual([r.status, r.body.error.code], [401, 'unauthorized']);
    r = await seedFetch('GET', `/api/chat/messages/${roomId}?skip=x`, token(ann));
    assert.deepEqual([r.status, r.body.error.code], [400, 'bad_request']);
    r = await seedFetch('GET', `/api/chat/messages/${roomId}?limit=0`, token(ann));
    assert.deepEqual([r.status, r.body.error.code], [400, 'bad_request']);
    const res = await fetch(`${server().url}/api/chat/rooms`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token(ann)}` },
      body: 'otherUserId=bob',
    });
    assert.deepEqual([res.status, (await res.json()).error.code], [400, 'bad_request']);
  });
});

describe('no dialect: the native answers', () => {
  before(() => startServer());
  after(() => stopServer());

  test('POST like stays idempotent with no message, the curl body is refused, and there is no seed history route', { timeout: 20_000 }, async () => {
    const id = uid('video');
    const jwt = token(uid('user'));
    const first = await seedFetch('POST', `/api/content/${id}/like`, jwt);
    const second = await seedFetch('POST', `/api/content/${id}/like`, jwt);
    assert.deepEqual(first.body, { success: true, data: { isLiked: true, likesCount: 1 } });
    assert.deepEqual(second.body, first.body);
    const curled = await seedCurl(jwt, uid('bob'));
    assert.deepEqual([curled.status, curled.body.error.code], [400, 'bad_request']);
    const r = await seedFetch('GET', `/api/chat/messages/${uid('room')}`, jwt);
    assert.deepEqual([r.status, r.body.error.code], [404, 'not_found']);
  });
});
