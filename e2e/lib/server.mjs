// Test harness: starts a real `chorus` process on a free loopback port with a fresh
// SQLite database, and gives the tests small helpers around the official
// socket.io-client and the REST API.
//
// One server per test file: `node --test` runs every file in its own process, so the
// module-level state below belongs to a single file.

import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import { io } from 'socket.io-client';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STARTUP_TIMEOUT_MS = 20_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const STDERR_KEEP = 64 * 1024;

export const DEFAULT_ACK_TIMEOUT_MS = 5_000;
export const DEFAULT_EVENT_TIMEOUT_MS = 5_000;

let current = null; // { proc, url, port, jwtSecret, serverKey, dir, output(), exited }
const openSockets = new Set();

/** A fresh id with a readable prefix; every test makes its own content ids and users. */
export function uid(prefix = 'id') {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function binaryPath() {
  return process.env.CHORUS_BIN || join(REPO_ROOT, 'target', 'debug', 'chorus');
}

/** A free TCP port on the loopback (the cluster harness uses it too). */
export async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts `chorus serve` and waits for `GET /healthz` to answer 200.
 * Extra CLI args and env can be added for tests that need a different configuration;
 * `jwtSecret: false` starts it without the HS256 secret, for a test that configures
 * another token key (`CHORUS_JWT_JWKS_URL`).
 */
export async function startServer({ args = [], env = {}, reuse, jwtSecret: withSecret = true } = {}) {
  if (current) throw new Error('startServer: a server is already running in this test file');
  const bin = binaryPath();
  if (!existsSync(bin)) {
    throw new Error(
      `chorus binary not found at ${bin}.\n` +
        `Build it first:  cd ${REPO_ROOT} && cargo build -p chorus\n` +
        `(or point CHORUS_BIN at an existing binary)`,
    );
  }
  const port = await freePort();
  // `reuse` (what `killServer` returned) restarts on the same database and keys.
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'chorus-e2e-'));
  const jwtSecret = reuse?.jwtSecret ?? randomBytes(32).toString('hex');
  const serverKey = reuse?.serverKey ?? randomBytes(24).toString('hex');
  const listen = `127.0.0.1:${port}`;
  const proc = spawn(
    bin,
    [
      'serve',
      '--listen', listen,
      '--database-url', `sqlite://${join(dir, 'e2e.db')}`,
      ...(withSecret ? ['--jwt-secret', jwtSecret] : []),
      '--server-key', serverKey,
      ...args,
    ],
    {
      env: {
        ...process.env,
        CHORUS_PRESENCE_GRACE_MS: '200',
        // Expiry tests count seconds from `exp`; the server honours the leeway it accepts.
        CHORUS_JWT_LEEWAY_SECS: '0',
        // Suites connect hundreds of sockets from one address in seconds; the limits
        // themselves are covered by the Rust tests (tests/it/limits.rs).
        CHORUS_RATE_LIMITS_ENABLED: 'false',
        CHORUS_MAX_SOCKETS_PER_USER: '0',
        CHORUS_MAX_SOCKETS_PER_IP: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk) => {
    output += chunk.toString();
    if (output.length > STDERR_KEEP) output = output.slice(-STDERR_KEEP);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((ok) => proc.on('exit', (code, signal) => ok({ code, signal })));
  let spawnError = null;
  proc.on('error', (e) => { spawnError = e; });

  const url = `http://${listen}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  let exitInfo = null;
  exited.then((x) => { exitInfo = x; });
  for (;;) {
    if (spawnError) throw new Error(`could not start ${bin}: ${spawnError.message}`);
    if (exitInfo) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `chorus exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal}).\n` +
          `--- server output ---\n${output}`,
      );
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) break;
      lastProblem = `GET /healthz answered ${res.status}`;
    } catch (e) {
      lastProblem = e.cause?.code || e.message;
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `chorus did not become healthy within ${STARTUP_TIMEOUT_MS} ms (${lastProblem}).\n` +
          `--- server output ---\n${output}`,
      );
    }
    await delay(50);
  }
  current = { proc, url, port, jwtSecret, serverKey, dir, exited, output: () => output };
  return current;
}

/** The running server (url, port, serverKey, jwtSecret, output()). */
export function server() {
  if (!current) throw new Error('no server running: call startServer() in before()');
  return current;
}

/** Closes every socket the helpers opened. */
export function closeAllSockets() {
  for (const s of openSockets) s.close();
  openSockets.clear();
}

/**
 * Stops the server with SIGTERM and asserts a graceful exit (code 0).
 * By default closes the test's sockets first; `closeSockets: false` leaves them open.
 */
export async function stopServer({ closeSockets = true } = {}) {
  if (!current) return;
  const srv = current;
  current = null;
  if (closeSockets) closeAllSockets();
  srv.proc.kill('SIGTERM');
  let timer;
  const timeout = new Promise((ok) => { timer = setTimeout(() => ok(null), SHUTDOWN_TIMEOUT_MS); });
  const result = await Promise.race([srv.exited, timeout]);
  clearTimeout(timer);
  rmSync(srv.dir, { recursive: true, force: true });
  if (result === null) {
    srv.proc.kill('SIGKILL');
    await srv.exited;
    throw new Error(
      `chorus did not exit within ${SHUTDOWN_TIMEOUT_MS} ms of SIGTERM.\n--- server output ---\n${srv.output()}`,
    );
  }
  if (result.code !== 0) {
    throw new Error(
      `chorus exited with code ${result.code} (signal ${result.signal}) after SIGTERM; expected 0.\n` +
        `--- server output ---\n${srv.output()}`,
    );
  }
  return result;
}

/**
 * Kills the server with SIGKILL (no shutdown at all) and keeps its database: pass what
 * it returns as `startServer({ reuse })` to start again where it died.
 */
export async function killServer() {
  if (!current) throw new Error('killServer: no server running');
  const srv = current;
  current = null;
  closeAllSockets();
  srv.proc.kill('SIGKILL');
  await srv.exited;
  return { dir: srv.dir, jwtSecret: srv.jwtSecret, serverKey: srv.serverKey };
}

/** True while the server process is still running. */
export function serverAlive() {
  return !!current && current.proc.exitCode === null && current.proc.signalCode === null;
}

// ---------------------------------------------------------------- tokens

/**
 * An HS256 user token signed with the server's secret.
 * opts: name, expSec (seconds from now; default 3600; negative = already expired),
 * secret (override), claims (extra/override claims), noExp.
 */
export function token(userId, { name, expSec = 3600, secret, claims = {}, noExp = false } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: userId, iat: now, ...claims };
  if (!noExp) payload.exp = now + expSec;
  if (name !== undefined) payload.name = name;
  return jwt.sign(payload, secret ?? server().jwtSecret, { algorithm: 'HS256', noTimestamp: true });
}

/** An unsigned `alg: none` token (must be refused). */
export function unsignedToken(userId, expSec = 3600) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: userId, exp: now + expSec })}.`;
}

