// Cluster harness: a private `redis-server`, a fresh PostgreSQL database (reached
// through a small TCP proxy that a test can cut), and three `chorus` processes sharing
// both, on loopback. Helpers inject faults: SIGKILL/SIGTERM/restart a node, stop /
// restart Redis on the same port, kill Redis's client connections, cut PostgreSQL.
//
// One cluster per test file: `node --test` runs every file in its own process, so the
// module-level state below belongs to a single file. Everything is torn down in
// `stopCluster()` and, as a last resort, in a process `exit` hook (SIGKILL, dropdb,
// temp dir removed), so a failing test leaves nothing behind.
//
// Nothing here skips: a missing `redis-server` or an unreachable PostgreSQL throws.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import { io } from 'socket.io-client';
import { binaryPath, emitAck, emitOk, freePort, track, uid, waitFor, waitDisconnect } from '../../lib/server.mjs';

export { emitAck, emitOk, track, uid, waitFor, waitDisconnect };

const STARTUP_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 15_000;
const OUTPUT_KEEP = 64 * 1024;
const PG_HOST = process.env.CHORUS_TEST_PG_HOST || '127.0.0.1';
const PG_PORT = Number(process.env.CHORUS_TEST_PG_PORT || 5432);
const PG_USER = process.env.CHORUS_TEST_PG_USER || 'postgres';

/** Presence grace the nodes run with (ms). */
export const GRACE_MS = 300;
export const DEFAULT_TIMEOUT_MS = 8_000;

let cluster = null;
const openSockets = new Set();

// ------------------------------------------------------------------ small utilities

