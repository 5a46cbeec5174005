// PROTOCOL.md §10 (live location in chat rooms) and §4 (`content:progress` and the
// engagement analytics it feeds).
//
// The server runs with CHORUS_LOCATION_MIN_INTERVAL_MS=300 (one accepted share per user
// per 300 ms) and the default tick of 250 ms, so a live share that runs out is announced
// as stopped 0-250 ms after its `liveUntil`.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  checkedSeq, connect, emitAck, emitOk, registerContent, rest, restOk, startServer, stopServer,
  token, track, uid, waitFor,
} from '../lib/server.mjs';

const MIN_INTERVAL_MS = 300;
const TICK_MS = 250;

before(() => startServer({ env: { CHORUS_LOCATION_MIN_INTERVAL_MS: String(MIN_INTERVAL_MS) } }));
after(() => stopServer());

const isRfc3339 = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$/.test(s) && !Number.isNaN(Date.parse(s));

function assertError(ack, code, what) {
  assert.equal(ack?.ok, false, `${what}: expected {ok:false}, got ${JSON.stringify(ack)?.slice(0, 300)}`);
  assert.equal(ack.error?.code, code, `${what}: expected code ${code}, got ${JSON.stringify(ack).slice(0, 300)}`);
  assert.equal(typeof ack.error.message, 'string', `${what}: error.message is a string`);
}

function assertRestError(r, status, code, what) {
  assert.equal(r.status, status, `${what}: status ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body?.success, false, `${what}: envelope ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error?.code, code, `${what}: code in ${JSON.stringify(r.body)}`);
  assert.equal(typeof r.body.error.message, 'string', `${what}: error.message is a string`);
}

/**
 * A fence: an event sent to every socket through the server API, awaited on the given
 * sockets. Events published to a socket before the fence arrive before it.
 */
async function fence(...sockets) {
  const marker = uid('fence');
  const waits = sockets.map((s) => waitFor(s, 'test:fence', (p) => p?.marker === marker));
  await restOk('POST', '/api/server/emit', { serverKey: true, body: { to: { all: true }, event: 'test:fence', data: { marker } } });
  await Promise.all(waits);
}

/** Records the location events of one socket. */
function locationLog(socket) {
  return { socket, updates: track(socket, 'location:update'), stopped: track(socket, 'location:stopped') };
}

const isoIn = (ms) => new Date(Date.now() + ms).toISOString();

// ------------------------------------------------------------------ location

