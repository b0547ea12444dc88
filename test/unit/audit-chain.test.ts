// The audit hash chain: any edit, deletion, reordering or forgery in the log is found and the record named.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { chainHash, createChain, GENESIS, verifyChain } from '../../src/audit/chain.js';
import type { AuditEvent } from '../../src/audit/sink.js';

const INSTANCES = ['host-a:101:x1', 'host-b:202:y2', 'host-c:303:z3'];
const RECORDS_PER_INSTANCE = 5;

/** One instance's records, chained as the gateway writes them: a call event, then its result. */
function instanceLog(instance: string, count = RECORDS_PER_INSTANCE): AuditEvent[] {
  const chain = createChain();
  const events: AuditEvent[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const base = { id: `${instance}#${seq}`, time: 1_700_000_000_000 + seq * 10, instance, seq };
    const event: AuditEvent =
      seq % 2 === 1
        ? { ...base, kind: 'call', server: 'pay', tool: 'create_payment', agent: 'bot', args: { amount: seq, to: { iban: '[REDACTED]' } }, args_hash: 'a'.repeat(64), decision: 'allowed', rule: 'servers.pay.tools.create_payment', decision_ms: 1 }
        : { ...base, kind: 'result', call_id: `${instance}#${seq - 1}`, outcome: 'ok', upstream_ms: 12 };
    events.push(chain(event));
  }
  return events;
}

/** Several instances' records interleaved the way a shared sink returns them (ordered by time across instances). */
function interleavedLog(): AuditEvent[] {
  const logs = INSTANCES.map((i) => instanceLog(i));
  const out: AuditEvent[] = [];
  for (let n = 0; n < RECORDS_PER_INSTANCE; n++) for (const log of logs) out.push(log[n]!);
  return out;
}

const find = (events: AuditEvent[], instance: string, seq: number): number => events.findIndex((e) => e.instance === instance && e.seq === seq);

function problemOf(events: Iterable<AuditEvent>): { instance: string; seq: number; id: string; what: string } {
  const verdict = verifyChain(events);
  assert.equal(verdict.ok, false, 'tampering went unnoticed');
  if (verdict.ok) throw new Error('unreachable');
  return verdict.problem;
}

describe('chainHash and createChain', () => {
  test('chainHash is sha256 over prev hash, newline, canonical JSON of the event without hash and prev_hash', () => {
    const event: AuditEvent = { seq: 1, id: 'e1', kind: 'reload', time: 5, instance: 'i', detail: 'ok', hash: 'h', prev_hash: 'p' };
    const expected = createHash('sha256').update(`${GENESIS}\n{"detail":"ok","id":"e1","instance":"i","kind":"reload","seq":1,"time":5}`).digest('hex');
    assert.equal(chainHash(GENESIS, event), expected);
  });

  test('key order and undefined fields do not change the hash; any value or the previous hash does', () => {
    const a: AuditEvent = { id: 'e', time: 1, kind: 'call', instance: 'i', seq: 1, args: { x: 1, y: [1, 2] } };
    const b: AuditEvent = { args: { y: [1, 2], x: 1 }, seq: 1, instance: 'i', kind: 'call', time: 1, id: 'e' };
    const withUndefined = { ...a, reason: undefined } as unknown as AuditEvent;
    assert.equal(chainHash(GENESIS, a), chainHash(GENESIS, b));
    assert.equal(chainHash(GENESIS, a), chainHash(GENESIS, withUndefined));
    assert.notEqual(chainHash(GENESIS, a), chainHash('1'.repeat(64), a));
    assert.notEqual(chainHash(GENESIS, a), chainHash(GENESIS, { ...a, args: { x: 1, y: [2, 1] } }));
  });

  test('GENESIS is 64 zeros', () => {
    assert.equal(GENESIS, '0'.repeat(64));
  });

  test('createChain links each event to the one before, starting from GENESIS, without mutating its input', () => {
    const chain = createChain();
    const input: AuditEvent = { id: 'e1', time: 1, kind: 'reload', instance: 'i', seq: 1 };
    const first = chain(input);
    const second = chain({ id: 'e2', time: 2, kind: 'reload', instance: 'i', seq: 2 });
    assert.equal(input.hash, undefined);
    assert.equal(first.prev_hash, GENESIS);
    assert.equal(first.hash, chainHash(GENESIS, first));
    assert.equal(second.prev_hash, first.hash);
    assert.equal(second.hash, chainHash(first.hash!, second));
    assert.equal(createChain()({ ...input }).hash, first.hash, 'a new chain starts again from GENESIS');
  });
});

