// The typed client (clients/typescript/, @chorus/client-types): a socket.io-client
// `Socket<ServerToClientEvents, ClientToServerEvents>` connects, joins a content room,
// likes with an ack and hears the room's `content:like`, every payload and ack typed by
// the generated contract. `tsc --noEmit` checks it against the typings (npm test); the
// compiled file runs against a real server.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import type {
  Ack, ClientToServerEvents, ContentLike, Joined, LikeState, Sequenced, ServerToClientEvents, SessionReady,
} from '@chorus/client-types';
import { server, startServer, stopServer, token, uid } from '../lib/server.mjs';

type ChorusSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

before(() => startServer());
after(() => stopServer());

/** Connects a typed socket and resolves with it and its `session:ready`. */
function connectTyped(userId: string): Promise<{ socket: ChorusSocket; ready: SessionReady }> {
  const socket: ChorusSocket = io(server().url, { auth: { token: token(userId) }, forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('session:ready', (ready) => resolve({ socket, ready }));
    socket.once('connect_error', (err) => reject(err));
  });
}

/** The `data` of a successful ack, or a failure naming the code. */
function data<T>(ack: Ack<T>): T {
  if (!ack.ok) assert.fail(`command refused: ${ack.error.code}: ${ack.error.message}`);
  return ack.data;
}

test('a typed client joins, likes with an ack and hears the like, all typed by the contract', { timeout: 15_000 }, async () => {
  const contentId = uid('typed');
  const fan = uid('fan');
  const { socket, ready } = await connectTyped(fan);
  const watcher = await connectTyped(uid('watcher'));
  try {
    assert.equal(ready.userId, fan);
    assert.equal(typeof ready.recovered, 'boolean');

    // An ack through the callback form, typed `Ack<Joined>`.
    const joined: Joined = await new Promise((resolve) => {
      socket.emit('content:join', { contentId }, (ack) => resolve(data(ack)));
    });
    assert.equal(joined.contentId, contentId);
    assert.equal(joined.counts.likes, 0);
    assert.equal(joined.likedByMe, false);
    data(await watcher.socket.emitWithAck('content:join', { contentId }));

    // The watcher hears the like, typed `ContentLike & Sequenced`.
    const heard = new Promise<ContentLike & Sequenced>((resolve) => {
      watcher.socket.on('content:like', (event) => {
        if (event.contentId === contentId) resolve(event);
      });
    });
    const liked: LikeState = data(await socket.emitWithAck('content:like', { contentId, like: true }));
    assert.deepEqual(liked, { isLiked: true, likesCount: 1 });
    const event = await heard;
    assert.equal(event.userId, fan);
    assert.equal(event.isLiked, true);
    assert.equal(event.likesCount, 1);
    assert.equal(typeof event.seq, 'number');
    assert.ok(!Number.isNaN(Date.parse(event.timestamp)), event.timestamp);

    // A refusal is the other arm of `Ack<T>`: the code is one of `ErrorCode`.
    const refused = await socket.emitWithAck('content:like', { contentId: '' });
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.equal(refused.error.code, 'bad_request');
  } finally {
    socket.close();
    watcher.socket.close();
  }
});
