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
