// Rules that name agents: at one key the rule naming the caller's agent, then the rule for everyone; exact before glob
// before default, per agent; folded names still bind; tools/list per agent; the decision cache kept per agent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.js';
import { compilePolicy, type ServerPolicy } from '../../src/policy/compile.js';
import { filterToolsListResponse } from '../../src/proxy/tools-filter.js';

function policyOf(server: Record<string, unknown>): ServerPolicy {
  const config = ConfigSchema.parse({ version: 1, servers: { s: { command: ['node', 'x.js'], ...server } } });
  return compilePolicy(config).server('s')!;
}
const verdict = (p: ServerPolicy, tool: string, agent?: string) => {
  const d = p.decide(tool, agent);
  return [d.action, d.rule];
};

describe('at one key: the rule naming the agent, else the rule for everyone, else the key does not apply', () => {
  const writeRules = [{ agents: ['ci', 'deployer'], action: 'allow' }, { agents: ['support-bot'], action: 'require_approval' }, { action: 'deny', reason: 'read-only' }];

  test('each agent gets its own rule; an agent no rule names and a caller without one get the rule for everyone', () => {
    const p = policyOf({ tools: { write_file: writeRules } });
    assert.deepEqual(verdict(p, 'write_file', 'ci'), ['allow', 'servers.s.tools.write_file[0]']);
    assert.deepEqual(verdict(p, 'write_file', 'deployer'), ['allow', 'servers.s.tools.write_file[0]']);
    assert.deepEqual(verdict(p, 'write_file', 'support-bot'), ['require_approval', 'servers.s.tools.write_file[1]']);
    assert.deepEqual(verdict(p, 'write_file', 'stranger'), ['deny', 'servers.s.tools.write_file[2]']);
    assert.equal(p.decide('write_file', 'stranger').reason, 'read-only');
    assert.deepEqual(verdict(p, 'write_file', 'anonymous'), ['deny', 'servers.s.tools.write_file[2]']);
    assert.deepEqual(verdict(p, 'write_file'), ['deny', 'servers.s.tools.write_file[2]'], 'no agent: anonymous');
  });

  test('a rule naming the agent wins over the rule for everyone wherever it stands in the list (validate refuses that order)', () => {
    const p = policyOf({ tools: { write_file: [{ action: 'deny' }, { agents: ['ci'], action: 'allow' }] } });
    assert.deepEqual(verdict(p, 'write_file', 'ci'), ['allow', 'servers.s.tools.write_file[1]']);
    assert.deepEqual(verdict(p, 'write_file', 'bot'), ['deny', 'servers.s.tools.write_file[0]']);
  });

  test('of two rules naming the agent, the first wins', () => {
    const p = policyOf({ tools: { t: [{ agents: ['ci'], action: 'hide' }, { agents: ['ci', 'bot'], action: 'allow' }], '*': 'deny' } });
    assert.deepEqual(verdict(p, 't', 'ci'), ['hide', 'servers.s.tools.t[0]']);
    assert.deepEqual(verdict(p, 't', 'bot'), ['allow', 'servers.s.tools.t[1]']);
  });

  test('a single rule with agents keeps its plain path, and applies to no one else', () => {
    const p = policyOf({ default: 'deny', tools: { deploy: { agents: ['ci'], action: 'allow' } } });
    assert.deepEqual(verdict(p, 'deploy', 'ci'), ['allow', 'servers.s.tools.deploy']);
    assert.deepEqual(verdict(p, 'deploy', 'bot'), ['deny', 'servers.s.default']);
  });

  test('a rule written as one action or one mapping is a rule for everyone, as before', () => {
    const p = policyOf({ tools: { a: 'deny', b: { action: 'deny', reason: 'no' }, c: ['hide'] } });
    for (const agent of ['ci', undefined]) {
      assert.deepEqual(verdict(p, 'a', agent), ['deny', 'servers.s.tools.a']);
      assert.deepEqual(verdict(p, 'b', agent), ['deny', 'servers.s.tools.b']);
      assert.deepEqual(verdict(p, 'c', agent), ['hide', 'servers.s.tools.c[0]']);
    }
  });

  test("each agent's rule carries its own limits, counted under their own path", () => {
    const p = policyOf({
      tools: { pay: [{ agents: ['ci'], action: 'allow', rate_limit: { max: 100, window: '1h' } }, { action: 'allow', rate_limit: { max: 1, window: '1h' } }] },
    });
    assert.deepEqual(p.decide('pay', 'ci').limits?.map((l) => [l.path, l.max]), [['servers.s.tools.pay[0].rate_limit', 100]]);
    assert.deepEqual(p.decide('pay', 'bot').limits?.map((l) => [l.path, l.max]), [['servers.s.tools.pay[1].rate_limit', 1]]);
  });
});

