// The audit row shared by the SQL sinks (SQLite, Postgres): its columns, event ↔ row conversion, and a filter as SQL.
import type { AuditEvent, AuditFilter } from './sink.js';

/** Every AuditEvent field, one column each, in table order; `args` holds JSON text (jsonb in Postgres). */
export const AUDIT_COLUMNS = [
  'id',
  'time',
  'kind',
  'instance',
  'seq',
  'server',
  'tool',
  'agent',
  'session',
  'protocol',
  'args',
  'args_hash',
  'decision',
  'rule',
  'reason',
  'approval_id',
  'call_id',
  'outcome',
  'decision_ms',
  'upstream_ms',
  'detail',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditEvent)[];

// A field added to AuditEvent without a column here stops the build instead of being dropped silently.
type Unstored = Exclude<keyof AuditEvent, (typeof AUDIT_COLUMNS)[number]>;
const everyFieldHasAColumn: [Unstored] extends [never] ? true : Unstored = true;
void everyFieldHasAColumn;

export type SqlValue = string | number | null;

// Postgres returns bigint columns as strings; numbers are numbers again whichever driver read them.
const NUMERIC = new Set<string>(['time', 'seq', 'decision_ms', 'upstream_ms']);

/** The event's values in AUDIT_COLUMNS order: an absent field is NULL, `args` its JSON text. */
export function eventValues(event: AuditEvent): SqlValue[] {
  return AUDIT_COLUMNS.map((column) => {
    const value = event[column];
    if (value === undefined) return null;
    // `args: null` is a value (JSON "null"), unlike an absent field (SQL NULL); both come back as they went in.
    if (column === 'args') return JSON.stringify(value) ?? null;
    return value as string | number;
  });
}

/** A row read back (every column, `args` as JSON text) as the event that was written: NULL columns stay absent. */
export function rowToEvent(row: Record<string, unknown>): AuditEvent {
  const event: Record<string, unknown> = {};
  for (const column of AUDIT_COLUMNS) {
    const value = row[column];
    if (value === null || value === undefined) continue;
    event[column] = column === 'args' ? JSON.parse(value as string) : NUMERIC.has(column) ? Number(value) : value;
  }
  return event as unknown as AuditEvent;
}

/** `limit` of a query: 100 unless given; anything but a non-negative integer is a caller's bug, not "no limit". */
export function queryLimit(filter: AuditFilter): number {
  const limit = filter.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`audit query limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** How a dialect writes parameters and list membership. */
export interface SqlDialect {
  /** The placeholder of the n-th parameter (1-based): `?` or `$n`. */
  placeholder(n: number): string;
  /** A condition: `column` is one of the strings bound to `placeholder`. */
  oneOf(column: string, placeholder: string): string;
  /** How a list of strings is bound as one parameter. */
  list(values: readonly string[]): unknown;
}

const EQUALITY = ['server', 'tool', 'agent', 'session', 'decision', 'kind'] as const;

/**
 * `WHERE … ORDER BY … LIMIT …` of a query, with its parameters. The order is exactly the (time, instance, seq) index,
 * so a tail of the whole log reads the newest rows of the index instead of sorting the table.
 */
export function filterSql(filter: AuditFilter, dialect: SqlDialect): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  const where: string[] = [];
  for (const field of EQUALITY) {
    const value = filter[field];
    if (value !== undefined) where.push(`${field} = ${bind(value)}`);
  }
  if (filter.call_ids !== undefined) {
    // A call's own event has the call's id as `id`; its result events point to it with `call_id`.
    const ids = dialect.list(filter.call_ids);
    where.push(`(${dialect.oneOf('id', bind(ids))} OR ${dialect.oneOf('call_id', bind(ids))})`);
  }
  if (filter.since !== undefined) where.push(`time >= ${bind(filter.since)}`);
  if (filter.until !== undefined) where.push(`time < ${bind(filter.until)}`);
  const dir = filter.newest_first ? 'DESC' : 'ASC';
  const limit = bind(queryLimit(filter));
  const sql = `${where.length > 0 ? `WHERE ${where.join(' AND ')} ` : ''}ORDER BY time ${dir}, instance ${dir}, seq ${dir} LIMIT ${limit}`;
  return { sql, params };
}
