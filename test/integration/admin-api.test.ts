// The admin API and /metrics of a running `policylayer start`, as an operator and an attacker reach them: off
// without a token, bearer auth with it, audit queries with filters and formats, Prometheus text that counts the
// calls made, the token changed by a reload, and paths and headers crafted to get around the check.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { callTool, eventually, isDenied, openSession, writePolicy } from '../helpers/limits-rig.js';
import { RECORDER, type Message } from '../helpers/raw-mcp.js';

const TOKEN = 'admin-token-0123456789abcdef';
const OTHER_TOKEN = 'rotated-token-fedcba9876543210';

interface Rig {
  base: string;
  mcp: string;
  file: string;
  dir: string;
  /** Writes the policy file again with another gateway.admin_token (undefined: none); the gateway reloads it. */
  rewrite(adminToken: string | undefined): void;
}

/** A gateway in front of the recording fixture, audit in SQLite (flushed every 20 ms), the given admin_token. */
async function rig(t: TestContext, adminToken: string | undefined, env: NodeJS.ProcessEnv = {}): Promise<Rig> {
  const dir = tempDir('pl-admin-');
  const policy = (token: string | undefined) => ({
    gateway: { state: 'memory:', audit: `sqlite:${path.join(dir, 'audit.db')}`, ...(token !== undefined && { admin_token: token }) },
    audit: { flush_ms: 20 },
    servers: {
      s: {
        command: [process.execPath, RECORDER, 'stdio', '--record', path.join(dir, 'record.jsonl')],
        tools: { echo: 'allow', whoami: 'allow', delete_file: { action: 'deny', reason: 'files are deleted by people' } },
      },
    },
  });
  const file = writePolicy(policy(adminToken), dir);
  // The test runner's own environment must not hand the gateway a token the test did not choose.
  const gw = await startGateway(file, { POLICYLAYER_ADMIN_TOKEN: undefined, ...env });
  t.after(() => gw.stop());
  return { base: gw.url, mcp: `${gw.url}/mcp/s`, file, dir, rewrite: (token) => void writePolicy(policy(token), dir) };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request with the path sent exactly as given (no URL normalisation of `..`, case or escapes). */
function request(base: string, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: rawPath, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const errorOf = (a: Answer): string => String((JSON.parse(a.text) as { error?: unknown }).error);

/** GET /admin/audit?query with the token; asserts 200 JSON and returns the rows. */
async function audit(base: string, token: string, query = ''): Promise<Message[]> {
  const a = await request(base, `/admin/audit${query}`, bearer(token));
  assert.equal(a.status, 200, `GET /admin/audit${query}: ${a.text}`);
  assert.match(String(a.headers['content-type']), /^application\/json/);
  return JSON.parse(a.text) as Message[];
}

/** One sample of the Prometheus text format: `name{label="value",…} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition; every line that is not a comment must be a sample, or the test fails. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
    let consumed = 0;
    for (let p = pair.exec(body); p; p = pair.exec(body)) {
      labels[p[1]!] = p[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = pair.lastIndex;
    }
    assert.equal(consumed, body.length, `unparsable labels in: ${line}`);
    // Prometheus reads special values case-insensitively (prom-client writes NaN as "Nan").
    const text = m[3]!.toLowerCase();
    const value = text === '+inf' ? Infinity : text === '-inf' ? -Infinity : text === 'nan' ? NaN : Number(text);
    assert.ok(!Number.isNaN(value) || text === 'nan', `not a number in: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** The samples named `name` whose labels include `labels`. */
const select = (samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** The value of the one sample named `name` with exactly these labels (0 when absent, as Prometheus reads it). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = select(samples, name, labels).filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} appears ${found.length} times`);
  return found[0]?.value ?? 0;
}

/** Makes the test's calls: echo twice and whoami allowed, delete_file denied; waits until all four are audited. */
async function makeCalls(r: Rig, token: string): Promise<Message[]> {
  const session = await openSession(r.mcp);
  assert.ok(!isDenied(await callTool(r.mcp, session, 'echo', { text: 'one' })));
  assert.ok(!isDenied(await callTool(r.mcp, session, 'echo', { text: 'two' })));
  assert.ok(!isDenied(await callTool(r.mcp, session, 'whoami')));
  assert.ok(isDenied(await callTool(r.mcp, session, 'delete_file', { path: '/etc/passwd' })));
  let rows: Message[] = [];
  await eventually('four audited calls, the allowed ones with their outcome', async () => {
    rows = await audit(r.base, token);
    return rows.length === 4 && rows.every((row) => row.decision !== 'allowed' || row.outcome !== undefined);
  });
  return rows;
}

describe('admin API and /metrics', { concurrency: false }, () => {
  test('no admin_token: /admin/ answers 404 saying how to turn it on; /metrics is open', async (t) => {
    const r = await rig(t, undefined);
    for (const headers of [{}, bearer(TOKEN)]) {
      const a = await request(r.base, '/admin/audit', headers);
      assert.equal(a.status, 404, a.text);
      assert.match(errorOf(a), /gateway\.admin_token/, 'the answer names the setting that enables the API');
    }
    const m = await request(r.base, '/metrics');
    assert.equal(m.status, 200, m.text);
    assert.match(String(m.headers['content-type']), /^text\/plain/);
    assert.ok(select(parsePrometheus(m.text), 'policylayer_sessions').length === 1);
  });

  test('admin_token from ${POLICYLAYER_ADMIN_TOKEN}: bearer auth, audit rows with filters and formats, /metrics counts', async (t) => {
    const r = await rig(t, '${POLICYLAYER_ADMIN_TOKEN}', { POLICYLAYER_ADMIN_TOKEN: TOKEN });

    const anonymous = await request(r.base, '/admin/audit');
    assert.equal(anonymous.status, 401, anonymous.text);
    assert.match(String(anonymous.headers['www-authenticate']), /^Bearer\b/);
    assert.match(errorOf(anonymous), /Authorization: Bearer/);
    const wrong = await request(r.base, '/admin/audit', bearer(OTHER_TOKEN));
    assert.equal(wrong.status, 401, wrong.text);
    const literal = await request(r.base, '/admin/audit', bearer('${POLICYLAYER_ADMIN_TOKEN}'));
    assert.equal(literal.status, 401, 'the unexpanded reference is not the token');

    const rows = await makeCalls(r, TOKEN);
    assert.deepEqual(rows.map((row) => [row.tool, row.decision, row.outcome]), [
      ['echo', 'allowed', 'ok'],
      ['echo', 'allowed', 'ok'],
      ['whoami', 'allowed', 'ok'],
      ['delete_file', 'denied', undefined],
    ]);
    assert.deepEqual(rows.map((row) => row.rule), ['servers.s.tools.echo', 'servers.s.tools.echo', 'servers.s.tools.whoami', 'servers.s.tools.delete_file']);
    assert.equal(rows[3]?.reason, 'files are deleted by people');
    assert.ok(rows.every((row) => row.server === 's' && row.kind === 'call'));

    // Filters.
    assert.deepEqual((await audit(r.base, TOKEN, '?tool=echo')).map((row) => row.tool), ['echo', 'echo']);
    assert.deepEqual((await audit(r.base, TOKEN, '?decision=denied')).map((row) => row.tool), ['delete_file']);
    assert.equal((await audit(r.base, TOKEN, '?since=1h')).length, 4);
    assert.equal((await audit(r.base, TOKEN, '?until=1h')).length, 0);
    assert.deepEqual((await audit(r.base, TOKEN, '?limit=1')).map((row) => row.id), [rows[0]?.id], 'limit keeps the oldest first');
    assert.deepEqual((await audit(r.base, TOKEN, '?tool=whoami&decision=allowed&since=1h')).map((row) => row.tool), ['whoami']);

    // Formats.
    const csv = await request(r.base, '/admin/audit?format=csv', bearer(TOKEN));
    assert.equal(csv.status, 200, csv.text);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    const csvLines = csv.text.trimEnd().split('\n');
    assert.match(csvLines[0]!, /^time,id,kind,/);
    assert.equal(csvLines.length, 5, csv.text);
    const toolColumn = csvLines[0]!.split(',').indexOf('tool');
    assert.deepEqual(csvLines.slice(1).map((l) => l.split(',')[toolColumn]), ['echo', 'echo', 'whoami', 'delete_file']);
    const jsonl = await request(r.base, '/admin/audit?format=jsonl&decision=allowed', bearer(TOKEN));
    assert.equal(jsonl.status, 200, jsonl.text);
    assert.match(String(jsonl.headers['content-type']), /ndjson/);
    assert.deepEqual(jsonl.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as Message).tool), ['echo', 'echo', 'whoami']);

    // Bad filters are refused with what is wrong.
    for (const [query, problem] of [
      ['decision=maybe', /decision "maybe"/],
      ['limit=-1', /limit "-1"/],
      ['limit=abc', /limit "abc"/],
      ['since=yesterdayish', /"yesterdayish" is not a time/],
      ['format=xml', /format "xml"/],
    ] as const) {
      const bad = await request(r.base, `/admin/audit?${query}`, bearer(TOKEN));
      assert.equal(bad.status, 400, `${query}: ${bad.text}`);
      assert.match(errorOf(bad), problem);
    }
    const unknown = await request(r.base, '/admin/nothing-here', bearer(TOKEN));
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(errorOf(unknown), /GET \/admin\/audit/, 'the 404 lists what exists');
    assert.equal((await request(r.base, '/admin/audit', bearer(TOKEN), 'POST')).status, 404);

    // /metrics: the same token; counts the calls above.
    assert.equal((await request(r.base, '/metrics')).status, 401);
    assert.equal((await request(r.base, '/metrics', bearer(OTHER_TOKEN))).status, 401);
    const m = await request(r.base, '/metrics', bearer(TOKEN));
    assert.equal(m.status, 200, m.text);
    const samples = parsePrometheus(m.text);
    const calls = (tool: string, decision: string) => value(samples, 'policylayer_tool_calls_total', { server: 's', tool, agent: 'anonymous', decision });
    assert.equal(calls('echo', 'allowed'), 2);
    assert.equal(calls('whoami', 'allowed'), 1);
    assert.equal(calls('delete_file', 'denied'), 1);
    assert.equal(calls('delete_file', 'allowed'), 0);
    const total = select(samples, 'policylayer_tool_calls_total').reduce((sum, s) => sum + s.value, 0);
    assert.equal(total, 4, 'no other calls were counted');
    assert.equal(value(samples, 'policylayer_tool_call_results_total', { server: 's', tool: 'echo', agent: 'anonymous', outcome: 'ok' }), 2);
    assert.equal(value(samples, 'policylayer_decision_duration_seconds_count', { server: 's' }), 4, 'one decision latency per decided call');
    assert.equal(value(samples, 'policylayer_decision_duration_seconds_bucket', { server: 's', le: '+Inf' }), 4);
    assert.equal(value(samples, 'policylayer_upstream_duration_seconds_count', { server: 's' }), 3, 'one upstream latency per forwarded call');
    const buckets = select(samples, 'policylayer_decision_duration_seconds_bucket', { server: 's' }).map((s) => s.value);
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b), 'histogram buckets are cumulative');
  });

  test('a reload changes the token: the old one stops working; a too-short token is refused and the old one stays', async (t) => {
    const r = await rig(t, TOKEN);
    assert.equal((await request(r.base, '/admin/audit', bearer(TOKEN))).status, 200);
    assert.equal((await request(r.base, '/metrics', bearer(TOKEN))).status, 200);

    r.rewrite('too-short');
    await eventually('the too-short token refused as a reload', async () => {
      const m = await request(r.base, '/metrics', bearer(TOKEN));
      return value(parsePrometheus(m.text), 'policylayer_policy_reloads_total', { result: 'rejected' }) === 1;
    }, 10_000);
    assert.equal((await request(r.base, '/admin/audit', bearer(TOKEN))).status, 200, 'an invalid edit leaves the token in force');
    assert.equal((await request(r.base, '/admin/audit', bearer('too-short'))).status, 401);

    r.rewrite(OTHER_TOKEN);
    await eventually('the new token in force', async () => (await request(r.base, '/admin/audit', bearer(OTHER_TOKEN))).status === 200, 10_000);
    assert.equal((await request(r.base, '/admin/audit', bearer(TOKEN))).status, 401, 'the old token no longer opens the API');
    assert.equal((await request(r.base, '/metrics', bearer(TOKEN))).status, 401, 'nor /metrics');
    assert.equal((await request(r.base, '/metrics', bearer(OTHER_TOKEN))).status, 200);

    r.rewrite(undefined);
    await eventually('the admin API off again', async () => (await request(r.base, '/admin/audit', bearer(OTHER_TOKEN))).status === 404, 10_000);
    assert.equal((await request(r.base, '/metrics')).status, 200, '/metrics is open again without a token');
  });

  test('a token shorter than 16 characters never opens the admin API, also when it comes from the environment alone', async (t) => {
    const r = await rig(t, undefined, { POLICYLAYER_ADMIN_TOKEN: 'x' });
    const a = await request(r.base, '/admin/audit', bearer('x'));
    assert.notEqual(a.status, 200, `a one-character token opened the admin API: ${a.text}`);
  });

  test('adversarial: the scheme is case-insensitive, nothing else is; no path spelling gets rows without the token', async (t) => {
    const r = await rig(t, TOKEN);
    const rows = await makeCalls(r, TOKEN);
    const ids = rows.map((row) => String(row.id));

    assert.equal((await request(r.base, '/admin/audit', { authorization: `bearer ${TOKEN}` })).status, 200, 'lowercase scheme');
    assert.equal((await request(r.base, '/admin/audit', { authorization: `BEARER  ${TOKEN} ` })).status, 200, 'any case, extra spaces');
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN} extra`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Bearer`,
      `Bearer `,
      TOKEN,
      `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
      `Token ${TOKEN}`,
    ]) {
      const a = await request(r.base, '/admin/audit', { authorization });
      assert.equal(a.status, 401, `Authorization: ${authorization} → ${a.status}`);
    }
    assert.equal((await request(r.base, `/admin/audit?token=${TOKEN}`)).status, 401, 'a token in the query string is not a bearer token');
    assert.equal((await request(r.base, '/admin/audit', { cookie: `token=${TOKEN}` })).status, 401);

    for (const spelling of [
      '/admin/../admin/audit',
      '/admin/./audit',
      '/ADMIN/audit',
      '/Admin/Audit',
      '//admin/audit',
      '/admin//audit',
      '/admin%2Faudit',
      '/%61dmin/audit',
      '/mcp/../admin/audit',
      '/metrics/../admin/audit',
      '/admin/audit/',
      '/admin/audit?format=csv',
      '/admin/audit;x',
      '/healthz/../admin/audit',
    ]) {
      for (const method of ['GET', 'HEAD']) {
        const a = await request(r.base, spelling, {}, method);
        assert.notEqual(a.status, 200, `${method} ${spelling} answered 200 without the token: ${a.text.slice(0, 200)}`);
        for (const id of ids) assert.ok(!a.text.includes(id), `${method} ${spelling} leaked audit row ${id}`);
      }
    }
  });
});
