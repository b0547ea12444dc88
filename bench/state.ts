// `bench/state`: what a rate-limit check costs in each state store, and what a Redis-backed limit costs the gateway.
//
//   node dist/bench/state.js [--quick] [--rounds N] [--seconds S] [--checks N] [--redis URL] [--upstream stdio|http]
//                            [--only memory,sqlite,redis]   (gateway runs with a limit on these stores only)
//   BENCH_CPU_PROF=DIR node dist/bench/state.js   also profiles the gateways and prints their top functions
//
// Part 1 calls StateStore.reserve() directly (memory:, sqlite: on a temp file, redis://) and reports p50/p99 per
// check in µs; for Redis also the PING round trip of the same connection settings and the commands Redis executed
// per check (INFO commandstats), which shows that a check is one round trip. Part 2 runs `policylayer start` in front
// of the echo server once without a limit and once per store with a limit that never refuses, and reports
// throughput as a ratio to the run without a limit. See bench/README.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { openStateStore } from '../src/state/open.js';
import type { LimitCheck, StateStore } from '../src/state/store.js';
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
import { measure, openHttpClient, percentile, type EchoClient } from './load.js';
import { stop, type Started } from './procs.js';


const { values: opts } = parseArgs({
  options: {
    ...ROUND_OPTIONS,
    checks: { type: 'string' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    upstream: { type: 'string', default: 'stdio' },
  },
});
const { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS } = roundSettings(opts);
const CHECKS = Number(opts.checks ?? (opts.quick ? 5000 : 30000));
const REDIS_URL = opts.redis!;
const UPSTREAM = opts.upstream === 'http' ? 'http' : 'stdio';
/** Every key of this run lives under it (state_prefix), so the run never meets others and cleans up after itself. */
const PREFIX = `policylayer-bench:${process.pid}-${randomBytes(3).toString('hex')}:`;

interface Timing {
  p50: number;
  p99: number;
  mean: number;
}
/** Times `n` sequential awaited calls of `fn`, in µs (each call timed on its own, the await included). */
async function timeCalls(n: number, fn: () => Promise<unknown>): Promise<Timing> {
  const us = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    us[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const total = sum(Array.from(us));
  us.sort();
  return { p50: percentile(us, 50), p99: percentile(us, 99), mean: total / n };
}

interface StoreRow {
  store: string;
  admitted: Timing;
  refused: Timing;
  note: string;
}

/** Part 1: reserve() of one rate-limit check, admitted (max never reached) and refused (max reached). */
interface Part1 {
  rows: StoreRow[];
  ping?: Timing;
  /** Scripts Redis ran per admitted check, and the µs each took inside Redis. */
  commandsPerCheck?: number;
  scriptUs?: number;
}
async function storeCosts(dir: string, redisOk: boolean): Promise<Part1> {
  const urls: [string, string][] = [
    ['memory', 'memory:'],
    ['sqlite', `sqlite:${path.join(dir, 'bench-state.db')}`],
  ];
  if (redisOk) urls.push(['redis', REDIS_URL]);
  const rows: StoreRow[] = [];
  let ping: Timing | undefined;
  let commandsPerCheck: number | undefined;
  let scriptUs: number | undefined;
  for (const [name, url] of urls) {
    const store: StateStore = await openStateStore(url, { prefix: PREFIX });
    try {
      // 1 s windows: each admitted check also expires about one old entry, the steady state of a long run.
      const admit: LimitCheck[] = [{ key: `${PREFIX}rl:global:*:bench.admit`, cost: 1, max: 1e12, windowMs: 1000 }];
      const refuse: LimitCheck[] = [{ key: `${PREFIX}rl:global:*:bench.refuse`, cost: 1, max: 10, windowMs: 600_000 }];
      for (let i = 0; i < 10; i++) await store.reserve(refuse);
      await timeCalls(Math.min(2000, CHECKS), () => store.reserve(admit));
      const stats = name === 'redis' ? await redisCommandCount() : undefined;
      const admitted = await timeCalls(CHECKS, () => store.reserve(admit));
      if (stats) {
        const after = await redisCommandCount();
        commandsPerCheck = (after.calls - stats.calls) / CHECKS;
        scriptUs = (after.usec - stats.usec) / (after.calls - stats.calls);
      }
      const refused = await timeCalls(Math.max(1000, CHECKS / 5), async () => {
        const r = await store.reserve(refuse);
        if (r.ok) throw new Error(`${name}: the 11th call of max 10 was admitted`);
      });
      rows.push({ store: name, admitted, refused, note: store.health().detail });
      if (name === 'redis') ping = await redisPing();
    } finally {
      await store.close();
    }
  }
  return { rows, ...(ping && { ping }), ...(commandsPerCheck !== undefined && { commandsPerCheck }), ...(scriptUs !== undefined && { scriptUs }) };
}

/** A plain ioredis client with the driver's connection settings, for PING and INFO. */
async function redisClient(): Promise<Redis> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}
async function redisPing(): Promise<Timing> {
  const redis = await redisClient();
  try {
    await timeCalls(1000, () => redis.ping());
    return await timeCalls(CHECKS, () => redis.ping());
  } finally {
    redis.disconnect();
  }
}
/** Scripts Redis has run so far (EVALSHA + EVAL), server-wide, and the µs it spent in them. */
async function redisCommandCount(): Promise<{ calls: number; usec: number }> {
  const redis = await redisClient();
  try {
    const info = await redis.info('commandstats');
    const field = (cmd: string, name: string) => Number(new RegExp(`^cmdstat_${cmd}:.*\\b${name}=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    return { calls: field('evalsha', 'calls') + field('eval', 'calls'), usec: field('evalsha', 'usec') + field('eval', 'usec') };
  } finally {
    redis.disconnect();
  }
}
async function redisReachable(): Promise<string | undefined> {
  try {
    const redis = await redisClient();
    await redis.ping();
    redis.disconnect();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
async function deleteRunKeys(): Promise<void> {
  const redis = await redisClient();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

interface Config {
  key: string;
  label: string;
  state?: string;
}
interface StoreCell extends Cell {
  /** Scripts Redis ran while this cell was measured (Redis-backed rows only; nothing else uses Redis then). */
  redisScripts?: number;
}

/** A policy: `echo` allowed, with a limit that never refuses when `state` is given (and a probe limit of 1). */
function policy(upstream: string, state: string | undefined): string {
  const limit = state ? ', rate_limit: { max: 1000000000, window: 1, scope: global }' : '';
  return `version: 1
gateway: { listen: "127.0.0.1:0", state: ${JSON.stringify(state ?? 'memory:')}, state_prefix: ${JSON.stringify(PREFIX)}, audit: off }
servers:
  echo:
${upstream}
    tools:
      echo: { action: allow${limit} }
      probe: { action: allow, rate_limit: { max: 1, window: 600, scope: global } }
`;
}

/** Part 2: the gateway's throughput without a limit and with one per store, rounds in rotating order. */
async function gatewayThroughput(dir: string, redisOk: boolean): Promise<{ configs: Config[]; results: Map<string, StoreCell> }> {
  const servers: Started[] = [];
  const upstream = await echoUpstream(UPSTREAM, servers);
  const configs: Config[] = [
    { key: 'none', label: 'no limit' },
    { key: 'memory', label: 'limit on memory:', state: 'memory:' },
    { key: 'sqlite', label: 'limit on sqlite:', state: `sqlite:${path.join(dir, 'gateway-state.db')}` },
  ];
  if (redisOk) configs.push({ key: 'redis', label: `limit on ${REDIS_URL}`, state: REDIS_URL });
  const only = opts.only?.split(',').map((x) => x.trim());
  if (only) configs.splice(0, configs.length, ...configs.filter((c) => c.key === 'none' || only.includes(c.key)));
  const clients = new Map<string, { client: EchoClient; pid: number }>();
  const results = new Map<string, StoreCell>();
  try {
    for (const c of configs) {
      log(`starting policylayer start (HTTP→${UPSTREAM}), ${c.label}`);
      const file = path.join(dir, `${c.key}.yaml`);
      writeFileSync(file, policy(upstream, c.state));
      const s = await startGateway(c.key, file);
      servers.push(s);
      const client = await openHttpClient(`${s.match}/mcp/echo`, 32);
      clients.set(c.key, { client, pid: s.child.pid! });
      // The limiter is really in the path, on this store: a limit of 1 refuses the second call.
      await client.probe('probe');
      const second = await client.probe('probe');
      if (!second.includes('rate limit reached')) throw new Error(`${c.label}: the probe limit did not refuse: ${second.slice(0, 300)}`);
      await measure(client, 32, WARM_MS);
      await measure(client, 1, WARM_MS / 2);
    }
    await rotatingRounds(ROUNDS, configs, async (c, level) => {
      const { client, pid } = clients.get(c.key)!;
      const scripts0 = c.key === 'redis' ? await redisCommandCount() : undefined;
      const k = `${c.key}@${level}`;
      const cell: StoreCell = results.get(k) ?? { samples: [], gatewayCpuMs: 0 };
      results.set(k, cell);
      await measureCell(cell, client, pid, level, SLICE_MS);
      if (scripts0) cell.redisScripts = (cell.redisScripts ?? 0) + (await redisCommandCount()).calls - scripts0.calls;
    });
  } finally {
    for (const { client } of clients.values()) await client.close().catch(() => undefined);
    for (const s of servers.reverse()) await stop(s.child);
  }
  return { configs, results };
}

function report(
  part1: Part1,
  part2: Awaited<ReturnType<typeof gatewayThroughput>>,
  redisProblem: string | undefined,
): string {
  const lines: string[] = [];
  lines.push(`\n## One check (StateStore.reserve, one rate-limit key), ${CHECKS} sequential checks per store, node ${process.version}\n`);
  lines.push('| store | admitted p50 µs | p99 µs | mean µs | refused p50 µs | p99 µs |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const r of part1.rows) {
    lines.push(`| ${r.store} (${r.note}) | ${f(r.admitted.p50, 1)} | ${f(r.admitted.p99, 1)} | ${f(r.admitted.mean, 1)} | ${f(r.refused.p50, 1)} | ${f(r.refused.p99, 1)} |`);
  }
  if (part1.ping) lines.push(`| (Redis PING, same connection settings: one round trip) | ${f(part1.ping.p50, 1)} | ${f(part1.ping.p99, 1)} | ${f(part1.ping.mean, 1)} | | |`);
  if (part1.commandsPerCheck !== undefined) {
    lines.push(
      `\nRedis scripts executed per admitted check (INFO commandstats, server-wide): ${f(part1.commandsPerCheck, 3)}; time inside Redis per script: ${f(part1.scriptUs ?? NaN, 1)} µs`,
    );
  }
  if (redisProblem) lines.push(`\nRedis at ${REDIS_URL} not reachable (${redisProblem}): its rows are missing.`);

  const stat = (key: string, c: number) => {
    const cell = part2.results.get(`${key}@${c}`);
    if (!cell) return undefined;
    const st = cellStats(cell);
    return { ...st, callsPerScript: cell.redisScripts ? st.calls / cell.redisScripts : undefined };
  };
  lines.push(`\n## policylayer start, HTTP→${UPSTREAM} echo server, ${ROUNDS} round(s) × ${SLICE_MS / 1000} s per cell\n`);
  lines.push('| configuration | C | calls/s | × no limit (per-round range) | p50 ms | added p50 ms | p99 ms | gateway CPU µs/call | calls per Redis script | failed |');
  lines.push('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const c of CONCURRENCY) {
    const base = stat('none', c);
    for (const cfg of part2.configs) {
      const st = stat(cfg.key, c);
      if (!st || !base) continue;
      const ratio = cfg.key === 'none' ? 'baseline' : ratioText(st, base);
      const added = cfg.key === 'none' ? '' : f(st.p50 - base.p50, 3);
      lines.push(`| ${cfg.label} | ${c} | ${f(st.rate, 0)} | ${ratio} | ${f(st.p50, 3)} | ${added} | ${f(st.p99, 3)} | ${f(st.cpuUs, 0)} | ${st.callsPerScript === undefined ? '' : f(st.callsPerScript, 1)} | ${st.failures} |`);
    }
  }

  lines.push('\n### Targets (issue 5)\n');
  const check = (ok: boolean | undefined, text: string): string => `- ${ok === undefined ? 'n/a' : ok ? 'MET' : 'MISSED'} ${text}`;
  const row = (s: string) => part1.rows.find((r) => r.store === s);
  const mem = row('memory');
  const sq = row('sqlite');
  const rd = row('redis');
  lines.push(check(mem && mem.admitted.p50 <= 2, `memory check p50 ≤ 2 µs: ${f(mem?.admitted.p50 ?? NaN, 2)} µs`));
  lines.push(check(sq && sq.admitted.p50 <= 100, `SQLite check p50 ≤ 100 µs: ${f(sq?.admitted.p50 ?? NaN, 1)} µs`));
  // One round trip: one command per check (counted by Redis itself); the latency above PING is the script's run time.
  const oneTrip = rd && part1.commandsPerCheck !== undefined ? part1.commandsPerCheck < 1.05 : undefined;
  lines.push(
    check(
      oneTrip,
      `Redis check is one round trip: ${f(part1.commandsPerCheck ?? NaN, 3)} commands per check; p50 ${f(rd?.admitted.p50 ?? NaN, 1)} µs = PING ${f(part1.ping?.p50 ?? NaN, 1)} µs + script ${f(part1.scriptUs ?? NaN, 1)} µs inside Redis + client`,
    ),
  );
  for (const c of CONCURRENCY) {
    const base = stat('none', c);
    const st = stat('redis', c);
    const r = st && base ? st.rate / base.rate : undefined;
    // At C=1 nothing overlaps the check: the ratio is the round trip's share of one call's latency.
    const what = c === 1 ? ' (one call at a time: bound by the Redis round trip)' : '';
    lines.push(check(r === undefined ? undefined : r >= 0.7, `throughput with the Redis limit ≥ 0.7 of no limit at C=${c}${what}: ${f(r ?? NaN)}`));
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policylayer-bench-state-'));
  const redisProblem = await redisReachable();
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  if (redisProblem) log(`Redis at ${REDIS_URL} not reachable (${redisProblem}); measuring memory and SQLite only`);
  try {
    log('part 1: one check per store');
    const part1 = await storeCosts(dir, !redisProblem);
    log('part 2: gateway throughput with and without a limit');
    const part2 = await gatewayThroughput(dir, !redisProblem);
    process.stdout.write(report(part1, part2, redisProblem));
    process.stdout.write(gatewayProfiles(part2.configs.map((c) => c.key)));
  } finally {
    if (!redisProblem) await deleteRunKeys().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
