// Message-level pipeline between a client pipe and an upstream pipe: decide each client frame, admit calls
// against their limits, record them, settle reservations and records on the answer, filter tool lists.
import { RpcCode } from '../errors.js';
import type { ServerPolicy } from '../policy/compile.js';
import type { MessagePipe } from '../transport/message-pipe.js';
import { admitVerdict, needsAdmission, outcomeOf, type Identity, type Limiter, type Ticket } from './admission.js';
import { observeVerdict, observing, type CallContext, type CallEnd, type CallObservers, type ObservedCall } from './call-observers.js';
import { withTraceMeta } from './tracing.js';
import type { Gatekeeper } from '../approvals/gatekeeper.js';
import { gateVerdict, needsApproval } from './approval-gate.js';
import { createClientApprovals } from './client-approval.js';
import { denialResponse } from './denial.js';
import { inspectClientFrame, type StandardHeaders, type Verdict } from './inspect.js';
import { errorResponse, type JsonRpcId } from './jsonrpc.js';
import { filterToolsInFrame } from './tools-filter.js';
import { announcesToolsChanged, createPipeLister, createToolsRefresher } from './tools-refresh.js';

export interface RelayOptions {
  server: string;
  /** Read on every message, so a reloaded policy applies to the next call. */
  policy: () => ServerPolicy;
  client: MessagePipe;
  upstream: MessagePipe;
  /** Counts rate limits and spend caps; without one, limits are not enforced (tests of other behaviour). */
  limiter?: Limiter;
  /** Audit log and metrics of every decided tool call and its end; without them, nothing is recorded. */
  observers?: CallObservers;
  /** Holds require_approval calls; without one they are refused (fail closed). */
  gatekeeper?: Gatekeeper | undefined;
  identity?: Identity;
  onEnd?: (side: 'client' | 'upstream', reason?: string) => void;
  /** Told when the gateway's own listing after a tools/list_changed notice failed. */
  onRefreshError?: (err: Error) => void;
}