export { freePort };

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function pgArgs() {
  return ['-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER];
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`${what}: ${cmd} failed to run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: ${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Polls `check` until it returns a truthy value; throws with `what` after the timeout. */
export async function eventually(check, { timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`${what}: not true within ${timeoutMs} ms (last: ${String(detail).slice(0, 800)})`);
    }
    await delay(intervalMs);
  }
}

// A WARN or ERROR line in a node's log. tracing's text format puts the level after
// the timestamp: `2026-12-03T06:50:13.123Z  WARN message key=value`.
const PROBLEM_LINE = /^\S+\s+(WARN|ERROR)\s/;
const PROBLEMS_KEEP = 200;

/**
 * Collects the WARN and ERROR lines of a process's output, whole lines only (a chunk
 * may end inside a line), every one of them however long the output grows.
 */
function problemWatcher(label) {
  let partial = '';
  const lines = [];
  return {
    add(chunk) {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop();
      for (const line of parts) {
        if (PROBLEM_LINE.test(line) && lines.length < PROBLEMS_KEEP) lines.push(`${label}: ${line}`);
      }
    },
    lines: () => lines,
  };
}

function keeper() {
  let out = '';
  return {
    add(chunk) {
      out += chunk.toString();
      if (out.length > OUTPUT_KEEP) out = out.slice(-OUTPUT_KEEP);
    },
    text: () => out,
  };
}

// ------------------------------------------------------------------ redis

class Redis {
  constructor(dir) {
    this.dir = dir;
    this.port = null;
    this.proc = null;
    this.exited = null;
    this.log = keeper();
  }

  get url() { return `redis://127.0.0.1:${this.port}`; }

  async start() {
    if (!this.port) this.port = await freePort();
    const bin = which('redis-server');
    if (!bin) {
      throw new Error('redis-server is not installed (the cluster suite needs it). Run scripts/ensure-services.sh or apt-get install redis-server.');
    }
    const proc = spawn(bin, [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', this.dir,
      '--daemonize', 'no',
      '--protected-mode', 'no',
      '--loglevel', 'warning',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (c) => this.log.add(c));
    proc.stderr.on('data', (c) => this.log.add(c));
    this.proc = proc;
    this.exited = new Promise((ok) => proc.on('exit', (code, signal) => ok({ code, signal })));
    let exitInfo = null;
    this.exited.then((x) => { exitInfo = x; });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (exitInfo) throw new Error(`redis-server exited at start (${JSON.stringify(exitInfo)}):\n${this.log.text()}`);
      try {
        if ((await this.command(['PING'])) === 'PONG') return;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${this.port}:\n${this.log.text()}`);
      await delay(50);
    }
  }

  running() { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  /** Stops redis (SIGKILL: the abrupt kind of outage). The port stays reserved for restart. */
  async stop() {
    if (!this.running()) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  /**
   * One RESP command on a fresh connection; resolves with the first reply
   * (simple string, integer, bulk string or array, decoded loosely).
   */
  command(args, timeoutMs = 2_000) {
    return new Promise((ok, fail) => {
      const sock = createConnection({ host: '127.0.0.1', port: this.port });
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => { sock.destroy(); fail(new Error(`redis ${args[0]}: timeout`)); }, timeoutMs);
      sock.on('error', (e) => { clearTimeout(timer); fail(e); });
      sock.on('connect', () => {
        let req = `*${args.length}\r\n`;
        for (const a of args) req += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
        sock.write(req);
      });
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        const parsed = parseResp(buf, 0);
        if (parsed) {
          clearTimeout(timer);
          sock.destroy();
          if (parsed.value instanceof Error) fail(parsed.value);
          else ok(parsed.value);
        }
      });
    });
  }
}

function parseResp(buf, at) {
  const end = buf.indexOf('\r\n', at);
  if (end < 0) return null;
  const type = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, end);
  const next = end + 2;
  switch (type) {
    case '+': return { value: line, next };
    case '-': return { value: new Error(line), next };
    case ':': return { value: Number(line), next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      if (buf.length < next + n + 2) return null;
      return { value: buf.toString('utf8', next, next + n), next: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const items = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const p = parseResp(buf, pos);
        if (!p) return null;
        items.push(p.value);
        pos = p.next;
      }
      return { value: items, next: pos };
    }
    default: return { value: new Error(`unexpected RESP type ${type}`), next };
  }
}

// ------------------------------------------------------------------ PostgreSQL proxy

/**
 * A TCP proxy in front of PostgreSQL. `cut()` destroys every proxied connection and
 * closes the listening socket (new connections are refused); `restore()` listens again
 * on the same port.
 */
class PgProxy {
  constructor() {
    this.port = null;
    this.server = null;
    this.conns = new Set();
    this.cutNow = false;
  }

  async start() {
    if (!this.port) this.port = await freePort();
    this.server = createServer((client) => {
      if (this.cutNow) { client.destroy(); return; }
      const upstream = createConnection({ host: PG_HOST, port: PG_PORT });
      const pair = { client, upstream };
      this.conns.add(pair);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.conns.delete(pair);
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise((ok, fail) => {
      this.server.once('error', fail);
      this.server.listen(this.port, '127.0.0.1', () => { this.server.off('error', fail); ok(); });
    });
  }

  /** PostgreSQL becomes unreachable for the nodes. */
  async cut() {
    this.cutNow = true;
    const srv = this.server;
    this.server = null;
    const closed = srv ? new Promise((ok) => srv.close(() => ok())) : Promise.resolve();
    for (const { client, upstream } of this.conns) { client.destroy(); upstream.destroy(); }
    this.conns.clear();
    await closed;
  }

  /** PostgreSQL is reachable again. */
  async restore() {
    this.cutNow = false;
    if (this.server) return;
    for (let i = 0; ; i++) {
      try {
        await this.start();
        return;
      } catch (e) {
        if (i >= 50) throw e;
        await delay(100);
      }
    }
  }

  closeSync() {
    for (const { client, upstream } of this.conns) { client.destroy(); upstream.destroy(); }
    this.conns.clear();
    this.server?.close();
    this.server = null;
  }
}

// ------------------------------------------------------------------ chorus nodes

class Node {
  constructor(index, cfg) {
    this.index = index;
    this.cfg = cfg; // { port, env }
    this.port = cfg.port;
    this.url = `http://127.0.0.1:${cfg.port}`;
    this.proc = null;
    this.exited = null;
    this.log = keeper();
    this.problems = problemWatcher(`node ${index + 1}`);
    this.generation = 0;
  }

  async start() {
    const bin = binaryPath();
    const proc = spawn(bin, ['serve', '--listen', `127.0.0.1:${this.port}`], {
      env: { ...process.env, ...this.cfg.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.generation += 1;
    this.log.add(`\n===== node ${this.index + 1} start #${this.generation} =====\n`);
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.on('data', (c) => { this.log.add(c); this.problems.add(c); });
    }
    this.proc = proc;
    this.exited = new Promise((ok) => proc.on('exit', (code, signal) => ok({ code, signal })));
    let exitInfo = null;
    let spawnError = null;
    proc.on('error', (e) => { spawnError = e; });
    this.exited.then((x) => { exitInfo = x; });
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let last = 'no answer yet';
    for (;;) {
      if (spawnError) throw new Error(`could not start ${bin}: ${spawnError.message}`);
      if (exitInfo) {
        throw new Error(`node ${this.index + 1} exited during startup (${JSON.stringify(exitInfo)}).\n--- output ---\n${this.log.text()}`);
      }
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200) return;
        last = `GET /healthz answered ${res.status}`;
      } catch (e) {
        last = e.cause?.code || e.message;
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await this.exited;
        throw new Error(`node ${this.index + 1} not healthy within ${STARTUP_TIMEOUT_MS} ms (${last}).\n--- output ---\n${this.log.text()}`);
      }
      await delay(100);
    }
  }

  alive() { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  /** SIGKILL: the node dies without a word. */
  async kill() {
    if (!this.alive()) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM; resolves with `{code, signal}`, throws if it does not exit in time. */
  async terminate(timeoutMs = SHUTDOWN_TIMEOUT_MS) {
    if (!this.alive()) return this.exited;
    this.proc.kill('SIGTERM');
    let timer;
    const timeout = new Promise((ok) => { timer = setTimeout(() => ok(null), timeoutMs); });
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`node ${this.index + 1} did not exit within ${timeoutMs} ms of SIGTERM.\n--- output ---\n${this.log.text()}`);
    }
    return result;
  }

  async restart() {
    await this.kill();
    await this.start();
  }

  output() { return this.log.text(); }
}

// ------------------------------------------------------------------ the cluster

function killEverythingSync() {
  if (!cluster) return;
  const c = cluster;
  cluster = null;
  for (const s of openSockets) { try { s.close(); } catch { /* closing */ } }
  openSockets.clear();
  for (const n of c.nodes) { if (n.alive()) { try { n.proc.kill('SIGKILL'); } catch { /* gone */ } } }
  if (c.redis.running()) { try { c.redis.proc.kill('SIGKILL'); } catch { /* gone */ } }
  c.pgProxy.closeSync();
  spawnSync('dropdb', [...pgArgs(), '--if-exists', '--force', c.dbName], { timeout: 20_000 });
  rmSync(c.dir, { recursive: true, force: true });
}

let hooksInstalled = false;
function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killEverythingSync);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => { killEverythingSync(); process.exit(130); });
  }
}

