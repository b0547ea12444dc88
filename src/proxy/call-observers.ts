// What the gateway records about each tool call besides deciding it: the audit record (a `call` record when it is
// decided and, once forwarded, a `result` record when it ends), Prometheus metrics and OpenTelemetry spans.
import type { GatewayMetrics } from '../admin/metrics.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AuditDecision, AuditOutcome } from '../audit/sink.js';
import type { ToolListObserver } from '../catalog/watch.js';
import type { Decision } from '../policy/decision.js';
import type { Outcome } from './admission.js';
import type { Verdict } from './inspect.js';
import { metaCarrier, startCallSpans, type TraceCarrier } from './tracing.js';

export interface CallObservers {
  audit?: AuditRecorder | undefined;
  metrics?: GatewayMetrics | undefined;
  /** Sees every tool list a server sends (tool-definition changes). */
  tools?: ToolListObserver | undefined;
}

export interface CallContext {
  server: string;
  session?: string | undefined;
  agent: string;
  protocol?: string | undefined;
  /** Trace context of the HTTP request (headers); `_meta.traceparent` of the call wins over it. */
  trace?: TraceCarrier | undefined;
}

/**
 * How a forwarded call ended: the upstream's answer (`failed`: a JSON-RPC error, or it never left the gateway),
 * `cancelled` (the client cancelled or went away) or `lost` (the server or the connection to it went away).
 */
export type CallEnd = Outcome | 'cancelled' | 'lost';

export interface ObservedCall {
  /** Under strict audit durability: resolves when the `call` record is committed, rejects if it cannot be. */
  committed?: Promise<void> | undefined;
  /** For a forwarded call: records its end (once). */
  finish?: (end: CallEnd) => void;
  /** Trace context to pass upstream with the forwarded call, when a tracer records it. */
  trace?: TraceCarrier | undefined;
}

const OUTCOME: Record<CallEnd, AuditOutcome> = { ok: 'ok', tool_error: 'tool_error', failed: 'transport_error', lost: 'transport_error', cancelled: 'cancelled' };

/** Whether the relay must look at a frame at all: only when something observes calls. */
export const observing = (o: CallObservers | undefined): boolean => o !== undefined && (o.audit !== undefined || o.metrics !== undefined);

/**
 * Observes the decision on one client frame when it is a tool call (or a frame refused as malformed); other frames
 * (initialize, lists, notifications) are not recorded. `startedAt` is performance.now() when the frame arrived.
 */
export function observeVerdict(o: CallObservers | undefined, verdict: Verdict, ctx: CallContext, startedAt: number): ObservedCall | undefined {
  if (!o) return undefined;
  const decision = decisionOf(verdict);
  if (!decision) return undefined;
  const decidedAt = performance.now();
  const tool = verdict.tool;
  const forwarded = verdict.kind === 'forward';
  const params = (forwarded ? verdict.message.params : verdict.params) as { arguments?: unknown } | undefined;
  const labels = { server: ctx.server, tool: tool?.name, agent: ctx.agent };
  o.metrics?.callDecided(labels, decision, (decidedAt - startedAt) / 1000);
  const spans = tool ? startCallSpans(ctx.server, tool.name, ctx.agent, metaCarrier(params) ?? ctx.trace, startedAt) : undefined;
  spans?.decided(decision, tool?.decision.rule, forwarded);
  const recorded = o.audit?.record({
    kind: 'call',
    server: ctx.server,
    agent: ctx.agent,
    ...(ctx.session !== undefined && { session: ctx.session }),
    ...(ctx.protocol !== undefined && { protocol: ctx.protocol }),
    ...(tool && { tool: tool.name, rule: tool.decision.rule }),
    ...(tool?.decision.reason !== undefined && { reason: tool.decision.reason }),
    ...(tool?.decision.approved && { approval_id: tool.decision.approved.id }),
    ...(verdict.kind === 'answer' && verdict.malformed && { reason: malformedReason(verdict) }),
    ...(params?.arguments !== undefined && { arguments: params.arguments }),
    decision,
    decision_ms: round(decidedAt - startedAt),
  });
  if (!forwarded) return { committed: recorded?.committed };
  let done = false;
  return {
    committed: recorded?.committed,
    trace: spans?.upstreamCarrier(),
    finish(end) {
      if (done) return;
      done = true;
      const upstreamMs = performance.now() - decidedAt;
      const outcome = OUTCOME[end];
      o.metrics?.callEnded(labels, outcome, upstreamMs / 1000);
      spans?.ended(outcome);
      if (!recorded) return;
      o.audit!.record({
        kind: 'result',
        call_id: recorded.id,
        server: ctx.server,
        agent: ctx.agent,
        ...(ctx.session !== undefined && { session: ctx.session }),
        ...(tool && { tool: tool.name }),
        outcome,
        upstream_ms: round(upstreamMs),
      });
    },
  };
}

const APPROVAL_DECISION: Record<NonNullable<Decision['approved']>['state'], AuditDecision> = {
  approved: 'approved',
  pending: 'held',
  denied: 'denied_by_human',
  expired: 'expired',
  withdrawn: 'withdrawn',
};

function decisionOf(verdict: Verdict): AuditDecision | undefined {
  if (verdict.kind === 'answer' && verdict.malformed) return 'malformed';
  const tool = verdict.tool;
  if (!tool) return undefined;
  if (tool.decision.approved) return APPROVAL_DECISION[tool.decision.approved.state];
  if (verdict.kind === 'forward') return 'allowed';
  if (tool.decision.action === 'hide') return 'hidden';
  return tool.decision.limited ? 'rate_limited' : 'denied';
}

function malformedReason(verdict: Extract<Verdict, { kind: 'answer' }>): string {
  const reply = Array.isArray(verdict.reply) ? verdict.reply[0] : verdict.reply;
  const error = reply && 'error' in reply ? (reply.error as { message?: unknown }) : undefined;
  return typeof error?.message === 'string' ? error.message : 'malformed frame';
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
