// The audit log through a running gateway: every decision type recorded with its rule and outcome (stdio and HTTP
// servers), arguments redacted, reloads recorded, `audit query|tail|verify` on the result, the hash chain catching
// an edited record, /metrics counting the same calls.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { openAuditSink } from '../../src/audit/open.js';
import { AuditSettingsSchema } from '../../src/config/audit-schema.js';
import { CLI, startGateway, tempDir } from '../helpers/gateway.js';
import { RECORDER, resultText, startRecorderHttp, waitFor, type Message } from '../helpers/raw-mcp.js';
import { callTool, isDenied, openSession, receivedArgs, writePolicy } from '../helpers/limits-rig.js';
import { runCli } from '../helpers/cli-run.js';


type Via = 'start → stdio' | 'start → http';

interface Rig {
  dir: string;
  file: string;
  db: string;
  url: string;
  base: string;
  record: string;
  session: string;
  policy: Record<string, unknown>;
}

const SECRET = 'hunter2-do-not-log';

function policyFor(upstream: Record<string, unknown>, db: string): Record<string, unknown> {
  return {
    gateway: { state: 'memory:', audit: `sqlite:${db}` },
    audit: { hash_chain: true, flush_ms: 20, redact: { paths: ['card.number'] } },
    servers: {
      s: {
        ...upstream,
        tools: {
          echo: 'allow',
          pay: { action: 'allow', rate_limit: { max: 1, window: '1h' } },
          delete_file: { action: 'deny', reason: 'files are deleted by people' },
        },
        hide: ['secret_tool'],
      },
    },
  };
}

async function rig(t: TestContext, via: Via): Promise<Rig> {
  const dir = tempDir('pl-audit-');
  const record = path.join(dir, 'record.jsonl');
  const db = path.join(dir, 'audit.db');
  let upstream: Record<string, unknown> = { command: [process.execPath, RECORDER, 'stdio', '--record', record] };
  if (via === 'start → http') {
    const rec = await startRecorderHttp(record);
    t.after(() => rec.stop());
    upstream = { url: rec.url };
  }
  const policy = policyFor(upstream, db);
  const file = writePolicy(policy as Parameters<typeof writePolicy>[0], dir);
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  const url = `${gw.url}/mcp/s`;
  return { dir, file, db, url, base: gw.url, record, session: await openSession(url), policy };
}

const cli = (...args: string[]) => runCli('audit', ...args);

async function queryJson(file: string, ...filters: string[]): Promise<Message[]> {
  const r = await cli('query', '-c', file, '--format', 'json', '--limit', '1000', ...filters);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Message[];
}

/** Waits until the call records of `n` tool calls, and the results of the forwarded ones, are readable. */
async function settled(file: string, n: number): Promise<Message[]> {
  let rows: Message[] = [];
  await waitFor(`${n} audited calls`, () => {
    rows = JSON.parse(readSync(file)) as Message[];
    return rows.length >= n && rows.every((r) => r.decision !== 'allowed' || r.outcome !== undefined);
  });
  return rows;
}
/** `audit query --format json`, synchronously (waitFor polls with a synchronous check). */
/** The same through --audit URL (the policy file may be broken on purpose). */
function readLog(db: string, ...filters: string[]): string {
  return execFileSync(process.execPath, [CLI, 'audit', 'query', '--audit', `sqlite:${db}`, '--format', 'json', ...filters]).toString();
}
function readSync(file: string, ...filters: string[]): string {
  return execFileSync(process.execPath, [CLI, 'audit', 'query', '-c', file, '--format', 'json', '--limit', '1000', ...filters]).toString();
}

