// Recommended rules and the generated policy file: the rule per category, a file the loader accepts, evidence in comments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMap, isScalar, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { commentLine, recommendedPolicy, recommendRule, ruleYaml, type ScannedTool } from '../../src/catalog/recommend.js';
import { parseConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors.js';

const DATE = new Date('2026-03-04T10:00:00Z');

const tool = (name: string, category: ScannedTool['category'], risk: ScannedTool['risk'], evidence: string[] = []): ScannedTool => ({
  name,
  category,
  risk,
  evidence,
  confidence: 0.8,
});

test('the rule per category: Read allowed, Write allowed with a rate limit, the rest held for approval', () => {
  assert.deepEqual(recommendRule('Read', 'Low', 'list_calls').rule, 'allow');
  assert.deepEqual(recommendRule('Write', 'Medium', 'create_call').rule, {
    action: 'allow',
    rate_limit: { max: 30, window: '60s', scope: 'session' },
  });
  for (const category of ['Execute', 'Destructive', 'Financial'] as const) {
    const { rule, summary } = recommendRule(category, category === 'Execute' ? 'High' : 'Critical', 'some_tool');
    assert.ok(typeof rule === 'object' && rule.action === 'require_approval', category);
    assert.match(rule.reason ?? '', new RegExp(`^${category} tool: .+; a person confirms each call$`));
    assert.match(summary, /^hold each call of some_tool for a person's approval/);
  }
  assert.match(recommendRule('Write', 'Medium', 'create_call').summary, /at most 30 calls a minute per session/);
});

test('a Read or Write tool raised to High risk by its evidence is held, as by_risk would hold it', () => {
  const { rule, summary } = recommendRule('Write', 'High', 'write_file');
  assert.ok(typeof rule === 'object' && rule.action === 'require_approval');
  assert.match(rule.reason ?? '', /^Write tool raised to High risk/);
  assert.match(summary, /raised to High risk/);
});

test('ruleYaml renders a rule as the snippet a person pastes under a server', () => {
  assert.equal(ruleYaml('search_docs', 'allow'), 'tools:\n  search_docs: allow\n');
  assert.equal(
    ruleYaml('create_call', recommendRule('Write', 'Medium', 'create_call').rule),
    'tools:\n  create_call:\n    action: allow\n    rate_limit: {max: 30, window: 60s, scope: session}\n',
  );
  const logout = recommendRule('Destructive', 'Critical', 'vapi_logout').rule;
  assert.ok(typeof logout === 'object');
  assert.equal(ruleYaml('vapi_logout', logout), `tools:\n  vapi_logout:\n    action: require_approval\n    reason: "${logout.reason}"\n`);
  assert.equal(ruleYaml('123', 'allow'), 'tools:\n  "123": allow\n');
});

const ODD_NAMES = ['tools.delete', 'a:b', '#x', 'yes', 'null', '123', 'true', '~', '-x', 'x y', "it's", '"quoted"', 'a # b', 'a: b', 'ünïcode'];

const VAPI_TOOLS: ScannedTool[] = [
  tool('list_calls', 'Read', 'Low', ['no write, execute, destructive or financial signal']),
  tool('create_call', 'Write', 'Medium', ['name verb "create"']),
  tool('vapi_logout', 'Destructive', 'Critical', ['name verb "logout"', 'description: "log out: of\nvapi" # not a comment end', "it's \"quoted\"\r\n- and: colons"]),
  tool('run_sql', 'Execute', 'High', ['parameter "sql"']),
  tool('refund_payment', 'Financial', 'Critical', ['name verb "refund" on "payment"']),
  tool('write_file', 'Write', 'High', ['annotation destructiveHint: true']),
  ...ODD_NAMES.map((name) => tool(name, 'Read', 'Low', [`odd name ${name}`])),
];

function generate(): string {
  return recommendedPolicy(
    [
      { name: 'vapi', spec: { command: ['npx', '-y', '@vapi-ai/mcp-server'], env: { VAPI_MODE: 'prod' } }, tools: VAPI_TOOLS },
      { name: 'remote', spec: { url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer ${REMOTE_TOKEN}' } }, tools: [] },
    ],
    { date: DATE },
  );
}

function toolsMap(text: string, server: string): YAMLMap {
  const tools = parseDocument(text).getIn(['servers', server, 'tools'], true);
  assert.ok(isMap(tools));
  return tools;
}

const keyOf = (pair: Pair) => (isScalar(pair.key) ? String(pair.key.value) : assert.fail('a tool key is not a scalar'));

test('the generated policy is accepted by the loader as it is, with by_risk, block and one rule per tool', () => {
  const text = generate();
  const config = parseConfig(text, 'recommended.yaml', { REMOTE_TOKEN: 'secret' });
  const vapi = config.servers['vapi']!;
  assert.deepEqual(vapi.command, ['npx', '-y', '@vapi-ai/mcp-server']);
  assert.deepEqual(vapi.env, { VAPI_MODE: 'prod' });
  assert.equal(vapi.default, 'by_risk');
  assert.equal(vapi.on_tool_change, 'block');
  for (const t of VAPI_TOOLS) assert.deepEqual(vapi.tools[t.name], recommendRule(t.category, t.risk, t.name).rule, t.name);
  const remote = config.servers['remote']!;
  assert.equal(remote.url, 'https://mcp.example.com/mcp');
  assert.equal(remote.headers?.['Authorization'], 'Bearer secret');
  assert.deepEqual(remote.tools, {});
  assert.equal(remote.default, 'by_risk');
});

test('rules are grouped by category, most dangerous first, with the evidence in a one-line comment above each', () => {
  const text = generate();
  const pairs = toolsMap(text, 'vapi').items as Pair[];
  const categories = pairs.map((p) => VAPI_TOOLS.find((t) => t.name === keyOf(p))!.category);
  const firstOf = (c: string) => categories.indexOf(c as ScannedTool['category']);
  assert.ok(firstOf('Financial') < firstOf('Destructive') && firstOf('Destructive') < firstOf('Execute'));
  assert.ok(firstOf('Execute') < firstOf('Write') && firstOf('Write') < firstOf('Read'));
  assert.deepEqual(categories, [...categories].sort((a, b) => ['Financial', 'Destructive', 'Execute', 'Write', 'Read'].indexOf(a) - ['Financial', 'Destructive', 'Execute', 'Write', 'Read'].indexOf(b)));

  for (const pair of pairs) {
    const t = VAPI_TOOLS.find((x) => x.name === keyOf(pair))!;
    // The line above the key (the parser may attach a map's first comment to the map, so the text is read).
    const keyAt = (pair.key as { range: [number, number, number] }).range[0];
    const above = text.slice(0, keyAt).split('\n').at(-2)!.trim();
    assert.ok(above.startsWith(`# ${t.category}, ${t.risk} risk, confidence 0.8`), `${t.name}: ${above}`);
    const comment = above.slice(1);
    for (const e of t.evidence) assert.ok(comment.includes(commentLine(e)), `${t.name}: ${comment} lacks ${e}`);
  }
  const logout = text.split('\n').find((line) => line.includes('name verb "logout"'))!;
  assert.equal(logout.trim(), `# Destructive, Critical risk, confidence 0.8: name verb "logout"; description: "log out: of vapi" # not a comment end; it's "quoted" - and: colons`);
});

test('odd tool names round-trip: the tools keys read back are exactly the names given', () => {
  const text = generate();
  const keys = (toolsMap(text, 'vapi').items as Pair[]).map(keyOf);
  assert.deepEqual([...keys].sort(), VAPI_TOOLS.map((t) => t.name).sort());
  const config = parseConfig(text, 'recommended.yaml', { REMOTE_TOKEN: 'x' });
  for (const name of ODD_NAMES) assert.equal(config.servers['vapi']!.tools[name], 'allow', name);
});

test('a name that cannot be an exact rule gets a comment instead, and the file still validates', () => {
  const unruly = ['get_*', 'a?b', 'list[0]', ' padded', '!neg', 'zero\u200Bwidth', ''];
  const text = recommendedPolicy(
    [{ name: 'odd', spec: { command: ['node', 'odd.js'] }, tools: [...unruly.map((n) => tool(n, 'Destructive', 'Critical')), tool('fine', 'Read', 'Low')] }],
    { date: DATE },
  );
  const config = parseConfig(text, 'recommended.yaml', {});
  assert.deepEqual(Object.keys(config.servers['odd']!.tools), ['fine']);
  for (const name of unruly) {
    const shown = commentLine(`No rule for ${JSON.stringify(name)}`);
    assert.ok(text.includes(`# ${shown} (Destructive, Critical risk)`), `no comment for ${JSON.stringify(name)}`);
  }
  assert.ok(!/\u200B/.test(text), 'invisible characters stay out of comments');
});

test('comments are capped and never carry line breaks or control characters', () => {
  const long = 'x'.repeat(1000);
  const text = recommendedPolicy(
    [
      {
        name: 's',
        spec: { command: ['node', 's.js'] },
        tools: [tool('t', 'Execute', 'High', [long, 'a\u2028b\u0085c\u202Ed\rX: y']), tool('many', 'Write', 'Medium', [long, long, long])],
      },
    ],
    { date: DATE },
  );
  const line = text.split('\n').find((l) => l.includes('Execute, High risk'))!.trim();
  assert.ok(line.includes(`${'x'.repeat(119)}…; a b c d X: y`), line);
  const many = text.split('\n').find((l) => l.includes('Write, Medium risk'))!.trim();
  assert.equal(Array.from(many).length, '# '.length + 240);
  assert.ok(many.endsWith('…'));
  assert.equal(commentLine('a\u2028b\u0085c\u202Ed\rX: y'), 'a b c d X: y');
  assert.deepEqual(parseConfig(text, 's.yaml', {}).servers['s']?.tools['t'], recommendRule('Execute', 'High', 't').rule);
});

test('the header says where the file came from, when, and that it is a starting point to review', () => {
  const lines = generate().split('\n');
  assert.match(lines[0]!, /^# Generated by `policylayer scan` on 2026-03-04/);
  assert.match(lines.slice(0, 3).join('\n'), /starting point to review/);
});

test('server names are checked: invalid and repeated names are refused', () => {
  assert.throws(() => recommendedPolicy([{ name: 'bad name', spec: { command: ['x'] }, tools: [] }]), (err) => err instanceof GatewayError && /invalid server name/.test(err.message));
  const twice = { name: 'dup', spec: { command: ['x'] }, tools: [] };
  assert.throws(() => recommendedPolicy([twice, twice]), /listed twice/);
  assert.throws(() => recommendedPolicy([{ name: 'nothing', spec: {}, tools: [] }]), (err) => err instanceof GatewayError && err.code === 'CONFIG_INVALID');
});