/**
 * Starts redis, the database and `nodes` chorus processes (default 3).
 * `env` is added to every node's environment.
 */
export async function startCluster({ nodes = 3, env = {} } = {}) {
  if (cluster) throw new Error('startCluster: a cluster is already running in this test file');
  const bin = binaryPath();
  if (!existsSync(bin)) {
    throw new Error(`chorus binary not found at ${bin}. Build it first: cargo build -p chorus (or set CHORUS_BIN).`);
  }
  if (!which('redis-server')) {
    throw new Error('redis-server is not installed (the cluster suite needs it). Run scripts/ensure-services.sh or apt-get install redis-server.');
  }
  for (const tool of ['createdb', 'dropdb', 'pg_isready']) {
    if (!which(tool)) throw new Error(`${tool} (PostgreSQL client tools) is not installed; run scripts/ensure-services.sh`);
  }
  const ready = spawnSync('pg_isready', ['-h', PG_HOST, '-p', String(PG_PORT), '-q'], { timeout: 10_000 });
  if (ready.status !== 0) {
    throw new Error(`PostgreSQL is not reachable on ${PG_HOST}:${PG_PORT}; run scripts/ensure-services.sh`);
  }
  installExitHooks();

  const dir = mkdtempSync(join(tmpdir(), 'chorus-cluster-'));
  const dbName = `chorus_cluster_${randomBytes(6).toString('hex')}`;
  const redis = new Redis(dir);
  const pgProxy = new PgProxy();
  const jwtSecret = randomBytes(32).toString('hex');
  const serverKey = randomBytes(24).toString('hex');
  cluster = { dir, dbName, redis, pgProxy, nodes: [], jwtSecret, serverKey };
  try {
    run('createdb', [...pgArgs(), dbName], 'creating the test database');
    await redis.start();
    await pgProxy.start();
    const ports = [];
    for (let i = 0; i < nodes; i++) ports.push(await freePort());
    const common = {
      CHORUS_DATABASE_URL: `postgres://${PG_USER}@127.0.0.1:${pgProxy.port}/${dbName}`,
      CHORUS_REDIS_URL: redis.url,
      CHORUS_REDIS_PREFIX: `chorus-test-${randomBytes(4).toString('hex')}`,
      CHORUS_JWT_SECRET: jwtSecret,
      CHORUS_SERVER_KEY: serverKey,
      CHORUS_PRESENCE_GRACE_MS: String(GRACE_MS),
      CHORUS_JWT_LEEWAY_SECS: '0',
      CHORUS_RATE_LIMITS_ENABLED: 'false',
      CHORUS_MAX_SOCKETS_PER_USER: '0',
      CHORUS_MAX_SOCKETS_PER_IP: '0',
      CHORUS_LOG_FORMAT: 'text',
      RUST_LOG: process.env.RUST_LOG || 'info',
      ...env,
    };
    cluster.nodes = ports.map((port, i) => new Node(i, { port, env: { ...common, CHORUS_LISTEN: `127.0.0.1:${port}` } }));
    // The first node creates the schema; the others start together once it is there.
    await cluster.nodes[0].start();
    await Promise.all(cluster.nodes.slice(1).map((n) => n.start()));
  } catch (e) {
    killEverythingSync();
    throw e;
  }
  return cluster;
}

