// What every benchmark runner shares: paths, the round settings from the command line, the rotating rounds, and the
// gateway runs of bench/state and bench/audit (starting gateways, measuring cells, their statistics).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summariseProfile } from './cpu-profile.js';
import { measure, percentile, type EchoClient, type Sample } from './load.js';
import { cpuMs, startServer, type Started } from './procs.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ECHO = path.join(ROOT, 'dist/bench/echo-server.js');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');
export const NODE = process.execPath;
export const CONCURRENCY = [1, 32] as const;
export const PROFILE_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

/** The options every bench takes (node:util parseArgs form): run length and which configurations run. */
export const ROUND_OPTIONS = {
  quick: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  seconds: { type: 'string' },
  only: { type: 'string' },
} as const;

/** Rounds, slice and warm-up lengths from `--quick`, `--rounds N`, `--seconds S`. */
export function roundSettings(opts: { quick?: boolean | undefined; rounds?: string | undefined; seconds?: string | undefined }) {
  return {
    rounds: Number(opts.rounds ?? (opts.quick ? 1 : 4)),
    sliceMs: 1000 * Number(opts.seconds ?? (opts.quick ? 0.7 : 2.2)),
    warmMs: opts.quick ? 400 : 1500,
  };
}

/**
 * Measures every item at every concurrency, round after round; the order of items rotates and the order of the
 * concurrencies alternates each round, so that slow moments of a noisy machine fall on all of them alike.
 */
export async function rotatingRounds<T>(rounds: number, items: readonly T[], measureOne: (item: T, concurrency: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const order = items.map((_, i) => items[(i + round) % items.length]!);
    const levels = round % 2 === 0 ? CONCURRENCY : [...CONCURRENCY].reverse();
    for (const item of order) for (const level of levels) await measureOne(item, level);
    log(`round ${round + 1}/${rounds} done`);
  }
}

export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
export const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

/** `n` with `d` decimals, or – when it is not a number (a missing row). */
export const f = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : '–');

/**
 * The echo server as a gateway's upstream, as the policy lines under a server (4-space indent): a stdio child
 * (`command:`), or an echo server over Streamable HTTP started here and added to `started` (`url:`).
 */
export async function echoUpstream(upstream: 'stdio' | 'http', started: Started[]): Promise<string> {
  if (upstream === 'stdio') return `    command: [${JSON.stringify(NODE)}, ${JSON.stringify(ECHO)}, stdio]`;
  const echo = await startServer(NODE, [ECHO, 'http'], /listening on (http:\/\/[^\s"]+)/);
  started.push(echo);
  return `    url: ${echo.match}`;
}

/** `policylayer start -c FILE` once it listens (match: its base URL); under BENCH_CPU_PROF profiled as gateway-KEY. */
export function startGateway(key: string, file: string): Promise<Started> {
  const prof = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=gateway-${key}.cpuprofile`] : [];
  return startServer(NODE, [...prof, CLI, 'start', '-c', file], /listening on (http:\/\/[^\s"]+)/);
}

/** One configuration at one concurrency: a sample per round and the gateway's CPU over all of them. */
export interface Cell {
  samples: Sample[];
  gatewayCpuMs: number;
}

/** Measures one slice of `ms` at `concurrency` and adds it (and the CPU of gateway `pid` meanwhile) to `cell`. */
export async function measureCell(cell: Cell, client: EchoClient, pid: number, concurrency: number, ms: number): Promise<Sample> {
  const cpu0 = cpuMs(pid);
  const sample = await measure(client, concurrency, ms);
  cell.samples.push(sample);
  cell.gatewayCpuMs += cpuMs(pid) - cpu0;
  return sample;
}

/** Throughput (all calls / all time, and per round), latency percentiles over every call, failures, gateway CPU per call. */
export function cellStats(cell: Cell) {
  const calls = sum(cell.samples.map((s) => s.calls));
  const lat = Float64Array.from(cell.samples.flatMap((s) => s.latencies)).sort();
  return {
    calls,
    rate: (calls / sum(cell.samples.map((s) => s.elapsedMs))) * 1000,
    rounds: cell.samples.map((s) => (s.calls / s.elapsedMs) * 1000),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    failures: sum(cell.samples.map((s) => s.failures)),
    cpuUs: (cell.gatewayCpuMs * 1000) / calls,
  };
}
export type CellStats = ReturnType<typeof cellStats>;

/** `**ratio** (lowest–highest)`: throughput against the baseline, and the range of the per-round ratios (same round). */
export function ratioText(st: CellStats, base: CellStats): string {
  const perRound = st.rounds.map((r, i) => r / (base.rounds[i] ?? Number.NaN));
  return `**${f(st.rate / base.rate)}** (${f(Math.min(...perRound))}–${f(Math.max(...perRound))})`;
}

/** Summaries of the profiles that startGateway wrote for `keys` under BENCH_CPU_PROF (empty without it). */
export function gatewayProfiles(keys: readonly string[]): string {
  if (!PROFILE_DIR) return '';
  const written = new Set(readdirSync(PROFILE_DIR));
  const files = keys.map((key) => `gateway-${key}.cpuprofile`).filter((file) => written.has(file));
  return files.map((file) => `\n### CPU profile ${file}\n\n${summariseProfile(path.join(PROFILE_DIR, file), 25)}\n`).join('');
}