test('location sharing reaches every device of the room\'s members and nobody else, is throttled per user, validated, and live sharing ends by itself and by location:stop', { timeout: 30_000 }, async () => {
  const aId = uid('walker');
  const bId = uid('friend');
  const cId = uid('buddy');
  const dId = uid('partner'); // direct room with the walker only
  const oId = uid('outsider'); // connected, in no room
  const group = await restOk('POST', '/api/chat/rooms', { token: token(aId), body: { kind: 'group', title: 'Hike', memberIds: [bId, cId] } });
  assert.equal(group.kind, 'group');
  assert.deepEqual([...group.memberIds].sort(), [aId, bId, cId].sort());
  const direct = await restOk('POST', '/api/chat/rooms', { token: token(aId), body: { otherUserId: dId } });
  assert.equal(direct.kind, 'direct');
  assert.deepEqual([...direct.memberIds].sort(), [aId, dId].sort());

  const a1 = await connect(token(aId));
  const a2 = await connect(token(aId), { transports: ['polling'] }); // the walker's second device
  const b1 = await connect(token(bId));
  const b2 = await connect(token(bId), { transports: ['polling'] }); // the friend's second device
  const c = await connect(token(cId));
  const d = await connect(token(dId));
  const o = await connect(token(oId));
  const all = [a1, a2, b1, b2, c, d, o];
  const logs = new Map(all.map((s) => [s, locationLog(s)]));
  const groupDevices = [a1, a2, b1, b2, c];
  const outsiderOther = track(o, 'error'); // an ack-less failure would show up here

  // --- one position reaches every device of every group member, the sharer's included
  const pos1 = { roomId: group.id, lat: 48.8566, lng: 2.3522, accuracy: 12.5 };
  const before1 = Date.now();
  const shared1 = await emitOk(a1, 'location:share', pos1);
  assert.deepEqual(shared1, { liveUntil: null }, 'a one-off share is not live');
  const got1 = await Promise.all(groupDevices.map((s) => logs.get(s).updates.until((p) => p.roomId === group.id && p.userId === aId)));
  for (const u of got1) {
    assert.deepEqual(u, got1[0], 'every device gets the same update');
  }
  const { timestamp: ts1, ...rest1 } = checkedSeq(got1[0]);
  assert.deepEqual(rest1, { roomId: group.id, userId: aId, lat: 48.8566, lng: 2.3522, accuracy: 12.5, liveUntil: null });
  assert.ok(isRfc3339(ts1), `timestamp ${ts1}`);
  assert.ok(Date.parse(ts1) >= before1 - 5 && Date.parse(ts1) <= Date.now() + 5, `timestamp ${ts1} is the time of the share`);

  // --- throttled per user: at once again, in the same room or in another, is refused
  const fast = await emitAck(a1, 'location:share', { roomId: group.id, lat: 48.857, lng: 2.353 });
  assertError(fast, 'rate_limited', 'a second share inside the interval');
  const retry = fast.error.retryAfterMs;
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= MIN_INTERVAL_MS, `retryAfterMs ${retry} within 1..${MIN_INTERVAL_MS}`);
  assertError(await emitAck(a2, 'location:share', { roomId: direct.id, lat: 48.857, lng: 2.353 }), 'rate_limited', 'the same user from another device, in another room');
  // another user is not held back by the walker's throttle (and no liveUntil: accuracy null)
  assert.deepEqual(await emitOk(b1, 'location:share', { roomId: group.id, lat: -33.8688, lng: 151.2093 }), { liveUntil: null });
  const gotB = await Promise.all(groupDevices.map((s) => logs.get(s).updates.until((p) => p.userId === bId)));
  for (const u of gotB) {
    assert.equal(u.roomId, group.id);
    assert.equal(u.lat, -33.8688);
    assert.equal(u.lng, 151.2093);
    assert.equal(u.accuracy, null, 'no accuracy given: null');
    assert.equal(u.liveUntil, null);
  }
  // once retryAfterMs has passed, the walker may share again (here: in the direct room)
  await delay(retry + 1);
  const pos2 = { roomId: direct.id, lat: 51.5074, lng: -0.1278, accuracy: 0 };
  await emitOk(a2, 'location:share', pos2);
  for (const s of [a1, a2, d]) {
    const u = await logs.get(s).updates.until((p) => p.roomId === direct.id);
    assert.deepEqual({ ...checkedSeq(u), timestamp: undefined }, { ...pos2, userId: aId, liveUntil: null, timestamp: undefined });
  }

  // --- validation: every malformed or out-of-range share is bad_request
  await delay(MIN_INTERVAL_MS + 20); // the walker's throttle has passed: refusals must not use it up
  const bad = [
    [{ roomId: group.id, lat: 90.0001, lng: 0 }, 'lat above 90'],
    [{ roomId: group.id, lat: -91, lng: 0 }, 'lat below -90'],
    [{ roomId: group.id, lat: 0, lng: 180.5 }, 'lng above 180'],
    [{ roomId: group.id, lat: 0, lng: -181 }, 'lng below -180'],
    [{ roomId: group.id, lat: 'x', lng: 0 }, 'a string lat'],
    [{ roomId: group.id, lat: NaN, lng: 0 }, 'NaN lat (null on the wire)'],
    [{ roomId: group.id, lng: 0 }, 'no lat'],
    [{ roomId: group.id, lat: 0 }, 'no lng'],
    [{ lat: 0, lng: 0 }, 'no roomId'],
    [{ roomId: '', lat: 0, lng: 0 }, 'an empty roomId'],
    [{ roomId: group.id, lat: 0, lng: 0, accuracy: -1 }, 'a negative accuracy'],
    [{ roomId: group.id, lat: 0, lng: 0, accuracy: 100_001 }, 'an accuracy over 100 km'],
    [{ roomId: group.id, lat: 0, lng: 0, liveUntil: 'tomorrow' }, 'liveUntil not RFC 3339'],
    [{ roomId: group.id, lat: 0, lng: 0, liveUntil: isoIn(-60_000) }, 'liveUntil in the past'],
    [{ roomId: group.id, lat: 0, lng: 0, liveUntil: isoIn(8 * 3600_000 + 60_000) }, 'liveUntil more than 8 h ahead'],
  ];
  for (const [data, what] of bad) {
    assertError(await emitAck(a1, 'location:share', data), 'bad_request', what);
  }
  assertError(await emitAck(a1, 'location:stop', {}), 'bad_request', 'location:stop without roomId');
  assertError(await emitAck(a1, 'location:stop', { roomId: '' }), 'bad_request', 'location:stop with an empty roomId');

  // --- outsiders: forbidden in a room they are not in, not_found for an unknown room
  assertError(await emitAck(o, 'location:share', { roomId: group.id, lat: 1, lng: 1 }), 'forbidden', 'an outsider sharing into the group');
  assertError(await emitAck(d, 'location:share', { roomId: group.id, lat: 1, lng: 1 }), 'forbidden', 'a member of another room sharing into the group');
  assertError(await emitAck(o, 'location:share', { roomId: uid('no-such-room'), lat: 1, lng: 1 }), 'not_found', 'an unknown room');
  // stopping a share one does not have is a no-op
  assert.deepEqual(await emitOk(o, 'location:stop', { roomId: group.id }), {});

  // none of the refusals was relayed, and the refusals did not use up the walker's throttle
  const pos3 = { roomId: group.id, lat: 48.86, lng: 2.36, accuracy: 5 };
  await emitOk(a1, 'location:share', pos3);
  await Promise.all(groupDevices.map((s) => logs.get(s).updates.until((p) => p.userId === aId && p.lat === 48.86)));
  await fence(...all);
  for (const s of groupDevices) {
    const seen = logs.get(s).updates.events.map((p) => `${p.roomId === group.id ? 'group' : 'direct'}:${p.userId === aId ? 'a' : 'b'}:${p.lat}`);
    const expect = [a1, a2].includes(s)
      ? ['group:a:48.8566', 'group:b:-33.8688', 'direct:a:51.5074', 'group:a:48.86']
      : ['group:a:48.8566', 'group:b:-33.8688', 'group:a:48.86'];
    assert.deepEqual(seen, expect, 'each accepted share once, in order; the direct room only for its members');
    assert.deepEqual(logs.get(s).stopped.events, [], 'nothing stopped yet');
  }
  assert.deepEqual(logs.get(d).updates.events.map((p) => p.roomId), [direct.id], 'the direct partner hears only the direct room');

  // --- live sharing: the walker's ends by itself, the buddy's by location:stop
  await delay(MIN_INTERVAL_MS + 20);
  const LIVE_MS = 1_500;
  const liveUntil = isoIn(LIVE_MS);
  const liveAck = await emitOk(a1, 'location:share', { roomId: group.id, lat: 48.87, lng: 2.37, liveUntil });
  assert.ok(isRfc3339(liveAck.liveUntil), `ack ${JSON.stringify(liveAck)}`);
  assert.equal(Date.parse(liveAck.liveUntil), Date.parse(liveUntil), 'the ack echoes liveUntil');
  const liveUpdates = await Promise.all(groupDevices.map((s) => logs.get(s).updates.until((p) => p.userId === aId && p.lat === 48.87)));
  for (const u of liveUpdates) assert.equal(Date.parse(u.liveUntil), Date.parse(liveUntil), `update ${JSON.stringify(u)} carries liveUntil`);

  // the buddy shares live for almost the 8 h allowed, then stops at once
  const longUntil = isoIn(8 * 3600_000 - 60_000);
  const cAck = await emitOk(c, 'location:share', { roomId: group.id, lat: 40.7128, lng: -74.006, accuracy: 30, liveUntil: longUntil });
  assert.equal(Date.parse(cAck.liveUntil), Date.parse(longUntil));
  await Promise.all(groupDevices.map((s) => logs.get(s).updates.until((p) => p.userId === cId)));
  const cStops = groupDevices.map((s) => logs.get(s).stopped.until((p) => p.userId === cId, 2_000));
  const stopAt = Date.now();
  assert.deepEqual(await emitOk(c, 'location:stop', { roomId: group.id }), {});
  for (const st of await Promise.all(cStops)) {
    const { timestamp, ...restSt } = checkedSeq(st);
    assert.deepEqual(restSt, { roomId: group.id, userId: cId });
    assert.ok(isRfc3339(timestamp) && Date.parse(timestamp) >= stopAt - 5, `stopped timestamp ${timestamp}`);
  }
  assert.ok(Date.now() < Date.parse(liveUntil), 'location:stop was announced before the walker\'s share ran out (test timing)');
  // stopping again does nothing more
  assert.deepEqual(await emitOk(c, 'location:stop', { roomId: group.id }), {});

  // the walker's share runs out by itself: stopped after liveUntil, within a tick
  const aStops = await Promise.all(groupDevices.map((s) => logs.get(s).stopped.until((p) => p.userId === aId, LIVE_MS + 3_000)));
  const arrived = Date.now();
  assert.ok(arrived >= Date.parse(liveUntil) - 5, `stopped arrived ${Date.parse(liveUntil) - arrived} ms before liveUntil`);
  for (const st of aStops) {
    const { timestamp, ...restSt } = checkedSeq(st);
    assert.deepEqual(restSt, { roomId: group.id, userId: aId });
    assert.ok(isRfc3339(timestamp), `timestamp ${timestamp}`);
    assert.ok(Date.parse(timestamp) >= Date.parse(liveUntil), `stopped at ${timestamp}, before liveUntil ${liveUntil}`);
    assert.ok(Date.parse(timestamp) <= Date.parse(liveUntil) + TICK_MS + 500, `stopped at ${timestamp}, long after liveUntil ${liveUntil}`);
  }

  // after both: each member device heard exactly [buddy stopped, walker stopped]; the
  // direct partner and the outsider heard no stop and the outsider nothing at all
  await delay(TICK_MS + 100); // a duplicate expiry would land within a tick
  await fence(...all);
  for (const s of groupDevices) {
    assert.deepEqual(logs.get(s).stopped.events.map((p) => p.userId), [cId, aId], 'one stop per live share');
  }
  assert.deepEqual(logs.get(d).stopped.events, [], 'the direct partner: no stop of a group share');
  assert.deepEqual(logs.get(o).updates.events, [], 'the outsider received no location:update');
  assert.deepEqual(logs.get(o).stopped.events, [], 'the outsider received no location:stopped');
  assert.deepEqual(outsiderOther.events, [], 'and no error event');
  for (const s of all) s.close();
});

