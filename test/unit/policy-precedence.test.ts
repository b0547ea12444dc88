// Which rule decides a tool call: exact name, then the most literal glob, ties to the stricter action, default last.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.js';
import { compilePolicy, type ServerPolicy } from '../../src/policy/compile.js';
import { globToRegExp, isGlob, literalLength } from '../../src/policy/names.js';

/** Compiles one server "s" with the given rules (the object is what the YAML file would hold). */
function policyOf(server: Record<string, unknown>): ServerPolicy {
  const config = ConfigSchema.parse({ version: 1, servers: { s: { command: ['node', 'x.js'], ...server } } });
  return compilePolicy(config).server('s')!;
}

/** [action, rule] for a call, the two things audit and the denial text rely on. */
const verdict = (p: ServerPolicy, tool: string) => {
  const d = p.decide(tool);
  return [d.action, d.rule];
};

describe('exact names beat patterns', () => {
  test('an exact allow wins over a matching deny glob, and an exact deny over a matching allow glob', () => {
    const p = policyOf({
      tools: { 'delete_*': 'deny', delete_draft: 'allow', 'read_*': 'allow', read_secrets: { action: 'deny', reason: 'secrets' } },
    });
    assert.deepEqual(verdict(p, 'delete_draft'), ['allow', 'servers.s.tools.delete_draft']);
    assert.deepEqual(verdict(p, 'delete_user'), ['deny', 'servers.s.tools.delete_*']);
    assert.deepEqual(verdict(p, 'read_secrets'), ['deny', 'servers.s.tools.read_secrets']);
    assert.equal(p.decide('read_secrets').reason, 'secrets');
    assert.deepEqual(verdict(p, 'read_notes'), ['allow', 'servers.s.tools.read_*']);
  });

  test('an exact hide entry wins over an allow glob', () => {
    const p = policyOf({ tools: { '*': 'allow' }, hide: ['debug_dump'] });
    assert.deepEqual(verdict(p, 'debug_dump'), ['hide', 'servers.s.hide[0]']);
    assert.deepEqual(verdict(p, 'debug_other'), ['allow', 'servers.s.tools.*']);
  });

  test('a name in both tools and hide takes the stricter of the two', () => {
    const p = policyOf({ tools: { admin: 'allow', audit: 'deny' }, hide: ['admin', 'audit'] });
    assert.deepEqual(verdict(p, 'admin'), ['hide', 'servers.s.hide[0]']);
    assert.deepEqual(verdict(p, 'audit'), ['hide', 'servers.s.hide[1]']);
  });
});

describe('among patterns, more literal characters win', () => {
  const rules = { 'delete_*': { action: 'deny', reason: 'no deletes' }, 'delete_temp_*': 'allow', '*': 'deny', 'get_?': 'allow' };

  test('the longer literal prefix decides, whatever the order in the file', () => {
    for (const tools of [rules, Object.fromEntries(Object.entries(rules).reverse())]) {
      const p = policyOf({ default: 'allow', tools });
      assert.deepEqual(verdict(p, 'delete_temp_cache'), ['allow', 'servers.s.tools.delete_temp_*']);
      assert.deepEqual(verdict(p, 'delete_user'), ['deny', 'servers.s.tools.delete_*']);
      assert.equal(p.decide('delete_user').reason, 'no deletes');
      assert.deepEqual(verdict(p, 'get_x'), ['allow', 'servers.s.tools.get_?']);
      assert.deepEqual(verdict(p, 'get_xy'), ['deny', 'servers.s.tools.*'], '? is exactly one character');
      assert.deepEqual(verdict(p, 'anything'), ['deny', 'servers.s.tools.*']);
    }
  });

  test('on equal literal counts the more restrictive action wins, whatever the order in the file', () => {
    const a = { 'get_*': 'allow', '*_env': { action: 'deny', reason: 'env is private' }, '*_key': 'hide' };
    for (const tools of [a, Object.fromEntries(Object.entries(a).reverse())]) {
      const p = policyOf({ tools });
      // get_* (4 literals) and *_env (4) both match: deny beats allow.
      assert.deepEqual(verdict(p, 'get_env'), ['deny', 'servers.s.tools.*_env']);
      // get_* (4) and *_key (4): hide is stricter than allow.
      assert.deepEqual(verdict(p, 'get_key'), ['hide', 'servers.s.tools.*_key']);
      assert.deepEqual(verdict(p, 'get_other'), ['allow', 'servers.s.tools.get_*']);
    }
  });

  test('one more literal character beats the stricter action', () => {
    const p = policyOf({ tools: { 'get_e*': 'allow', '*_env': 'deny' } });
    assert.deepEqual(verdict(p, 'get_env'), ['allow', 'servers.s.tools.get_e*']);
  });

  test('the same pattern and action twice: the earlier one in the file is the rule reported', () => {
    const p = policyOf({ tools: { 'x*': 'deny', '*x': 'deny' } });
    assert.deepEqual(verdict(p, 'xx'), ['deny', 'servers.s.tools.x*']);
  });
});

