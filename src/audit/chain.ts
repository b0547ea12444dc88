// Tamper evidence for the audit log: each record carries the hash of the previous record of its instance.
import { canonicalJson, sha256Hex } from './canonical.js';
import type { AuditEvent } from './sink.js';

/** The prev_hash of an instance's first record. */
export const GENESIS = '0'.repeat(64);

export type ChainProblem = { instance: string; seq: number; id: string; what: string };
export type ChainVerdict = { ok: true; checked: number; instances: number } | { ok: false; checked: number; problem: ChainProblem };

/**
 * sha256 hex of `prevHash`, a newline and the canonical JSON of the event without its `hash` and `prev_hash`.
 * Absent fields are left out; so are top-level nulls, because SQL sinks read an absent column back as NULL and
 * no AuditEvent field is nullable, so this loses nothing.
 */
export function chainHash(prevHash: string, event: AuditEvent): string {
  const content: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(event)) {
    if (field !== 'hash' && field !== 'prev_hash' && value !== undefined && value !== null) content[field] = value;
  }
  return sha256Hex(`${prevHash}\n${canonicalJson(content)}`);
}

/** A chainer for one instance: give it that instance's events in seq order; it returns them with both hashes set. */
export function createChain(): (event: AuditEvent) => AuditEvent {
  let prev = GENESIS;
  return (event) => {
    const hash = chainHash(prev, event);
    const chained: AuditEvent = { ...event, prev_hash: prev, hash };
    prev = hash;
    return chained;
  };
}

/**
 * Checks the records of every instance in `events` (any interleaving and order): consecutive seqs, each linked to
 * the previous hash, each hash matching its content. An instance's first record may have any seq when retention
 * pruned the ones before it, as long as it carries a prev_hash. Stops at the first problem; `checked` counts the
 * records verified before it.
 *
 * What a keyless chain cannot show: records removed from the end (or from the start, which looks like pruning),
 * and a rewrite that recomputes every hash after the change. Anchoring the latest hash elsewhere covers those.
 */
export function verifyChain(events: Iterable<AuditEvent>): ChainVerdict {
  const byInstance = new Map<string, AuditEvent[]>();
  for (const event of events) {
    const list = byInstance.get(event.instance);
    if (list) list.push(event);
    else byInstance.set(event.instance, [event]);
  }
  let checked = 0;
  for (const [instance, records] of byInstance) {
    records.sort((a, b) => a.seq - b.seq);
    let previous: AuditEvent | undefined;
    for (const record of records) {
      const what = linkProblem(previous, record);
      if (what !== undefined) return { ok: false, checked, problem: { instance, seq: record.seq, id: record.id, what } };
      checked++;
      previous = record;
    }
  }
  return { ok: true, checked, instances: byInstance.size };
}

/** Why `record` does not follow `previous` (undefined: it is the first of its instance), or undefined when it does. */
function linkProblem(previous: AuditEvent | undefined, record: AuditEvent): string | undefined {
  if (record.hash === undefined || record.prev_hash === undefined) return 'not chained';
  if (!Number.isSafeInteger(record.seq) || record.seq < 1) return `seq ${String(record.seq)} is not a positive integer`;
  if (previous === undefined) {
    // seq 1 must start from genesis; a later seq is a start left by pruning and links to a record no longer here.
    if (record.seq === 1 && record.prev_hash !== GENESIS) return 'chain broken';
  } else {
    if (record.seq === previous.seq) return `duplicate seq ${record.seq}`;
    if (record.seq !== previous.seq + 1) return `record(s) missing between seq ${previous.seq} and ${record.seq}`;
    if (record.prev_hash !== previous.hash) return 'chain broken';
  }
  if (record.hash !== chainHash(record.prev_hash, record)) return 'record edited';
  return undefined;
}
