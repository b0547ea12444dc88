// The call pipeline's settling rule and its refusal of decisions it does not know, with a recording limiter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Action } from '../../src/config/schema.js';
import type { ServerPolicy } from '../../src/policy/compile.js';
import type { Decision } from '../../src/policy/decision.js';
import type { CompiledLimit } from '../../src/policy/limits.js';
import type { Admission, Limiter, Outcome, Ticket } from '../../src/proxy/admission.js';
import { MAY_HAVE_RUN } from '../../src/proxy/jsonrpc.js';
import { budgetOutcome, createCallPipeline, type CallSession } from '../../src/proxy/pipeline.js';

const LIMIT = { path: 'servers.s.tools.pay.quota' } as CompiledLimit;

/** A limiter that admits everything (once `release` is called, when gated) and records how tickets are settled. */
function recordingLimiter(gated = false) {
  const settled: Outcome[] = [];
  let release: () => void = () => undefined;
  const limiter: Limiter = {
    prepare: () => undefined,
    admit: () =>
      new Promise<Admission>((resolve) => {
        const ok = () => resolve({ ok: true, ticket: { token: { entries: [] }, quotaKeys: new Set() } as unknown as Ticket });
        if (gated) release = ok;
        else ok();
      }),
    settle: (_ticket, outcome) => void settled.push(outcome),
    health: () => undefined,
    close: async () => undefined,
  };
  return { limiter, settled, release: () => release() };
}

const policyOf = (decision: Decision): ServerPolicy => ({ server: 's', decide: () => decision, isVisible: () => true });
const allowWithLimit: Decision = { action: 'allow', rule: 'servers.s.tools.pay', limits: [LIMIT] };
const payFrame = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'pay', arguments: { amount: 5 } } });
const cancelFrame = (id: number) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } });

function session(decision: Decision, limiter: Limiter): CallSession {
  return createCallPipeline({ server: 's', policy: () => policyOf(decision), limiter }).session({ identity: { session: 'x', agent: 'a' } });
}

describe('call pipeline', () => {
  test('budget comes back only when the call surely did not run', () => {
    assert.equal(budgetOutcome('failed'), 'failed');
    assert.equal(budgetOutcome('tool_error'), 'tool_error');
    for (const kept of ['ok', 'cancelled', 'lost'] as const) assert.equal(budgetOutcome(kept), 'ok', kept);
  });

  test('a forwarded call: a cancel, the end of the session and an unreadable end keep its budget; a JSON-RPC error gives it back', async () => {
    const { limiter, settled } = recordingLimiter();
    const calls = session(allowWithLimit, limiter);
    for (const id of [1, 2, 3, 4, 5, 6]) assert.equal((await calls.decide(payFrame(id))).kind, 'forward');
    await calls.decide(cancelFrame(1));
    calls.answered({ jsonrpc: '2.0', id: 2, error: { code: -32000, message: 'no' } });
    calls.answered({ jsonrpc: '2.0', id: 3, result: { content: [], isError: true } });
    calls.ended(4, 'lost');
    // The gateway's own transport answered after the request may have reached the server.
    calls.answered({ jsonrpc: '2.0', id: 5, error: { code: -32001, message: 'connection reset', data: MAY_HAVE_RUN } });
    calls.abandon('cancelled');
    assert.deepEqual(settled, ['ok', 'failed', 'tool_error', 'ok', 'ok', 'ok']);
  });

  test('a call cancelled while it waits for admission never leaves and gives its budget back', async () => {
    const gate = recordingLimiter(true);
    const calls = session(allowWithLimit, gate.limiter);
    const pending = calls.decide(payFrame(7));
    assert.ok(pending instanceof Promise);
    await calls.decide(cancelFrame(7));
    gate.release();
    const verdict = await pending;
    assert.equal(verdict.kind, 'answer', 'not forwarded');
    assert.deepEqual(gate.settled, ['failed']);
  });

  test('a decision the pipeline does not know is refused at run time, never forwarded', async () => {
    const { limiter } = recordingLimiter();
    for (const action of ['escalate', 'ALLOW', ''] as unknown as Action[]) {
      const verdict = await session({ action, rule: 'servers.s.tools.pay' }, limiter).decide(payFrame(9));
      assert.equal(verdict.kind, 'answer', `"${String(action)}" was forwarded`);
      const text = verdict.kind === 'answer' && !Array.isArray(verdict.reply) ? JSON.stringify(verdict.reply) : '';
      assert.match(text, /POLICY DENIED/);
    }
  });
});
