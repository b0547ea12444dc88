// The local audit sinks: the contract on SQLite and JSONL, SQLite's schema and several processes on one file, JSONL
// rotation and torn lines, and the stdout sink.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { createJsonlSink } from '../../src/audit/jsonl-sink.js';
import type { AuditEvent } from '../../src/audit/sink.js';
import { createSqliteSink } from '../../src/audit/sqlite-sink.js';
import { createStdoutSink } from '../../src/audit/stdout-sink.js';
import { ROOT, tempDir } from '../helpers/gateway.js';
import { runAuditSinkContract } from './audit-contract.js';

const dir = tempDir('pl-audit-');
after(() => rmSync(dir, { recursive: true, force: true }));

// The sqlite file in a directory the sink creates; the rotating jsonl run spreads the contract over many files.
runAuditSinkContract('sqlite', async () => createSqliteSink(path.join(dir, 'nested/sqlite/audit.db')));
runAuditSinkContract('jsonl', async () => createJsonlSink(path.join(dir, 'nested/jsonl/audit.jsonl')));
runAuditSinkContract('jsonl, rotating every 256 KiB', async () =>
  createJsonlSink(path.join(dir, 'rotating/audit.jsonl'), { maxBytes: 256 * 1024, keep: 100 }),
);

const event = (i: number, fields: Partial<AuditEvent> = {}): AuditEvent => ({
  id: `e${i}`,
  time: 1_700_000_000_000 + i,
  kind: 'call',
  instance: 'host:1:abc',
  seq: i + 1,
  server: 'fs',
  tool: 'read_file',
  ...fields,
});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => event(from + k));
const ALL = { limit: 1_000_000 };

describe('sqlite audit sink', () => {
  test('file: WAL, schema version 1, one column per field, the indexes the queries use', async () => {
    const file = path.join(dir, 'schema/audit.db');
    await createSqliteSink(file).close();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), 1);
      const columns = (db.prepare("SELECT name FROM pragma_table_info('audit_events')").all() as { name: string }[]).map((c) => c.name);
      assert.deepEqual(columns.sort(), Object.keys(fullEvent()).sort());
      const indexes = db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events'")
        .all()
        .map(({ name }) => (db.prepare(`SELECT name FROM pragma_index_info('${name}')`).all() as { name: string }[]).map((c) => c.name).join(','));
      for (const want of ['id', 'time,instance,seq', 'server,tool,time', 'agent,time', 'decision,time', 'call_id']) {
        assert.ok(indexes.includes(want), `an index on (${want}); found ${indexes.join(' | ')}`);
      }
    } finally {
      db.close();
    }
  });

  test('a file from a newer policylayer (schema version 2) is refused, naming the versions', () => {
    const file = path.join(dir, 'newer/audit.db');
    createSqliteSink(file).close();
    const db = new Database(file);
    db.pragma('user_version = 2');
    db.close();
    assert.throws(() => createSqliteSink(file), /audit\.db: opening failed: .*schema version 2, newer than this policylayer knows \(1\)/);
  });

  test('a batch written again (a retry after an unclear failure) is stored once', async (t) => {
    const sink = createSqliteSink(path.join(dir, 'retry/audit.db'));
    t.after(() => sink.close());
    await sink.write(range(0, 5));
    await sink.write(range(3, 8));
    assert.deepEqual(await sink.query(ALL), range(0, 8));
  });

  test('two processes writing one file at once: every event of both is there', async () => {
    const file = path.join(dir, 'processes/audit.db');
    const module = pathToFileURL(path.join(ROOT, 'dist/src/audit/sqlite-sink.js')).href;
    const code = `
      const { createSqliteSink } = await import(${JSON.stringify(module)});
      const sink = createSqliteSink(process.env.FILE);
      for (let b = 0; b < 40; b++) {
        await sink.write(Array.from({ length: 50 }, (_, k) => ({ id: process.env.WHO + (b * 50 + k), time: 1, kind: 'call', instance: process.env.WHO, seq: b * 50 + k + 1 })));
      }
      await sink.close();`;
    const child = (who: string) =>
      new Promise<void>((resolve, reject) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, FILE: file, WHO: who }, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.once('exit', (status) => (status === 0 ? resolve() : reject(new Error(`writer ${who} exited ${status}: ${err}`))));
      });
    await Promise.all([child('a'), child('b')]);
    const sink = createSqliteSink(file);
    try {
      const all = await sink.query(ALL);
      assert.equal(all.filter((e) => e.instance === 'a').length, 2000);
      assert.equal(all.filter((e) => e.instance === 'b').length, 2000);
    } finally {
      await sink.close();
    }
  });
});

