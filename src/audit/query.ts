// Reading the audit log as people ask about it: calls with how they ended, time bounds written as people write them.
import { windowMs } from '../config/limits-schema.js';
import type { AuditDecision, AuditEvent, AuditFilter, AuditKind, AuditSink } from './sink.js';

const KINDS: readonly AuditKind[] = ['call', 'result', 'reload', 'tools_changed', 'admin'];

export const DECISIONS: readonly AuditDecision[] = ['allowed', 'denied', 'rate_limited', 'hidden', 'held', 'approved', 'denied_by_human', 'expired', 'withdrawn', 'shadow', 'malformed'];

/**
 * The filter of a query written as text (CLI options, URL query parameters): server, tool, agent, session, kind,
 * decision, since, until, limit (default 100). Throws with what is wrong and what to write instead.
 */
export function buildAuditFilter(get: (name: string) => string | undefined): AuditFilter {
  const filter: AuditFilter = { limit: 100 };
  for (const k of ['server', 'tool', 'agent', 'session'] as const) {
    const v = get(k);
    if (v !== undefined) filter[k] = v;
  }
  const kind = get('kind');
  if (kind !== undefined) {
    if (!KINDS.includes(kind as AuditKind)) throw new Error(`kind "${kind}" is not one of ${KINDS.join(', ')}`);
    filter.kind = kind as AuditKind;
  }
  const decision = get('decision');
  if (decision !== undefined) {
    if (!(DECISIONS as readonly string[]).includes(decision)) throw new Error(`decision "${decision}" is not one of ${DECISIONS.join(', ')}`);
    filter.decision = decision as AuditDecision;
  }
  for (const k of ['since', 'until'] as const) {
    const v = get(k);
    if (v !== undefined) filter[k] = parseTimeBound(v);
  }
  const limit = get('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`limit "${limit}" is not a positive whole number`);
    filter.limit = n;
  }
  return filter;
}

/** A `call` record with what its `result` record says (absent while the call is in flight, or if it never ran). */
export interface CallRow extends AuditEvent {
  outcome?: NonNullable<AuditEvent['outcome']>;
  upstream_ms?: number;
}

/**
 * Records matching the filter; without `kind`, tool calls, each joined with its result (the `result` records are
 * folded into their calls). `kind: 'reload'` etc. lists those records as they are.
 */
export async function queryCalls(sink: AuditSink, filter: AuditFilter): Promise<CallRow[]> {
  const events = await sink.query({ ...filter, ...(filter.kind === undefined && { kind: 'call' }) });
  const calls = events.filter((e) => e.kind === 'call');
  if (calls.length === 0) return events;
  const results = new Map<string, AuditEvent>();
  // Bounded id lists keep every backend's query (SQL IN lists) small.
  for (let i = 0; i < calls.length; i += 500) {
    const ids = calls.slice(i, i + 500).map((c) => c.id);
    for (const r of await sink.query({ kind: 'result', call_ids: ids, limit: ids.length * 2 })) if (r.call_id) results.set(r.call_id, r);
  }
  return events.map((e) => {
    const r = e.kind === 'call' ? results.get(e.id) : undefined;
    if (!r) return e;
    const row: CallRow = { ...e };
    if (r.outcome !== undefined) row.outcome = r.outcome;
    if (r.upstream_ms !== undefined) row.upstream_ms = r.upstream_ms;
    return row;
  });
}

/**
 * A time bound: an ISO date or date-time (`2026-11-25`, `2026-11-25T10:00:00Z`), milliseconds since the epoch, or
 * a duration back from now (`90s`, `15m`, `2h`, `7d`).
 */
export function parseTimeBound(text: string, now = Date.now()): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?(s|m|h|d)$/.test(t)) return now - windowMs(t);
  if (/^\d{12,}$/.test(t)) return Number(t);
  const parsed = Date.parse(t);
  if (Number.isNaN(parsed)) {
    throw new Error(`"${text}" is not a time: use an ISO date (2026-11-25 or 2026-11-25T10:00:00Z), epoch milliseconds, or a duration back from now (15m, 2h, 7d)`);
  }
  return parsed;
}