// ------------------------------------------------------------------ analytics

test('content:progress feeds exact analytics: furthest watch time and max buffering once per viewer, refused reports change nothing; readable by the owner and the backend only', { timeout: 30_000 }, async () => {
  const ownerId = uid('owner');
  const videoId = uid('video');
  await registerContent(videoId, { type: 'video', ownerId });
  const ownerTok = token(ownerId);
  const path = `/api/content/${videoId}/analytics`;
  const serverPath = `/api/server/content/${videoId}/analytics`;

  const zero = {
    contentId: videoId, views: 0, uniqueViewers: 0, reportingViewers: 0, totalWatchTimeSec: 0,
    averageWatchTimeSec: 0, completionRate: 0, qualityDistribution: {}, bufferingRatio: 0,
    bufferingReports: 0, bufferingViewers: 0,
  };
  assert.deepEqual(await restOk('GET', path, { token: ownerTok }), zero, 'a new item: all zero');
  assert.deepEqual(await restOk('GET', serverPath, { serverKey: true }), zero);

  // The owner watches the item's room: progress is published to nobody.
  const owner = await connect(ownerTok);
  await emitOk(owner, 'content:join', { contentId: videoId });
  const roomEvents = [];
  owner.onAny((event, payload) => { if (event !== 'test:fence') roomEvents.push({ event, payload }); });

  const [v1, v2, v3, v4, v5] = ['v1', 'v2', 'v3', 'v4', 'v5'].map((n) => uid(n));
  const s1 = await connect(token(v1));
  const s2 = await connect(token(v2), { transports: ['polling'] });
  const s3 = await connect(token(v3));
  const s4 = await connect(token(v4));
  const s5 = await connect(token(v5));
  // v1-v4 view (v1 twice: counted once); v5 reports progress without a view
  for (const [s, counted] of [[s1, true], [s2, true], [s3, true], [s4, true], [s1, false]]) {
    assert.equal((await emitOk(s, 'content:view', { contentId: videoId })).counted, counted);
  }

  const progress = (s, data) => emitAck(s, 'content:progress', { contentId: videoId, ...data });
  const accepted = [
    // v1: furthest 30 s, buffering max 1.5, last quality 1080p (the late report has none)
    [s1, { watchTime: 10, quality: '720p', buffering: 0.5 }],
    [s1, { watchTime: 30, quality: '1080p', buffering: 1.5 }],
    [s1, { watchTime: 20, buffering: 1 }], // late, out of order
    // v2: completed at 60 s, reported three times; a late report does not undo completion
    [s2, { watchTime: 60, completed: true, quality: '720p', buffering: 2 }],
    [s2, { watchTime: 60, completed: true, quality: '720p', buffering: 2 }],
    [s2, { watchTime: 60, completed: true, quality: '720p', buffering: 2 }],
    [s2, { watchTime: 5, completed: false, quality: '720p' }],
    // v3: no quality, no buffering
    [s3, { watchTime: 12.5 }],
    [s3, { watchTime: 0 }],
    // v5: never counted as a view, still a reporting viewer
    [s5, { watchTime: 7.5, completed: false, quality: '480p', buffering: 0 }],
  ];
  for (const [s, data] of accepted) {
    assert.deepEqual(await emitOk(s, 'content:progress', { contentId: videoId, ...data }), {}, `progress ${JSON.stringify(data)}`);
  }
  const refused = [
    [s3, { watchTime: -1 }, 'a negative watchTime'],
    [s1, { watchTime: 86_400.5, quality: '4k', buffering: 50 }, 'a watchTime over 24 h'],
    [s1, { watchTime: 1e12, completed: true }, 'an absurd watchTime'],
    [s4, { watchTime: 1e12, completed: true, quality: '4k' }, 'an absurd watchTime from a new reporter'],
    [s4, { watchTime: 'long', completed: true }, 'a string watchTime'],
    [s4, { completed: true }, 'no watchTime'],
    [s3, { watchTime: 100, buffering: -2 }, 'a negative buffering'],
    [s3, { watchTime: 100, buffering: 90_000 }, 'an absurd buffering'],
    [s3, { watchTime: 100, quality: 'q'.repeat(17) }, 'a quality over 16 characters'],
  ];
  for (const [s, data, what] of refused) {
    assertError(await progress(s, data), 'bad_request', what);
  }
  assertError(await emitAck(s1, 'content:progress', { watchTime: 10 }), 'bad_request', 'no contentId');

  const expected = {
    contentId: videoId,
    views: 4,
    uniqueViewers: 4,
    reportingViewers: 4, // v1, v2, v3, v5
    totalWatchTimeSec: 110, // 30 + 60 + 12.5 + 7.5
    averageWatchTimeSec: 27.5,
    completionRate: 0.25, // v2 only
    qualityDistribution: { '1080p': 1, '720p': 1, '480p': 1, unknown: 1 },
    bufferingRatio: 3.5 / 110, // (1.5 + 2 + 0 + 0) / 110
    bufferingReports: 0, // nobody said `buffering: true`
    bufferingViewers: 2, // v1 and v2 spent seconds buffering
  };
  const seenByOwner = await restOk('GET', path, { token: ownerTok });
  assert.deepEqual(seenByOwner, expected, 'the owner reads exact sums');
  assert.deepEqual(await restOk('GET', serverPath, { serverKey: true }), expected, 'the backend reads the same');

  // reporting again changes nothing; a further position moves only that viewer's maximum
  await emitOk(s2, 'content:progress', { contentId: videoId, watchTime: 60, completed: true, quality: '720p', buffering: 2 });
  assert.deepEqual(await restOk('GET', serverPath, { serverKey: true }), expected, 'a repeated report adds nothing');
  await emitOk(s3, 'content:progress', { contentId: videoId, watchTime: 22.5, quality: '360p', buffering: 0.25 });
  const moved = {
    ...expected,
    totalWatchTimeSec: 120,
    averageWatchTimeSec: 30,
    qualityDistribution: { '1080p': 1, '720p': 1, '480p': 1, '360p': 1 },
    bufferingRatio: 3.75 / 120,
    bufferingViewers: 3,
  };
  assert.deepEqual(await restOk('GET', path, { token: ownerTok }), moved, 'v3 moved from 12.5 s to 22.5 s and 360p');

  // nobody was told of any progress
  await fence(owner);
  assert.deepEqual(roomEvents.filter((e) => e.event === 'content:progress' || JSON.stringify(e.payload ?? null).includes('watchTime')), [],
    'content:progress is published to nobody');

  // only the owner and the backend read analytics
  assertRestError(await rest('GET', path, { token: token(v1) }), 403, 'forbidden', 'a viewer reading the owner\'s analytics');
  assertRestError(await rest('GET', path, {}), 401, 'unauthorized', 'no token');
  assertRestError(await rest('GET', path, { serverKey: true }), 401, 'unauthorized', 'the server key is no user token');
  assertRestError(await rest('GET', serverPath, { token: ownerTok }), 403, 'forbidden', 'a user token on the server API');
  assertRestError(await rest('GET', serverPath, {}), 401, 'unauthorized', 'the server API without a key');
  assertRestError(await rest('GET', `/api/server/content/${uid('nothing')}/analytics`, { serverKey: true }), 404, 'not_found', 'an unknown item');
  assertRestError(await rest('GET', `/api/content/${uid('nothing')}/analytics`, { token: ownerTok }), 404, 'not_found', 'an unknown item, as a user');

  // a refused report on an unknown id creates nothing; an accepted one creates an item
  // with no owner, which only the backend can read
  const stray = uid('stray');
  assertError(await emitAck(s1, 'content:progress', { contentId: stray, watchTime: -5 }), 'bad_request', 'a negative watchTime on a new id');
  assertRestError(await rest('GET', `/api/server/content/${stray}/analytics`, { serverKey: true }), 404, 'not_found', 'a refused report created nothing');
  assert.deepEqual(await emitOk(s1, 'content:progress', { contentId: stray, watchTime: 8, completed: true, quality: '720p' }), {});
  assert.deepEqual(await restOk('GET', `/api/server/content/${stray}/analytics`, { serverKey: true }), {
    contentId: stray, views: 0, uniqueViewers: 0, reportingViewers: 1, totalWatchTimeSec: 8,
    averageWatchTimeSec: 8, completionRate: 1, qualityDistribution: { '720p': 1 }, bufferingRatio: 0,
    bufferingReports: 0, bufferingViewers: 0,
  });
  assertRestError(await rest('GET', `/api/content/${stray}/analytics`, { token: token(v1) }), 403, 'forbidden', 'an item with no owner, even for its only viewer');

  // the first item is untouched by all of that
  assert.deepEqual(await restOk('GET', serverPath, { serverKey: true }), moved);
  for (const s of [owner, s1, s2, s3, s4, s5]) s.close();
});