// ---------------------------------------------------------------- sockets

/**
 * Opens a socket without waiting. `auth` defaults to `{token}`; pass `auth: null` for
 * none. Reconnection is off so that a refusal or a server-side close is final.
 */
export function rawSocket(tok, { transports, auth, query, extraHeaders, ...rest } = {}) {
  const opts = {
    forceNew: true,
    reconnection: false,
    timeout: 5_000,
    ...rest,
  };
  if (transports) opts.transports = transports;
  if (auth !== undefined) {
    if (auth !== null) opts.auth = auth;
  } else if (tok) {
    opts.auth = { token: tok };
  }
  if (query) opts.query = query;
  if (extraHeaders) opts.extraHeaders = extraHeaders;
  const socket = io(server().url, opts);
  openSockets.add(socket);
  socket.on('disconnect', () => openSockets.delete(socket));
  return socket;
}

/**
 * Connects and resolves once `session:ready` arrived; the payload is on
 * `socket.session`. Rejects on `connect_error` (the error keeps `message` and `data`).
 */
export function connect(tok, opts = {}) {
  const { timeoutMs = DEFAULT_EVENT_TIMEOUT_MS, ...sockOpts } = opts;
  const socket = rawSocket(tok, sockOpts);
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      socket.close();
      fail(new Error(`connect: no session:ready within ${timeoutMs} ms (connected=${socket.connected})`));
    }, timeoutMs);
    socket.once('session:ready', (data) => {
      clearTimeout(timer);
      socket.session = data;
      ok(socket);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      const e = new Error(`connect_error: ${err.message} ${JSON.stringify(err.data ?? null)}`);
      e.message_ = err.message;
      e.data = err.data;
      fail(e);
    });
  });
}

/**
 * A seed app's client: `io(url, {auth: {token}})` and nothing else (the server's
 * `dialect` setting decides what it speaks), plus any `auth` fields; resolves once connected.
 */
export function seedSocket(tok, auth = {}) {
  return connect(tok, { auth: { token: tok, ...auth } });
}

/** Resolves with nothing if `event` does not arrive on `socket` within `ms`; fails if it does. */
export function silence(socket, event, ms = 400) {
  return new Promise((ok, fail) => {
    const seen = (data) => fail(new Error(`unexpected ${event}: ${JSON.stringify(data)}`));
    socket.on(event, seen);
    setTimeout(() => { socket.off(event, seen); ok(); }, ms);
  });
}

