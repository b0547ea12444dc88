// Prometheus metrics of one gateway (prom-client, a registry of its own): calls by decision and outcome, latencies,
// state-store errors, reloads, audit health. Updating them is in-memory work; nothing here does I/O per call.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Distinct tool labels kept per server; further names (a client can invent any) are counted as "_other". */
const MAX_TOOL_LABELS = 200;
/**
 * Distinct agent labels kept per gateway; further agents are counted as "_other". Agents from tokens are few, but a
 * JWT issuer can mint any claim value, and every label value is a time series held until the process ends.
 */
const MAX_AGENT_LABELS = 100;

/** Who made a call and what it called, as the call metrics label it. */
export interface CallLabels {
  server: string;
  tool: string | undefined;
  agent: string;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  callDecided(call: CallLabels, decision: string, seconds: number): void;
  callEnded(call: CallLabels, outcome: string, seconds: number): void;
  stateStoreError(store: string): void;
  reload(result: 'ok' | 'rejected'): void;
  auditWriteError(sink: string): void;
  /** A session refused by a listener cap (gateway.sessions.max, max_per_client, spawn_rate). */
  sessionRefused(cap: string): void;
  /** Current value providers, read at scrape time. */
  gauge(name: 'sessions' | 'audit_buffered' | 'approvals_held', read: () => number): void;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'policylayer_' });
  const calls = new Counter({
    name: 'policylayer_tool_calls_total',
    help: 'Tool calls decided by the gateway, by server, tool, agent and decision (allowed, denied, rate_limited, hidden, malformed)',
    labelNames: ['server', 'tool', 'agent', 'decision'] as const,
    registers: [registry],
  });
  const results = new Counter({
    name: 'policylayer_tool_call_results_total',
    help: 'Forwarded tool calls by server, tool, agent and how they ended (ok, tool_error, transport_error, cancelled)',
    labelNames: ['server', 'tool', 'agent', 'outcome'] as const,
    registers: [registry],
  });
  const decisionSeconds = new Histogram({
    name: 'policylayer_decision_duration_seconds',
    help: 'Time from a call arriving to its decision, state-store admission included',
    labelNames: ['server'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
    registers: [registry],
  });
  const upstreamSeconds = new Histogram({
    name: 'policylayer_upstream_duration_seconds',
    help: 'Time from forwarding a call to its answer',
    labelNames: ['server'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'policylayer_state_store_errors_total',
    help: 'Rate-limit and spend-cap checks that failed because the state store was unreachable or failed',
    labelNames: ['store'] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'policylayer_policy_reloads_total',
    help: 'Policy file changes, applied (ok) or refused as invalid (rejected)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const auditErrors = new Counter({
    name: 'policylayer_audit_write_errors_total',
    help: 'Failed writes of audit records (they are retried; strict durability refuses the calls)',
    labelNames: ['sink'] as const,
    registers: [registry],
  });
  const sessionRefusals = new Counter({
    name: 'policylayer_sessions_refused_total',
    help: 'Sessions refused with HTTP 503 because a listener cap was reached, by cap (max, max_per_client, spawn_rate)',
    labelNames: ['cap'] as const,
    registers: [registry],
  });
  const readers = new Map<string, () => number>();
  for (const [name, help] of [
    ['sessions', 'Open client sessions'],
    ['audit_buffered', 'Audit records waiting to be written'],
    ['approvals_held', 'Calls held by this gateway until a person approves or denies them'],
  ] as const) {
    new Gauge({
      name: `policylayer_${name}`,
      help,
      registers: [registry],
      collect() {
        this.set(readers.get(name)?.() ?? 0);
      },
    });
  }

  const toolLabels = new Map<string, Set<string>>();
  const toolLabel = (server: string, tool: string | undefined): string => {
    if (tool === undefined) return '';
    let seen = toolLabels.get(server);
    if (!seen) toolLabels.set(server, (seen = new Set()));
    return capped(seen, tool, MAX_TOOL_LABELS);
  };
  const agentLabels = new Set<string>();
  const labels = (call: CallLabels) => ({
    server: call.server,
    tool: toolLabel(call.server, call.tool),
    agent: capped(agentLabels, call.agent, MAX_AGENT_LABELS),
  });

  return {
    registry,
    callDecided(call, decision, seconds) {
      calls.inc({ ...labels(call), decision });
      decisionSeconds.observe({ server: call.server }, seconds);
    },
    callEnded(call, outcome, seconds) {
      results.inc({ ...labels(call), outcome });
      upstreamSeconds.observe({ server: call.server }, seconds);
    },
    stateStoreError: (store) => storeErrors.inc({ store }),
    reload: (result) => reloads.inc({ result }),
    auditWriteError: (sink) => auditErrors.inc({ sink }),
    sessionRefused: (cap) => sessionRefusals.inc({ cap }),
    gauge: (name, read) => void readers.set(name, read),
  };
}

/** `value` when it is already a label or there is room for one more, else "_other"; the first `max` values seen stay. */
function capped(seen: Set<string>, value: string, max: number): string {
  if (seen.has(value)) return value;
  if (seen.size >= max) return '_other';
  seen.add(value);
  return value;
}