describe('jsonl audit sink', () => {
  const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const rotatedFiles = (d: string) => readdirSync(d).filter((f) => /^audit\.jsonl\.\d+$/.test(f)).sort();

  test('rotates by size, keeps at most `keep` old files, and queries see every kept event', async (t) => {
    const d = path.join(dir, 'rotation');
    const file = path.join(d, 'audit.jsonl');
    const sink = createJsonlSink(file, { maxBytes: 1000, keep: 3 });
    t.after(() => sink.close());
    const written = range(0, 60);
    for (const e of written) await sink.write([e]);
    assert.deepEqual(rotatedFiles(d), ['audit.jsonl.1', 'audit.jsonl.2', 'audit.jsonl.3']);
    for (const f of ['audit.jsonl', ...rotatedFiles(d)]) assert.ok(statSync(path.join(d, f)).size <= 1000, `${f} within maxBytes`);
    const kept = ['audit.jsonl.3', 'audit.jsonl.2', 'audit.jsonl.1', 'audit.jsonl'].flatMap((f) => lines(path.join(d, f)));
    const got = await sink.query(ALL);
    assert.ok(got.length > lines(file).length, 'rotated files are read too');
    // The oldest files were deleted: what is left is the newest events, contiguous, in order.
    assert.deepEqual(got, written.slice(written.length - kept.length));
    assert.deepEqual(got.map((e) => JSON.stringify(e)), kept);
  });

  test('keep: 0 keeps no old file; a batch larger than maxBytes is written whole into a fresh file', async (t) => {
    const d = path.join(dir, 'keep0');
    const file = path.join(d, 'audit.jsonl');
    const sink = createJsonlSink(file, { maxBytes: 500, keep: 0 });
    t.after(() => sink.close());
    await sink.write([event(0)]);
    await sink.write(range(1, 11));
    assert.deepEqual(rotatedFiles(d), []);
    assert.equal(lines(file).length, 10, 'the batch is not split');
    assert.deepEqual(await sink.query(ALL), range(1, 11));
  });

  test('a torn last line (a crash mid-write) is skipped, and the next write starts on a line of its own', async (t) => {
    const file = path.join(dir, 'torn/audit.jsonl');
    const first = createJsonlSink(file);
    await first.write(range(0, 3));
    await first.close();
    appendFileSync(file, JSON.stringify(event(3)).slice(0, 40));
    const sink = createJsonlSink(file);
    t.after(() => sink.close());
    assert.deepEqual(await sink.query(ALL), range(0, 3));
    await sink.write([event(4)]);
    assert.deepEqual(await sink.query(ALL), [...range(0, 3), event(4)]);
    assert.equal(readFileSync(file, 'utf8').split('\n').length, 6, '3 events, the torn fragment, the new event, a final newline');
  });

  test('prune deletes rotated files that are entirely older, rewrites the others, and writing goes on', async (t) => {
    const d = path.join(dir, 'prune');
    const sink = createJsonlSink(path.join(d, 'audit.jsonl'), { maxBytes: 600, keep: 50 });
    t.after(() => sink.close());
    for (const e of range(0, 40)) await sink.write([e]);
    const before = rotatedFiles(d).length;
    assert.ok(before >= 5, `${before} rotated files`);
    assert.equal(await sink.prune(event(25).time), 25);
    assert.ok(rotatedFiles(d).length < before, 'whole old files were deleted');
    assert.deepEqual(await sink.query(ALL), range(25, 40));
    assert.equal(await sink.prune(event(39).time), 14, 'also in the current file');
    await sink.write([event(40)]);
    assert.deepEqual(await sink.query(ALL), [event(39), event(40)]);
  });

  test('writes made at once by two sinks on one file, racing a prune, stay whole lines and are all kept', async (t) => {
    const file = path.join(dir, 'concurrent/audit.jsonl');
    const a = createJsonlSink(file, { maxBytes: 4000, keep: 100 });
    const b = createJsonlSink(file, { maxBytes: 4000, keep: 100 });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const old = range(0, 50).map((e) => ({ ...e, time: 0 }));
    await a.write(old);
    const batches = Array.from({ length: 40 }, (_, i) => range(100 + i * 5, 100 + i * 5 + 5));
    const [pruned] = await Promise.all([a.prune(1), ...batches.map((batch, i) => (i % 2 ? a : b).write(batch))]);
    assert.equal(pruned, 50);
    assert.deepEqual(await a.query(ALL), batches.flat());
  });

  test('a sink writes to the current file after another sink rotated or pruned it', async (t) => {
    const d = path.join(dir, 'reopen');
    const file = path.join(d, 'audit.jsonl');
    const a = createJsonlSink(file, { maxBytes: 500, keep: 5 });
    const b = createJsonlSink(file, { maxBytes: 500, keep: 5 });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    await b.write([event(0)]);
    for (const e of range(1, 10)) await a.write([e]);
    assert.ok(rotatedFiles(d).length > 0, 'a rotated the file b has open');
    const current = lines(file);
    assert.ok(current.length > 0);
    await b.write([event(10)]);
    assert.deepEqual(lines(file), [...current, JSON.stringify(event(10))], 'b appended to the current file');
    // A prune rewrites the current file: a write to the replaced one would be lost.
    await a.write([event(11)]);
    assert.equal(await a.prune(event(11).time), 11);
    await b.write([event(12)]);
    assert.deepEqual(await a.query(ALL), [event(11), event(12)]);
  });
});

describe('stdout audit sink', () => {
  test('writes each batch as JSON lines with one write', async () => {
    const chunks: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const sink = createStdoutSink(out);
    assert.equal(sink.kind, 'stdout');
    await sink.write(range(0, 3));
    await sink.write([fullEvent()]);
    assert.equal(chunks.length, 2);
    assert.deepEqual(chunks.join('').split('\n').slice(0, -1).map((l) => JSON.parse(l)), [...range(0, 3), fullEvent()]);
  });

  test('query and prune are refused, saying which sinks can be queried', async () => {
    const sink = createStdoutSink(new Writable({ write: (_c, _e, done) => done() }));
    const message = /stdout audit sink keeps nothing.*sqlite:.*postgres:\/\/.*jsonl:/;
    await assert.rejects(sink.query({}), message);
    await assert.rejects(sink.prune(Date.now()), message);
  });
});

/** An event with every field set. */
function fullEvent(): AuditEvent {
  return event(99, {
    kind: 'result',
    agent: 'a',
    session: 's',
    protocol: '2025-06-18',
    args: { k: ['v', 1, null] },
    args_hash: 'h',
    decision: 'allowed',
    rule: 'r',
    reason: 'why',
    approval_id: 'ap',
    call_id: 'c',
    outcome: 'ok',
    decision_ms: 1,
    upstream_ms: 2,
    detail: 'd',
    prev_hash: 'p',
    hash: 'x',
  });
}
