// The audit record and the AuditSink contract: append-only events, queried by the CLI and the admin API.

/**
 * What happened. A tools/call gives one `call` event when it is decided and, if it was forwarded, one `result`
 * event (same `call_id`) when its answer (or its failure) is known: records are only ever appended, which keeps
 * the hash chain meaningful and lets a strict log commit the decision before the server sees the call.
 */
export type AuditKind = 'call' | 'result' | 'reload' | 'tools_changed' | 'admin';

/** The decision a `call` event records. */
export type AuditDecision =
  | 'allowed'
  | 'denied'
  | 'rate_limited'
  | 'hidden'
  | 'held'
  | 'approved'
  | 'denied_by_human'
  | 'expired'
  | 'withdrawn'
  | 'shadow'
  | 'malformed';

/** How a forwarded call ended (`result` events); for `reload` events, ok or rejected (invalid file). */
export type AuditOutcome = 'ok' | 'tool_error' | 'transport_error' | 'cancelled' | 'rejected';

export interface AuditEvent {
  /** Unique id, made by the gateway. */
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  kind: AuditKind;
  /** The gateway process that wrote it: host:pid:random (a new one at every start). */
  instance: string;
  /** Write order within the instance: 1, 2, 3… (the hash chain follows it). */
  seq: number;
  server?: string;
  tool?: string;
  agent?: string;
  session?: string;
  protocol?: string;
  /** Arguments after redaction (or only their keys, when `audit.arguments: keys`). */
  args?: unknown;
  /** sha256 of the canonical arguments before redaction: correlates identical calls without storing them. */
  args_hash?: string;
  decision?: AuditDecision;
  /** Policy path of the rule that decided, e.g. servers.pay.tools.create_payment. */
  rule?: string;
  reason?: string;
  approval_id?: string;
  /** `result` events: the `id` of their `call` event. */
  call_id?: string;
  outcome?: AuditOutcome;
  /** Time the gateway took to decide (and admit), in ms. */
  decision_ms?: number;
  /** Time from forwarding to the answer, in ms. */
  upstream_ms?: number;
  /** Free-form detail: reload errors, changed tool names; for `admin` records, the target and channel (see admin-record.ts). */
  detail?: string;
  /** Tamper evidence (audit.hash_chain): hash of the previous record of this instance, and of this one. */
  prev_hash?: string;
  hash?: string;
}

export interface AuditFilter {
  server?: string;
  tool?: string;
  agent?: string;
  session?: string;
  decision?: AuditDecision;
  kind?: AuditKind;
  /** Events of these calls (their `call` and `result` events). */
  call_ids?: string[];
  /** Inclusive lower and exclusive upper bound on `time`. */
  since?: number;
  until?: number;
  /** Newest first when true (tail); oldest first otherwise. */
  newest_first?: boolean;
  /** Default 100. */
  limit?: number;
}

export interface AuditSink {
  readonly kind: 'sqlite' | 'postgres' | 'jsonl' | 'stdout';
  /** Appends events in order, durably when it resolves (as durable as the backend: fsync is the backend's). */
  write(events: readonly AuditEvent[]): Promise<void>;
  /** Events matching every field of the filter, ordered by time, then instance, then seq (reversed for newest_first). */
  query(filter: AuditFilter): Promise<AuditEvent[]>;
  /** Deletes events older than `before` (ms since the epoch); returns how many. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}