for (const via of ['start → stdio', 'start → http'] as Via[]) {
  describe(`audit log: ${via}`, { concurrency: false }, () => {
    test('every decision type is recorded with its rule, reason, outcome and redacted arguments', async (t) => {
      const r = await rig(t, via);
      const ok = await callTool(r.url, r.session, 'echo', { text: 'hi', auth: { password: SECRET, nested: [{ api_key: SECRET }] }, card: { number: '4111111111111111' } });
      assert.ok(!isDenied(ok), resultText(ok));
      assert.ok(isDenied(await callTool(r.url, r.session, 'delete_file', { path: '/etc/passwd' })));
      const hidden = await callTool(r.url, r.session, 'secret_tool', {});
      assert.ok(hidden.error || isDenied(hidden), 'the hidden tool is refused');
      assert.ok(!isDenied(await callTool(r.url, r.session, 'pay', { amount: 5 })));
      assert.ok(isDenied(await callTool(r.url, r.session, 'pay', { amount: 6 })), 'the second pay is over the limit');
      // A tool error and a JSON-RPC error from the server: recorded as outcomes of allowed calls.
      const flakyTool = await callTool(r.url, r.session, 'flaky', { fail: 'tool' });
      assert.equal(flakyTool.result?.isError, true);
      await callTool(r.url, r.session, 'flaky', { fail: 'rpc' });

      const rows = await settled(r.file, 7);
      const byTool = (tool: string) => rows.filter((row) => row.tool === tool);
      const [echo] = byTool('echo');
      assert.equal(echo?.decision, 'allowed');
      assert.equal(echo?.outcome, 'ok');
      assert.equal(echo?.rule, 'servers.s.tools.echo');
      assert.equal(echo?.server, 's');
      assert.equal(echo?.agent, 'anonymous');
      assert.equal(typeof echo?.session, 'string');
      assert.equal(typeof echo?.args_hash, 'string');
      assert.ok(typeof echo?.decision_ms === 'number' && echo.decision_ms >= 0);
      assert.ok(typeof echo?.upstream_ms === 'number' && echo.upstream_ms >= 0);
      // Redaction: default key patterns at any depth, the configured path; the rest kept as sent.
      assert.equal(echo?.args.text, 'hi');
      assert.equal(echo?.args.auth.password, '[REDACTED]');
      assert.equal(echo?.args.auth.nested[0].api_key, '[REDACTED]');
      assert.equal(echo?.args.card.number, '[REDACTED]');
      assert.ok(!readFileSync(r.db).includes(SECRET), 'the secret is nowhere in the database file');
      // The server itself got the real arguments.
      assert.equal((receivedArgs(r.record, 'echo')[0]?.auth as { password?: string }).password, SECRET);

      const [del] = byTool('delete_file');
      assert.equal(del?.decision, 'denied');
      assert.equal(del?.rule, 'servers.s.tools.delete_file');
      assert.equal(del?.reason, 'files are deleted by people');
      assert.equal(del?.outcome, undefined, 'a denied call has no upstream outcome');
      assert.deepEqual(del?.args, { path: '/etc/passwd' }, 'what a refused call tried to do is recorded too');
      assert.equal(byTool('secret_tool')[0]?.decision, 'hidden');
      const pays = byTool('pay');
      assert.deepEqual(pays.map((p) => p.decision), ['allowed', 'rate_limited']);
      assert.equal(pays[1]?.rule, 'servers.s.tools.pay.rate_limit');
      assert.match(pays[1]?.reason ?? '', /rate limit reached/);
      assert.deepEqual(byTool('flaky').map((f) => f.outcome), ['tool_error', 'transport_error']);

      // Filters of `audit query`.
      assert.deepEqual((await queryJson(r.file, '--decision', 'denied')).map((x) => x.tool), ['delete_file']);
      assert.deepEqual((await queryJson(r.file, '--tool', 'pay')).map((x) => x.decision), ['allowed', 'rate_limited']);
      assert.equal((await queryJson(r.file, '--since', '1h')).length, rows.length);
      assert.equal((await queryJson(r.file, '--until', '1h')).length, 0);
      const csv = await cli('query', '-c', r.file, '--format', 'csv');
      assert.equal(csv.code, 0, csv.stderr);
      assert.match(csv.stdout.split('\n')[0]!, /^time,id,kind,/);
      assert.equal(csv.stdout.trim().split('\n').length, rows.length + 1);
      const table = await cli('query', '-c', r.file, '--server', 's');
      assert.match(table.stdout, /delete_file\s+anonymous\s+denied/);

      // The hash chain verifies; an edited record is named.
      const ok1 = await cli('verify', '-c', r.file);
      assert.equal(ok1.code, 0, ok1.stdout + ok1.stderr);
      assert.match(ok1.stdout, /hash chain is intact/);
      const sql = new Database(r.db);
      sql.prepare(`UPDATE audit_events SET decision = 'allowed' WHERE id = ?`).run(del!.id);
      sql.close();
      const bad = await cli('verify', '-c', r.file);
      assert.equal(bad.code, 1);
      assert.ok(bad.stdout.includes(del!.id), `verify names the edited record: ${bad.stdout}`);
    });

    test('policy reloads are recorded, applied and rejected, and /metrics counts decisions', async (t) => {
      const r = await rig(t, via);
      await callTool(r.url, r.session, 'echo', { text: 'one' });
      assert.ok(isDenied(await callTool(r.url, r.session, 'delete_file', {})));
      const good = structuredClone(r.policy) as { servers: { s: { tools: Record<string, unknown> } } };
      good.servers.s.tools.whoami = 'deny';
      writeFileSync(r.file, JSON.stringify({ version: 1, ...good, gateway: { ...(good as Message).gateway, listen: '127.0.0.1:0' } }));
      await waitFor('a reload record', () => JSON.parse(readSync(r.file, '--kind', 'reload')).some((e: Message) => e.kind === 'reload'), 10_000);
      writeFileSync(r.file, 'version: 1\nservers: [not, a, map]\n');
      await waitFor('a rejected reload record', () => JSON.parse(readLog(r.db, '--kind', 'reload')).some((e: Message) => e.outcome === 'rejected'), 10_000);
      const tail = await cli('tail', '-c', r.file, '-n', '2', '--format', 'jsonl');
      // The broken file is still on disk: tail reads the log through --audit instead of the policy.
      assert.notEqual(tail.code, 0, 'the broken policy file is reported');
      const viaUrl = await cli('tail', '--audit', `sqlite:${r.db}`, '-n', '2', '--format', 'jsonl');
      assert.equal(viaUrl.code, 0, viaUrl.stderr);
      const last = viaUrl.stdout.trim().split('\n').map((l) => JSON.parse(l) as Message);
      assert.deepEqual(last.map((e) => [e.kind, e.outcome]), [['reload', 'ok'], ['reload', 'rejected']]);
      assert.match(last[1]!.detail, /servers/);

      const res = await fetch(`${r.base}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /policylayer_tool_calls_total\{server="s",tool="echo",agent="anonymous",decision="allowed"\} 1\b/);
      assert.match(text, /policylayer_tool_calls_total\{server="s",tool="delete_file",agent="anonymous",decision="denied"\} 1\b/);
      assert.match(text, /policylayer_tool_call_results_total\{server="s",tool="echo",agent="anonymous",outcome="ok"\} 1\b/);
      assert.match(text, /policylayer_policy_reloads_total\{result="ok"\} 1\b/);
      assert.match(text, /policylayer_policy_reloads_total\{result="rejected"\} 1\b/);
      assert.match(text, /policylayer_decision_duration_seconds_count\{server="s"\} 2\b/);
      assert.match(text, /policylayer_sessions 1\b/);
    });
  });
}

describe('audit log: follow and retention', { concurrency: false }, () => {
  test('`audit tail -f` prints records as the gateway writes them', async (t) => {
    const r = await rig(t, 'start → stdio');
    await callTool(r.url, r.session, 'echo', { text: 'before' });
    await settled(r.file, 1);
    const follower = spawn(process.execPath, [CLI, 'audit', 'tail', '-f', '-n', '1', '--audit', `sqlite:${r.db}`, '--format', 'jsonl'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => follower.kill('SIGKILL'));
    let out = '';
    follower.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const lines = () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Message);
    await waitFor('the newest record', () => lines().length >= 1);
    assert.ok(isDenied(await callTool(r.url, r.session, 'delete_file', { path: '/tmp/x' })));
    await callTool(r.url, r.session, 'echo', { text: 'after' });
    // The echo call ends within the flush interval: its outcome is folded into its call record.
    await waitFor('the new records', () => lines().some((e) => e.tool === 'delete_file') && lines().some((e) => e.tool === 'echo' && e.outcome === 'ok' && e.time > lines()[0]!.time));
    const seen = lines();
    assert.equal(new Set(seen.map((e) => e.id)).size, seen.length, 'no record is printed twice');
    assert.equal(seen.find((e) => e.tool === 'delete_file')?.decision, 'denied');
  });

  test('retention deletes records older than audit.retention when the gateway starts', async (t) => {
    const dir = tempDir('pl-audit-retention-');
    const db = path.join(dir, 'audit.db');
    const sink = (await openAuditSink(`sqlite:${db}`, AuditSettingsSchema.parse({})))!;
    const old = Date.now() - 40 * 86_400_000;
    await sink.write([
      { id: 'old-1', time: old, kind: 'call', instance: 'earlier', seq: 1, server: 's', tool: 'echo', decision: 'allowed' },
      { id: 'new-1', time: Date.now() - 86_400_000, kind: 'call', instance: 'earlier', seq: 2, server: 's', tool: 'echo', decision: 'allowed' },
    ]);
    await sink.close();
    const file = writePolicy({ gateway: { audit: `sqlite:${db}` }, servers: { s: { command: [process.execPath, RECORDER, 'stdio', '--record', path.join(dir, 'r.jsonl')] } }, ...{ audit: { retention: '30d' } } } as Parameters<typeof writePolicy>[0], dir);
    const gw = await startGateway(file);
    t.after(() => gw.stop());
    await waitFor('the retention sweep', () => !JSON.parse(readLog(db)).some((e: Message) => e.id === 'old-1'));
    assert.deepEqual(JSON.parse(readLog(db)).map((e: Message) => e.id), ['new-1']);
  });
});