describe('the default comes last', () => {
  test('a matching pattern decides even when the default is stricter', () => {
    const p = policyOf({ default: 'deny', tools: { 'read_*': 'allow' } });
    assert.deepEqual(verdict(p, 'read_file'), ['allow', 'servers.s.tools.read_*']);
    assert.deepEqual(verdict(p, 'write_file'), ['deny', 'servers.s.default']);
  });

  test('a matching pattern decides even when the default is looser', () => {
    const p = policyOf({ default: 'allow', tools: { 'write_*': 'deny' } });
    assert.deepEqual(verdict(p, 'write_file'), ['deny', 'servers.s.tools.write_*']);
    assert.deepEqual(verdict(p, 'read_file'), ['allow', 'servers.s.default']);
  });

  test('the default applies as written: allow, deny and hide', () => {
    assert.deepEqual(verdict(policyOf({}), 'x'), ['allow', 'servers.s.default'], 'allow when the file says nothing');
    assert.deepEqual(verdict(policyOf({ default: 'deny' }), 'x'), ['deny', 'servers.s.default']);
    const hidden = policyOf({ default: 'hide', tools: { echo: 'allow' } });
    assert.deepEqual(verdict(hidden, 'x'), ['hide', 'servers.s.default']);
    assert.equal(hidden.isVisible('x'), false);
    assert.equal(hidden.isVisible('echo'), true);
  });
});

describe('hide list and visibility', () => {
  test('hide entries may be globs, and hidden tools are invisible; denied tools stay listed', () => {
    const p = policyOf({ tools: { drop_db: { action: 'deny', reason: 'never' } }, hide: ['debug_*', 'internal'] });
    assert.deepEqual(verdict(p, 'debug_trace'), ['hide', 'servers.s.hide[0]']);
    assert.deepEqual(verdict(p, 'internal'), ['hide', 'servers.s.hide[1]']);
    assert.equal(p.isVisible('debug_trace'), false);
    assert.equal(p.isVisible('internal'), false);
    // A denied tool is shown so that the agent can read why it is refused.
    assert.equal(p.isVisible('drop_db'), true);
    assert.equal(p.isVisible('echo'), true);
  });

  test('a hide glob beats an allow glob of the same specificity', () => {
    const p = policyOf({ tools: { 'a*': 'allow' }, hide: ['*z'] });
    assert.deepEqual(verdict(p, 'abz'), ['hide', 'servers.s.hide[0]']);
  });

  test('a deny reason is kept and a string rule has none', () => {
    const p = policyOf({ tools: { a: { action: 'deny', reason: 'because' }, b: 'deny' } });
    assert.equal(p.decide('a').reason, 'because');
    assert.equal(p.decide('b').reason, undefined);
  });

  test('servers are independent and an unknown server has no policy', () => {
    const config = ConfigSchema.parse({
      version: 1,
      servers: { one: { command: ['x'], tools: { t: 'deny' } }, two: { command: ['x'], default: 'deny', tools: { t: 'allow' } } },
    });
    const policy = compilePolicy(config);
    assert.deepEqual(verdict(policy.server('one')!, 't'), ['deny', 'servers.one.tools.t']);
    assert.deepEqual(verdict(policy.server('two')!, 't'), ['allow', 'servers.two.tools.t']);
    assert.equal(policy.server('three'), undefined);
  });
});