describe('verifyChain accepts intact logs', () => {
  test('several instances interleaved', () => {
    const events = interleavedLog();
    assert.deepEqual(verifyChain(events), { ok: true, checked: events.length, instances: INSTANCES.length });
  });

  test('in any input order (the sink may return newest first)', () => {
    const events = interleavedLog().reverse();
    assert.deepEqual(verifyChain(events), { ok: true, checked: events.length, instances: INSTANCES.length });
  });

  test('from any iterable, and an empty log', () => {
    assert.deepEqual(verifyChain(new Set(instanceLog('i'))), { ok: true, checked: RECORDS_PER_INSTANCE, instances: 1 });
    assert.deepEqual(verifyChain([]), { ok: true, checked: 0, instances: 0 });
  });

  test('a prefix pruned by retention, in one instance or all', () => {
    const events = interleavedLog();
    const pruneOne = events.filter((e) => !(e.instance === INSTANCES[1] && e.seq <= 2));
    assert.deepEqual(verifyChain(pruneOne), { ok: true, checked: pruneOne.length, instances: 3 });
    const pruneAll = events.filter((e) => e.seq > 3);
    assert.deepEqual(verifyChain(pruneAll), { ok: true, checked: pruneAll.length, instances: 3 });
  });

  test('records read back from SQL with NULL for absent fields', () => {
    const fromSql = instanceLog('i').map((e) => ({ server: null, tool: null, reason: null, ...e }) as unknown as AuditEvent);
    assert.equal(verifyChain(fromSql).ok, true);
  });
});

