// Rate limits and spend caps in the policy file: accepted forms, compiled limits, and errors with line:column.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { windowMs } from '../../src/config/limits-schema.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { compilePolicy } from '../../src/policy/compile.js';

const F = 'limits.yaml';

describe('limits in the policy file', () => {
  test('window notations', () => {
    assert.equal(windowMs(60), 60_000);
    assert.equal(windowMs('30s'), 30_000);
    assert.equal(windowMs('1m'), 60_000);
    assert.equal(windowMs('2h'), 7_200_000);
    assert.equal(windowMs('day'), 86_400_000);
    assert.equal(windowMs('250ms'), 250);
  });

  test('rule, server and gateway limits all land on an allowed decision, in that order, with stable paths', () => {
    const config = parseConfig(
      `version: 1
gateway:
  all_tools: { rate_limit: { max: 1000, window: 1h, scope: global } }
servers:
  pay:
    command: [node, pay.js]
    all_tools: { rate_limit: { max: 100, window: 1m, scope: agent } }
    tools:
      create_payment:
        action: allow
        rate_limit: [{ max: 10, window: 1m }, { max: 100, window: 1d }]
        quota: { max: 500, window: day, cost: args.amount }
      refund: { action: deny, rate_limit: { max: 1, window: 1 } }
`,
      F,
      {},
    );
    const policy = compilePolicy(config).server('pay')!;
    const limits = policy.decide('create_payment').limits!;
    assert.deepEqual(
      limits.map((l) => [l.path, l.kind, l.max, l.windowMs, l.scope]),
      [
        ['servers.pay.tools.create_payment.rate_limit[0]', 'rate_limit', 10, 60_000, 'session'],
        ['servers.pay.tools.create_payment.rate_limit[1]', 'rate_limit', 100, 86_400_000, 'session'],
        ['servers.pay.tools.create_payment.quota', 'quota', 500, 86_400_000, 'server'],
        ['servers.pay.all_tools.rate_limit', 'rate_limit', 100, 60_000, 'agent'],
        ['gateway.all_tools.rate_limit', 'rate_limit', 1000, 3_600_000, 'global'],
      ],
    );
    assert.deepEqual(limits[2]!.cost, ['amount']);
    // Tools no rule names still fall under the server's and gateway's limits; a denied tool carries none.
    assert.deepEqual(policy.decide('other').limits!.map((l) => l.path), ['servers.pay.all_tools.rate_limit', 'gateway.all_tools.rate_limit']);
    assert.equal(policy.decide('refund').limits, undefined);
  });

  test('bad limits are reported with file:line:column and a hint', () => {
    const text = `version: 1
gateway: { state: "mysql://x" }
servers:
  s:
    command: [node, x.js]
    tools:
      a: { action: allow, rate_limit: { max: 0, window: 5x } }
      b: { action: allow, quota: { max: 10, window: 1h, cost: amount } }
      c: { action: allow, rate_limit: [{ max: 1, window: 1, scop: agent }] }
`;
    const err = (() => {
      try {
        parseConfig(text, F, {});
      } catch (e) {
        return e as ConfigError;
      }
      assert.fail('an invalid file was accepted');
    })();
    const at = err.problems.map((p) => `${p.line}:${p.column} ${p.path}`);
    assert.deepEqual(at, [
      '2:19 gateway.state',
      '7:46 servers.s.tools.a.rate_limit.max',
      '7:49 servers.s.tools.a.rate_limit.window',
      '8:63 servers.s.tools.b.quota.cost',
      '9:61 servers.s.tools.c.rate_limit[0].scop',
    ]);
    assert.match(err.problems[4]!.hint ?? '', /did you mean `scope`/);
    assert.match(err.problems[3]!.message, /args\.amount/);
  });
});
