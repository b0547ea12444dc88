// The one call pipeline of every path — the message relay (`wrap`, HTTP sessions on stdio and legacy SSE servers)
// and the Streamable HTTP pipe (`url:` servers): inspect, decide, hold, admit, observe, then settle once forwarded.
import type { Gatekeeper } from '../approvals/gatekeeper.js';
import type { Action } from '../config/schema.js';
import type { ServerPolicy } from '../policy/compile.js';
import type { Decision } from '../policy/decision.js';
import { type Identity, type Limiter, type Outcome, type Ticket } from './admission.js';
import { admitVerdict, needsAdmission, outcomeOf } from './admission.js';
import { gateVerdict } from './approval-gate.js';
import { observeVerdict, observing, type CallEnd, type CallObservers, type ObservedCall } from './call-observers.js';
import type { ClientApprovals } from './client-approval.js';
import { denialResponse } from './denial.js';
import { inspectClientFrame, type StandardHeaders, type Verdict } from './inspect.js';
import { MAY_HAVE_RUN, type JsonRpcId } from './jsonrpc.js';
import type { ToolsRefresher } from './tools-refresh.js';

export interface PipelineOptions {
  server: string;
  /** Read on every frame, so a reloaded policy applies to the next call. */
  policy: () => ServerPolicy;
  /** Counts rate limits and spend caps; without one, limits are not enforced (tests of other behaviour). */
  limiter?: Limiter | undefined;
  /** Audit log and metrics of every decided tool call and its end. */
  observers?: CallObservers | undefined;
  /** Holds require_approval calls; without one they are refused (fail closed). */
  gatekeeper?: Gatekeeper | undefined;
}

/** One client session (or one sessionless request) as the pipeline sees it. */
export interface CallerOptions {
  identity: Identity;
  protocol?: () => string | undefined;
  /** Reaches the client while a call is held (progress); absent when nothing can. */
  notify?: ((message: Record<string, unknown>) => void) | undefined;
  /** approval_via: client — the person at the client is asked too. */
  approvals?: ClientApprovals | undefined;
  /** After a tools/list_changed notice, frames wait for the gateway's own listing. */
  refresher?: ToolsRefresher | undefined;
}

/** How one call reaches its client while it is held, when the path knows better than the session (an HTTP POST). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  notify?: ((message: Record<string, unknown>) => void) | undefined;
}

export type Forward = Extract<Verdict, { kind: 'forward' }>;
type ToolForward = Forward & { tool: NonNullable<Forward['tool']> };

export interface CallSession {
  /**
   * Decides one client frame. A forwarded tools/call is tracked from here until its answer, a cancel or the end of
   * the session: the caller sends `verdict.raw` upstream at once (or calls `ended(id, 'failed')` if it cannot).
   */
  decide(raw: string, headers?: StandardHeaders, call?: CallOptions): Verdict | Promise<Verdict>;
  /** Whether any call waits for its answer: only then are upstream frames worth parsing. */
  tracking(): boolean;
  /** An upstream frame, parsed: settles the call it answers, if any. */
  answered(message: unknown): void;
  /** The end of one forwarded call learnt another way (the HTTP response to it ended). */
  ended(id: JsonRpcId, end: CallEnd): void;
  /**
   * The session is over: held and admitting calls are withdrawn (they never left); forwarded ones keep their
   * budget, since the server may still run them (`cancelled` when the client left, `lost` when the server did).
   */
  abandon(end: 'cancelled' | 'lost'): void;
}

/** A forwarded call waiting for its answer: the reservation to settle and the audit record to finish. */
interface Pending {
  ticket?: Ticket | undefined;
  finish?: ((end: CallEnd) => void) | undefined;
}

