// OpenTelemetry spans of a tool call, through @opentelemetry/api only: without an SDK registered in the process
// (e.g. `node --import ./otel-setup.mjs`) every call here is a no-op. W3C trace context comes from the request
// (`_meta.traceparent`, else the HTTP `traceparent` header) and goes upstream the same way.
import { context, propagation, trace, ProxyTracerProvider, SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';

const tracer = trace.getTracer('policylayer');
/** The provider the API falls back to while no SDK has registered one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** False until an SDK registers a tracer provider: then no span object is made per call. */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/** W3C trace context as carried in `_meta` or HTTP headers. */
export interface TraceCarrier {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

const getter = {
  keys: (c: TraceCarrier) => Object.keys(c),
  get: (c: TraceCarrier, key: string) => (key === 'traceparent' ? c.traceparent : key === 'tracestate' ? c.tracestate : undefined),
};

export interface CallSpans {
  /** The decision is made (admission included): closes the decide span, and the call span unless forwarded. */
  decided(decision: string, rule: string | undefined, forwarded: boolean): void;
  /** Trace context to send upstream with the forwarded call (undefined when nothing records). */
  upstreamCarrier(): TraceCarrier | undefined;
  ended(outcome: string): void;
}

const toEpochMs = (perfMs: number): number => performance.timeOrigin + perfMs;

/** Spans for one tools/call: `tools/call NAME` (server kind) with `policy.decide` and `upstream` children. */
export function startCallSpans(server: string, tool: string, agent: string, carrier: TraceCarrier | undefined, startedAt: number): CallSpans | undefined {
  if (!tracing()) return undefined;
  const parent: Context = carrier?.traceparent ? propagation.extract(context.active(), carrier, getter) : context.active();
  const call = tracer.startSpan(
    `tools/call ${tool}`,
    { kind: SpanKind.SERVER, startTime: toEpochMs(startedAt), attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool, 'policylayer.server': server, 'policylayer.agent': agent } },
    parent,
  );
  if (!call.isRecording()) return undefined;
  const inCall = trace.setSpan(parent, call);
  const decide = tracer.startSpan('policy.decide', { startTime: toEpochMs(startedAt) }, inCall);
  let upstream: Span | undefined;
  return {
    decided(decision, rule, forwarded) {
      decide.setAttribute('policylayer.decision', decision);
      if (rule) decide.setAttribute('policylayer.rule', rule);
      decide.end();
      call.setAttribute('policylayer.decision', decision);
      if (forwarded) upstream = tracer.startSpan('upstream', { kind: SpanKind.CLIENT, attributes: { 'policylayer.server': server } }, inCall);
      else call.end();
    },
    upstreamCarrier() {
      if (!upstream) return undefined;
      const out: TraceCarrier = {};
      propagation.inject(trace.setSpan(context.active(), upstream), out, {
        set: (c: TraceCarrier, key: string, value: string) => {
          if (key === 'traceparent' || key === 'tracestate') c[key] = value;
        },
      });
      return out.traceparent ? out : undefined;
    },
    ended(outcome) {
      if (upstream) {
        upstream.setAttribute('policylayer.outcome', outcome);
        if (outcome !== 'ok') upstream.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        upstream.end();
      }
      call.setAttribute('policylayer.outcome', outcome);
      call.end();
    },
  };
}

/** `_meta.traceparent` / `tracestate` of a request's params, when present. */
export function metaCarrier(params: unknown): TraceCarrier | undefined {
  const meta = (params as { _meta?: { traceparent?: unknown; tracestate?: unknown } } | undefined)?._meta;
  if (typeof meta?.traceparent !== 'string') return undefined;
  return { traceparent: meta.traceparent, ...(typeof meta.tracestate === 'string' && { tracestate: meta.tracestate }) };
}

/** The request re-serialised with the upstream span's trace context in `params._meta` (only when a tracer records). */
export function withTraceMeta(message: Record<string, unknown>, carrier: TraceCarrier): string {
  const params = (message.params ?? {}) as Record<string, unknown>;
  const meta = (typeof params._meta === 'object' && params._meta !== null ? params._meta : {}) as Record<string, unknown>;
  return JSON.stringify({ ...message, params: { ...params, _meta: { ...meta, ...carrier } } });
}
