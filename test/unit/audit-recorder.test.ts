// The recorder between the gateway and its audit sink: batched writes off the call path, strict commits that fail
// closed, retries that lose nothing, records chained in write order, text every sink can store.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyChain } from '../../src/audit/chain.js';
import { createAuditRecorder } from '../../src/audit/recorder.js';
import type { AuditEvent, AuditSink } from '../../src/audit/sink.js';
import { AuditSettingsSchema, type AuditSettings } from '../../src/config/audit-schema.js';
import type { Logger } from '../../src/log.js';

/** An in-memory sink whose writes can be made to fail or to wait. */
function memorySink(writeMs = 0) {
  const writes: AuditEvent[][] = [];
  let failing: Error | undefined;
  let gate: Promise<void> | undefined;
  const sink: AuditSink = {
    kind: 'sqlite',
    async write(events) {
      if (gate) await gate;
      if (writeMs > 0) await sleep(writeMs);
      if (failing) throw failing;
      writes.push(structuredClone([...events]));
    },
    async query() {
      return writes.flat();
    },
    async prune() {
      return 0;
    },
    async close() {},
  };
  return {
    sink,
    writes,
    all: () => writes.flat(),
    fail: (err: Error | undefined) => (failing = err),
    hold: () => {
      let open!: () => void;
      gate = new Promise<void>((r) => (open = r));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

const quiet: Logger & { lines: string[] } = Object.assign(
  { lines: [] as string[] },
  { debug() {}, info() {}, warn() {}, error(m: string) { quiet.lines.push(m); } },
);
const settings = (over: Record<string, unknown> = {}): AuditSettings => AuditSettingsSchema.parse({ flush_ms: 20, ...over });

describe('audit recorder', () => {
  test('batched: record() returns at once and records reach the sink together, in order, within flush_ms', async () => {
    const m = memorySink();
    const s = settings();
    const rec = createAuditRecorder(m.sink, () => s, quiet);
    const ids = [1, 2, 3].map((n) => {
      const r = rec.record({ kind: 'call', server: 's', tool: `t${n}`, decision: 'allowed', arguments: { n, password: 'pw' } });
      assert.equal(r.committed, undefined, 'nothing to wait for under batched durability');
      return r.id;
    });
    assert.equal(m.writes.length, 0, 'nothing written on the call path');
    await sleep(80);
    assert.equal(m.writes.length, 1, 'one write for the three records');
    assert.deepEqual(m.all().map((e) => e.id), ids);
    assert.deepEqual(m.all().map((e) => e.seq), [1, 2, 3]);
    const first = m.all()[0]!;
    assert.deepEqual(first.args, { n: 1, password: '[REDACTED]' });
    assert.match(first.args_hash ?? '', /^[0-9a-f]{64}$/);
    assert.equal(typeof first.time, 'number');
    assert.equal(first.instance, rec.instance);
    await rec.close();
  });

  test('strict: committed resolves after the write; a failed write rejects it and leaves nothing pending', async () => {
    const m = memorySink();
    const s = settings({ durability: 'strict' });
    const rec = createAuditRecorder(m.sink, () => s, quiet);
    const release = m.hold();
    const a = rec.record({ kind: 'call', server: 's', decision: 'allowed' });
    let done = false;
    void a.committed!.then(() => (done = true));
    await sleep(20);
    assert.equal(done, false, 'not committed while the write waits');
    release();
    await a.committed;
    assert.equal(m.all().length, 1);

    m.fail(new Error('disk full'));
    const b = rec.record({ kind: 'call', server: 's', decision: 'allowed' });
    await assert.rejects(b.committed!, /could not record this call: disk full/);
    m.fail(undefined);
    assert.equal(rec.buffered(), 0, 'the refused call left no record to write later');
    await rec.close();
  });

  test('batched records survive a failing sink and are written once it works again', async () => {
    const m = memorySink();
    const s = settings();
    const rec = createAuditRecorder(m.sink, () => s, quiet);
    m.fail(new Error('connection refused'));
    for (let n = 0; n < 5; n++) rec.record({ kind: 'call', server: 's', tool: `t${n}`, decision: 'denied' });
    await sleep(60);
    assert.equal(m.all().length, 0);
    assert.equal(rec.buffered(), 5);
    assert.ok(quiet.lines.some((l) => /connection refused/.test(l)), 'the failure is logged');
    m.fail(undefined);
    await rec.flush();
    assert.deepEqual(m.all().map((e) => e.tool), ['t0', 't1', 't2', 't3', 't4']);
    await rec.close();
  });

  test('hash_chain: the written records verify, and the chain follows write order across batches', async () => {
    const m = memorySink();
    const s = settings({ hash_chain: true });
    const rec = createAuditRecorder(m.sink, () => s, quiet);
    for (let n = 0; n < 3; n++) rec.record({ kind: 'call', server: 's', tool: `a${n}`, decision: 'allowed' });
    await rec.flush();
    for (let n = 0; n < 3; n++) rec.record({ kind: 'result', server: 's', tool: `a${n}`, outcome: 'ok' });
    await rec.close();
    assert.ok(m.writes.length >= 2);
    const result = verifyChain(m.all());
    assert.equal(result.ok, true, JSON.stringify(result));
    const edited = m.all().map((e, i) => (i === 4 ? { ...e, outcome: 'tool_error' as const } : e));
    assert.equal(verifyChain(edited).ok, false);
  });

  test('text a sink cannot store (NUL, lone surrogates) is replaced before hashing, in names and arguments alike', async () => {
    const m = memorySink();
    const s = settings({ hash_chain: true });
    const rec = createAuditRecorder(m.sink, () => s, quiet);
    rec.record({ kind: 'call', server: 's', tool: 'del\u0000ete', reason: 'x\uD800y', decision: 'denied', arguments: { 'k\u0000': 'v\uDC00' } });
    await rec.close();
    const [e] = m.all();
    assert.equal(e!.tool, 'del\uFFFDete');
    assert.equal(e!.reason, 'x\uFFFDy');
    assert.deepEqual(e!.args, { 'k\uFFFD': 'v\uFFFD' });
    assert.equal(verifyChain(m.all()).ok, true);
  });

  test('a result that comes before its call record is written is folded into it; a later one is a record of its own', async () => {
    const m = memorySink();
    const s = settings();
    const rec = createAuditRecorder(m.sink, () => s, quiet);
    const quick = rec.record({ kind: 'call', server: 's', tool: 'quick', decision: 'allowed' });
    rec.record({ kind: 'result', call_id: quick.id, server: 's', tool: 'quick', outcome: 'ok', upstream_ms: 3 });
    const slow = rec.record({ kind: 'call', server: 's', tool: 'slow', decision: 'allowed' });
    await rec.flush();
    rec.record({ kind: 'result', call_id: slow.id, server: 's', tool: 'slow', outcome: 'tool_error', upstream_ms: 900 });
    await rec.close();
    assert.deepEqual(
      m.all().map((e) => [e.kind, e.tool, e.outcome, e.upstream_ms, e.call_id]),
      [
        ['call', 'quick', 'ok', 3, undefined],
        ['call', 'slow', undefined, undefined, undefined],
        ['result', 'slow', 'tool_error', 900, slow.id],
      ],
    );
  });

  test('under a steady stream of records, batched writes wait for flush_ms instead of chasing every record', async () => {
    // Each write takes 20 ms: records arriving meanwhile must wait for the next flush, not start a write at once.
    const m = memorySink(20);
    const s = settings({ flush_ms: 100 });
    const rec = createAuditRecorder(m.sink, () => s, quiet);
    const end = Date.now() + 450;
    while (Date.now() < end) {
      rec.record({ kind: 'call', server: 's', decision: 'denied' });
      await sleep(2);
    }
    await rec.close();
    assert.ok(m.writes.length <= 7, `${m.writes.length} writes for ~450 ms of records at flush_ms 100`);
    assert.ok(m.all().length > 50);
  });

  test('arguments: keys keeps only the shape, none only the hash', async () => {
    for (const [mode, expected] of [
      ['keys', { user: { name: 'string', age: 'number' } }],
      ['none', undefined],
    ] as const) {
      const m = memorySink();
      const s = settings({ arguments: mode });
      const rec = createAuditRecorder(m.sink, () => s, quiet);
      rec.record({ kind: 'call', server: 's', decision: 'allowed', arguments: { user: { name: 'Ada', age: 36 } } });
      await rec.close();
      assert.deepEqual(m.all()[0]!.args, expected, mode);
      assert.match(m.all()[0]!.args_hash ?? '', /^[0-9a-f]{64}$/);
    }
  });
});
