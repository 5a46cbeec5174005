// PROTOCOL.md §5, §6 and §8: notifications (inbox, live delivery to every device,
// grouping, read state across devices), follows and follower feeds, and presence
// (followers and chat partners only, invisible, grace period on disconnect).
//
// The harness starts the server with CHORUS_PRESENCE_GRACE_MS=200 and the default
// tick of 250 ms, so an offline transition lands 200-450 ms after the last socket
// closes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  checkedSeq, connect, emitAck, emitOk, registerContent, rest, restOk, startServer, stopServer,
  token, track, uid, waitFor,
} from '../lib/server.mjs';

const GRACE_MS = 200;
const TICK_MS = 250;
// Longer than grace + one tick + scheduling slack: enough for an offline update to
// have arrived if one were coming.
const QUIET_MS = GRACE_MS + TICK_MS + 300;

before(() => startServer({ env: { CHORUS_PRESENCE_GRACE_MS: String(GRACE_MS) } }));
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

/** Records `event` on a socket; `none()` asserts that nothing matching arrived. */
function recorder(socket, event) {
  const t = track(socket, event);
  t.none = (pred = () => true, what = event) => {
    const hits = t.events.filter((e) => { try { return pred(e); } catch { return false; } });
    assert.deepEqual(hits, [], `${what}: expected no matching '${event}', got ${JSON.stringify(hits).slice(0, 800)}`);
  };
  return t;
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

/** Polls `GET /api/notifications` until `pred(data)` holds (notifications are stored in the background). */
async function inboxUntil(tok, pred, what, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await restOk('GET', '/api/notifications?limit=100', { token: tok });
    if (pred(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: inbox never matched within ${timeoutMs} ms; last: ${JSON.stringify(last).slice(0, 1500)}`);
    await delay(25);
  }
}

/** Sets a profile through the server API (usernames are what `@mentions` resolve). */
function setProfile(id, username) {
  return restOk('PUT', `/api/server/users/${encodeURIComponent(id)}`, { serverKey: true, body: { username } });
}

function assertNotificationShape(n, what) {
  assert.equal(typeof n.id, 'string', `${what}: id`);
  assert.ok(n.id.length > 0, `${what}: id`);
  assert.equal(typeof n.type, 'string', `${what}: type`);
  assert.equal(typeof n.text, 'string', `${what}: text`);
  assert.equal(typeof n.actorCount, 'number', `${what}: actorCount`);
  assert.equal(typeof n.read, 'boolean', `${what}: read`);
  assert.ok(isRfc3339(n.createdAt), `${what}: createdAt ${n.createdAt}`);
  assert.ok(isRfc3339(n.updatedAt), `${what}: updatedAt ${n.updatedAt}`);
  assert.ok('actor' in n && 'subject' in n && 'data' in n, `${what}: actor, subject and data present in ${JSON.stringify(n)}`);
}

// ------------------------------------------------------------------ notifications

test('an offline user finds like, comment, reply, mention and follow notifications in the inbox on reconnect, and nobody is notified of their own actions', { timeout: 30_000 }, async () => {
  const owner = uid('owner');
  const fan = uid('fan');
  const ownerName = `owner_${owner.slice(-8)}`;
  const fanName = `fan_${fan.slice(-8)}`;
  const videoId = uid('video');
  const otherItem = uid('post'); // unregistered: no owner
  await registerContent(videoId, { type: 'video', ownerId: owner });
  await setProfile(owner, ownerName);
  const ownerTok = token(owner);
  const fanTok = token(fan, { name: fanName });

  // The owner, online, likes and comments their own video, replies to themself and
  // mentions themself: no notification at all.
  const o1 = await connect(ownerTok);
  assert.equal(o1.session.unreadNotifications, 0, 'a new user starts with an empty inbox');
  const ownNotes = recorder(o1, 'notification:new');
  await emitOk(o1, 'content:join', { contentId: videoId });
  assert.deepEqual(await emitOk(o1, 'content:like', { contentId: videoId, like: true }), { isLiked: true, likesCount: 1 });
  const own = await emitOk(o1, 'content:comment', { contentId: videoId, text: `my own video, @${ownerName}` });
  await emitOk(o1, 'content:comment', { contentId: videoId, text: 'replying to myself', parentId: own.comment.id });
  await emitOk(o1, 'content:comment', { contentId: otherItem, text: `talking about @${ownerName}` });
  await delay(300); // notifications are stored in the background: give a wrong one time to land
  await fence(o1);
  ownNotes.none(() => true, 'own like/comment/reply/mention');
  assert.equal((await emitOk(o1, 'notifications:list', {})).unreadCount, 0);
  o1.close();

  // The fan acts while the owner is offline; each notification is awaited in the
  // inbox so the order of the inbox is known.
  const f = await connect(fanTok);
  const seen = (n) => (d) => d.notifications.length === n;
  await emitOk(f, 'content:like', { contentId: videoId });
  await inboxUntil(ownerTok, seen(1), 'like');
  await emitOk(f, 'content:comment', { contentId: videoId, text: 'great video' });
  await inboxUntil(ownerTok, seen(2), 'comment');
  const reply = await emitOk(f, 'content:comment', { contentId: videoId, text: 'agreed', parentId: own.comment.id });
  await inboxUntil(ownerTok, seen(3), 'reply');
  const mention = await emitOk(f, 'content:comment', { contentId: otherItem, text: `look, @${ownerName} was here` });
  await inboxUntil(ownerTok, seen(4), 'mention');
  const followed = await restOk('POST', `/api/users/${owner}/follow`, { token: fanTok });
  assert.equal(followed.following, true);
  await inboxUntil(ownerTok, seen(5), 'follow');
  // the fan did everything and is told of nothing
  const fanInbox = await emitOk(f, 'notifications:list', {});
  assert.deepEqual(fanInbox.notifications, [], `the actor's own inbox: ${JSON.stringify(fanInbox)}`);
  assert.equal(fanInbox.unreadCount, 0);

  // Reconnect: session:ready counts the inbox, the list holds the five, newest first.
  const o2 = await connect(ownerTok);
  assert.equal(o2.session.unreadNotifications, 5, `session:ready ${JSON.stringify(o2.session)}`);
  const page = await emitOk(o2, 'notifications:list', {});
  assert.equal(page.unreadCount, 5);
  assert.equal(page.hasMore, false);
  const items = page.notifications;
  assert.deepEqual(items.map((n) => n.type), ['follow', 'mention', 'reply', 'comment', 'like'], JSON.stringify(items).slice(0, 2000));
  for (const n of items) {
    assertNotificationShape(n, n.type);
    assert.equal(n.read, false, `${n.type} is unread`);
    assert.equal(n.actor?.id, fan, `${n.type} actor ${JSON.stringify(n.actor)}`);
    assert.equal(n.actor.username, fanName, `${n.type} actor username`);
    assert.equal(n.actorCount, 1, `${n.type} actorCount`);
  }
  const byType = Object.fromEntries(items.map((n) => [n.type, n]));
  assert.equal(byType.like.text, `${fanName} liked your video`);
  assert.deepEqual(byType.like.subject, { kind: 'content', id: videoId });
  assert.equal(byType.like.data.contentId, videoId);
  assert.equal(byType.comment.text, `${fanName} commented on your video`);
  assert.equal(byType.comment.data.contentId, videoId);
  assert.equal(byType.reply.text, `${fanName} replied to your comment`);
  assert.deepEqual(byType.reply.subject, { kind: 'comment', id: reply.comment.id });
  assert.equal(byType.mention.text, `${fanName} mentioned you in a comment`);
  assert.deepEqual(byType.mention.subject, { kind: 'comment', id: mention.comment.id });
  assert.equal(byType.mention.data.contentId, otherItem);
  assert.equal(byType.follow.text, `${fanName} started following you`);
  assert.deepEqual(byType.follow.subject, { kind: 'user', id: fan });

  // Paging with the cursor walks the same five, and the REST list agrees.
  const p1 = await emitOk(o2, 'notifications:list', { limit: 2 });
  assert.equal(p1.hasMore, true);
  assert.equal(typeof p1.nextCursor, 'string');
  const p2 = await emitOk(o2, 'notifications:list', { limit: 2, before: p1.nextCursor });
  const p3 = await emitOk(o2, 'notifications:list', { limit: 2, before: p2.nextCursor });
  assert.equal(p3.hasMore, false);
  assert.deepEqual([...p1.notifications, ...p2.notifications, ...p3.notifications].map((n) => n.id), items.map((n) => n.id));
  const viaRest = await restOk('GET', '/api/notifications', { token: ownerTok });
  assert.deepEqual(viaRest.notifications.map((n) => n.id), items.map((n) => n.id));
  // `before` is also, as everywhere else, the id of the oldest notification the client holds.
  const byId2 = await emitOk(o2, 'notifications:list', { limit: 2, before: p1.notifications[1].id });
  assert.deepEqual(byId2.notifications.map((n) => n.id), p2.notifications.map((n) => n.id));
  assert.equal(byId2.hasMore, true);
  const byId3 = await restOk('GET', `/api/notifications?limit=2&before=${encodeURIComponent(byId2.notifications[1].id)}`, { token: ownerTok });
  assert.deepEqual(byId3.notifications.map((n) => n.id), p3.notifications.map((n) => n.id));
  assert.equal(byId3.hasMore, false);
  const last = await emitOk(o2, 'notifications:list', { before: items[items.length - 1].id });
  assert.deepEqual([last.notifications, last.hasMore], [[], false], 'nothing is older than the oldest');
  assert.equal(viaRest.unreadCount, 5);

  // Reading two leaves three unread; unreadOnly lists exactly those; the count survives a reconnect.
  const read = await emitOk(o2, 'notifications:read', { ids: [byType.like.id, byType.follow.id] });
  assert.deepEqual(read, { unreadCount: 3 });
  const unreadOnly = await emitOk(o2, 'notifications:list', { unreadOnly: true });
  assert.deepEqual(unreadOnly.notifications.map((n) => n.type), ['mention', 'reply', 'comment']);
  assert.equal(unreadOnly.unreadCount, 3);
  const restUnread = await restOk('GET', '/api/notifications?unreadOnly=true', { token: ownerTok });
  assert.equal(restUnread.notifications.length, 3);
  o2.close();
  const o3 = await connect(ownerTok);
  assert.equal(o3.session.unreadNotifications, 3);
  const after3 = await emitOk(o3, 'notifications:list', {});
  assert.deepEqual(after3.notifications.map((n) => [n.type, n.read]), [['follow', true], ['mention', false], ['reply', false], ['comment', false], ['like', true]]);
  o3.close();
  f.close();
});

test('a notification reaches both devices of a user live, and reading on one device updates the other', { timeout: 20_000 }, async () => {
  const user = uid('dual');
  const liker = uid('liker');
  const likerName = `liker_${liker.slice(-8)}`;
  const itemId = uid('video');
  await registerContent(itemId, { type: 'video', ownerId: user });
  const userTok = token(user);
  const phone = await connect(userTok, { transports: ['websocket'] });
  const laptop = await connect(userTok, { transports: ['polling'] });
  const bystander = await connect(token(uid('bystander')));
  const stray = recorder(bystander, 'notification:new');
  const phoneUnread = recorder(phone, 'notifications:unread');
  const laptopUnread = recorder(laptop, 'notifications:unread');

  // a like
  const onPhone = waitFor(phone, 'notification:new', (p) => p.notification?.type === 'like');
  const onLaptop = waitFor(laptop, 'notification:new', (p) => p.notification?.type === 'like');
  const l = await connect(token(liker, { name: likerName }));
  await emitOk(l, 'content:like', { contentId: itemId });
  const [a, b] = [await onPhone, await onLaptop];
  assert.deepEqual(a, b, 'both devices get the same payload');
  assert.equal(a.unreadCount, 1);
  assertNotificationShape(a.notification, 'live like');
  assert.equal(a.notification.read, false);
  assert.equal(a.notification.actorCount, 1);
  assert.equal(a.notification.actor.id, liker);
  assert.equal(a.notification.text, `${likerName} liked your video`);
  assert.deepEqual(a.notification.subject, { kind: 'content', id: itemId });

  // a notification from the app backend
  const sysPhone = waitFor(phone, 'notification:new', (p) => p.notification?.type === 'system');
  const sysLaptop = waitFor(laptop, 'notification:new', (p) => p.notification?.type === 'system');
  const stored = await restOk('POST', '/api/server/notifications', {
    serverKey: true,
    body: { userId: user, type: 'system', text: 'Your payout is on its way', data: { payoutId: 'p-1', amount: 42 } },
  });
  assert.ok(stored && typeof stored === 'object');
  const [s1, s2] = [await sysPhone, await sysLaptop];
  assert.deepEqual(s1, s2);
  assert.equal(s1.unreadCount, 2);
  assert.equal(s1.notification.text, 'Your payout is on its way');
  assert.deepEqual(s1.notification.data, { payoutId: 'p-1', amount: 42 });
  assert.equal(s1.notification.actor, null, 'a backend notification has no actor');
  assert.equal(s1.notification.read, false);
  // an unknown type is refused
  assertRestError(
    await rest('POST', '/api/server/notifications', { serverKey: true, body: { userId: user, type: 'nonsense', text: 'x' } }),
    400, 'bad_request', 'unknown notification type',
  );

  // Reading the like on the phone: the phone's ack says 1; only the laptop hears it.
  const laptopHears = waitFor(laptop, 'notifications:unread', (p) => p.unreadCount === 1);
  assert.deepEqual(await emitOk(phone, 'notifications:read', { ids: [a.notification.id] }), { unreadCount: 1 });
  assert.deepEqual(checkedSeq(await laptopHears), { unreadCount: 1 });
  const laptopList = await emitOk(laptop, 'notifications:list', {});
  assert.equal(laptopList.unreadCount, 1);
  assert.deepEqual(laptopList.notifications.map((n) => [n.type, n.read]), [['system', false], ['like', true]]);

  // Reading everything through REST tells every socket, the phone included.
  const phoneHears = waitFor(phone, 'notifications:unread', (p) => p.unreadCount === 0);
  const laptopHears0 = waitFor(laptop, 'notifications:unread', (p) => p.unreadCount === 0);
  assert.deepEqual(await restOk('POST', '/api/notifications/read', { token: userTok, body: { all: true } }), { unreadCount: 0 });
  await phoneHears;
  await laptopHears0;
  assert.deepEqual(phoneUnread.events.map(checkedSeq), [{ unreadCount: 0 }], 'the phone is not told of its own socket read');
  assert.deepEqual(laptopUnread.events.map(checkedSeq), [{ unreadCount: 1 }, { unreadCount: 0 }]);
  await fence(bystander);
  stray.none(() => true, 'another user');
  for (const s of [phone, laptop, bystander, l]) s.close();
});

test('repeated likes from several users fold into one notification whose text and actorCount update', { timeout: 30_000 }, async () => {
  const star = uid('star');
  const videoId = uid('viral');
  await registerContent(videoId, { type: 'video', ownerId: star });
  const starTok = token(star);
  const s = await connect(starTok);
  const likers = [];
  for (let i = 0; i < 4; i++) {
    const id = uid(`liker${i}`);
    const name = `liker${i}_${id.slice(-8)}`;
    likers.push({ id, name, socket: await connect(token(id, { name })) });
  }
  const texts = [
    (n) => `${n} liked your video`,
    (n) => `${n} and 1 other liked your video`,
    (n) => `${n} and 2 others liked your video`,
    (n) => `${n} and 3 others liked your video`,
  ];
  let first = null;
  for (const [i, liker] of likers.entries()) {
    const got = waitFor(s, 'notification:new', (p) => p.notification?.type === 'like' && p.notification.actorCount === i + 1);
    await emitOk(liker.socket, 'content:like', { contentId: videoId });
    const { notification, unreadCount } = await got;
    assert.equal(unreadCount, 1, `after like ${i + 1}: still one unread notification`);
    assert.equal(notification.text, texts[i](liker.name), `after like ${i + 1}`);
    assert.equal(notification.actor.id, liker.id, 'the latest liker is named');
    first ??= notification;
    assert.equal(notification.id, first.id, 'the same notification is updated');
    assert.equal(notification.createdAt, first.createdAt, 'createdAt stays');
    assert.ok(Date.parse(notification.updatedAt) >= Date.parse(first.updatedAt), 'updatedAt moves forward');
  }
  // Unliking and liking again names the liker but does not count them twice.
  const again = waitFor(s, 'notification:new', (p) => p.notification?.type === 'like' && p.notification.actor?.id === likers[0].id);
  await emitOk(likers[0].socket, 'content:like', { contentId: videoId, like: false });
  await emitOk(likers[0].socket, 'content:like', { contentId: videoId, like: true });
  const relike = await again;
  assert.equal(relike.notification.id, first.id);
  assert.equal(relike.notification.actorCount, 4, `a repeat liker is not counted twice: ${JSON.stringify(relike)}`);
  assert.equal(relike.notification.text, `${likers[0].name} and 3 others liked your video`);

  const inbox = await emitOk(s, 'notifications:list', {});
  assert.equal(inbox.notifications.length, 1, `one notification for four likers: ${JSON.stringify(inbox).slice(0, 1500)}`);
  assert.equal(inbox.notifications[0].actorCount, 4);
  assert.equal(inbox.unreadCount, 1);

  // Once read, the next like starts a new notification.
  assert.deepEqual(await emitOk(s, 'notifications:read', { all: true }), { unreadCount: 0 });
  const fifthId = uid('liker4');
  const fresh = waitFor(s, 'notification:new', (p) => p.notification?.actor?.id === fifthId);
  const fifth = await connect(token(fifthId, { name: 'fifth' }));
  await emitOk(fifth, 'content:like', { contentId: videoId });
  const n5 = await fresh;
  assert.notEqual(n5.notification.id, first.id, 'a read group is not reopened');
  assert.equal(n5.notification.actorCount, 1);
  assert.equal(n5.notification.text, 'fifth liked your video');
  assert.equal(n5.unreadCount, 1);
  s.close(); fifth.close();
  for (const l of likers) l.socket.close();
});

test('a system announcement reaches everyone online with its level', { timeout: 15_000 }, async () => {
  const a = await connect(token(uid('ann')));
  const b = await connect(token(uid('ann')), { transports: ['polling'] });
  const message = `maintenance ${uid('m')}`;
  const ga = waitFor(a, 'system:announcement', (p) => p.message === message);
  const gb = waitFor(b, 'system:announcement', (p) => p.message === message);
  await restOk('POST', '/api/server/announcements', { serverKey: true, body: { message, level: 'critical' } });
  const [x, y] = [await ga, await gb];
  assert.deepEqual(x, y);
  assert.equal(x.level, 'critical');
  assert.equal(typeof x.id, 'string');
  assert.ok(isRfc3339(x.createdAt));
  assertRestError(
    await rest('POST', '/api/server/announcements', { serverKey: true, body: { message: 'x', level: 'shouting' } }),
    400, 'bad_request', 'unknown level',
  );
  a.close(); b.close();
});

// ------------------------------------------------------------------ presence

test('a follower sees online, away, offline while invisible and online again; a quick reconnect is no transition; the last close goes offline after the grace period; strangers read offline', { timeout: 30_000 }, async () => {
  const target = uid('watched');
  const watcherId = uid('watcher');
  const strangerId = uid('stranger');
  const partnerId = uid('partner');
  const targetTok = token(target);
  await restOk('POST', `/api/users/${target}/follow`, { token: token(watcherId) });

  const watcher = await connect(token(watcherId));
  const updates = recorder(watcher, 'presence:update');
  const sub = await emitOk(watcher, 'presence:subscribe', { userIds: [target] });
  assert.deepEqual(sub, { statuses: { [target]: { status: 'offline', lastSeen: null } } }, 'never seen: offline, no lastSeen');

  // comes online
  const online = waitFor(watcher, 'presence:update', (p) => p.userId === target && p.status === 'online');
  const t1 = await connect(targetTok);
  assert.deepEqual(checkedSeq(await online), { userId: target, status: 'online', lastSeen: null });

  // a stranger reads offline and hears nothing; a chat partner may watch
  const stranger = await connect(token(strangerId));
  const strangerUpdates = recorder(stranger, 'presence:update');
  const hidden = await emitOk(stranger, 'presence:subscribe', { userIds: [target] });
  assert.deepEqual(hidden.statuses[target], { status: 'offline', lastSeen: null }, 'not a follower: offline');
  const partnerTok = token(partnerId);
  await restOk('POST', '/api/chat/rooms', { token: partnerTok, body: { otherUserId: target } });
  const partner = await connect(partnerTok);
  const partnerUpdates = recorder(partner, 'presence:update');
  const seenByPartner = await emitOk(partner, 'presence:subscribe', { userIds: [target] });
  assert.equal(seenByPartner.statuses[target].status, 'online', `a chat partner sees the status: ${JSON.stringify(seenByPartner)}`);

  // away, invisible (offline to others), online
  const away = waitFor(watcher, 'presence:update', (p) => p.userId === target && p.status === 'away');
  assert.equal((await emitOk(t1, 'presence:set', { status: 'away' })).status, 'away');
  assert.equal((await away).status, 'away');
  assert.equal((await emitOk(watcher, 'presence:subscribe', { userIds: [target] })).statuses[target].status, 'away');
  const invisible = waitFor(watcher, 'presence:update', (p) => p.userId === target && p.status === 'offline');
  await emitOk(t1, 'presence:set', { status: 'invisible' });
  const inv = await invisible;
  assert.equal(inv.status, 'offline', 'invisible reads as offline');
  assert.equal(JSON.stringify(inv).includes('invisible'), false, `invisible is never shown: ${JSON.stringify(inv)}`);
  assert.equal((await emitOk(watcher, 'presence:subscribe', { userIds: [target] })).statuses[target].status, 'offline');
  const back = waitFor(watcher, 'presence:update', (p) => p.userId === target && p.status === 'online');
  await emitOk(t1, 'presence:set', { status: 'online' });
  await back;
  await fence(partner);
  assert.deepEqual(partnerUpdates.events.map((p) => p.status), ['away', 'offline', 'online'], 'the chat partner follows along');

  // A reconnect inside the grace period is no transition at all.
  const before = updates.events.length;
  const closedAt = Date.now();
  t1.close();
  const t2 = await connect(targetTok, { transports: ['websocket'] });
  const gap = Date.now() - closedAt;
  assert.ok(gap < GRACE_MS - 50, `the reconnect took ${gap} ms; it must land well inside the ${GRACE_MS} ms grace for this check`);
  await delay(QUIET_MS);
  assert.deepEqual(updates.events.slice(before), [], 'no update for a reconnect within the grace period');
  assert.equal((await emitOk(watcher, 'presence:subscribe', { userIds: [target] })).statuses[target].status, 'online');

  // Closing the last socket: offline only once the grace has passed, lastSeen kept.
  const offline = waitFor(watcher, 'presence:update', (p) => p.userId === target && p.status === 'offline', 5_000);
  const lastClose = Date.now();
  t2.close();
  const off = await offline;
  const arrivedAfter = Date.now() - lastClose;
  assert.ok(arrivedAfter >= GRACE_MS - 20, `offline came ${arrivedAfter} ms after the close, before the ${GRACE_MS} ms grace`);
  assert.ok(isRfc3339(off.lastSeen), `lastSeen ${JSON.stringify(off)}`);
  // 5 ms for rounding of the timestamp
  assert.ok(Date.parse(off.lastSeen) >= lastClose + GRACE_MS - 5, `lastSeen ${off.lastSeen} is before close + grace (${new Date(lastClose + GRACE_MS).toISOString()})`);
  assert.ok(Date.parse(off.lastSeen) <= Date.now() + 5, 'lastSeen is not in the future');
  const stored = await emitOk(watcher, 'presence:subscribe', { userIds: [target] });
  assert.deepEqual(stored.statuses[target], { status: 'offline', lastSeen: off.lastSeen }, 'lastSeen is kept');
  // the stranger still reads offline with nothing leaked
  assert.deepEqual((await emitOk(stranger, 'presence:subscribe', { userIds: [target] })).statuses[target], { status: 'offline', lastSeen: null });

  // Back online after going offline: online again (not the old status).
  const again = waitFor(watcher, 'presence:update', (p) => p.userId === target && p.status === 'online');
  const t3 = await connect(targetTok);
  await again;

  // at most 500 ids per call
  const many = Array.from({ length: 500 }, (_, i) => `nobody-${i}`);
  const fine = await emitOk(watcher, 'presence:subscribe', { userIds: many });
  assert.equal(Object.keys(fine.statuses).length, 500);
  assert.ok(Object.values(fine.statuses).every((s) => s.status === 'offline'));
  assertError(await emitAck(watcher, 'presence:subscribe', { userIds: [...many, 'one-more'] }), 'bad_request', '501 userIds');

  await fence(stranger);
  strangerUpdates.none((p) => p.userId === target, 'the stranger');
  for (const s of [watcher, stranger, partner, t3]) s.close();
});

// ------------------------------------------------------------------ follows and feeds

test('new content refreshes the feeds of subscribed followers only, from the creator and from the server API', { timeout: 30_000 }, async () => {
  const creator = uid('creator');
  const creatorName = `creator_${creator.slice(-8)}`;
  const subscribedId = uid('subscribed');
  const quietId = uid('quiet'); // follows, online, never subscribed its feed
  const offlineId = uid('offline'); // follows, never connected
  const strangerId = uid('stranger'); // subscribed its feed, follows nobody
  const creatorTok = token(creator, { name: creatorName });
  for (const f of [subscribedId, quietId, offlineId]) {
    const r = await restOk('POST', `/api/users/${creator}/follow`, { token: token(f) });
    assert.equal(r.following, true);
  }
  // following twice changes nothing
  await restOk('POST', `/api/users/${creator}/follow`, { token: token(subscribedId) });
  const followers = await restOk('GET', `/api/users/${creator}/followers`, { token: token(strangerId) });
  assert.deepEqual(followers.users.map((u) => u.id).sort(), [subscribedId, quietId, offlineId].sort());
  const following = await restOk('GET', `/api/users/${subscribedId}/following`, { token: token(strangerId) });
  assert.deepEqual(following.users.map((u) => u.id), [creator]);

  const c = await connect(creatorTok);
  const sub = await connect(token(subscribedId));
  const quiet = await connect(token(quietId));
  const stranger = await connect(token(strangerId));
  assert.deepEqual(await emitOk(sub, 'feed:subscribe', {}), {});
  assert.deepEqual(await emitOk(stranger, 'feed:subscribe', {}), {});
  const subFeed = recorder(sub, 'feed:refresh');
  const quietFeed = recorder(quiet, 'feed:refresh');
  const strangerFeed = recorder(stranger, 'feed:refresh');
  const creatorFeed = recorder(c, 'feed:refresh');

  // the creator publishes
  const contentId = uid('clip');
  const ack = await emitOk(c, 'feed:new_content', { contentId, contentType: 'video', title: 'My new clip' });
  assert.deepEqual(ack, { followersNotified: 3 });
  const refresh = await subFeed.until((p) => p.contentId === contentId);
  assert.equal(refresh.type, 'new_content');
  assert.equal(refresh.contentType, 'video');
  assert.equal(refresh.title, 'My new clip');
  assert.equal(refresh.creator?.id, creator);
  assert.equal(refresh.creator.username, creatorName);
  assert.ok(isRfc3339(refresh.timestamp), `timestamp ${refresh.timestamp}`);
  // the item is registered as the creator's
  const item = await restOk('GET', `/api/content/${contentId}`, { token: token(strangerId) });
  assert.equal(JSON.stringify(item).includes(creator), true, `content ${JSON.stringify(item)} names its owner`);

  // the app backend publishes
  const contentId2 = uid('clip');
  const registered = await restOk('PUT', `/api/server/content/${contentId2}`, {
    serverKey: true, body: { type: 'post', ownerId: creator, title: 'From the backend', notifyFollowers: true },
  });
  assert.equal(registered.followersNotified, 3);
  const refresh2 = await subFeed.until((p) => p.contentId === contentId2);
  assert.equal(refresh2.type, 'new_content');
  assert.equal(refresh2.contentType, 'post');
  assert.equal(refresh2.title, 'From the backend');
  assert.equal(refresh2.creator?.id, creator);
  // registering without notifyFollowers refreshes nobody
  const contentId3 = uid('clip');
  const silent = await restOk('PUT', `/api/server/content/${contentId3}`, { serverKey: true, body: { type: 'video', ownerId: creator } });
  assert.equal(silent.followersNotified, undefined);

  await delay(200);
  await fence(sub, quiet, stranger, c);
  assert.deepEqual(subFeed.events.map((p) => p.contentId), [contentId, contentId2], 'each publication once, nothing for the silent one');
  quietFeed.none(() => true, 'a follower who did not subscribe its feed');
  strangerFeed.none(() => true, 'a subscribed non-follower');
  creatorFeed.none(() => true, 'the creator');

  // someone else cannot announce the creator's item as their own
  assertError(await emitAck(stranger, 'feed:new_content', { contentId, contentType: 'video' }), 'conflict', 'announcing another creator\'s item');

  // after unfollowing, the follower's feed hears nothing more
  const unf = await restOk('DELETE', `/api/users/${creator}/follow`, { token: token(subscribedId) });
  assert.equal(unf.following, false);
  const contentId4 = uid('clip');
  assert.deepEqual(await emitOk(c, 'feed:new_content', { contentId: contentId4, contentType: 'video' }), { followersNotified: 2 });
  await delay(200);
  await fence(sub);
  assert.equal(subFeed.events.some((p) => p.contentId === contentId4), false, 'an ex-follower gets no refresh');
  assert.deepEqual((await restOk('GET', `/api/users/${subscribedId}/following`, { token: token(strangerId) })).users, []);
  for (const s of [c, sub, quiet, stranger]) s.close();
});

// ------------------------------------------------------------------ bad input

test('bad input is refused: following oneself is a 400 bad_request envelope, notifications:read {} and other malformed commands ack bad_request', { timeout: 15_000 }, async () => {
  const me = uid('me');
  const tok = token(me);
  assertRestError(await rest('POST', `/api/users/${me}/follow`, { token: tok }), 400, 'bad_request', 'following oneself');
  assert.deepEqual((await restOk('GET', `/api/users/${me}/following`, { token: tok })).users, [], 'no self-follow stored');
  assertRestError(await rest('POST', `/api/users/${uid('x')}/follow`, {}), 401, 'unauthorized', 'following without a token');
  assertRestError(await rest('GET', '/api/notifications', {}), 401, 'unauthorized', 'the inbox without a token');
  assertRestError(await rest('POST', '/api/notifications/read', { token: tok, body: {} }), 400, 'bad_request', 'REST read with nothing to read');
  assertRestError(await rest('GET', '/api/notifications?limit=abc', { token: tok }), 400, 'bad_request', 'REST list with a non-numeric limit');

  const s = await connect(tok);
  const cases = [
    ['notifications:read', {}],
    ['notifications:read', { ids: [] }],
    ['notifications:read', { ids: 'n-1' }],
    ['notifications:read', { ids: [''] }],
    ['notifications:list', { limit: 0 }],
    ['notifications:list', { limit: 1000 }],
    ['notifications:list', { before: 'not:a-cursor' }],
    ['notifications:list', { before: '' }],
    ['notifications:list', { before: 42 }],
    ['notifications:list', { unreadOnly: 'yes' }],
    ['presence:set', { status: 'asleep' }],
    ['presence:set', {}],
    ['presence:subscribe', {}],
    ['presence:subscribe', { userIds: 'someone' }],
    ['presence:subscribe', { userIds: [''] }],
    ['feed:new_content', { contentType: 'video' }],
    ['feed:new_content', { contentId: uid('c') }],
  ];
  for (const [event, data] of cases) {
    assertError(await emitAck(s, event, data), 'bad_request', `${event} ${JSON.stringify(data)}`);
  }
  // an id that is not in this inbox (unknown, or another user's) is not found
  assertError(await emitAck(s, 'notifications:list', { before: 'not-a-notification' }), 'not_found', 'an unknown notification id as before');
  assertRestError(await rest('GET', '/api/notifications?before=not-a-notification', { token: tok }), 404, 'not_found', 'REST list before an unknown id');
  // and the connection still works, the inbox untouched
  assert.deepEqual(await emitOk(s, 'notifications:list', {}), { notifications: [], hasMore: false, unreadCount: 0, nextCursor: null });
  s.close();
});