/** The running cluster. */
export function cl() {
  if (!cluster) throw new Error('no cluster running: call startCluster() in before()');
  return cluster;
}

export function node(i) { return cl().nodes[i]; }
export function urls() { return cl().nodes.map((n) => n.url); }
export function redis() { return cl().redis; }
export function pgProxy() { return cl().pgProxy; }

/**
 * Stops every node with SIGTERM, then redis, the proxy and the database. Unless
 * `assertClean: false`, it then asserts that every node exited 0 and logged no WARN or
 * ERROR line: a healthy run is quiet. A file that injects faults names the warnings it
 * provokes in `expectedWarnings` (regular expressions matched against each line).
 */
export async function stopCluster({ assertClean = true, expectedWarnings = [] } = {}) {
  if (!cluster) return;
  const c = cluster;
  for (const s of openSockets) s.close();
  openSockets.clear();
  const problems = [];
  const results = await Promise.all(c.nodes.map(async (n) => {
    if (!n.alive()) return null;
    try {
      return { n, r: await n.terminate() };
    } catch (e) {
      problems.push(e.message);
      return null;
    }
  }));
  for (const x of results) {
    if (x && x.r.code !== 0) {
      problems.push(`node ${x.n.index + 1} exited with ${JSON.stringify(x.r)} after SIGTERM; expected 0.\n--- output (tail) ---\n${x.n.output().slice(-4000)}`);
    }
  }
  const unexpected = c.nodes.flatMap((n) => n.problems.lines()).filter((line) => !expectedWarnings.some((re) => re.test(line)));
  if (unexpected.length) {
    problems.push(`unexpected WARN or ERROR lines in the nodes' logs (a healthy run logs none):\n${unexpected.join('\n')}`);
  }
  killEverythingSync();
  if (assertClean && problems.length) throw new Error(problems.join('\n\n'));
}

/** The tail of every node's output, for failure messages. */
export function outputs(tail = 3000) {
  if (!cluster) return '';
  return cluster.nodes.map((n) => `--- node ${n.index + 1} ---\n${n.output().slice(-tail)}`).join('\n');
}

// ------------------------------------------------------------------ faults on redis

/** Kills every client connection redis has (normal and pub/sub). */
export async function killRedisClients() {
  const r = cl().redis;
  const normal = await r.command(['CLIENT', 'KILL', 'TYPE', 'normal']);
  const pubsub = await r.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
  return { normal, pubsub };
}

// ------------------------------------------------------------------ tokens, sockets, REST

/** An HS256 user token for the cluster's secret. */
export function token(userId, { name, expSec = 3600, claims = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: userId, iat: now, exp: now + expSec, ...claims };
  if (name !== undefined) payload.name = name;
  return jwt.sign(payload, cl().jwtSecret, { algorithm: 'HS256', noTimestamp: true });
}

function nodeUrl(at) {
  if (typeof at === 'string') return at;
  return cl().nodes[at].url;
}

/**
 * A socket to node `at` (index or URL). `auth` defaults to `{token}`.
 * `failover: true` turns reconnection on and moves to the next node URL on every
 * attempt (the way an app given a list of node addresses would).
 */
