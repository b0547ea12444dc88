// `bench/audit`: what the audit log costs the gateway: throughput with it on (sqlite, postgres, jsonl) against off.
//
//   node dist/bench/audit.js [--quick] [--rounds N] [--seconds S] [--upstream stdio|http] [--postgres URL]
//                            [--only sqlite,postgres,jsonl,sqlite-strict]   (audit off, the baseline, always runs)
//   BENCH_CPU_PROF=DIR node dist/bench/audit.js   also profiles the gateways and prints their top functions
//
// Runs `policylayer start` in front of the echo server once with `gateway.audit: off` and once per audit log, every
// call carrying a nested `password` so that redaction has work on each, with the rotating rounds of bench/state, and
// reports throughput as a ratio to the run without an audit log. Before measuring, each log is read back through the
// sink modules (the records must be there, redacted); at the end it is read back once more and every call must have
// its `call` record and its outcome (folded into the call record, or a `result` record). See bench/README.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { openAuditSink } from '../src/audit/open.js';
import { AUDIT_SCHEMA_TABLE, DEFAULT_AUDIT_TABLE } from '../src/audit/postgres-sink.js';
import { REDACTED } from '../src/audit/redact.js';
import type { AuditEvent, AuditKind, AuditSink } from '../src/audit/sink.js';
import { AuditSettingsSchema } from '../src/config/audit-schema.js';
import {
  cellStats,
  CONCURRENCY,
  echoUpstream,
  f,
  gatewayProfiles,
  log,
  measureCell,
  PROFILE_DIR,
  ratioText,
  ROUND_OPTIONS,
  roundSettings,
  rotatingRounds,
  startGateway,
  sum,
  type Cell,
} from './common.js';
import { measure, openHttpClient, type EchoClient } from './load.js';
import { stop, type Started } from './procs.js';