/** Resolves with the `connect_error` of a socket that must be refused. */
export function expectRefused(socket, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      socket.close();
      fail(new Error(`expected connect_error within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.close();
      fail(new Error('expected the connection to be refused, but it connected'));
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      ok(err);
    });
  });
}

/** Emits with an ack and resolves with the ack payload; rejects on timeout. */
export async function emitAck(socket, event, data, timeoutMs = DEFAULT_ACK_TIMEOUT_MS) {
  try {
    return await socket.timeout(timeoutMs).emitWithAck(event, data);
  } catch (e) {
    throw new Error(`no ack for '${event}' within ${timeoutMs} ms (connected=${socket.connected})`);
  }
}

/** emitAck that also asserts `{ok: true}` and returns `data`. */
export async function emitOk(socket, event, data, timeoutMs) {
  const ack = await emitAck(socket, event, data, timeoutMs);
  if (!ack || ack.ok !== true) {
    throw new Error(`'${event}' ${JSON.stringify(data)?.slice(0, 200)} acked ${JSON.stringify(ack)}; expected {ok:true}`);
  }
  return ack.data;
}

/**
 * Resolves with the first `event` payload for which `predicate` holds.
 * Register it BEFORE the action that triggers the event.
 */
export function waitFor(socket, event, predicate = () => true, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS) {
  return new Promise((ok, fail) => {
    const seen = [];
    const handler = (...args) => {
      const payload = args[0];
      seen.push(payload);
      let hit = false;
      try { hit = predicate(payload); } catch { hit = false; }
      if (hit) {
        clearTimeout(timer);
        socket.off(event, handler);
        ok(payload);
      }
    };
    const timer = setTimeout(() => {
      socket.off(event, handler);
      fail(new Error(
        `no matching '${event}' within ${timeoutMs} ms; received ${seen.length}: ` +
          JSON.stringify(seen.slice(-5)).slice(0, 1500),
      ));
    }, timeoutMs);
    socket.on(event, handler);
  });
}

/**
 * Records every `event` payload from now on. `until(pred)` resolves with the first
 * recorded (past or future) payload matching `pred`: for coalesced events.
 */
export function track(socket, event, filter = () => true) {
  const events = [];
  const waiters = new Set();
  const handler = (payload) => {
    if (!filter(payload)) return;
    events.push(payload);
    for (const w of waiters) {
      if (w.pred(payload)) { waiters.delete(w); clearTimeout(w.timer); w.ok(payload); }
    }
  };
  socket.on(event, handler);
  return {
    events,
    latest: () => events[events.length - 1],
    stop: () => socket.off(event, handler),
    until(pred, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS) {
      const found = events.find((e) => { try { return pred(e); } catch { return false; } });
      if (found) return Promise.resolve(found);
      return new Promise((ok, fail) => {
        const w = {
          pred: (p) => { try { return pred(p); } catch { return false; } },
          ok,
          timer: setTimeout(() => {
            waiters.delete(w);
            fail(new Error(
              `no matching '${event}' within ${timeoutMs} ms; received ${events.length}: ` +
                JSON.stringify(events.slice(-5)).slice(0, 1500),
            ));
          }, timeoutMs),
        };
        waiters.add(w);
      });
    },
  };
}

/** Resolves with the disconnect reason, or rejects after the timeout. */
export function waitDisconnect(socket, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS) {
  if (!socket.connected && !socket.active) return Promise.resolve('already disconnected');
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      socket.off('disconnect', handler);
      fail(new Error(`socket was not disconnected within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (reason) => { clearTimeout(timer); ok(reason); };
    socket.once('disconnect', handler);
  });
}

// ---------------------------------------------------------------- REST

/**
 * `rest('POST', '/api/content/x/like', {token})` → `{status, body}`; body is parsed JSON
 * when the response is JSON, else text. `serverKey: true` uses the running server's key.
 */
export async function rest(method, path, { token: tok, serverKey, body, headers = {}, timeoutMs = 5_000 } = {}) {
  const h = { ...headers };
  if (tok) h.authorization = `Bearer ${tok}`;
  if (serverKey) h.authorization = `Bearer ${serverKey === true ? server().serverKey : serverKey}`;
  let payload;
  if (body !== undefined) {
    h['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${server().url}${path}`, {
    method,
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').includes('json') && text.length) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** rest() that asserts a 2xx `{success: true}` envelope and returns `data`. */
export async function restOk(method, path, opts = {}) {
  const r = await rest(method, path, opts);
  if (r.status < 200 || r.status > 299 || !r.body || r.body.success !== true) {
    throw new Error(
      `${method} ${path} → ${r.status} ${JSON.stringify(r.body).slice(0, 500)}; expected 2xx {success:true}`,
    );
  }
  return r.body.data;
}

/** Registers a content item through the server API (as the app backend does). */
export function registerContent(id, { type = 'video', ownerId, title } = {}) {
  const body = { type };
  if (ownerId !== undefined) body.ownerId = ownerId;
  if (title !== undefined) body.title = title;
  return restOk('PUT', `/api/server/content/${encodeURIComponent(id)}`, { serverKey: true, body });
}

/**
 * An event payload without its top-level `seq`: every event the server publishes carries
 * a cluster-wide increasing `seq` for session resume (docs/protocol.md §1.1). Whole-payload
 * comparisons use this; `withSeq` also asserts the `seq` is a positive integer.
 */
export function withoutSeq(ev) {
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) return ev;
  const { seq, ...rest } = ev;
  return rest;
}

/** Asserts `ev.seq` is a positive integer, then returns the payload without it. */
export function checkedSeq(ev) {
  if (!Number.isSafeInteger(ev?.seq) || ev.seq <= 0) {
    throw new Error(`expected a positive integer seq, got ${JSON.stringify(ev)?.slice(0, 500)}`);
  }
  return withoutSeq(ev);
}