export function rawSocket(at, tok, { auth, failover = false, transports, ...rest } = {}) {
  const opts = {
    forceNew: true,
    reconnection: failover,
    timeout: 5_000,
    ...rest,
  };
  if (failover) {
    opts.reconnectionDelay = 200;
    opts.reconnectionDelayMax = 1_000;
    opts.randomizationFactor = 0;
  }
  if (transports) opts.transports = transports;
  opts.auth = auth !== undefined ? auth : { token: tok };
  const start = nodeUrl(at);
  const socket = io(start, opts);
  if (failover) {
    const list = urls();
    let i = Math.max(0, list.indexOf(start));
    socket.io.on('reconnect_attempt', () => {
      i = (i + 1) % list.length;
      socket.io.uri = list[i];
    });
  }
  socket.nodeUrl = () => socket.io.uri;
  openSockets.add(socket);
  return socket;
}

/**
 * Connects to node `at` and resolves after `session:ready` (on `socket.session`).
 * Events named in `record` are recorded from before the handshake (`socket.rec[event]`).
 */
export function connect(at, tok, opts = {}) {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, ...sockOpts } = opts;
  const socket = rawSocket(at, tok, sockOpts);
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      socket.close();
      fail(new Error(`connect to ${nodeUrl(at)}: no session:ready within ${timeoutMs} ms (connected=${socket.connected})`));
    }, timeoutMs);
    socket.once('session:ready', (data) => {
      clearTimeout(timer);
      socket.session = data;
      ok(socket);
    });
    if (!sockOpts.failover) {
      socket.once('connect_error', (err) => {
        clearTimeout(timer);
        socket.close();
        fail(new Error(`connect_error from ${nodeUrl(at)}: ${err.message} ${JSON.stringify(err.data ?? null)}`));
      });
    }
  });
}

/** Every event a socket receives, in order: `[{event, payload}]`. */
export function recordAll(socket) {
  const events = [];
  socket.onAny((event, payload) => events.push({ event, payload }));
  return events;
}

/**
 * `rest(at, 'POST', path, {token | serverKey, body})` → `{status, body}`.
 * `serverKey: true` uses the cluster's key.
 */
export async function rest(at, method, path, { token: tok, serverKey, body, timeoutMs = 8_000 } = {}) {
  const h = {};
  if (tok) h.authorization = `Bearer ${tok}`;
  if (serverKey) h.authorization = `Bearer ${serverKey === true ? cl().serverKey : serverKey}`;
  let payload;
  if (body !== undefined) {
    h['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${nodeUrl(at)}${path}`, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').includes('json') && text.length) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  return { status: res.status, body: parsed };
}

/** rest() asserting a 2xx `{success: true}` envelope; returns `data`. */
export async function restOk(at, method, path, opts = {}) {
  const r = await rest(at, method, path, opts);
  if (r.status < 200 || r.status > 299 || !r.body || r.body.success !== true) {
    throw new Error(`${method} ${nodeUrl(at)}${path} → ${r.status} ${JSON.stringify(r.body).slice(0, 500)}; expected 2xx {success:true}`);
  }
  return r.body.data;
}

/** GET /readyz of a node: `{status, body}` (body parsed when JSON). */
export function readyz(at) {
  return rest(at, 'GET', '/readyz', { timeoutMs: 3_000 });
}

/** Credits a wallet through the server API. */
export function credit(at, userId, amount) {
  return restOk(at, 'POST', `/api/server/wallets/${encodeURIComponent(userId)}/credit`, {
    serverKey: true,
    body: { amount, reference: uid('topup') },
  });
}

/** Sends a server-API emit to a user and returns the marker it carried. */
export async function emitToUser(at, userId, event, data) {
  return restOk(at, 'POST', '/api/server/emit', { serverKey: true, body: { to: { userId }, event, data } });
}

/**
 * Counts how many times each socket receives a fresh marker event sent to `all`
 * through node `at`: a fence proving every earlier broadcast has been delivered.
 */
export async function fence(sockets, at = 0, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const marker = uid('fence');
  const waits = sockets.map((s) => waitFor(s, 'test:fence', (p) => p?.marker === marker, timeoutMs));
  await restOk(at, 'POST', '/api/server/emit', { serverKey: true, body: { to: { all: true }, event: 'test:fence', data: { marker } } });
  await Promise.all(waits);
}

/** Counts events of one kind per receiver over a window. */
export function counter(socket, event, filter = () => true) {
  const times = [];
  const h = (p) => { if (filter(p)) times.push({ at: Date.now(), p }); };
  socket.on(event, h);
  return { times, stop: () => socket.off(event, h) };
}

export { delay };
