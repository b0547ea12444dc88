// A held call's approval record: what the approval is bound to (the params the server receives, minus per-call
// `_meta` noise) and what approvers are shown of it (the same, redacted as the audit log redacts arguments).
import { randomBytes } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { REDACTED, type Redactor } from '../audit/redact.js';
import type { ApprovalRule, Classified } from '../policy/decision.js';
import type { ApprovalRecord } from './store.js';

export interface HeldCall {
  server: string;
  tool: string;
  /** The tools/call params exactly as the server will receive them: name, arguments and any other field. */
  params: Record<string, unknown> | undefined;
  agent: string;
  session?: string | undefined;
  rule: string;
  reason?: string | undefined;
  classified?: Classified | undefined;
  approval: ApprovalRule;
}

const isString = (v: unknown): boolean => typeof v === 'string';

/**
 * The `_meta` keys an approval does not cover: they differ on every call by design, so an approval bound to them
 * could never admit a retry (async mode, approval_ttl). `progressToken` names this request's progress notifications
 * (MCP); `traceparent`, `tracestate` and `baggage` are this request's W3C trace context (MCP's OpenTelemetry
 * convention), new for every span. Each is left out only with the type its spec gives it: anything else under
 * such a key is not what the key means, and is bound like every other field. Every other params field, `_meta`
 * keys included, is bound: a lenient server may read the call from any of them.
 */
const PER_CALL_META: ReadonlyMap<string, (value: unknown) => boolean> = new Map([
  ['progressToken', (v: unknown) => typeof v === 'string' || typeof v === 'number'],
  ['traceparent', isString],
  ['tracestate', isString],
  ['baggage', isString],
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The params an approval covers: everything the server receives but the PER_CALL_META keys (and an emptied `_meta`). */
export function boundParams(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!params || !isObject(params._meta)) return params;
  const { _meta: meta, ...rest } = params;
  const kept = Object.entries(meta as Record<string, unknown>).filter(([key, value]) => !PER_CALL_META.get(key)?.(value));
  return kept.length > 0 ? { ...rest, _meta: Object.fromEntries(kept) } : rest;
}

/** The approval binding: exactly this call (its bound params, with the real values), on this server, for this agent. */
export function bindingOf(call: Pick<HeldCall, 'server' | 'tool' | 'params' | 'agent'>): string {
  return sha256Hex(canonicalJson([call.server, call.tool, boundParams(call.params) ?? null, call.agent]));
}

/**
 * The new pending record of a held call. The binding covers the real values, so a call with another secret needs
 * its own approval; the record keeps only the redacted ones (the store, the webhook, the API and the CLI never see
 * a secret), as the audit log would keep them: `audit.arguments: keys` shows key shapes, `none` shows [REDACTED].
 */
export function newApprovalRecord(call: HeldCall, redact: Redactor, now: number): ApprovalRecord {
  const { name: _name, arguments: args, ...other } = boundParams(call.params) ?? {};
  const shown = (value: unknown): unknown => (value === undefined ? null : (redact(value).args ?? REDACTED));
  const others = Object.entries(other);
  return {
    // Hex: people type it, and a leading '-' would read as a CLI option.
    id: randomBytes(6).toString('hex'),
    binding: bindingOf(call),
    server: call.server,
    tool: call.tool,
    args: shown(args),
    // Configured redaction paths apply to each field as to arguments: a lenient server may read it as its arguments.
    ...(others.length > 0 && { otherParams: Object.fromEntries(others.map(([key, value]) => [key, shown(value)])) }),
    agent: call.agent,
    ...(call.session !== undefined && { session: call.session }),
    rule: call.rule,
    ...(call.reason !== undefined && { reason: call.reason }),
    ...(call.classified !== undefined && { classified: call.classified }),
    mode: call.approval.mode,
    created: now,
    expires: now + call.approval.timeoutMs,
    ...(call.approval.ttlMs !== undefined && { ttlMs: call.approval.ttlMs }),
    status: 'pending',
  };
}

/**
 * A record's arguments, and its other params fields when there are any, as one line of JSON for people; each part
 * is cut at `max` characters (with …), so that the other fields are never cut away by long arguments.
 */
export function paramsText(r: Pick<ApprovalRecord, 'args' | 'otherParams'>, max = Infinity): string {
  const cut = (value: unknown): string => {
    const json = JSON.stringify(value) ?? 'null';
    return json.length > max ? `${json.slice(0, max - 1)}…` : json;
  };
  return r.otherParams ? `${cut(r.args)} and other params ${cut(r.otherParams)}` : cut(r.args);
}
