// Audit records as files people take elsewhere: JSON Lines, and CSV that is safe to open in a spreadsheet.
import type { AuditEvent } from './sink.js';

export function toJsonl(rows: readonly AuditEvent[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('');
}

const CSV_FIELDS = ['time', 'id', 'kind', 'instance', 'seq', 'server', 'tool', 'agent', 'session', 'protocol', 'decision', 'rule', 'reason', 'outcome', 'decision_ms', 'upstream_ms', 'approval_id', 'call_id', 'args_hash', 'args', 'detail', 'prev_hash', 'hash'] as const;

export function toCsv(rows: readonly AuditEvent[]): string {
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) return '';
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    // A leading = + - @ would run as a formula in a spreadsheet: prefix a ' (OWASP's advice for CSV injection).
    const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const lines = rows.map((r) => CSV_FIELDS.map((f) => cell(f === 'time' ? new Date(r.time).toISOString() : (r as unknown as Record<string, unknown>)[f])).join(','));
  return [CSV_FIELDS.join(','), ...lines].join('\n') + '\n';
}
