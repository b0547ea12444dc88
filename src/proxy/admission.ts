// Admits allowed calls against their rate limits and spend caps in the state store; settles them on the outcome.
import type { GatewayMetrics } from '../admin/metrics.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Decision } from '../policy/decision.js';
import type { CompiledLimit } from '../policy/limits.js';
import { openStateStore } from '../state/open.js';
import type { LimitCheck, ReservationToken, StateStore, StoreHealth } from '../state/store.js';
import { denialResponse } from './denial.js';
import type { Verdict } from './inspect.js';
import type { JsonRpcId } from './jsonrpc.js';

/** Who is calling: the budget keys of `session` and `agent` scopes. */
export interface Identity {
  session: string;
  agent: string;
}

export interface Ticket {
  token: ReservationToken;
  /** Keys of spend caps: given back when the tool reports an error, unlike call counts. */
  quotaKeys: ReadonlySet<string>;
}

export type Admission = { ok: true; ticket?: Ticket } | { ok: false; decision: Decision; retryAfterMs?: number };

/**
 * ok: the tool ran (or may have: budget is kept); tool_error: it ran and reported isError (spend caps come back);
 * failed: it surely did not run — the server answered a JSON-RPC error, or the call never left the gateway.
 */
export type Outcome = 'ok' | 'tool_error' | 'failed';

export interface Limiter {
  /** Opens the store now if the policy uses limits, so that /healthz and the logs tell its state from the start. */
  prepare(): void;
  admit(decision: Decision, server: string, args: unknown, identity: Identity): Promise<Admission>;
  settle(ticket: Ticket, outcome: Outcome): void;
  health(): StoreHealth | undefined;
  close(): Promise<void>;
}

const FAIL_OPEN_LOG_INTERVAL_MS = 10_000;

export function createLimiter(config: () => Config, log: Logger, metrics?: Pick<GatewayMetrics, 'stateStoreError'>): Limiter {
  let store: { url: string; prefix: string; open: Promise<StateStore> } | undefined;
  let lastOpenWarning = 0;

  const currentStore = (): { url: string; prefix: string; open: Promise<StateStore> } => {
    const { state, state_prefix } = config().gateway;
    if (!store || store.url !== state || store.prefix !== state_prefix) {
      const previous = store;
      const open = openStateStore(state, { prefix: state_prefix, onHealthChange: (h: StoreHealth) => log.info(`state store: ${h.detail}`) });
      const current = { url: state, prefix: state_prefix, open };
      store = current;
      health = () => ({ ok: false, detail: `${state} opening` });
      open.then(
        (s) => {
          if (store === current) health = () => s.health();
        },
        (err: Error) => {
          if (store === current) health = () => ({ ok: false, detail: `${state} could not be opened: ${err.message}` });
        },
      );
      previous?.open.then((s) => s.close()).catch(() => undefined);
    }
    return store;
  };
  let health: (() => StoreHealth) | undefined;

  const storeFailed = (limit: CompiledLimit, url: string, err: unknown): Admission => {
    const message = err instanceof Error ? err.message : String(err);
    metrics?.stateStoreError(url.slice(0, url.indexOf(':')));
    if (config().gateway.fail_mode === 'open') {
      if (Date.now() - lastOpenWarning > FAIL_OPEN_LOG_INTERVAL_MS) {
        lastOpenWarning = Date.now();
        log.error(`state store ${url} unreachable (${message}); gateway.fail_mode is open, so calls pass WITHOUT rate limits or spend caps`);
      }
      return { ok: true };
    }
    return {
      ok: false,
      decision: {
        action: 'deny',
        rule: limit.path,
        reason: `the state store that counts ${limit.describe} (${url}) is unreachable, so calls that need it are refused (gateway.fail_mode: closed): ${message}`,
      },
    };
  };

  return {
    prepare() {
      if (usesLimits(config())) currentStore();
    },
    async admit(decision, server, args, identity) {
      const limits = decision.limits ?? [];
      const checks: LimitCheck[] = [];
      const counted: CompiledLimit[] = [];
      const quotaKeys = new Set<string>();
      const { url, prefix, open } = currentStore();
      for (const limit of limits) {
        const cost = costOf(limit, args);
        if (typeof cost === 'string') return { ok: false, decision: { action: 'deny', rule: limit.path, reason: cost } };
        if (cost === 0) continue;
        const key = `${prefix}rl:${limit.scope}:${scopeId(limit, server, identity)}:${limit.path}`;
        if (limit.kind === 'quota') quotaKeys.add(key);
        checks.push({ key, cost, max: limit.max, windowMs: limit.windowMs });
        counted.push(limit);
      }
      if (checks.length === 0) return { ok: true };
      let result;
      try {
        result = await (await open).reserve(checks);
      } catch (err) {
        return storeFailed(counted[0]!, url, err);
      }
      if (result.ok) return { ok: true, ticket: { token: result.token, quotaKeys } };
      const limit = counted[result.index]!;
      const cost = checks[result.index]!.cost;
      if (cost > limit.max) {
        // Waiting never helps: promise no time and give agents no retryAfterMs to back off on.
        const reason = `this call costs ${cost}, more than the whole of ${limit.describe}; it can never be admitted`;
        return { ok: false, decision: { action: 'deny', rule: limit.path, reason: `spend cap exceeded: ${reason}`, limited: true } };
      }
      const wait = result.retryAfterMs;
      const what = limit.kind === 'quota' ? `spend cap reached: ${limit.describe}; ${Number(result.used.toFixed(6))} already used` : `rate limit reached: ${limit.describe}`;
      const reason = `${what}; the next call will be admitted in ${(wait / 1000).toFixed(1)} s`;
      return { ok: false, decision: { action: 'deny', rule: limit.path, reason, limited: true }, retryAfterMs: Math.ceil(wait) };
    },
    settle(ticket, outcome) {
      const s = store?.open;
      if (!s) return;
      const { token, quotaKeys } = ticket;
      const back = outcome === 'failed' ? token.entries : outcome === 'tool_error' ? token.entries.filter((e) => quotaKeys.has(e.key)) : [];
      const keep = token.entries.filter((e) => !back.includes(e));
      // Settling is off the answer's path: errors only cost accuracy (a rollback lost keeps budget used).
      void s
        .then(async (st) => {
          if (back.length > 0) await st.rollback({ entries: back });
          if (keep.length > 0) await st.commit({ entries: keep });
        })
        .catch((err: Error) => log.warn(`could not settle a reservation in the state store: ${err.message}`));
    },
    health: () => health?.(),
    async close() {
      const s = store;
      store = undefined;
      health = undefined;
      if (s) await (await s.open.catch(() => undefined))?.close();
    },
  };
}

