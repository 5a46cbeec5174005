// docs/protocol.md §2.3 and §12.2: `GET /asyncapi.json` is a valid AsyncAPI 3.0
// document (checked with the official @asyncapi/parser) that names every command and
// every server event of docs/protocol.md's tables, with the rooms each event goes to.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import parserPackage from '@asyncapi/parser';
import { rest, startServer, stopServer } from '../lib/server.mjs';

const { Parser, DiagnosticSeverity } = parserPackage;
const PROTOCOL_MD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'protocol.md');

before(() => startServer());
after(() => stopServer());

/** The event names in the first column of every `| {column} | …` table of protocol.md. */
function documented(column) {
  const names = new Set();
  let inTable = false;
  for (const line of readFileSync(PROTOCOL_MD, 'utf8').split('\n')) {
    if (line.startsWith(`| ${column} `)) { inTable = true; continue; }
    if (!inTable) continue;
    if (!line.startsWith('|')) { inTable = false; continue; }
    const first = line.split('|')[1] ?? '';
    first.split('`').forEach((piece, i) => {
      if (i % 2 === 1 && (piece.includes(':') || piece === 'error') && !piece.includes(' ')) names.add(piece);
    });
  }
  return names;
}

test('GET /asyncapi.json parses as AsyncAPI 3.0 without errors and names every documented event and command', { timeout: 60_000 }, async () => {
  const res = await rest('GET', '/asyncapi.json');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.body.asyncapi, '3.0.0');

  const { document, diagnostics } = await new Parser().parse(JSON.stringify(res.body));
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  assert.deepEqual(errors.map((d) => `${d.code}: ${d.message} at ${JSON.stringify(d.path)}`), []);
  assert.ok(document, 'the parser returned a document');
  assert.equal(document.version(), '3.0.0');

  const messages = document.allMessages().all();
  const events = new Map();
  const commands = new Set();
  const acks = new Set();
  for (const m of messages) {
    const id = m.id();
    if (id.startsWith('event.')) events.set(m.name(), m);
    else if (id.startsWith('command.')) commands.add(m.name());
    else if (id.startsWith('ack.')) acks.add(m.name());
  }

  const documentedEvents = documented('event');
  assert.ok(documentedEvents.size >= 50, `protocol.md's event tables read: ${[...documentedEvents]}`);
  for (const name of documentedEvents) {
    const message = events.get(name);
    assert.ok(message, `${name} (docs/protocol.md) is a message of /asyncapi.json`);
    const rooms = message.json()['x-chorus-rooms'];
    assert.ok(Array.isArray(rooms) && rooms.length > 0, `${name} says where it goes`);
    assert.ok(message.hasPayload(), `${name} has a payload schema`);
  }
  assert.deepEqual([...events.keys()].filter((n) => !documentedEvents.has(n)), [], 'no event beyond protocol.md');

  const documentedCommands = documented('command');
  for (const name of documentedCommands) {
    assert.ok(commands.has(name), `command ${name} is a message`);
    assert.ok(acks.has(name), `command ${name} has its ack`);
  }
  assert.deepEqual([...commands].filter((n) => !documentedCommands.has(n)), [], 'no command beyond protocol.md');

  // Every command is received with a reply (its ack); every event is sent to a room channel.
  const operations = document.operations().all();
  assert.equal(operations.filter((o) => o.action() === 'receive' && o.reply()).length, documentedCommands.size);
  const contentRoom = document.channels().get('content');
  assert.equal(contentRoom?.address(), 'content:{contentId}');
  assert.ok(contentRoom.messages().all().some((m) => m.name() === 'content:like'));
});