describe('verifyChain finds tampering and names the record', () => {
  const edits: Record<string, (e: AuditEvent) => AuditEvent> = {
    'args (nested value)': (e) => ({ ...e, args: { amount: 1_000_000, to: { iban: '[REDACTED]' } } }),
    'args added': (e) => ({ ...e, args: { extra: true } }),
    decision: (e) => ({ ...e, decision: e.decision === 'denied' ? 'allowed' : 'denied' }),
    time: (e) => ({ ...e, time: e.time + 1 }),
    tool: (e) => ({ ...e, tool: 'refund' }),
    outcome: (e) => ({ ...e, outcome: 'tool_error' }),
    'a field removed': (e) => {
      const { kind: _removed, ...rest } = e;
      return rest as AuditEvent;
    },
    'its own hash replaced': (e) => ({ ...e, hash: 'f'.repeat(64) }),
  };
  for (const [field, edit] of Object.entries(edits)) {
    test(`editing ${field} of any record of any instance`, () => {
      const original = interleavedLog();
      for (let index = 0; index < original.length; index++) {
        const events = [...original];
        const target = events[index]!;
        events[index] = edit(target);
        assert.deepEqual(problemOf(events), { instance: target.instance, seq: target.seq, id: target.id, what: 'record edited' }, `record ${target.id}`);
      }
    });
  }

  test('editing prev_hash breaks the chain at that record', () => {
    const events = interleavedLog();
    const i = find(events, INSTANCES[2]!, 3);
    events[i] = { ...events[i]!, prev_hash: GENESIS };
    assert.deepEqual(problemOf(events), { instance: INSTANCES[2], seq: 3, id: `${INSTANCES[2]}#3`, what: 'chain broken' });
  });

  test('a record edited and re-hashed breaks the link to the next one', () => {
    const events = interleavedLog();
    const i = find(events, INSTANCES[0]!, 2);
    const edited = { ...events[i]!, outcome: 'tool_error' as const };
    events[i] = { ...edited, hash: chainHash(edited.prev_hash!, edited) };
    assert.deepEqual(problemOf(events), { instance: INSTANCES[0], seq: 3, id: `${INSTANCES[0]}#3`, what: 'chain broken' });
  });

  test('deleting a middle record', () => {
    const events = instanceLog('solo');
    events.splice(2, 1);
    assert.deepEqual(verifyChain(events), {
      ok: false,
      checked: 2,
      problem: { instance: 'solo', seq: 4, id: 'solo#4', what: 'record(s) missing between seq 2 and 4' },
    });
  });

  test('deleting several middle records of one instance among others', () => {
    const events = interleavedLog().filter((e) => !(e.instance === INSTANCES[1] && (e.seq === 2 || e.seq === 3)));
    assert.deepEqual(problemOf(events), { instance: INSTANCES[1], seq: 4, id: `${INSTANCES[1]}#4`, what: 'record(s) missing between seq 1 and 4' });
  });

  test('deleting a middle record and renumbering the rest', () => {
    const events = instanceLog('solo');
    events.splice(2, 1);
    const renumbered = events.map((e) => (e.seq > 3 ? { ...e, seq: e.seq - 1 } : e));
    assert.deepEqual(problemOf(renumbered), { instance: 'solo', seq: 3, id: 'solo#4', what: 'chain broken' });
  });

  test('reordering: two records swap places in the sequence', () => {
    const events = instanceLog('solo');
    const swapped = events.map((e) => (e.seq === 2 ? { ...e, seq: 3 } : e.seq === 3 ? { ...e, seq: 2 } : e));
    assert.deepEqual(problemOf(swapped), { instance: 'solo', seq: 2, id: 'solo#3', what: 'chain broken' });
  });

  test('moving a record to another instance', () => {
    const events = interleavedLog();
    const i = find(events, INSTANCES[0]!, 5);
    events[i] = { ...events[i]!, instance: INSTANCES[1]!, seq: 6 };
    assert.deepEqual(problemOf(events), { instance: INSTANCES[1], seq: 6, id: `${INSTANCES[0]}#5`, what: 'chain broken' });
  });

  test('a forged record inserted with a correct hash beside a real one of the same seq', () => {
    const events = instanceLog('solo');
    const forged: AuditEvent = { ...events[2]!, id: 'forged', decision: 'denied' };
    forged.hash = chainHash(forged.prev_hash!, forged);
    const problem = problemOf([...events, forged]);
    assert.equal(problem.seq, 3);
    assert.equal(problem.what, 'duplicate seq 3');
  });

  test('a forged record inserted mid-chain, the later records renumbered', () => {
    const events = instanceLog('solo');
    const forged: AuditEvent = { id: 'forged', time: events[1]!.time + 1, kind: 'reload', instance: 'solo', seq: 3, prev_hash: events[1]!.hash! };
    forged.hash = chainHash(forged.prev_hash!, forged);
    const tampered = [...events.slice(0, 2), forged, ...events.slice(2).map((e) => ({ ...e, seq: e.seq + 1 }))];
    assert.deepEqual(problemOf(tampered), { instance: 'solo', seq: 4, id: 'solo#3', what: 'chain broken' });
  });

  test('a record without a hash is not chained', () => {
    const events = interleavedLog();
    const i = find(events, INSTANCES[1]!, 3);
    const { hash: _dropped, ...unhashed } = events[i]!;
    events[i] = unhashed;
    assert.deepEqual(problemOf(events), { instance: INSTANCES[1], seq: 3, id: `${INSTANCES[1]}#3`, what: 'not chained' });
  });

  test('a pruned start without prev_hash is not chained', () => {
    const events = instanceLog('solo').slice(2);
    const { prev_hash: _dropped, ...first } = events[0]!;
    events[0] = first;
    assert.deepEqual(problemOf(events), { instance: 'solo', seq: 3, id: 'solo#3', what: 'not chained' });
  });

  test('seq 1 must start from GENESIS', () => {
    const chain = createChain();
    chain({ id: 'earlier', time: 0, kind: 'reload', instance: 'x', seq: 1 });
    const notFirst = chain({ id: 'x#1', time: 1, kind: 'reload', instance: 'x', seq: 1 });
    assert.deepEqual(problemOf([notFirst]), { instance: 'x', seq: 1, id: 'x#1', what: 'chain broken' });
  });
});