function usesLimits(config: Config): boolean {
  const rules = Object.values(config.servers).flatMap((s) => [s.all_tools, ...Object.values(s.tools).flat().filter((r) => typeof r !== 'string')]);
  return [config.gateway.all_tools, ...rules].some((r) => r !== undefined && (r.rate_limit !== undefined || r.quota !== undefined));
}

function scopeId(limit: CompiledLimit, server: string, identity: Identity): string {
  switch (limit.scope) {
    case 'session':
      return identity.session;
    case 'agent':
      return identity.agent;
    case 'server':
      return server;
    case 'global':
      return '*';
  }
}

/** The call's cost for a limit, or the reason it cannot be read (the call is then refused). */
function costOf(limit: CompiledLimit, args: unknown): number | string {
  if (typeof limit.cost === 'number') return limit.cost;
  let value: unknown = args;
  for (const key of limit.cost) {
    value = typeof value === 'object' && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  const path = ['args', ...limit.cost].join('.');
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    const got = value === undefined ? 'it is missing' : `got ${JSON.stringify(value)}`;
    return `the cost of this call is read from ${path}, which must be a non-negative number (${got}); a call whose cost cannot be counted is refused`;
  }
  return value;
}

/** Classifies an upstream answer to a tools/call for settling its reservation. */
export function outcomeOf(message: unknown): Outcome {
  if (typeof message !== 'object' || message === null) return 'failed';
  const m = message as { error?: unknown; result?: { isError?: unknown; resultType?: unknown } };
  if (m.error !== undefined || !m.result) return 'failed';
  // 2026-07-28: the server asks for input and the client will call again; that call is counted then.
  if (m.result.resultType === 'input_required') return 'failed';
  return m.result.isError === true ? 'tool_error' : 'ok';
}

type ForwardVerdict = Extract<Verdict, { kind: 'forward' }>;

/** True for an allowed tools/call whose rule carries limits: it must be admitted before it is forwarded. */
export function needsAdmission(v: Verdict): v is ForwardVerdict & { tool: NonNullable<ForwardVerdict['tool']> } {
  return v.kind === 'forward' && v.tool !== undefined && v.tool.decision.limits !== undefined;
}

/** Admits a call: the same verdict (holding its reservation), or a [POLICY DENIED] answer naming the limit. */
export async function admitVerdict(
  verdict: ForwardVerdict & { tool: NonNullable<ForwardVerdict['tool']> },
  limiter: Limiter,
  server: string,
  identity: Identity,
): Promise<Verdict> {
  const params = verdict.message.params as Record<string, unknown> | undefined;
  const admission = await limiter.admit(verdict.tool.decision, server, params?.arguments, identity);
  if (admission.ok) return admission.ticket ? { ...verdict, ticket: admission.ticket } : verdict;
  const id = verdict.message.id as JsonRpcId;
  return {
    kind: 'answer',
    reply: denialResponse(id, server, verdict.tool.name, admission.decision, params, admission.retryAfterMs),
    tool: { name: verdict.tool.name, decision: admission.decision },
    params,
  };
}
