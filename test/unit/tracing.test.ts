// OpenTelemetry spans of tool calls through a relay, as a tracing backend sees them: the call span joins the
// client's trace (`_meta.traceparent`), policy.decide and upstream are its children, the upstream gets the trace
// context of the upstream span, and without an SDK in the process the bytes pass through untouched.
import assert from 'node:assert/strict';
import { before, beforeEach, describe, test } from 'node:test';
import { propagation, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createGatewayMetrics } from '../../src/admin/metrics.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { compilePolicy, type ServerPolicy } from '../../src/policy/compile.js';
import type { StandardHeaders } from '../../src/proxy/inspect.js';
import { createRelay, type Relay } from '../../src/proxy/relay.js';
import type { MessagePipe } from '../../src/transport/message-pipe.js';

const policy: ServerPolicy = compilePolicy(
  ConfigSchema.parse({
    version: 1,
    servers: { s: { command: ['node', 'x.js'], default: 'deny', tools: { echo: 'allow', flaky: 'allow', delete_file: { action: 'deny', reason: 'people delete files' } } } },
  }),
).server('s')!;

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01`;
const TRACEPARENT_FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;
/** The agent the relay's session belongs to (what authentication proved). */
const AGENT = 'support-bot';

type Message = Record<string, any>;

/** Two connected in-memory pipes: what one side sends, the other side's onmessage gets; closing one closes both. */
function pipePair(): [MessagePipe, MessagePipe] {
  let closed = false;
  const a: MessagePipe = { send: (raw) => void (closed || b.onmessage?.(raw)), close: () => closeBoth() };
  const b: MessagePipe = { send: (raw) => void (closed || a.onmessage?.(raw)), close: () => closeBoth() };
  const closeBoth = (): void => {
    if (closed) return;
    closed = true;
    a.onclose?.();
    b.onclose?.();
  };
  return [a, b];
}

interface Rig {
  relay: Relay;
  /** The agent's end: send frames, read answers. */
  agent: MessagePipe;
  toAgent: Message[];
  /** The MCP server's end: frames the relay forwarded, exactly as sent. */
  server: MessagePipe;
  toServer: string[];
}

function relayRig(): Rig {
  const [agent, gatewayClient] = pipePair();
  const [gatewayUpstream, server] = pipePair();
  const toAgent: Message[] = [];
  const toServer: string[] = [];
  agent.onmessage = (raw) => void toAgent.push(JSON.parse(raw) as Message);
  server.onmessage = (raw) => void toServer.push(raw);
  const relay = createRelay({
    server: 's',
    policy: () => policy,
    client: gatewayClient,
    upstream: gatewayUpstream,
    observers: { metrics: createGatewayMetrics() },
    identity: { session: 'support-bot:1', agent: AGENT },
  });
  return { relay, agent, toAgent, server, toServer };
}

const callFrame = (id: number, name: string, meta?: Record<string, unknown>): string =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { text: 'hi' }, ...(meta && { _meta: meta }) } });

const okAnswer = (id: number): string => JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'done' }] } });

describe('tracing: no OpenTelemetry SDK in the process', () => {
  test('the upstream receives the request bytes unchanged, nothing injected', () => {
    const r = relayRig();
    const frame = callFrame(1, 'echo', { traceparent: TRACEPARENT, progressToken: 7 });
    r.agent.send(frame);
    assert.deepEqual(r.toServer, [frame]);
    const bare = callFrame(2, 'echo');
    r.agent.send(bare);
    assert.equal(r.toServer[1], bare, 'no _meta is added to a call that had none');
    r.server.send(okAnswer(1));
    r.server.send(okAnswer(2));
    assert.deepEqual(r.toAgent.map((m) => m.id), [1, 2]);
  });
});

describe('tracing: with an SDK registered', () => {
  const exporter = new InMemorySpanExporter();
  before(() => {
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    assert.ok(trace.setGlobalTracerProvider(provider), 'the tracer provider is registered');
    assert.ok(propagation.setGlobalPropagator(new W3CTraceContextPropagator()), 'the W3C propagator is registered');
  });
  beforeEach(() => exporter.reset());

  const ended = (): ReadableSpan[] => exporter.getFinishedSpans();
  const span = (name: string): ReadableSpan => {
    const found = ended().filter((s) => s.name === name);
    assert.equal(found.length, 1, `one ended span "${name}"; ended: ${ended().map((s) => s.name).join(', ') || '(none)'}`);
    return found[0]!;
  };
  const isChildOf = (child: ReadableSpan, parent: ReadableSpan): void => {
    assert.equal(child.spanContext().traceId, parent.spanContext().traceId, `${child.name} is in the trace of ${parent.name}`);
    assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId, `${child.name} is a child of ${parent.name}`);
  };

  test('an allowed call: tools/call (SERVER) in the client trace, policy.decide and upstream (CLIENT) children, context sent upstream', () => {
    const r = relayRig();
    r.agent.send(callFrame(1, 'echo', { traceparent: TRACEPARENT, progressToken: 'p1' }));

    assert.equal(r.toServer.length, 1, 'the call was forwarded');
    const sent = JSON.parse(r.toServer[0]!) as Message;
    assert.equal(sent.params.name, 'echo');
    assert.deepEqual(sent.params.arguments, { text: 'hi' }, 'the arguments are forwarded as sent');
    assert.equal(sent.params._meta.progressToken, 'p1', 'the rest of _meta is kept');
    const [, sentTraceId, sentSpanId] = TRACEPARENT_FORMAT.exec(String(sent.params._meta.traceparent)) ?? [];
    assert.equal(sentTraceId, TRACE_ID, `the upstream continues the client's trace: ${sent.params._meta.traceparent}`);
    assert.notEqual(sentSpanId, CLIENT_SPAN_ID, "the upstream's parent is the gateway's span, not the client's");

    // While the upstream works, only the decision is over.
    assert.deepEqual(ended().map((s) => s.name), ['policy.decide']);
    r.server.send(okAnswer(1));
    assert.equal(r.toAgent[0]?.result?.content?.[0]?.text, 'done', 'the answer reached the agent');

    const call = span('tools/call echo');
    const decide = span('policy.decide');
    const upstream = span('upstream');
    assert.equal(ended().length, 3, 'no other spans');
    for (const s of [call, decide, upstream]) assert.ok(s.ended, `${s.name} ended`);

    assert.equal(call.kind, SpanKind.SERVER);
    assert.equal(call.spanContext().traceId, TRACE_ID);
    assert.equal(call.parentSpanContext?.spanId, CLIENT_SPAN_ID, "the call span's parent is the client's span");
    assert.equal(call.parentSpanContext?.isRemote, true);
    isChildOf(decide, call);
    isChildOf(upstream, call);
    assert.equal(upstream.kind, SpanKind.CLIENT);
    assert.equal(upstream.spanContext().spanId, sentSpanId, 'the traceparent sent upstream names the upstream span');

    assert.equal(call.attributes['gen_ai.tool.name'], 'echo');
    assert.equal(call.attributes['mcp.method.name'], 'tools/call');
    assert.equal(call.attributes['policylayer.server'], 's');
    assert.equal(call.attributes['policylayer.agent'], AGENT, 'the call span names the agent');
    assert.equal(call.attributes['policylayer.decision'], 'allowed');
    assert.equal(call.attributes['policylayer.outcome'], 'ok');
    assert.equal(decide.attributes['policylayer.decision'], 'allowed');
    assert.equal(decide.attributes['policylayer.rule'], 'servers.s.tools.echo');
    assert.equal(upstream.attributes['policylayer.outcome'], 'ok');
    assert.equal(upstream.status.code, SpanStatusCode.UNSET);
    assert.equal(call.status.code, SpanStatusCode.UNSET);
  });

  test('a denied call: tools/call and policy.decide end at once, decision denied, nothing sent upstream', () => {
    const r = relayRig();
    r.agent.send(callFrame(2, 'delete_file', { traceparent: TRACEPARENT }));
    assert.deepEqual(r.toServer, [], 'nothing reached the server');
    assert.match(String(r.toAgent[0]?.result?.content?.[0]?.text), /^\[POLICY DENIED\]/);

    const call = span('tools/call delete_file');
    const decide = span('policy.decide');
    assert.deepEqual(ended().map((s) => s.name).sort(), ['policy.decide', 'tools/call delete_file'], 'no upstream span');
    assert.equal(call.kind, SpanKind.SERVER);
    isChildOf(decide, call);
    assert.equal(call.attributes['policylayer.decision'], 'denied');
    assert.equal(call.attributes['policylayer.agent'], AGENT, 'a denial names the agent it refused');
    assert.equal(decide.attributes['policylayer.decision'], 'denied');
    assert.equal(decide.attributes['policylayer.rule'], 'servers.s.tools.delete_file');
  });

  test("a denied call's span joins the client's trace from _meta.traceparent", () => {
    const r = relayRig();
    r.agent.send(callFrame(2, 'delete_file', { traceparent: TRACEPARENT }));
    const call = span('tools/call delete_file');
    assert.equal(call.spanContext().traceId, TRACE_ID, "the denial shows up in the agent's trace");
    assert.equal(call.parentSpanContext?.spanId, CLIENT_SPAN_ID);
  });

  test('an error answer from the upstream: the upstream span has status ERROR, the call span says how it ended', () => {
    const r = relayRig();
    r.agent.send(callFrame(3, 'flaky', { traceparent: TRACEPARENT }));
    r.server.send(JSON.stringify({ jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'flaky failed' } }));
    assert.equal(r.toAgent[0]?.error?.message, 'flaky failed', 'the error reached the agent');
    const upstream = span('upstream');
    assert.equal(upstream.status.code, SpanStatusCode.ERROR);
    assert.equal(upstream.attributes['policylayer.outcome'], 'transport_error');
    assert.equal(span('tools/call flaky').attributes['policylayer.outcome'], 'transport_error');
  });

  test('a tool error result (isError) also marks the upstream span ERROR', () => {
    const r = relayRig();
    r.agent.send(callFrame(4, 'flaky', { traceparent: TRACEPARENT }));
    r.server.send(JSON.stringify({ jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: 'no' }], isError: true } }));
    const upstream = span('upstream');
    assert.equal(upstream.status.code, SpanStatusCode.ERROR);
    assert.equal(upstream.attributes['policylayer.outcome'], 'tool_error');
  });

  test('a call still in flight when the agent disconnects: its spans end (cancelled, as the audit log says), none stays open', () => {
    const r = relayRig();
    r.agent.send(callFrame(5, 'echo', { traceparent: TRACEPARENT }));
    assert.deepEqual(ended().map((s) => s.name), ['policy.decide']);
    r.agent.close();
    assert.deepEqual(ended().map((s) => s.name).sort(), ['policy.decide', 'tools/call echo', 'upstream']);
    assert.equal(span('upstream').attributes['policylayer.outcome'], 'cancelled');
  });

  test('a call still in flight when the server goes away: its spans end with transport_error', () => {
    const r = relayRig();
    r.agent.send(callFrame(8, 'echo', { traceparent: TRACEPARENT }));
    r.server.close();
    assert.deepEqual(ended().map((s) => s.name).sort(), ['policy.decide', 'tools/call echo', 'upstream']);
    assert.equal(span('upstream').attributes['policylayer.outcome'], 'transport_error');
  });

  test('a cancelled call: its spans end with outcome cancelled', () => {
    const r = relayRig();
    r.agent.send(callFrame(6, 'echo', { traceparent: TRACEPARENT }));
    r.agent.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 6 } }));
    assert.equal(span('upstream').attributes['policylayer.outcome'], 'cancelled');
    assert.equal(span('tools/call echo').attributes['policylayer.outcome'], 'cancelled');
  });

  test('the HTTP traceparent header is used when the call has no _meta.traceparent; _meta wins over it', () => {
    const otherTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const headers: StandardHeaders = { trace: { traceparent: `00-${otherTrace}-00f067aa0ba902b7-01` } };
    const r = relayRig();
    r.relay.fromClient(callFrame(7, 'echo'), headers);
    r.server.send(okAnswer(7));
    assert.equal(span('tools/call echo').spanContext().traceId, otherTrace);
    const sent = JSON.parse(r.toServer[0]!) as Message;
    assert.equal(TRACEPARENT_FORMAT.exec(String(sent.params._meta?.traceparent))?.[1], otherTrace, 'the header trace goes upstream in _meta');

    exporter.reset();
    r.relay.fromClient(callFrame(8, 'echo', { traceparent: TRACEPARENT }), headers);
    r.server.send(okAnswer(8));
    assert.equal(span('tools/call echo').spanContext().traceId, TRACE_ID);
  });

  test('a client trace that is not sampled: no spans, and the upstream gets the bytes as sent', () => {
    const r = relayRig();
    const frame = callFrame(10, 'echo', { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN_ID}-00` });
    r.agent.send(frame);
    r.server.send(okAnswer(10));
    assert.deepEqual(r.toServer, [frame]);
    assert.deepEqual(ended(), []);
  });

  test('a call without any trace context starts a new trace, and that trace goes upstream', () => {
    const r = relayRig();
    r.agent.send(callFrame(9, 'echo'));
    r.server.send(okAnswer(9));
    const call = span('tools/call echo');
    assert.equal(call.parentSpanContext, undefined, 'a root span');
    const sent = JSON.parse(r.toServer[0]!) as Message;
    const [, traceId, spanId] = TRACEPARENT_FORMAT.exec(String(sent.params._meta?.traceparent)) ?? [];
    assert.equal(traceId, call.spanContext().traceId);
    assert.equal(spanId, span('upstream').spanContext().spanId);
  });
});
