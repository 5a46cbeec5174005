// Node socket.io 4.x reference server for the Chorus benchmark: the same join + like +
// comment behaviour as bench/reference-socketioxide, in-memory counters, no storage.
//
// * Any handshake auth is accepted; the socket id stands in for the user id.
// * content:join {contentId}        -> joins content:{id}, acks {ok, data:{contentId, contentType, counts, viewerCount, likedByMe}}
// * content:like {contentId, like?} -> toggles (or sets), acks {ok, data:{isLiked, likesCount}}, broadcasts content:like to the room
// * content:comment {contentId, text} -> acks {ok, data:{comment, commentsCount}}, broadcasts content:comment to the room
//
// Usage: node server.js [--port N]   (or PORT=N), listening on 127.0.0.1.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

function parsePort() {
  const args = process.argv.slice(2);
  let port = process.env.PORT || '3002';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = args[++i];
    else if (args[i].startsWith('--port=')) port = args[i].slice(7);
    else throw new Error(`unknown argument ${args[i]}; usage: --port N`);
  }
  return Number(port);
}

/** contentId -> { likers: Set<socketId>, comments: number } */
const items = new Map();

function item(contentId) {
  let it = items.get(contentId);
  if (!it) {
    it = { likers: new Set(), comments: 0 };
    items.set(contentId, it);
  }
  return it;
}

function badRequest(message) {
  return { ok: false, error: { code: 'bad_request', message } };
}

function reply(ack, body) {
  if (typeof ack === 'function') ack(body);
}

const httpServer = http.createServer();
const io = new Server(httpServer);

io.on('connection', (socket) => {
  const me = socket.id;

  socket.on('content:join', (data, ack) => {
    if (!data || typeof data.contentId !== 'string') return reply(ack, badRequest('contentId is required'));
    const it = item(data.contentId);
    socket.join(`content:${data.contentId}`);
    reply(ack, {
      ok: true,
      data: {
        contentId: data.contentId,
        contentType: 'video',
        counts: { likes: it.likers.size, comments: it.comments, views: 0, shares: 0 },
        viewerCount: 0,
        likedByMe: it.likers.has(me),
      },
    });
  });

  socket.on('content:like', (data, ack) => {
    if (!data || typeof data.contentId !== 'string') return reply(ack, badRequest('contentId is required'));
    const it = item(data.contentId);
    const want = typeof data.like === 'boolean' ? data.like : !it.likers.has(me);
    if (want) it.likers.add(me);
    else it.likers.delete(me);
    reply(ack, { ok: true, data: { isLiked: want, likesCount: it.likers.size } });
    io.to(`content:${data.contentId}`).emit('content:like', {
      contentId: data.contentId,
      userId: me,
      isLiked: want,
      likesCount: it.likers.size,
      timestamp: new Date().toISOString(),
    });
  });

  socket.on('content:comment', (data, ack) => {
    if (!data || typeof data.contentId !== 'string' || typeof data.text !== 'string') {
      return reply(ack, badRequest('contentId and text are required'));
    }
    const it = item(data.contentId);
    it.comments += 1;
    const now = new Date().toISOString();
    // The shape (and so the size) of a Chorus comment: PROTOCOL.md's user summary and a
    // UUID-long id, so the broadcast costs the same bytes as Chorus's.
    const comment = {
      id: `00000000-0000-7000-8000-${it.comments.toString(16).padStart(12, '0')}`,
      contentId: data.contentId,
      parentId: null,
      user: { id: me, username: me, avatar: null, verified: false },
      text: data.text,
      createdAt: now,
      editedAt: null,
      replyCount: 0,
      reactions: {},
    };
    reply(ack, { ok: true, data: { comment, commentsCount: it.comments } });
    io.to(`content:${data.contentId}`).emit('content:comment', {
      contentId: data.contentId,
      comment,
      commentsCount: it.comments,
      timestamp: now,
    });
  });

  socket.onAny((event, ...args) => {
    if (event === 'content:join' || event === 'content:like' || event === 'content:comment') return;
    reply(args[args.length - 1], badRequest(`unknown event ${event}`));
  });
});

const port = parsePort();
httpServer.listen(port, '127.0.0.1', () => {
  console.error(`reference-node listening on 127.0.0.1:${port}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}