export const idKey = (id: JsonRpcId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

export interface Relay {
  /**
   * Decides one client frame and forwards it when allowed. An answer is returned, not sent: the caller knows
   * where it goes (a stdio line, an HTTP response). A call with limits, or recorded under strict audit
   * durability, resolves once the store has admitted it and its record is committed.
   */
  fromClient(raw: string, headers?: StandardHeaders): Verdict | Promise<Verdict>;
  close(): void;
}

const ANONYMOUS: Identity = { session: 'anonymous', agent: 'anonymous' };

/** A forwarded call waiting for its answer: the reservation to settle and the audit record to finish. */
export interface Pending {
  ticket?: Ticket | undefined;
  finish?: ((end: CallEnd) => void) | undefined;
}

export function createRelay(opts: RelayOptions): Relay {
  const { server, policy, client, upstream, limiter, observers, gatekeeper, identity = ANONYMOUS, onEnd } = opts;
  let ended = false;
  let protocol: string | undefined;
  const watching = observing(observers);
  const watchTools = observers?.tools;
  const toolsSeen = watchTools && ((tools: readonly unknown[], lastPage: boolean) => watchTools(server, tools, lastPage));
  // With a catalogue to keep, a server's notice that its tools changed makes the gateway list them itself.
  const lister = toolsSeen && createPipeLister(upstream);
  const refresher = lister && createToolsRefresher(lister.list, toolsSeen, opts.onRefreshError);
  const context = (headers?: StandardHeaders): CallContext => ({ server, session: identity.session, agent: identity.agent, protocol, trace: headers?.trace });
  // Forwarded calls by request id, until their answer (or the end) settles them.
  const inflight = new Map<string, Pending>();
  // Calls waiting for the store or the audit log; a cancel that arrives meanwhile stops them from being forwarded.
  const admitting = new Map<string, { cancelled: boolean; abort: AbortController }>();

  type ToolVerdict = Extract<Verdict, { kind: 'forward' }> & { tool: NonNullable<Extract<Verdict, { kind: 'forward' }>['tool']> };

  const admitThenForward = async (verdict: ToolVerdict, startedAt: number, headers?: StandardHeaders): Promise<Verdict> => {
    const key = idKey(verdict.message.id as JsonRpcId);
    const state = { cancelled: false, abort: new AbortController() };
    admitting.set(key, state);
    try {
      const gated = needsApproval(verdict) ? await held(verdict, state.abort.signal) : verdict;
      const out = gated.kind === 'forward' && limiter && needsAdmission(gated) ? await admitVerdict(gated, limiter, server, identity) : gated;
      const observed = observeVerdict(observers, out, context(headers), startedAt);
      if (out.kind !== 'forward') return out;
      if (observed?.committed) {
        try {
          await observed.committed;
        } catch (err) {
          if (out.ticket) limiter?.settle(out.ticket, 'failed');
          return unrecordedRefusal(out, server, err);
        }
      }
      if (state.cancelled || ended) {
        if (out.ticket) limiter?.settle(out.ticket, 'failed');
        observed?.finish?.('cancelled');
        return { kind: 'answer', reply: null };
      }
      return forwardCall(out, observed);
    } finally {
      admitting.delete(key);
    }
  };

  // approval_via: client — the person at the client is asked too; the question is withdrawn once decided.
  const clientApprovals = gatekeeper && createClientApprovals(client, gatekeeper);
  const held = async (verdict: ToolVerdict, signal: AbortSignal): Promise<Verdict> => {
    const ask = verdict.tool.decision.approval?.askClient ? clientApprovals?.ask : undefined;
    const out = await gateVerdict(verdict, gatekeeper, server, identity, signal, progressTo(verdict), ask);
    const id = out.tool?.decision.approved?.id;
    if (ask && id !== undefined) clientApprovals!.retract(id);
    return out;
  };

  /** While a call is held, progress notifications keep a client that asked for them (progressToken) from timing out. */
  const progressTo = (verdict: ToolVerdict): ((waitedMs: number, id: string) => void) | undefined => {
    const token = (verdict.message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;
    if (typeof token !== 'string' && typeof token !== 'number') return undefined;
    return (waitedMs, id) => {
      const message = `waiting for a person to approve this call (approval ${id}, ${Math.round(waitedMs / 1000)} s so far)`;
      client.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: waitedMs / 1000, message } }));
    };
  };

  const forwardCall = (verdict: Extract<Verdict, { kind: 'forward' }>, observed?: ObservedCall): Verdict => {
    const finish = observed?.finish;
    if (verdict.ticket || finish) inflight.set(idKey(verdict.message.id as JsonRpcId), { ticket: verdict.ticket, finish });
    upstream.send(observed?.trace ? withTraceMeta(verdict.message, observed.trace) : verdict.raw);
    return verdict;
  };

  const noteCancel = (message: Record<string, unknown>): void => {
    const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const key = idKey(requestId);
    const waiting = admitting.get(key);
    if (waiting) {
      waiting.cancelled = true;
      waiting.abort.abort();
    }
    settle(key, 'cancelled');
  };

  const settle = (key: string, end: CallEnd): void => {
    const pending = inflight.get(key);
    if (!pending) return;
    inflight.delete(key);
    if (pending.ticket) limiter!.settle(pending.ticket, end === 'cancelled' ? 'failed' : end);
    pending.finish?.(end);
  };

  const fromClient = (raw: string, headers?: StandardHeaders): Verdict | Promise<Verdict> => {
    // After a notice that the tools changed, no request is decided until the gateway has seen the new list.
    const refreshing = refresher?.holds(raw);
    if (refreshing) return refreshing.then(() => fromClient(raw, headers));
    const startedAt = watching ? performance.now() : 0;
    const verdict = inspectClientFrame(raw, server, policy(), headers);
    if (verdict.kind !== 'forward') {
      if (watching) observeVerdict(observers, verdict, context(headers), startedAt);
      return verdict;
    }
    if (verdict.tool) {
      if ((limiter && needsAdmission(verdict)) || needsApproval(verdict) || observers?.audit?.strict()) return admitThenForward(verdict as ToolVerdict, startedAt, headers);
      return forwardCall(verdict, watching ? observeVerdict(observers, verdict, context(headers), startedAt) : undefined);
    }
    if (verdict.message.method === 'initialize') {
      protocol = protocolOf(verdict.message);
      clientApprovals?.noteInitialize(verdict.message);
    }
    if (clientApprovals?.takeAnswer(verdict.message)) return { kind: 'answer', reply: null };
    if (verdict.message.method === 'notifications/cancelled' && (inflight.size > 0 || admitting.size > 0)) noteCancel(verdict.message);
    upstream.send(verdict.raw);
    return verdict;
  };
  const answer = (verdict: Verdict): void => {
    if (verdict.kind === 'answer' && verdict.reply) client.send(JSON.stringify(verdict.reply));
  };
  client.onmessage = (raw) => {
    const verdict = fromClient(raw);
    if (verdict instanceof Promise) void verdict.then(answer);
    else answer(verdict);
  };
  client.onframeerror = (problem) => {
    client.send(JSON.stringify(errorResponse(null, RpcCode.INVALID_REQUEST, `Message refused: ${problem}`)));
  };

  upstream.onmessage = (raw) => {
    if (lister?.take(raw)) return;
    if (refresher && announcesToolsChanged(raw)) refresher.refresh();
    const parsed = inflight.size > 0 ? settleFrom(raw) : undefined;
    const out = filterToolsInFrame(raw, policy(), toolsSeen);
    if (parsed !== undefined && out === raw) client.send(raw, parsed);
    else client.send(out);
  };
  /** Settles the call a response answers; returns the parsed frame (undefined when it is not JSON). */
  const settleFrom = (raw: string): unknown => {
    let message: { id?: unknown; method?: unknown };
    try {
      message = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (message !== null && typeof message === 'object' && message.method === undefined && (typeof message.id === 'string' || typeof message.id === 'number')) {
      settle(idKey(message.id), outcomeOf(message));
    }
    return message;
  };


  /** Calls that never got an answer did not happen as far as the budget is concerned; held ones are withdrawn. */
  const abandon = (): void => {
    ended = true;
    lister?.close();
    for (const key of [...inflight.keys()]) settle(key, 'failed');
    for (const waiting of admitting.values()) waiting.abort.abort();
  };
  const end = (side: 'client' | 'upstream') => (reason?: string) => {
    if (ended) return;
    abandon();
    (side === 'client' ? upstream : client).close();
    onEnd?.(side, reason);
  };
  client.onclose = end('client');
  upstream.onclose = end('upstream');
  return {
    fromClient,
    close() {
      if (ended) return;
      abandon();
      client.close();
      upstream.close();
    },
  };
}

/** The protocol revision a client's initialize asks for. */
export function protocolOf(message: Record<string, unknown>): string | undefined {
  const v = (message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
  return typeof v === 'string' ? v.slice(0, 32) : undefined;
}

/** Under strict audit durability a call whose record cannot be written is not forwarded (fail closed). */
export function unrecordedRefusal(verdict: Extract<Verdict, { kind: 'forward' }>, server: string, err: unknown): Verdict {
  const params = verdict.message.params as Record<string, unknown> | undefined;
  const reason = `${err instanceof Error ? err.message : String(err)}; audit.durability is strict, so the call was not forwarded`;
  return {
    kind: 'answer',
    reply: denialResponse(verdict.message.id as JsonRpcId, server, verdict.tool?.name ?? '', { action: 'deny', rule: 'audit.durability', reason }, params),
  };
}
