// What an approval is bound to and what approvers see of a held call: the whole params minus per-call _meta noise,
// redacted as the audit log redacts arguments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindingOf, boundParams, newApprovalRecord, paramsText, type HeldCall } from '../../src/approvals/held-call.js';
import { createRedactor } from '../../src/audit/redact.js';

const held = (params: Record<string, unknown>): HeldCall => ({
  server: 'payments',
  tool: 'pay',
  params: { name: 'pay', ...params },
  agent: 'agent-1',
  rule: 'servers.payments.tools.pay',
  approval: { mode: 'async', timeoutMs: 60_000 },
});
const binding = (params: Record<string, unknown>): string => bindingOf(held(params));

describe('held calls', () => {
  it('the binding covers every params field but progressToken and the trace context', () => {
    const base = binding({ arguments: { amount: 1 } });
    assert.equal(binding({ arguments: { amount: 1 }, _meta: { progressToken: 7, traceparent: 't', tracestate: 's', baggage: 'b' } }), base);
    assert.equal(binding({ _meta: {}, arguments: { amount: 1 } }), base, 'an empty _meta is no field');
    for (const other of [
      { arguments: { amount: 1 }, args: { amount: 1000 } },
      { arguments: { amount: 1 }, input: null },
      { arguments: { amount: 1 }, _meta: { 'com.example/amount': 1000 } },
      // Not what the key means (a progressToken is a string or number): bound like any other value.
      { arguments: { amount: 1 }, _meta: { progressToken: { amount: 1000 } } },
      { arguments: { amount: 1 }, _meta: 'progressToken' },
      { arguments: {} },
      {},
    ]) {
      assert.notEqual(binding(other), base, JSON.stringify(other));
    }
    assert.notEqual(bindingOf({ ...held({ arguments: { amount: 1 } }), agent: 'agent-2' }), base);
    assert.deepEqual(boundParams({ name: 'pay', _meta: { progressToken: 'p', x: 1 } }), { name: 'pay', _meta: { x: 1 } });
  });

  it('a record shows arguments and other fields redacted (paths apply to each field); the binding is over the real values', () => {
    const redact = createRedactor({ paths: ['card.number'] });
    const call = held({ arguments: { card: { number: '4111', cvc: 1 } }, args: { card: { number: '4242' } }, _meta: { progressToken: 3 } });
    const r = newApprovalRecord(call, redact, 1000);
    assert.deepEqual(r.args, { card: { number: '[REDACTED]', cvc: 1 } });
    assert.deepEqual(r.otherParams, { args: { card: { number: '[REDACTED]' } } }, 'no progressToken: per call, not part of the approval');
    assert.equal(r.binding, bindingOf(call));
    assert.equal(r.expires, 61_000);
    assert.equal(newApprovalRecord(held({}), redact, 0).args, null);
    assert.equal(newApprovalRecord(held({ arguments: {} }), redact, 0).otherParams, undefined);
    const none = newApprovalRecord(held({ arguments: { amount: 1 }, input: 2 }), createRedactor({ mode: 'none' }), 0);
    assert.deepEqual([none.args, none.otherParams], ['[REDACTED]', { input: '[REDACTED]' }], 'audit.arguments none: nothing of the values');
  });

  it('paramsText cuts the arguments and the other fields each on its own', () => {
    assert.equal(paramsText({ args: { a: 1 } }), '{"a":1}');
    assert.equal(paramsText({ args: { a: 'x'.repeat(50) }, otherParams: { args: 1 } }, 10), '{"a":"xxx… and other params {"args":1}');
  });
});