export const idKey = (id: JsonRpcId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

/** What a call's end does to its budget: given back only when the call surely did not run (or ran and failed, for caps). */
export function budgetOutcome(end: CallEnd): Outcome {
  return end === 'cancelled' || end === 'lost' ? 'ok' : end;
}

export interface CallPipeline {
  session(caller: CallerOptions): CallSession;
}

export function createCallPipeline(opts: PipelineOptions): CallPipeline {
  const { server, policy, limiter, observers, gatekeeper } = opts;
  const watching = observing(observers);

  return {
    session(caller) {
      const { identity } = caller;
      const inflight = new Map<string, Pending>();
      // Calls waiting for a person, the store or the audit log: a cancel or the end stops them before they leave.
      const admitting = new Map<string, AbortController>();
      let over = false;
      const context = (headers?: StandardHeaders) => ({ server, session: identity.session, agent: identity.agent, protocol: caller.protocol?.(), trace: headers?.trace });

      const settle = (key: string, end: CallEnd): void => {
        const pending = inflight.get(key);
        if (!pending) return;
        inflight.delete(key);
        if (pending.ticket) limiter?.settle(pending.ticket, budgetOutcome(end));
        pending.finish?.(end);
      };

      /** Tracks a call about to be sent; returns the verdict the caller forwards. */
      const track = (verdict: Forward, observed?: ObservedCall): Forward => {
        const finish = observed?.finish;
        if (verdict.ticket || finish) inflight.set(idKey(verdict.message.id as JsonRpcId), { ticket: verdict.ticket, finish });
        return observed?.trace ? { ...verdict, trace: observed.trace } : verdict;
      };

      /** Holds, admits and records a call; it is forwarded only if nothing stopped it meanwhile. */
      const admit = async (verdict: ToolForward, startedAt: number, headers: StandardHeaders | undefined, call: CallOptions | undefined): Promise<Verdict> => {
        const key = idKey(verdict.message.id as JsonRpcId);
        const abort = new AbortController();
        admitting.set(key, abort);
        const stop = call?.signal && (() => abort.abort());
        if (stop) call!.signal!.addEventListener('abort', stop, { once: true });
        try {
          const gated = verdict.tool.decision.action === 'require_approval' ? await hold(verdict, abort.signal, call) : verdict;
          const out = gated.kind === 'forward' && limiter && needsAdmission(gated) ? await admitVerdict(gated, limiter, server, identity) : gated;
          const observed = observeVerdict(observers, out, context(headers), startedAt);
          if (out.kind !== 'forward') return out;
          const giveBack = (): void => {
            if (out.ticket) limiter?.settle(out.ticket, 'failed');
          };
          if (observed?.committed) {
            try {
              await observed.committed;
            } catch (err) {
              giveBack();
              return unrecordedRefusal(out, server, err);
            }
          }
          if (abort.signal.aborted || over) {
            // Stopped before it left the gateway: it did not run, so its budget comes back.
            giveBack();
            observed?.finish?.('cancelled');
            return { kind: 'answer', reply: null };
          }
          return track(out, observed);
        } finally {
          admitting.delete(key);
          if (stop) call!.signal!.removeEventListener('abort', stop);
        }
      };

      const hold = async (verdict: ToolForward, signal: AbortSignal, call: CallOptions | undefined): Promise<Verdict> => {
        const ask = verdict.tool.decision.approval?.askClient ? caller.approvals?.ask.bind(caller.approvals) : undefined;
        const out = await gateVerdict(verdict, gatekeeper, server, identity, signal, progressTo(verdict, call?.notify ?? caller.notify), ask);
        const id = out.tool?.decision.approved?.id;
        if (ask && id !== undefined) caller.approvals!.retract(id);
        return out;
      };

      const cancel = (message: Record<string, unknown>): void => {
        const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
        if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
        const key = idKey(requestId);
        admitting.get(key)?.abort();
        // Already forwarded: the server may run it whatever the cancel says, so the budget stays spent.
        settle(key, 'cancelled');
      };

      const decideNow = (raw: string, headers: StandardHeaders | undefined, call: CallOptions | undefined): Verdict | Promise<Verdict> => {
        const startedAt = watching ? performance.now() : 0;
        const verdict = inspectClientFrame(raw, server, policy(), headers, identity.agent);
        if (verdict.kind !== 'forward') {
          if (watching) observeVerdict(observers, verdict, context(headers), startedAt);
          return verdict;
        }
        if (!verdict.tool) {
          if (verdict.message.method === 'notifications/cancelled' && (inflight.size > 0 || admitting.size > 0)) cancel(verdict.message);
          return verdict;
        }
        const tool = verdict as ToolForward;
        const action: Action = tool.tool.decision.action;
        switch (action) {
          case 'allow':
            if ((limiter && needsAdmission(tool)) || observers?.audit?.strict()) return admit(tool, startedAt, headers, call);
            return track(tool, watching ? observeVerdict(observers, tool, context(headers), startedAt) : undefined);
          case 'require_approval':
            return admit(tool, startedAt, headers, call);
          case 'deny':
          case 'hide':
            // inspect answers these itself; reaching here would be a bug, and a bug must refuse, never forward.
            return refusal(tool, server, `the decision "${action}" reached the forwarding step`);
          default:
            return refusal(tool, server, `unknown decision "${unreachable(action)}"`);
        }
      };

      return {
        decide(raw, headers, call) {
          // After a notice that the tools changed, no request is decided until the gateway has seen the new list.
          const refreshing = caller.refresher?.holds(raw);
          if (refreshing) return refreshing.then(() => decideNow(raw, headers, call));
          return decideNow(raw, headers, call);
        },
        tracking: () => inflight.size > 0,
        answered(message) {
          const m = message as { id?: unknown; method?: unknown } | null;
          if (m === null || typeof m !== 'object' || m.method !== undefined) return;
          if (typeof m.id === 'string' || typeof m.id === 'number') settle(idKey(m.id), endOf(m));
        },
        ended: (id, end) => settle(idKey(id), end),
        abandon(end) {
          over = true;
          for (const abort of admitting.values()) abort.abort();
          for (const key of [...inflight.keys()]) settle(key, end);
        },
      };
    },
  };
}

/** How an answer ends its call: an error the transport made up after sending ends it `lost`, keeping its budget. */
function endOf(message: unknown): CallEnd {
  const data = (message as { error?: { data?: { policylayer?: unknown } } }).error?.data;
  return data?.policylayer === MAY_HAVE_RUN.policylayer ? 'lost' : outcomeOf(message);
}

/** While a call is held, progress notifications keep a client that asked for them (progressToken) from timing out. */
function progressTo(verdict: ToolForward, notify: CallOptions['notify']): ((waitedMs: number, id: string) => void) | undefined {
  const token = (verdict.message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;
  if (!notify || (typeof token !== 'string' && typeof token !== 'number')) return undefined;
  return (waitedMs, id) => {
    const message = `waiting for a person to approve this call (approval ${id}, ${Math.round(waitedMs / 1000)} s so far)`;
    notify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: waitedMs / 1000, message } });
  };
}

function unreachable(action: never): string {
  return String(action);
}

/** A refusal by the gateway itself (rule `gateway`): the call is answered [POLICY DENIED] and never forwarded. */
function refusal(verdict: ToolForward, server: string, why: string): Verdict {
  const params = verdict.message.params as Record<string, unknown> | undefined;
  const decision: Decision = { action: 'deny', rule: verdict.tool.decision.rule, reason: `${why}; the call was not forwarded` };
  return { kind: 'answer', reply: denialResponse(verdict.message.id as JsonRpcId, server, verdict.tool.name, decision, params), tool: { name: verdict.tool.name, decision }, params };
}

/** Under strict audit durability a call whose record cannot be written is not forwarded (fail closed). */
function unrecordedRefusal(verdict: Forward, server: string, err: unknown): Verdict {
  const params = verdict.message.params as Record<string, unknown> | undefined;
  const reason = `${err instanceof Error ? err.message : String(err)}; audit.durability is strict, so the call was not forwarded`;
  return {
    kind: 'answer',
    reply: denialResponse(verdict.message.id as JsonRpcId, server, verdict.tool?.name ?? '', { action: 'deny', rule: 'audit.durability', reason }, params),
  };
}