const { values: opts } = parseArgs({
  options: {
    ...ROUND_OPTIONS,
    upstream: { type: 'string', default: 'stdio' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS } = roundSettings(opts);
const UPSTREAM = opts.upstream === 'http' ? 'http' : 'stdio';
const PG_URL = opts.postgres!;
/** The arguments of every call: the echo text, and a nested secret that redaction must replace. */
const SECRET_ARGUMENTS = '{"text":"hello bench","login":{"user":"bench","password":"hunter2"}}';
const VERIFY_CALLS = 5;
/**
 * This run's own Postgres table, when the gateway can be told one (`audit.postgres_table`); without that setting the
 * rows go to the default table and this run's rows are deleted afterwards by gateway instance.
 */
const PG_TABLE = 'postgres_table' in AuditSettingsSchema.shape ? `bench_audit_${process.pid}_${randomBytes(3).toString('hex')}` : undefined;

interface Config {
  key: string;
  label: string;
  /** gateway.audit */
  url: string;
  strict?: boolean;
  /** Issue 8's target applies (a default-durability SQL sink). */
  target?: boolean;
}
/** One running gateway: its client session, and every call made through it (verification and warm-up included). */
interface Gateway {
  client: EchoClient;
  pid: number;
  base: string;
  /** Instances of this process start with it (host:pid:tag); the default Postgres table may hold others' records. */
  instancePrefix: string;
  /** Before the gateway started: none of its records is older. */
  since: number;
  calls: number;
}
/** What the log holds at the end, against the calls made. */
interface Tally {
  calls: number;
  callRecords: number;
  resultRecords: number;
  /** Calls whose outcome is recorded: in their call record, or in a result record of their own. */
  ended: number;
  buffered: number;
  writeErrors: number;
}

/** The `audit:` settings of a configuration, for its policy file and for reading its log back. */
function auditSettings(c: Config): Record<string, unknown> {
  return {
    durability: c.strict ? 'strict' : 'batched',
    // Rotation still happens every 10 MiB, but no rotated file is deleted before the records are counted.
    jsonl: { keep: 1000 },
    ...(PG_TABLE && c.url.startsWith('postgres') && { postgres_table: PG_TABLE }),
  };
}

/** A policy: `echo` allowed, the audit log of `c` (JSON is YAML). */
function policy(upstream: string, c: Config): string {
  return `version: 1
gateway: { listen: "127.0.0.1:0", state: "memory:", audit: ${JSON.stringify(c.url)} }
audit: ${JSON.stringify(auditSettings(c))}
servers:
  echo:
${upstream}
    tools:
      echo: { action: allow }
`;
}

async function withSink<T>(c: Config, fn: (sink: AuditSink) => Promise<T>): Promise<T> {
  const sink = await openAuditSink(c.url, AuditSettingsSchema.parse(auditSettings(c)));
  if (!sink) throw new Error(`${c.label}: ${c.url} opened no sink`);
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}

/** Every record of this gateway (of one kind), read back through the sink: no limit. */
async function recordsOf(sink: AuditSink, gw: Gateway, kind?: AuditKind): Promise<AuditEvent[]> {
  const events = await sink.query({ ...(kind && { kind }), since: gw.since, limit: Number.MAX_SAFE_INTEGER });
  return events.filter((e) => e.instance.startsWith(gw.instancePrefix));
}

/** Calls whose outcome is in the log: folded into their call record, or in a result record of their own. */
const endedCalls = (events: AuditEvent[]): number =>
  events.filter((e) => e.kind === 'call' && e.outcome !== undefined).length + events.filter((e) => e.kind === 'result').length;

/** A few calls, then their records must be in the log: a `call` (allowed, password redacted) and an ok outcome each. */
async function verifyRecording(c: Config, gw: Gateway): Promise<void> {
  for (let i = 0; i < VERIFY_CALLS; i++) {
    gw.calls++;
    if (!(await gw.client.call())) throw new Error(`${c.label}: a call through the gateway failed: ${(await gw.client.probe('echo')).slice(0, 300)}`);
  }
  await withSink(c, async (sink) => {
    let events: AuditEvent[] = [];
    // Batched records are written within flush_ms (200 ms).
    for (const until = Date.now() + 5000; Date.now() < until; await sleep(100)) {
      events = await recordsOf(sink, gw);
      if (endedCalls(events) >= VERIFY_CALLS) break;
    }
    const calls = events.filter((e) => e.kind === 'call');
    const results = events.filter((e) => e.kind === 'result');
    const args = (e: AuditEvent) => e.args as { text?: unknown; login?: { password?: unknown } } | undefined;
    const problems = [
      calls.length !== VERIFY_CALLS && `${calls.length} call records`,
      endedCalls(events) !== VERIFY_CALLS && `${endedCalls(events)} calls with their outcome`,
      !calls.every((e) => e.decision === 'allowed' && e.tool === 'echo') && 'a call record that is not an allowed echo',
      !calls.every((e) => args(e)?.text === 'hello bench' && args(e)?.login?.password === REDACTED) && 'arguments not kept with the password redacted',
      ![...calls.filter((e) => e.outcome !== undefined), ...results].every((e) => e.outcome === 'ok') && 'an outcome that is not ok',
      !results.every((e) => calls.some((k) => k.id === e.call_id)) && 'a result record of no call',
    ].filter(Boolean);
    if (problems.length > 0) {
      throw new Error(`${c.label}: after ${VERIFY_CALLS} calls the log ${c.url} has ${problems.join(', ')}; first record: ${JSON.stringify(events[0])}`);
    }
  });
}

/** The sum of a metric's samples (all label sets) in the gateway's /metrics. */
const metricSum = (text: string, name: string): number =>
  sum([...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1])));

async function tally(c: Config, gw: Gateway): Promise<Tally> {
  // Read before the records: what is written meanwhile only adds records.
  const metrics = await (await fetch(`${gw.base}/metrics`)).text();
  const buffered = metricSum(metrics, 'policylayer_audit_buffered');
  const writeErrors = metricSum(metrics, 'policylayer_audit_write_errors_total');
  return withSink(c, async (sink) => {
    const events = await recordsOf(sink, gw);
    return {
      calls: gw.calls,
      callRecords: events.filter((e) => e.kind === 'call').length,
      resultRecords: events.filter((e) => e.kind === 'result').length,
      ended: endedCalls(events),
      buffered,
      writeErrors,
    };
  });
}

async function postgresClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
async function postgresProblem(): Promise<string | undefined> {
  try {
    const client = await postgresClient();
    await client.query('SELECT 1');
    await client.end();
    return undefined;
  } catch (err) {
    const e = err as Error & { code?: string; errors?: Error[] };
    return e.message || e.errors?.map((x) => x.message).join('; ') || e.code || String(err);
  }
}
/** Drops this run's table, or deletes the rows these gateways wrote to the shared default table. */
async function cleanPostgres(gateways: Gateway[]): Promise<void> {
  const client = await postgresClient();
  try {
    if (PG_TABLE) {
      await client.query(`DROP TABLE IF EXISTS "${PG_TABLE}"`);
      await client.query(`DELETE FROM ${AUDIT_SCHEMA_TABLE} WHERE table_name = $1`, [PG_TABLE]);
    } else {
      for (const gw of gateways) {
        await client.query(`DELETE FROM "${DEFAULT_AUDIT_TABLE}" WHERE starts_with(instance, $1) AND time >= $2`, [gw.instancePrefix, gw.since]);
      }
    }
  } finally {
    await client.end();
  }
}

/** Every configuration's gateway started, verified and warmed; then the rotating rounds; then the logs counted. */
async function gatewayThroughput(dir: string, pgProblem: string | undefined) {
  const servers: Started[] = [];
  const upstream = await echoUpstream(UPSTREAM, servers);
  const configs: Config[] = [
    { key: 'off', label: 'audit off', url: 'off' },
    { key: 'sqlite', label: 'sqlite', url: `sqlite:${path.join(dir, 'audit.db')}`, target: true },
    ...(pgProblem ? [] : [{ key: 'postgres', label: 'postgres', url: PG_URL, target: true }]),
    { key: 'jsonl', label: 'jsonl', url: `jsonl:${path.join(dir, 'audit.jsonl')}` },
    { key: 'sqlite-strict', label: 'sqlite, durability: strict', url: `sqlite:${path.join(dir, 'audit-strict.db')}`, strict: true },
  ];
  const only = opts.only?.split(',').map((x) => x.trim());
  if (only) configs.splice(0, configs.length, ...configs.filter((c) => c.key === 'off' || only.includes(c.key)));
  const gateways = new Map<string, Gateway>();
  const results = new Map<string, Cell>();
  const tallies = new Map<string, Tally>();
  try {
    for (const c of configs) {
      log(`starting policylayer start (HTTP→${UPSTREAM}), ${c.label}`);
      const file = path.join(dir, `${c.key}.yaml`);
      writeFileSync(file, policy(upstream, c));
      const since = Date.now();
      const s = await startGateway(c.key, file);
      servers.push(s);
      const pid = s.child.pid!;
      const client = await openHttpClient(`${s.match}/mcp/echo`, 32, SECRET_ARGUMENTS);
      const gw: Gateway = { client, pid, base: s.match, instancePrefix: `${hostname()}:${pid}:`, since, calls: 0 };
      gateways.set(c.key, gw);
      if (c.url !== 'off') await verifyRecording(c, gw);
      gw.calls += (await measure(client, 32, WARM_MS)).calls;
      gw.calls += (await measure(client, 1, WARM_MS / 2)).calls;
    }
    await rotatingRounds(ROUNDS, configs, async (c, level) => {
      const gw = gateways.get(c.key)!;
      const k = `${c.key}@${level}`;
      const cell: Cell = results.get(k) ?? { samples: [], gatewayCpuMs: 0 };
      results.set(k, cell);
      gw.calls += (await measureCell(cell, gw.client, gw.pid, level, SLICE_MS)).calls;
    });
    // Five flush intervals: afterwards only records whose writes failed can still be buffered.
    await sleep(1000);
    for (const c of configs.filter((x) => x.url !== 'off')) {
      log(`reading back the ${c.label} log`);
      tallies.set(c.key, await tally(c, gateways.get(c.key)!));
    }
  } finally {
    for (const { client } of gateways.values()) await client.close().catch(() => undefined);
    for (const s of servers.reverse()) await stop(s.child);
    const pgGateways = configs.filter((c) => c.url.startsWith('postgres')).map((c) => gateways.get(c.key));
    if (pgGateways.length > 0) await cleanPostgres(pgGateways.filter((g) => g !== undefined)).catch((err: Error) => log(`cleaning up Postgres: ${err.message}`));
  }
  return { configs, results, tallies };
}

function report({ configs, results, tallies }: Awaited<ReturnType<typeof gatewayThroughput>>, pgProblem: string | undefined): string {
  const lines: string[] = [];
  const stat = (key: string, c: number) => {
    const cell = results.get(`${key}@${c}`);
    return cell && cellStats(cell);
  };
  lines.push(`\n## policylayer start, HTTP→${UPSTREAM} echo server, audit log off and on, ${ROUNDS} round(s) × ${SLICE_MS / 1000} s per cell, node ${process.version}\n`);
  lines.push('| configuration | C | calls/s | × audit off (per-round range) | p50 ms | added p50 ms | p99 ms | gateway CPU µs/call | failed |');
  lines.push('|---|---:|---:|---|---:|---:|---:|---:|---:|');
  for (const c of CONCURRENCY) {
    const base = stat('off', c);
    for (const cfg of configs) {
      const st = stat(cfg.key, c);
      if (!st || !base) continue;
      const baseline = cfg.key === 'off';
      lines.push(
        `| ${cfg.label} | ${c} | ${f(st.rate, 0)} | ${baseline ? 'baseline' : ratioText(st, base)} | ${f(st.p50, 3)} | ${baseline ? '' : f(st.p50 - base.p50, 3)} | ${f(st.p99, 3)} | ${f(st.cpuUs, 0)} | ${st.failures} |`,
      );
    }
  }

  lines.push('\n## Records read back from each log at the end (every call needs its `call` record and its outcome)\n');
  lines.push('| configuration | calls made | call records | outcome folded into the call record | separate result records | records per call | still buffered | write errors | |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const cfg of configs) {
    const t = tallies.get(cfg.key);
    if (!t) continue;
    const missing = t.calls - Math.min(t.callRecords, t.ended) - t.buffered;
    const verdict = missing > 0 ? `**LOSS** of ${missing} call(s)` : t.callRecords > t.calls ? `${t.callRecords - t.calls} more than calls made` : 'complete';
    const folded = t.ended - t.resultRecords;
    lines.push(`| ${cfg.label} | ${t.calls} | ${t.callRecords} | ${folded} | ${t.resultRecords} | ${f((t.callRecords + t.resultRecords) / t.calls, 3)} | ${t.buffered} | ${t.writeErrors} | ${verdict} |`);
  }
  if (pgProblem) lines.push(`\nPostgres at ${PG_URL} not reachable (${pgProblem}): its rows are missing.`);
  else if (configs.some((c) => c.key === 'postgres')) {
    lines.push(
      PG_TABLE
        ? `\nPostgres records went to this run's own table ${PG_TABLE} (audit.postgres_table), dropped afterwards.`
        : `\nPostgres records went to the default table ${DEFAULT_AUDIT_TABLE} (the gateway cannot be given another); this run's rows were deleted afterwards.`,
    );
  }

  lines.push('\n### Targets (issue 8)\n');
  for (const cfg of [{ key: 'sqlite', label: 'sqlite' }, { key: 'postgres', label: 'postgres' }]) {
    for (const c of CONCURRENCY) {
      const st = stat(cfg.key, c);
      const base = stat('off', c);
      const r = st && base ? st.rate / base.rate : undefined;
      const state = r === undefined ? 'n/a' : r >= 0.9 ? 'MET' : 'MISSED';
      lines.push(`- ${state} throughput with audit on (default durability) ≥ 0.9 of audit off, ${cfg.label} at C=${c}: ${f(r ?? NaN)}`);
    }
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policylayer-bench-audit-'));
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const wantsPostgres = !opts.only || opts.only.split(',').some((x) => x.trim() === 'postgres');
  const pgProblem = wantsPostgres ? await postgresProblem() : undefined;
  if (pgProblem) log(`Postgres at ${PG_URL} not reachable (${pgProblem}); measuring without it`);
  try {
    const run = await gatewayThroughput(dir, pgProblem);
    process.stdout.write(report(run, pgProblem));
    process.stdout.write(gatewayProfiles(run.configs.map((c) => c.key)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