test('content:progress takes a short-video player\'s quality change: buffering as a boolean, no watchTime', { timeout: 15_000 }, async () => {
  const videoId = uid('quality');
  await registerContent(videoId, { type: 'video', ownerId: uid('owner') });
  const viewer = await connect(token(uid('viewer')));
  const other = await connect(token(uid('viewer')));
  // Exactly what the video app sends on a quality change (../shared/seeds/, the video app).
  assert.deepEqual(await emitOk(viewer, 'content:progress', { contentId: videoId, quality: '720p', buffering: false }), {});
  assert.deepEqual(await emitOk(viewer, 'content:progress', { contentId: videoId, watchTime: 45.5, completed: false }), {});
  assert.deepEqual(await emitOk(viewer, 'content:progress', { contentId: videoId, quality: '480p', buffering: true }), {});
  assert.deepEqual(await emitOk(other, 'content:progress', { contentId: videoId, watchTime: 10, quality: '1080p', buffering: 2 }), {});
  for (const [data, what] of [
    [{ quality: '720p', buffering: 'yes' }, 'a string buffering'],
    [{ quality: '720p', buffering: null, completed: true }, 'completion without a position'],
    [{ buffering: [true] }, 'an array buffering'],
  ]) {
    assertError(await emitAck(viewer, 'content:progress', { contentId: videoId, ...data }), 'bad_request', what);
  }
  const a = await restOk('GET', `/api/server/content/${videoId}/analytics`, { serverKey: true });
  assert.equal(a.reportingViewers, 2);
  assert.equal(a.totalWatchTimeSec, 55.5, 'a quality change without watchTime keeps the furthest position');
  assert.deepEqual(a.qualityDistribution, { '480p': 1, '1080p': 1 }, 'the last quality each viewer reported');
  assert.equal(a.bufferingReports, 1, 'one report said the player was buffering');
  assert.equal(a.bufferingViewers, 2, 'one viewer stalled, the other spent 2 s buffering');
  assert.equal(a.bufferingRatio, 2 / 55.5);
  viewer.close();
  other.close();
});
