// Loading policylayer.yaml: every problem at once, at the right line:column, with a hint; env expansion; CLI verbs.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { run as runSchema } from '../../src/cli/schema.js';
import { run as runValidate } from '../../src/cli/validate.js';
import { expandEnv } from '../../src/config/env.js';
import { ConfigError, formatProblems, loadConfig, parseConfig, parseConfigWithSource, type ConfigProblem } from '../../src/config/load.js';

const F = 'policy.yaml';

/** The problems parseConfig reports (fails the test if it accepts the text). */
function problemsOf(text: string, env: Record<string, string | undefined> = {}): ConfigProblem[] {
  try {
    parseConfig(text, F, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

function errorOf(text: string, env: Record<string, string | undefined> = {}): ConfigError {
  try {
    parseConfig(text, F, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('the config was accepted');
}

const where = (p: ConfigProblem) => `${p.line}:${p.column} ${p.path}`;

function capture() {
  let out = '';
  return { write: (s: string) => (out += s), get text() { return out; } };
}

describe('parseConfig', () => {
  test('a minimal file gets every default', () => {
    const config = parseConfig('version: 1\nservers:\n  demo:\n    command: [node, server.js]\n', F, {});
    assert.deepEqual(config, {
      version: 1,
      gateway: {
        listen: '127.0.0.1:8787',
        allowed_hosts: [],
        allowed_origins: [],
        max_message_bytes: 4 * 1024 * 1024,
        sessions: { max: 1000, max_per_client: 100, spawn_rate: 20, spawn_burst: 40, idle_timeout: '30m' },
        state: 'sqlite:.policylayer/state.db',
        state_prefix: 'policylayer:',
        fail_mode: 'closed',
        audit: 'sqlite:.policylayer/audit.db',
      },
      audit: {
        durability: 'batched',
        flush_ms: 200,
        arguments: 'full',
        redact: { keys: [], paths: [] },
        hash_chain: false,
        postgres_table: 'policylayer_audit_events',
        jsonl: { max_bytes: 10 * 1024 * 1024, keep: 5 },
      },
      servers: {
        demo: {
          command: ['node', 'server.js'],
          transport: 'auto',
          shared: false,
          default: 'allow',
          by_risk: { Low: 'allow', Medium: 'allow', High: 'require_approval', Critical: 'require_approval' },
          on_tool_change: 'record',
          tools: {},
          hide: [],
        },
      },
      agents: {},
    });
  });

  test('reports every problem of a file at once, in file order, at the offending node', () => {
    const text = [
      'version: 1', //                              1
      'gatway: {}', //                              2  unknown key → at the key
      'servers:', //                                3
      '  demo:', //                                 4
      '    command: [node, x.js]', //               5
      '    default: alow', //                       6  bad value → at the value (col 14)
      '    tools:', //                              7
      '      delete_*: { reason: "no" }', //        8  missing `action` → at the rule's key
      '      "x[ab]": deny', //                     9  malformed pattern → at the key
      '  remote:', //                               10
      '    url: http://127.0.0.1:1/mcp', //         11
      '    env: { A: b }', //                       12 env on a url server → at the key
      '    headers: { X: "${NO_SUCH_VAR}" }', //    13 missing variable → at `${` (col 20)
    ].join('\n');
    const err = errorOf(text);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.deepEqual(err.problems.map(where), [
      '2:1 gatway',
      '6:14 servers.demo.default',
      '8:7 servers.demo.tools.delete_*.action',
      '9:7 servers.demo.tools["x[ab]"]',
      '12:5 servers.remote.env',
      '13:20 servers.remote.headers.X',
    ]);
    assert.match(err.problems[0]!.hint!, /did you mean `gateway`\?/);
    assert.match(err.problems[1]!.hint!, /did you mean `allow`\?.*`allow`, `require_approval`, `deny`, `hide`/);
    assert.match(err.problems[2]!.message, /missing required key `action`/);
    assert.match(err.problems[2]!.hint!, /action: allow \| require_approval \| deny \| hide/);
    assert.match(err.problems[3]!.message, /only \* and \? are wildcards/);
    assert.match(err.problems[5]!.message, /NO_SUCH_VAR is not set/);
    // The message is the formatted list, one location line and one hint line per problem.
    assert.equal(err.message.split('\n').filter((l) => l.startsWith(`${F}:`)).length, 6);
  });

  test('an unknown key gets a suggestion from the keys allowed at that place', () => {
    const problems = problemsOf('version: 1\nservers:\n  demo:\n    comand: [node]\n    cmd: [node]\n    hdie: [x]\n');
    const byKey = Object.fromEntries(problems.map((p) => [p.path, p]));
    assert.equal(where(byKey['servers.demo.comand']!), '4:5 servers.demo.comand');
    assert.match(byKey['servers.demo.comand']!.message, /unknown key `comand` in `servers.demo`/);
    assert.match(byKey['servers.demo.comand']!.hint!, /^did you mean `command`\?/);
    assert.match(byKey['servers.demo.cmd']!.hint!, /^did you mean `command`\?/);
    assert.match(byKey['servers.demo.hdie']!.hint!, /^did you mean `hide`\?/);
    // Far from anything: no guess, but the list of what is allowed.
    const [far] = problemsOf('version: 1\nzzzzzz: 1\n');
    assert.equal(far!.hint, 'allowed keys: `version`, `gateway`, `audit`, `servers`, `agents`');
  });

  test('a missing required key is reported at the mapping that should hold it', () => {
    const [p] = problemsOf('# policy\nservers: {}\n');
    assert.equal(`${p!.line}:${p!.column}`, '2:1');
    assert.match(p!.message, /missing required key `version` at the top level/);
    assert.equal(problemsOf('')[0]!.message, 'the file is empty');
  });

  test('a server needs exactly one of command and url', () => {
    const both = problemsOf('version: 1\nservers:\n  x:\n    command: [node]\n    url: http://h/mcp\n');
    assert.deepEqual(both.map(where), ['5:5 servers.x.url']);
    assert.match(both[0]!.message, /either `command` or `url`, not both/);
    const neither = problemsOf('version: 1\nservers:\n  x:\n    default: deny\n');
    assert.deepEqual(neither.map(where), ['3:3 servers.x']);
    assert.match(neither[0]!.hint!, /command: \[program/);
  });

  test('duplicate keys are problems, pointing at the repeat and naming the first line', () => {
    const problems = problemsOf('version: 1\nservers:\n  a:\n    command: [x]\n    command: [y]\n');
    assert.deepEqual(problems.map(where), ['5:5 servers.a.command']);
    assert.match(problems[0]!.message, /duplicate key `command` \(first defined at line 4\)/);
  });

  test('YAML syntax errors are reported with their position and no schema noise', () => {
    const err = errorOf('version: 1\nservers:\n  a:\n\tcommand: [x]\n  b: "open\n');
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.ok(err.problems.length >= 2);
    assert.ok(err.problems.every((p) => p.message.startsWith('not valid YAML')));
    assert.equal(`${err.problems[0]!.line}:${err.problems[0]!.column}`, '4:1');
    assert.match(err.problems[0]!.hint!, /spaces/);
  });

  test('a tool both ruled in tools and listed in hide is a problem, as are misleading patterns', () => {
    const text = 'version: 1\nservers:\n  a:\n    command: [x]\n    tools:\n      rm: deny\n      "!ls": allow\n    hide: [rm, " cat"]\n';
    const problems = problemsOf(text);
    assert.deepEqual(problems.map(where), ['7:7 servers.a.tools.!ls', '8:12 servers.a.hide[0]', '8:16 servers.a.hide[1]']);
    assert.match(problems[1]!.message, /`rm` is both in `tools` \(line 6\) and in `hide`/);
    assert.match(problems[2]!.message, /leading or trailing spaces/);
  });

  test('audit settings: a bad redaction pattern or path, audit URL, durability or admin token is reported where it is', () => {
    const text = [
      'version: 1', //                                            1
      'gateway:', //                                              2
      '  audit: mysql://db/audit', //                             3
      '  admin_token: short', //                                  4
      'audit:', //                                                5
      '  durability: sometimes', //                               6
      '  redact:', //                                             7
      '    keys: [password, "/(unclosed/i"]', //                  8
      '    paths: [card.number, "a..b"]', //                      9
      'servers: {}', //                                           10
    ].join('\n');
    const problems = problemsOf(text);
    assert.deepEqual(problems.map((p) => `${p.line} ${p.path}`), [
      '3 gateway.audit',
      '4 gateway.admin_token',
      '6 audit.durability',
      '8 audit.redact.keys[1]',
      '9 audit.redact.paths[1]',
    ]);
    assert.match(problems[0]!.message, /sqlite:PATH, postgres:\/\/…, jsonl:PATH, stdout or off/);
    assert.match(problems[1]!.message, /at least 16 characters/);
    assert.match(problems[3]!.message, /\(unclosed/);
    assert.match(problems[4]!.message, /a\.\.b/);
  });

  test('a rule of the wrong shape is explained by the form it resembles', () => {
    const problems = problemsOf('version: 1\nservers:\n  a:\n    command: [x]\n    tools:\n      t: { action: deny, reson: x }\n      u: 5\n');
    assert.deepEqual(problems.map(where), ['6:26 servers.a.tools.t.reson', '7:10 servers.a.tools.u']);
    assert.match(problems[0]!.hint!, /did you mean `reason`/);
    assert.match(problems[1]!.hint!, /allow.*deny.*hide/);
  });
});

describe('${VAR} expansion', () => {
  const remote = (header: string) => `version: 1\nservers:\n  r:\n    url: http://127.0.0.1:9/mcp\n    headers:\n      A: ${header}\n`;

  test('expands variables in string values anywhere, but not in keys', () => {
    const text = 'version: 1\nservers:\n  "${K}":\n    command: [node, "${DIR}/s.js"]\n    env: { "${K}": "${TOKEN}" }\n';
    assert.throws(() => parseConfig(text, F, { K: 'k', DIR: '/srv', TOKEN: 't' }), /invalid server name `\$\{K\}`/);
    const config = parseConfig(text.replace('"${K}":\n', 'k:\n'), F, { K: 'k', DIR: '/srv', TOKEN: 't' });
    assert.deepEqual(config.servers['k']!.command, ['node', '/srv/s.js']);
    assert.deepEqual(config.servers['k']!.env, { '${K}': 't' });
  });

  test('a missing variable names itself and where it is used, with the env-missing code', () => {
    const err = errorOf(remote('"Bearer ${TOKEN}"'));
    assert.equal(err.code, 'CONFIG_ENV_MISSING');
    assert.deepEqual(err.problems.map(where), ['6:18 servers.r.headers.A']);
    assert.match(err.problems[0]!.message, /environment variable TOKEN is not set \(used in `servers.r.headers.A`\)/);
    assert.match(err.problems[0]!.hint!, /export TOKEN=… .*or remove the reference/);
  });

  test('a missing variable in a url is one problem, not also "not a URL"', () => {
    const err = errorOf('version: 1\nservers:\n  r:\n    url: ${REMOTE_URL}\n');
    assert.equal(err.code, 'CONFIG_ENV_MISSING');
    assert.deepEqual(err.problems.map(where), ['4:10 servers.r.url']);
  });

  test('${VAR:-default} falls back when unset or empty; $${ is a literal ${', () => {
    const h = (v: string, env: Record<string, string>) => parseConfig(remote(v), F, env).servers['r']!.headers!['A'];
    assert.equal(h('"${T:-anon}"', {}), 'anon');
    assert.equal(h('"${T:-anon}"', { T: '' }), 'anon');
    assert.equal(h('"${T:-anon}"', { T: 'set' }), 'set');
    assert.equal(h('"$${T} and ${T}"', { T: 'x' }), '${T} and x');
    assert.equal(h('"pa$$word $HOME"', {}), 'pa$$word $HOME');
  });

  test('a malformed reference is reported', () => {
    const [p] = problemsOf(remote('"${not-a-name}"'));
    assert.match(p!.message, /malformed variable reference `\$\{not-a-name\}`/);
    assert.deepEqual(expandEnv('a ${B', {}).issues, [{ kind: 'malformed', name: '${B', offset: 2 }]);
  });
});

describe('loading files', () => {
  test('a missing file is CONFIG_NOT_FOUND with a clear message', async () => {
    await assert.rejects(loadConfig('/nonexistent/policylayer.yaml'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'CONFIG_NOT_FOUND');
      assert.match(err.message, /^\/nonexistent\/policylayer\.yaml: config file not found/);
      return true;
    });
  });

  test('formatProblems prints file:line:col: message and an indented hint', () => {
    const text = formatProblems([
      { file: 'a.yaml', line: 3, column: 5, path: 'x', message: 'bad', hint: 'fix it' },
      { file: 'a.yaml', line: 4, column: 1, path: 'y', message: 'worse' },
    ]);
    assert.equal(text, 'a.yaml:3:5: bad\n    hint: fix it\na.yaml:4:1: worse');
  });

  test('the source maps a rule path back to its line, even when a tool name contains dots', () => {
    const text = 'version: 1\nservers:\n  fs:\n    command: [x]\n    tools:\n      fs.read: allow\n      "delete_*": deny\n';
    const { source } = parseConfigWithSource(text, F, {});
    assert.equal(source.lineOf('servers.fs.tools.fs.read'), 6);
    assert.equal(source.lineOf('servers.fs.tools["fs.read"]'), 6);
    assert.equal(source.lineOf('servers.fs.tools.delete_*'), 7);
    assert.equal(source.lineOf('servers.fs.tools.nope'), undefined);
  });
});

describe('CLI verbs', () => {
  test('validate prints ok with the server count, or every problem on stderr with exit 1', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'pl-validate-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    await writeFile(good, 'version: 1\nservers:\n  a: { command: [x] }\n  b: { url: "http://h/mcp" }\n');
    await writeFile(bad, 'version: 2\nservers:\n  a: { comand: [x] }\n');

    const out = capture();
    const err = capture();
    assert.equal(await runValidate(['-c', good], { stdout: out, stderr: err }), 0);
    assert.equal(out.text, `${good}: ok (2 servers)\n`);
    assert.equal(err.text, '');

    const out2 = capture();
    const err2 = capture();
    assert.equal(await runValidate(['-c', bad], { stdout: out2, stderr: err2 }), 1);
    assert.equal(out2.text, '');
    assert.match(err2.text, new RegExp(`^${bad}:1:10: \`version\` must be 1$`, 'm'));
    assert.match(err2.text, new RegExp(`^${bad}:3:8: unknown key \`comand\``, 'm'));
    assert.match(err2.text, /^ {4}hint: did you mean `command`\?/m);

    const err3 = capture();
    assert.equal(await runValidate(['-c', join(dir, 'none.yaml')], { stdout: capture(), stderr: err3 }), 1);
    assert.match(err3.text, /config file not found/);
  });

  test('schema prints a JSON Schema with servers in its properties', async () => {
    const out = capture();
    assert.equal(await runSchema([], { stdout: out }), 0);
    const schema = JSON.parse(out.text) as { type: string; properties: Record<string, { additionalProperties?: { properties?: object } }> };
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties['servers'], 'servers in properties');
    assert.ok(schema.properties['version']);
    assert.ok(schema.properties['servers'].additionalProperties?.properties && 'command' in schema.properties['servers'].additionalProperties.properties);
  });
});