describe('exact before glob before default, for each agent', () => {
  test('an exact rule for everyone beats a glob naming the agent', () => {
    const p = policyOf({ tools: { 'delete_*': [{ agents: ['ci'], action: 'allow' }, 'deny'], delete_prod: 'deny' } });
    assert.deepEqual(verdict(p, 'delete_prod', 'ci'), ['deny', 'servers.s.tools.delete_prod']);
    assert.deepEqual(verdict(p, 'delete_tmp', 'ci'), ['allow', 'servers.s.tools.delete_*[0]']);
    assert.deepEqual(verdict(p, 'delete_tmp', 'bot'), ['deny', 'servers.s.tools.delete_*[1]']);
  });

  test('an exact key with rules only for other agents falls through to the glob, then to the default', () => {
    const p = policyOf({ default: 'hide', tools: { read_secret: { agents: ['ci'], action: 'allow' }, 'read_*': [{ agents: ['bot'], action: 'deny' }] } });
    assert.deepEqual(verdict(p, 'read_secret', 'ci'), ['allow', 'servers.s.tools.read_secret']);
    assert.deepEqual(verdict(p, 'read_secret', 'bot'), ['deny', 'servers.s.tools.read_*[0]'], 'glob next');
    assert.deepEqual(verdict(p, 'read_secret', 'other'), ['hide', 'servers.s.default'], 'default last');
  });

  test('among globs the most literal one that applies to the agent wins, then the stricter action', () => {
    const p = policyOf({ tools: { 'get_*': [{ agents: ['ci'], action: 'allow' }], 'get_s*': { agents: ['bot'], action: 'deny' }, '*_env': 'require_approval' } });
    assert.deepEqual(verdict(p, 'get_secret', 'bot'), ['deny', 'servers.s.tools.get_s*']);
    assert.deepEqual(verdict(p, 'get_secret', 'ci'), ['allow', 'servers.s.tools.get_*[0]'], 'get_s* does not apply to ci');
    assert.deepEqual(verdict(p, 'get_env', 'ci'), ['require_approval', 'servers.s.tools.*_env'], 'a tie goes to the stricter action');
    assert.deepEqual(verdict(p, 'get_other', 'nobody'), ['allow', 'servers.s.default']);
  });

  test('hide: entries apply to every agent, even one a rule allows', () => {
    const p = policyOf({ tools: { debug: [{ agents: ['ci'], action: 'allow' }, 'deny'] }, hide: ['debug'] });
    assert.deepEqual(verdict(p, 'debug', 'ci'), ['hide', 'servers.s.hide[0]']);
    assert.equal(p.isVisible('debug', 'ci'), false);
  });
});

describe('folded names still bind, with the rules of the calling agent', () => {
  test("a spelling that folds onto a tool is bound by that agent's rule for it", () => {
    const p = policyOf({ tools: { drop_table: [{ agents: ['dba'], action: 'allow' }, { action: 'deny', reason: 'dba only' }] } });
    assert.equal(p.decide('DROP-TABLE', 'dba').action, 'allow');
    assert.deepEqual(verdict(p, 'DROP-TABLE', 'bot'), ['deny', 'servers.s.tools.drop_table[1]']);
    assert.deepEqual(verdict(p, 'drоp_table', 'bot'), ['deny', 'servers.s.tools.drop_table[1]'], 'Cyrillic о');
  });

  test("a spelling of an agent's limited tool spends that agent's budget for it", () => {
    const p = policyOf({ tools: { pay: [{ agents: ['ci'], action: 'allow', quota: { max: 10, window: '1d', cost: 'args.amount' } }, 'deny'] } });
    assert.deepEqual(p.decide('PAY', 'ci').limits?.map((l) => l.path), ['servers.s.tools.pay[0].quota']);
    assert.equal(p.decide('PAY', 'bot').action, 'deny');
  });

  test("rule keys that fold together bind each other within one agent's rules only", () => {
    const p = policyOf({ tools: { read_file: 'allow', Read_File: [{ agents: ['bot'], action: 'deny' }] } });
    assert.equal(p.decide('read_file', 'bot').action, 'deny', 'bound by its fold-twin for bot');
    assert.equal(p.decide('read_file', 'ci').action, 'allow', 'the rule for bot does not reach ci');
  });
});

describe('tools/list per agent', () => {
  const p = policyOf({ tools: { secret_tool: [{ agents: ['ci'], action: 'allow' }, 'hide'], debug: { agents: ['bot'], action: 'hide' } } });
  const list = { jsonrpc: '2.0', id: 1, result: { tools: ['echo', 'secret_tool', 'debug'].map((name) => ({ name, inputSchema: { type: 'object' } })) } };
  const names = (agent: string) => ((filterToolsListResponse(list, p, agent)?.result as { tools: { name: string }[] } | undefined)?.tools ?? list.result.tools).map((t) => t.name);

  test('one agent sees a tool another does not', () => {
    assert.deepEqual(names('ci'), ['echo', 'secret_tool', 'debug']);
    assert.deepEqual(names('bot'), ['echo']);
    assert.deepEqual(names('anyone'), ['echo', 'debug']);
    assert.equal(p.isVisible('secret_tool', 'ci'), true);
    assert.equal(p.isVisible('secret_tool'), false);
  });
});

describe('the decision cache, per agent', () => {
  test('a decision is a lookup: the same object for the same agent and name, another for another agent', () => {
    const p = policyOf({ tools: { t: [{ agents: ['ci'], action: 'allow', rate_limit: { max: 1, window: 60 } }, 'deny'] } });
    for (let i = 0; i < 3; i++) {
      assert.equal(p.decide('t', 'ci').action, 'allow');
      assert.equal(p.decide('t', 'bot').action, 'deny');
    }
    assert.equal(p.decide('t', 'ci'), p.decide('t', 'ci'));
    assert.notEqual(p.decide('t', 'ci'), p.decide('t', 'bot'));
    // Agents no rule names share one reading (and cache): a credential naming a new agent adds no entry.
    assert.equal(p.decide('t', 'agent-1'), p.decide('t', 'agent-2'));
  });

  test("filling one agent's cache past its bound changes no one's decisions", () => {
    const p = policyOf({ default: 'deny', tools: { 'x*': [{ agents: ['ci'], action: 'allow' }] } });
    for (let i = 0; i < 10_000; i++) p.decide(`x${i}`, i % 2 ? 'ci' : 'bot');
    assert.equal(p.decide('x1', 'ci').action, 'allow');
    assert.equal(p.decide('x1', 'bot').action, 'deny');
    assert.equal(p.decide('x9999', 'ci').action, 'allow');
  });
});
