// The policy file's rules that name agents: their shape, what validate refuses (rules that can never apply, lists
// that do not read in the order they apply) and what it only warns about (agents the file does not declare).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { run as runValidate } from '../../src/cli/validate.js';
import { ConfigError, parseConfigWithSource, type ConfigProblem } from '../../src/config/load.js';

const F = 'policy.yaml';
const HASH = 'a'.repeat(64);
const file = (tools: string) => `version: 1
agents:
  ci: { token_sha256: "${HASH}", servers: [s] }
  support-bot: { token_sha256: "${HASH.replace(/a$/, 'b')}", servers: [s] }
servers:
  s:
    command: [node, x.js]
    tools:
${tools}
`;

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfigWithSource(text, F, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
const at = (p: ConfigProblem) => `${p.line}:${p.column} ${p.message}`;

describe('shape', () => {
  test('one rule, one rule with agents, or a list of rules (actions and mappings) all load, without warnings', () => {
    const loaded = parseConfigWithSource(
      file(`      a: deny
      b: { agents: [ci], action: allow }
      c:
        - { agents: [ci, support-bot], action: allow, rate_limit: { max: 5, window: 1m } }
        - deny`),
      F,
      {},
    );
    assert.deepEqual(loaded.warnings, []);
    assert.deepEqual(loaded.config.servers['s']!.tools['c'], [
      { agents: ['ci', 'support-bot'], action: 'allow', rate_limit: { max: 5, window: '1m', scope: 'session' } },
      'deny',
    ]);
  });

  test('a mistake inside a list of rules is reported at the element, with the usual hints', () => {
    const problems = problemsOf(file(`      a: [ { agents: [ci], action: allow, reasn: x }, { action: dney } ]
      b: [ 3 ]
      c: { agents: [], action: allow }
      d: { agents: ["bad name"], action: allow }
      e: []`));
    assert.deepEqual(problems.map(at), [
      '9:43 unknown key `reasn` in `servers.s.tools.a[0]`',
      '9:65 `dney` is not a valid value for `servers.s.tools.a[1].action`',
      '10:12 `servers.s.tools.b[0]` has the wrong form (found the number 3)',
      '11:20 `servers.s.tools.c.agents` must not be empty',
      '12:21 `bad name` is not valid for `servers.s.tools.d.agents[0]`: agent names are 1–64 letters, digits, ., _ and -, starting with a letter or digit',
      '13:10 `servers.s.tools.e` must not be empty',
    ]);
    assert.match(problems[0]!.hint ?? '', /did you mean `reason`/);
    assert.match(problems[2]!.hint ?? '', /write an action/);
  });

  test('a server section has no `agents:` key: grants live under the top-level `agents:`', () => {
    const problems = problemsOf(file('      a: deny').replace('    tools:', '    agents: [ci]\n    tools:'));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /unknown key `agents` in `servers.s`/);
  });
});

describe('rules that can never apply, or do not read in the order they apply, are refused', () => {
  test('a rule for everyone before a rule naming agents', () => {
    const problems = problemsOf(file('      a: [ deny, { agents: [ci], action: allow } ]'));
    assert.deepEqual(problems.map(at), [
      '9:18 a rule for certain agents comes after `servers.s.tools.a[0]`, the rule for every agent; rules naming an agent apply first, so the list does not read in the order it applies',
    ]);
    assert.match(problems[0]!.hint ?? '', /move the rule without `agents` to the end/);
  });

  test('a second rule for everyone, and an agent already named by an earlier rule at the key', () => {
    const problems = problemsOf(file(`      a:
        - { agents: [ci], action: allow }
        - { agents: [support-bot, ci], action: deny }
        - hide
        - allow`));
    assert.deepEqual(problems.map(at), [
      '11:35 this rule never applies to agent `ci`: `servers.s.tools.a[0]` names it first',
      '13:11 this rule can never apply: `servers.s.tools.a[2]` already applies to every agent',
    ]);
  });
});

describe('agents the file does not declare', () => {
  test('are a warning at file:line, not an error: they may be stored agents or come with a JWT', () => {
    const loaded = parseConfigWithSource(file('      a: [ { agents: [ci, deploy-bot], action: allow }, deny ]'), F, {});
    assert.deepEqual(loaded.warnings.map(at), ['9:27 agent `deploy-bot` is not declared under `agents:` in this file']);
    assert.match(loaded.warnings[0]!.hint ?? '', /policylayer agents add/);
  });

  test('validate prints them, marked as warnings, and still succeeds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pl-agent-rules-'));
    try {
      const path = join(dir, F);
      await writeFile(path, file('      a: { agents: [deploy-bot], action: allow }'));
      let out = '';
      let err = '';
      const code = await runValidate(['-c', path], { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } });
      assert.equal(code, 0);
      assert.match(out, /ok \(1 server, 1 warning\)/);
      assert.match(err, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:9:21: warning: agent \`deploy-bot\` is not declared`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
