// The call metrics as a Prometheus scrape reads them: labelled by server, tool, agent and decision or outcome, with
// the number of distinct tool and agent labels capped (a client can invent tool names, a JWT issuer agent names).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createGatewayMetrics, type GatewayMetrics } from '../../src/admin/metrics.js';

/** The sample lines of one metric in the /metrics text, e.g. `policylayer_tool_calls_total{…} 3`. */
async function samples(metrics: GatewayMetrics, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`));
}

const calls = (m: GatewayMetrics) => samples(m, 'policylayer_tool_calls_total');

describe('call metrics: the agent label', () => {
  test('decided and ended calls carry the agent beside server and tool', async () => {
    const m = createGatewayMetrics();
    m.callDecided({ server: 's', tool: 'echo', agent: 'support-bot' }, 'allowed', 0.001);
    m.callDecided({ server: 's', tool: 'echo', agent: 'support-bot' }, 'allowed', 0.001);
    m.callDecided({ server: 's', tool: 'echo', agent: 'billing' }, 'denied', 0.001);
    m.callEnded({ server: 's', tool: 'echo', agent: 'support-bot' }, 'ok', 0.01);
    assert.deepEqual((await calls(m)).sort(), [
      'policylayer_tool_calls_total{server="s",tool="echo",agent="billing",decision="denied"} 1',
      'policylayer_tool_calls_total{server="s",tool="echo",agent="support-bot",decision="allowed"} 2',
    ]);
    assert.deepEqual(await samples(m, 'policylayer_tool_call_results_total'), [
      'policylayer_tool_call_results_total{server="s",tool="echo",agent="support-bot",outcome="ok"} 1',
    ]);
    // Latency histograms stay per server: an agent label there would multiply every bucket.
    const buckets = await samples(m, 'policylayer_decision_duration_seconds_bucket');
    assert.ok(buckets.length > 0);
    for (const line of buckets) assert.doesNotMatch(line, /agent=/, line);
  });

  test('a malformed frame (no tool) is still counted under its agent', async () => {
    const m = createGatewayMetrics();
    m.callDecided({ server: 's', tool: undefined, agent: 'anonymous' }, 'malformed', 0.0001);
    assert.deepEqual(await calls(m), ['policylayer_tool_calls_total{server="s",tool="",agent="anonymous",decision="malformed"} 1']);
  });

  test('at most 100 agents get a label of their own; later ones are counted as _other, the first keep theirs', async () => {
    const m = createGatewayMetrics();
    for (let i = 0; i < 100; i++) m.callDecided({ server: 's', tool: 'echo', agent: `agent-${i}` }, 'allowed', 0.001);
    for (let i = 100; i < 130; i++) m.callDecided({ server: 's', tool: 'echo', agent: `agent-${i}` }, 'allowed', 0.001);
    m.callDecided({ server: 's', tool: 'echo', agent: 'agent-7' }, 'allowed', 0.001);
    // The cap is per gateway, not per server: another server does not open room for more agents.
    m.callDecided({ server: 'other', tool: 'echo', agent: 'agent-200' }, 'allowed', 0.001);
    m.callEnded({ server: 's', tool: 'echo', agent: 'agent-129' }, 'ok', 0.01);

    const lines = await calls(m);
    const agents = new Set(lines.map((l) => /agent="([^"]*)"/.exec(l)?.[1]));
    assert.equal(agents.size, 101, 'the 100 first agents and _other');
    assert.ok(agents.has('agent-0') && agents.has('agent-99'));
    assert.ok(!agents.has('agent-100') && !agents.has('agent-200'));
    assert.ok(lines.includes('policylayer_tool_calls_total{server="s",tool="echo",agent="_other",decision="allowed"} 30'), lines.join('\n'));
    assert.ok(lines.includes('policylayer_tool_calls_total{server="other",tool="echo",agent="_other",decision="allowed"} 1'));
    assert.ok(lines.includes('policylayer_tool_calls_total{server="s",tool="echo",agent="agent-7",decision="allowed"} 2'), 'a labelled agent keeps its label');
    assert.deepEqual(await samples(m, 'policylayer_tool_call_results_total'), [
      'policylayer_tool_call_results_total{server="s",tool="echo",agent="_other",outcome="ok"} 1',
    ]);
  });

  test('the tool cap (200 per server) still applies, independently of the agent cap', async () => {
    const m = createGatewayMetrics();
    for (let i = 0; i < 201; i++) m.callDecided({ server: 's', tool: `t${i}`, agent: 'bot' }, 'allowed', 0.001);
    m.callDecided({ server: 'u', tool: 't200', agent: 'bot' }, 'allowed', 0.001);
    const lines = await calls(m);
    assert.equal(lines.filter((l) => l.includes('server="s"')).length, 201, '200 tools and _other');
    assert.ok(lines.includes('policylayer_tool_calls_total{server="s",tool="_other",agent="bot",decision="allowed"} 1'));
    assert.ok(lines.includes('policylayer_tool_calls_total{server="u",tool="t200",agent="bot",decision="allowed"} 1'), 'the cap is per server');
  });
});
