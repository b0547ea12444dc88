// The ApprovalStore contract: pending approvals shared by every gateway replica and every approver (CLI, API).

import type { Classified } from '../policy/decision.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';

export interface ApprovalRecord {
  /** Random, URL-safe; what approvers type. */
  id: string;
  /**
   * sha256 of server, tool, the call's params (real values, per-call `_meta` left out: see held-call.ts) and agent:
   * an approval admits exactly this call.
   */
  binding: string;
  server: string;
  tool: string;
  /** The arguments as the agent sent them, redacted like the audit log's: the approver must see what will run. */
  args: unknown;
  /**
   * The params fields the server receives besides name and arguments (per-call `_meta` left out), redacted the same
   * way; absent when there are none. A lenient server may read the call from them, so the approver sees them too.
   */
  otherParams?: Record<string, unknown>;
  agent: string;
  session?: string;
  /** Policy path of the rule that asked for approval. */
  rule: string;
  reason?: string;
  /** The risk catalogue's label of the tool (category, risk class, evidence), when it has one. */
  classified?: Classified;
  mode: 'hold' | 'async';
  /** Milliseconds since the epoch. */
  created: number;
  expires: number;
  /** An approval also admits identical calls until decided.at + ttlMs; absent: used once. */
  ttlMs?: number;
  status: ApprovalStatus;
  decided?: { at: number; by: string; via: string; reason?: string };
  /** When the approved call was forwarded (single use). */
  usedAt?: number;
}

export interface ApprovalDecision {
  status: Exclude<ApprovalStatus, 'pending'>;
  /** Who decided: a person's name, or `gateway` for expiry and withdrawal. */
  by: string;
  /** Which channel: cli, api, webhook, client, timeout, cancel. */
  via: string;
  reason?: string;
}

/** A place in list() order: a record's created and id. */
export interface ListCursor {
  created: number;
  id: string;
}

export const DEFAULT_LIST_LIMIT = 100;

export interface ApprovalStore {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  create(record: ApprovalRecord): Promise<void>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /**
   * Newest first (by created, then id, both descending), by status when given: the first `limit` (default
   * DEFAULT_LIST_LIMIT) matching records, or all of them when fewer match — never fewer for a driver's own reasons,
   * so a short page is the last one. `after`: only records after that place in this order (older), to read on
   * from the last record of a page (see allRecords).
   */
  list(filter?: { status?: ApprovalStatus; limit?: number; after?: ListCursor }): Promise<ApprovalRecord[]>;
  /**
   * pending → decided, exactly once across every process sharing the store: `ok` is true for the one caller whose
   * decision was applied; others get the record as it is.
   */
  decide(id: string, decision: ApprovalDecision, now?: number): Promise<{ ok: boolean; record?: ApprovalRecord }>;
  /**
   * Takes an approved record for one forwarded call: true once for a single-use approval (and never for one that
   * was used), true within its ttl for a remembered one.
   */
  consume(id: string, now?: number): Promise<boolean>;
  /** An approved record with this binding that may still admit a call (unused, or within its ttl). */
  findUsable(binding: string, now?: number): Promise<ApprovalRecord | undefined>;
  /** A pending record with this binding (async mode: the same call asked again before anyone decided). */
  findPending(binding: string): Promise<ApprovalRecord | undefined>;
  /** Told about every decision made anywhere (polling or pub/sub); returns a function that stops watching. */
  watch(onDecided: (record: ApprovalRecord) => void): () => void;
  close(): Promise<void>;
}

/** Where list() goes on after `r`. */
export const cursorOf = (r: Pick<ApprovalRecord, 'created' | 'id'>): ListCursor => ({ created: r.created, id: r.id });

/** Every record (of `status`, when given), newest first, read a page at a time: for callers that must see all of them. */
export async function* allRecords(store: ApprovalStore, status?: ApprovalStatus, pageSize = 500): AsyncGenerator<ApprovalRecord> {
  let after: ListCursor | undefined;
  for (;;) {
    const page = await store.list({ ...(status !== undefined && { status }), limit: pageSize, ...(after && { after }) });
    yield* page;
    const last = page.at(-1);
    if (page.length < pageSize || !last) return;
    after = cursorOf(last);
  }
}

/** True when `r` comes after `cursor` in list() order (newest first: created, then id, descending). */
export const listedAfter = (r: Pick<ApprovalRecord, 'created' | 'id'>, cursor: ListCursor): boolean =>
  r.created < cursor.created || (r.created === cursor.created && r.id < cursor.id);

/** A usable approval: approved, and unused or within its ttl. */
export function usable(r: ApprovalRecord, now: number): boolean {
  if (r.status !== 'approved' || !r.decided) return false;
  if (r.ttlMs !== undefined) return now < r.decided.at + r.ttlMs;
  return r.usedAt === undefined;
}

/** The record after `decision`, or undefined when it is no longer pending (someone decided first). */
export function decided(r: ApprovalRecord, decision: ApprovalDecision, now: number): ApprovalRecord | undefined {
  if (r.status !== 'pending') return undefined;
  // Too late to approve: the call was (or will be) denied for want of an answer.
  if (decision.status === 'approved' && now >= r.expires) return undefined;
  const d: ApprovalRecord['decided'] = { at: now, by: decision.by, via: decision.via };
  if (decision.reason !== undefined) d.reason = decision.reason;
  return { ...r, status: decision.status, decided: d };
}

/** The record after one forwarded call used it, or undefined when it cannot admit one. */
export function consumed(r: ApprovalRecord, now: number): ApprovalRecord | undefined {
  if (!usable(r, now)) return undefined;
  return r.ttlMs !== undefined ? r : { ...r, usedAt: now };
}