describe('globs', () => {
  test('only * and ? are special; regex characters in names are literal', () => {
    assert.equal(isGlob('a.b'), false);
    assert.equal(isGlob('a*'), true);
    assert.equal(isGlob('a?'), true);
    assert.equal(globToRegExp('a.b').test('axb'), false);
    assert.equal(globToRegExp('a.b').test('a.b'), true);
    assert.equal(globToRegExp('fn(x)+[y]{2}|$^\\').test('fn(x)+[y]{2}|$^\\'), true);
    assert.equal(globToRegExp('pre*').test('pre'), true);
    assert.equal(globToRegExp('pre*').test('xpre'), false, 'anchored at the start');
    assert.equal(globToRegExp('*post').test('postx'), false, 'anchored at the end');
    assert.equal(globToRegExp('a*').test('a\nb'), true, '* spans any character, newlines included');
    assert.equal(literalLength('delete_*'), 7);
    assert.equal(literalLength('*_?'), 1);
  });

  test('regex-looking names in rules match only themselves', () => {
    const p = policyOf({ default: 'deny', tools: { 'get.env': 'allow', 'a+': 'allow' } });
    assert.equal(p.decide('get.env').action, 'allow');
    assert.equal(p.decide('getXenv').action, 'deny');
    assert.equal(p.decide('aaa').action, 'deny');
  });
});

describe('which rules bind a name that folds onto a rule', () => {
  const paths = (p: ServerPolicy, tool: string) => (p.decide(tool).limits ?? []).map((l) => l.path).sort();
  const rl = (max: number) => ({ action: 'allow', rate_limit: { max, window: 60 } });

  test('both allow with different limits: the spelling carries both, the exact names keep their own', () => {
    const p = policyOf({ tools: { '*': rl(50), ratey: rl(2) } });
    assert.deepEqual(verdict(p, 'RATEY'), ['allow', 'servers.s.tools.ratey']);
    assert.deepEqual(paths(p, 'RATEY'), ['servers.s.tools.*.rate_limit', 'servers.s.tools.ratey.rate_limit']);
    assert.deepEqual(paths(p, 'ratey'), ['servers.s.tools.ratey.rate_limit'], 'an exact name still beats a glob');
    assert.deepEqual(paths(p, 'other'), ['servers.s.tools.*.rate_limit']);
  });

  test('the folded rule holds for approval: the spelling is held by it, and keeps the limits it had as written', () => {
    const p = policyOf({ tools: { '*': rl(50), pay: { action: 'require_approval', approval_timeout: '2m', quota: { max: 100, window: '1h', cost: 'args.amount' } } } });
    const d = p.decide('PAY');
    assert.deepEqual([d.action, d.rule, d.approval?.timeoutMs], ['require_approval', 'servers.s.tools.pay', 120_000]);
    assert.deepEqual(paths(p, 'PAY'), ['servers.s.tools.*.rate_limit', 'servers.s.tools.pay.quota']);
  });

  test('the name as written is held for approval: still held, and the folded rule\'s limits apply once approved', () => {
    const p = policyOf({ default: 'require_approval', tools: { ratey: rl(2) } });
    const d = p.decide('Ratey');
    assert.deepEqual([d.action, d.rule], ['require_approval', 'servers.s.default']);
    assert.ok(d.approval, 'a held call carries its approval rule');
    assert.deepEqual(paths(p, 'Ratey'), ['servers.s.tools.ratey.rate_limit']);
  });

  test('both held for approval with different settings: the stricter of each', () => {
    const p = policyOf({
      tools: {
        '*': { action: 'require_approval', approval_timeout: '1m', approval_mode: 'async', approval_ttl: '10m' },
        pay: { action: 'require_approval', approval_timeout: '10m', approval_mode: 'hold', approval_ttl: '5m' },
        payout: { action: 'require_approval', approval_mode: 'async' },
      },
    });
    assert.deepEqual(p.decide('PAY').approval, { timeoutMs: 60_000, mode: 'hold', ttlMs: 300_000 });
    assert.deepEqual(p.decide('PAYOUT').approval, { timeoutMs: 60_000, mode: 'async' }, 'no ttl unless both rules give one');
    assert.deepEqual(p.decide('pay').approval, { timeoutMs: 600_000, mode: 'hold', ttlMs: 300_000 }, 'the exact name keeps its rule');
  });

  test('the folded rule is a glob: its limits bind the spelling, on the glob\'s counter', () => {
    const p = policyOf({ tools: { 'quick_*': rl(5), 'slow_?': rl(1) } });
    for (const name of ['Quick_Run', 'QUICK-RUN', 'quickrun', 'qu\u0456ck.run']) assert.deepEqual(paths(p, name), ['servers.s.tools.quick_*.rate_limit'], name);
    for (const name of ['SLOW_A', 'slowa', 'slow']) assert.deepEqual(paths(p, name), ['servers.s.tools.slow_?.rate_limit'], name);
  });

  test('an exact rule and another rule of the same folded name: each spelling, the exact ones too, is bound by both', () => {
    const p = policyOf({ tools: { read_file: rl(2), Read_File: rl(5), get_thing: 'allow', 'Get-Thing': { action: 'deny', reason: 'no' } } });
    for (const name of ['read_file', 'Read_File', 'READ_FILE', 'read-file']) {
      assert.equal(p.decide(name).action, 'allow', name);
      assert.deepEqual(paths(p, name), ['servers.s.tools.Read_File.rate_limit', 'servers.s.tools.read_file.rate_limit'], name);
    }
    assert.equal(p.decide('read_file').rule, 'servers.s.tools.read_file', 'the exact name reports its own rule');
    assert.equal(p.decide('Read_File').rule, 'servers.s.tools.Read_File');
    for (const name of ['get_thing', 'Get-Thing', 'GET_THING']) assert.deepEqual(verdict(p, name), ['deny', 'servers.s.tools.Get-Thing'], name);
  });

  test('hide: a rule allowing another spelling of a hidden name does not show it', () => {
    const p = policyOf({ tools: { secret_tool: 'allow' }, hide: ['Secret_Tool'] });
    for (const name of ['secret_tool', 'Secret_Tool', 'SECRET-TOOL']) {
      assert.deepEqual(verdict(p, name), ['hide', 'servers.s.hide[0]'], name);
      assert.equal(p.isVisible(name), false, name);
    }
  });

  test('folding never loosens a decision: a spelling is at least as strict as the name, with at least its limits', () => {
    const RULES = {
      default: 'allow',
      all_tools: { rate_limit: { max: 100, window: 60 } },
      tools: {
        ratey: rl(2),
        'quick_*': rl(5),
        wire: { action: 'require_approval', approval_ttl: '1m', rate_limit: { max: 3, window: 60 } },
        nuke: 'deny',
        'admin_*': 'deny',
        '*_log': 'hide',
      },
    };
    const strictness = { allow: 0, require_approval: 1, deny: 2, hide: 3 } as const;
    const PAIRS = [['ratey', 'RATEY'], ['quick_go', 'Quick-Go'], ['wire', 'w\u0456re'], ['nuke', 'NUKE '], ['admin_x', 'Admin.X'], ['sys_log', 'SYS-LOG'], ['plain', 'Plain']] as const;
    for (const fallback of ['allow', 'require_approval', 'deny'] as const) {
      const p = policyOf({ ...RULES, default: fallback });
      for (const [name, spelling] of PAIRS) {
        const exact = p.decide(name);
        const d = p.decide(spelling);
        assert.ok(strictness[d.action] >= strictness[exact.action], `${spelling} (${d.action}) is looser than ${name} (${exact.action}) with default ${fallback}`);
        if (d.action === 'allow' || d.action === 'require_approval') {
          const got = new Set((d.limits ?? []).map((l) => l.path));
          for (const l of exact.limits ?? []) assert.ok(got.has(l.path), `${spelling} escapes ${l.path} with default ${fallback}`);
        }
      }
    }
  });
});
