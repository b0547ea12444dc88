// `bench/catalog`: what the risk catalogue costs: one decision with `default: by_risk` and `on_tool_change: block`
// against a plain policy, recording a tools/list in the catalogue, and the gateway's throughput with both policies.
//
//   node dist/bench/catalog.js [--quick] [--rounds N] [--seconds S] [--upstream stdio|http] [--only decide,observe,gateway]
//   BENCH_CPU_PROF=DIR node dist/bench/catalog.js --only gateway   also profiles the gateways
//
// Part 1 times decide() and isVisible() in this process over a catalogue view of 200 real tools (rotating rounds,
// ratios per round); part 2 times view.observe() of a 200-tool listing against JSON.parse of it; part 3 runs
// `policylayer start` in front of the echo server with each policy. See bench/README.md.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createSqliteCatalog } from '../src/catalog/sqlite-store.js';
import { createMemoryCatalog, type CatalogStore } from '../src/catalog/store.js';
import { createCatalogView, type CatalogView } from '../src/catalog/view.js';
import { parseConfig } from '../src/config/load.js';
import { compilePolicy } from '../src/policy/compile.js';
import {
  cellStats, CONCURRENCY, echoUpstream, f, gatewayProfiles, log, measureCell, PROFILE_DIR, ratioText, ROOT, ROUND_OPTIONS,
  roundSettings, rotatingRounds, startGateway, type Cell,
} from './common.js';
import { measure, openHttpClient, percentile, type EchoClient } from './load.js';
import { stop, type Started } from './procs.js';

const { values: opts } = parseArgs({ options: { ...ROUND_OPTIONS, upstream: { type: 'string', default: 'stdio' } } });
const { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS } = roundSettings(opts);
const UPSTREAM = opts.upstream === 'http' ? 'http' : 'stdio';
const PARTS = new Set(opts.only?.split(',').map((x) => x.trim()) ?? ['decide', 'observe', 'gateway']);
/** In-process rounds are cheap: many of them, so that the median round says more than any one. */
const DECIDE_ROUNDS = opts.quick ? 5 : 25;
const BATCH_MS = opts.quick ? 10 : 25;
const OBSERVE_RUNS = opts.quick ? 5 : 30;
const SERVER = 'bench';
const LISTED = 200;

/** 200 tools from real tools/list answers (test/fixtures/tools-labelled.jsonl), distinct names, label fields dropped. */
function realTools(): Record<string, unknown>[] {
  const byName = new Map<string, Record<string, unknown>>();
  for (const line of readFileSync(path.join(ROOT, 'test/fixtures/tools-labelled.jsonl'), 'utf8').split('\n')) {
    if (line.trim() === '' || byName.size === LISTED) continue;
    const { server: _, label: __, source: ___, ...tool } = JSON.parse(line) as Record<string, unknown>;
    if (!byName.has(tool['name'] as string)) byName.set(tool['name'] as string, tool);
  }
  const tools = [...byName.values()];
  if (tools.length < LISTED) throw new Error(`the fixture has only ${tools.length} tools with distinct names`);
  return tools;
}

/** The in-process policy: a few named rules; `byRisk` adds the catalogue's two rules. */
function inProcessPolicy(named: string, byRisk: boolean): string {
  const catalogue = byRisk ? '    default: by_risk\n    on_tool_change: block\n' : '    default: allow\n';
  return `version: 1
servers:
  ${SERVER}:
    command: [node, server.js]
${catalogue}    tools:
      ${JSON.stringify(named)}: { action: allow }
      "delete_*": { action: deny, reason: "Deleting is done by humans" }
      reset_everything: deny
    hide: ["debug_*"]
`;
}

// --- Part 1: one decision ---------------------------------------------------------------------------------------

let gcCount = 0;
new PerformanceObserver((list) => void (gcCount += list.getEntries().length)).observe({ entryTypes: ['gc'] });
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
let sink: unknown;

/** ns per call over `n` calls (the loop and the closure call included: see the overhead row). */
function nsPerCall(fn: () => unknown, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink = fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

/**
 * Heap bytes per call: the least of three batches no GC ran in (the GC observer hears of one a turn later), since
 * code the JIT compiles meanwhile lands on the heap too; NaN if no batch was clean.
 */
async function bytesPerCall(fn: () => unknown, n = 10_000): Promise<number> {
  const clean: number[] = [];
  for (let attempt = 0; attempt < 10 && clean.length < 3; attempt++) {
    await settled();
    const gc0 = gcCount;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) sink = fn();
    const after = process.memoryUsage().heapUsed;
    await settled();
    if (gcCount === gc0 && after >= before) clean.push((after - before) / n);
  }
  return clean.length > 0 ? Math.min(...clean) : Number.NaN;
}

/** `base`: the plain-policy case this one is compared with; `ns`: one figure per round. */
type DecideCase = { key: string; label: string; fn: () => unknown; base?: string };
type DecideRow = DecideCase & { ns: number[]; calls: number; bytes: number };

async function decideCosts(dir: string) {
  const tools = realTools();
  const named = tools[0]!.name as string;
  const memoryView = await readyView(createMemoryCatalog());
  memoryView.observe(SERVER, tools);
  const sqliteStore = createSqliteCatalog(path.join(dir, 'decide-catalog.db'));
  const sqliteView = await readyView(sqliteStore);
  sqliteView.observe(SERVER, tools);
  // An unnamed catalogued tool of risk Low: allowed by by_risk, as echo is in part 3.
  const unnamed = tools.map((t) => t['name'] as string).find((n) => n !== named && !/^(delete_|debug_)/.test(n) && memoryView.lookup(SERVER, n)?.risk === 'Low');
  if (!unnamed) throw new Error('no Low tool in the fixture');
  const unknown = 'not_in_the_catalogue';
  // The gateway always hands the policy its catalogue view, whatever the policy says.
  const policyOf = (byRisk: boolean, view: CatalogView) => compilePolicy(parseConfig(inProcessPolicy(named, byRisk), 'bench.yaml'), view);
  const plain = policyOf(false, memoryView);
  const byRisk = policyOf(true, memoryView);
  const bySqlite = policyOf(true, sqliteView);
  const checks = [[plain, unnamed, 'default'], [byRisk, unnamed, 'by_risk.Low'], [byRisk, unknown, 'by_risk.Critical'], [bySqlite, unnamed, 'by_risk.Low']] as const;
  for (const [policy, tool, rule] of checks) {
    const got = policy.server(SERVER)!.decide(tool).rule;
    if (got !== `servers.${SERVER}.${rule}`) throw new Error(`${tool}: decided by ${got}, expected servers.${SERVER}.${rule}`);
  }

  const cases: DecideCase[] = [
    { key: 'overhead', label: '(loop + closure call, nothing decided)', fn: () => named },
    { key: 'a-named', label: 'a: plain, named tool', fn: () => plain.server(SERVER)!.decide(named) },
    { key: 'a-unnamed', label: 'a: plain, unnamed tool (default: allow)', fn: () => plain.server(SERVER)!.decide(unnamed) },
    { key: 'a-visible', label: 'a: plain, isVisible(unnamed)', fn: () => plain.server(SERVER)!.isVisible(unnamed) },
    { key: 'b-named', label: 'b: by_risk, named tool', fn: () => byRisk.server(SERVER)!.decide(named), base: 'a-named' },
    { key: 'b-risk', label: 'b: by_risk, unnamed catalogued tool (by risk)', fn: () => byRisk.server(SERVER)!.decide(unnamed), base: 'a-unnamed' },
    { key: 'b-unknown', label: 'b: by_risk, tool unknown to the catalogue', fn: () => byRisk.server(SERVER)!.decide(unknown), base: 'a-unnamed' },
    { key: 'b-visible', label: 'b: by_risk, isVisible(unnamed)', fn: () => byRisk.server(SERVER)!.isVisible(unnamed), base: 'a-visible' },
    { key: 'c-risk', label: 'b on the SQLite catalogue, unnamed catalogued tool', fn: () => bySqlite.server(SERVER)!.decide(unnamed), base: 'a-unnamed' },
    { key: 'c-unknown', label: 'b on the SQLite catalogue, unknown tool', fn: () => bySqlite.server(SERVER)!.decide(unknown), base: 'a-unnamed' },
  ];
  const rows: DecideRow[] = [];
  for (const c of cases) {
    nsPerCall(c.fn, 2000);
    // Calls per batch so that a batch lasts about BATCH_MS.
    const calls = Math.max(1000, Math.round((BATCH_MS * 1e6) / nsPerCall(c.fn, 20_000)));
    rows.push({ ...c, ns: [], calls, bytes: await bytesPerCall(c.fn) });
  }
  for (let round = 0; round < DECIDE_ROUNDS; round++) {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[(i + round) % rows.length]!;
      row.ns.push(nsPerCall(row.fn, row.calls));
    }
    await settled();
  }
  await memoryView.close();
  await sqliteView.close();
  await sqliteStore.close();
  return { rows, named, unnamed, unknown };
}

const median = (xs: readonly number[]): number => percentile(Float64Array.from(xs).sort(), 50);

function decideReport({ rows, named, unnamed, unknown }: Awaited<ReturnType<typeof decideCosts>>): string {
  const lines = [
    `\n## One decision in process: policy.server(s).decide(tool), ${DECIDE_ROUNDS} rotating rounds of ≈${BATCH_MS} ms per case, node ${process.version}\n`,
    `a: \`default: allow\` with named rules; b: the same with \`default: by_risk\`, \`on_tool_change: block\`; both over a catalogue view of ` +
      `${LISTED} real tools (memory store unless said). Named: \`${named}\`; unnamed: \`${unnamed}\` (Low); unknown: \`${unknown}\`.\n`,
    '| case | ns/call (median round) | fastest–slowest round | × a (per-round range) | heap bytes/call |',
    '|---|---:|---:|---|---:|',
  ];
  for (const r of rows) {
    const base = rows.find((x) => x.key === r.base);
    const perRound = base ? r.ns.map((ns, i) => ns / base.ns[i]!) : [];
    const ratio = base ? `**${f(median(r.ns) / median(base.ns))}** (${f(Math.min(...perRound))}–${f(Math.max(...perRound))}) vs ${base.key}` : '';
    lines.push(`| ${r.label} | ${f(median(r.ns), 1)} | ${f(Math.min(...r.ns), 1)}–${f(Math.max(...r.ns), 1)} | ${ratio} | ${f(r.bytes, 1)} |`);
  }
  return lines.join('\n') + '\n';
}

// --- Part 2: recording a tools/list in the catalogue ------------------------------------------------------------

type ObserveRow = { label: string; us: number[] };

/** µs of each of `runs` calls of `timed`, each after an untimed `prepare` (fresh stores, a changed listing). */
/** Times `timed` once per run; `prepare` (not timed) may be asynchronous, e.g. a view reading its store. */
async function timeRuns<T>(runs: number, prepare: (i: number) => T | Promise<T>, timed: (x: T) => void, cleanup?: (x: T) => unknown): Promise<number[]> {
  const us: number[] = [];
  for (let i = 0; i < runs; i++) {
    const x = await prepare(i);
    const t0 = process.hrtime.bigint();
    timed(x);
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
    await cleanup?.(x);
  }
  return us;
}

/** A view that has read its store: before that, it records nothing (view.ts). */
async function readyView(store: CatalogStore): Promise<CatalogView> {
  const view = createCatalogView(store);
  await view.ready;
  return view;
}

async function observeCosts(dir: string): Promise<ObserveRow[]> {
  const tools = realTools();
  const listing = JSON.stringify({ jsonrpc: '2.0', id: 2, result: { tools } });
  const copy = () => (JSON.parse(listing) as { result: { tools: unknown[] } }).result.tools;
  const expectObserved = (what: string, got: number, want: number) => {
    if (got !== want) throw new Error(`${what}: ${got} tools recorded, expected ${want}`);
  };
  const parsing = await timeRuns(OBSERVE_RUNS * 5, () => listing, (t) => void (sink = JSON.parse(t)));
  const rows: ObserveRow[] = [{ label: `JSON.parse of the listing (${(listing.length / 1024).toFixed(0)} KiB; the gateway parses it anyway)`, us: parsing }];
  const stores: [string, (i: number, what: string) => CatalogStore][] = [
    ['memory', () => createMemoryCatalog()],
    ['sqlite', (i, what) => createSqliteCatalog(path.join(dir, `observe-${what}-${i}.db`))],
  ];
  for (const [name, open] of stores) {
    const fresh = async (i: number, what: string) => {
      const store = open(i, what);
      return { store, view: await readyView(store), tools: copy() };
    };
    const done = async ({ store, view }: { store: CatalogStore; view: CatalogView }) => {
      await view.close();
      await store.close();
    };
    const row = (label: string, us: number[]) => rows.push({ label: `${name}: ${label}`, us });
    row('first listing (classify and pin every tool)', await timeRuns(OBSERVE_RUNS, (i) => fresh(i, 'first'), (x) => expectObserved('first', x.view.observe(SERVER, x.tools)?.added.length ?? 0, LISTED), done));
    // One gateway's view, listed again and again, as the gateway sees a client's repeated tools/list.
    const warm = await fresh(0, 'warm');
    warm.view.observe(SERVER, warm.tools);
    await warm.view.settled();
    row('identical listing again (the fast path)', await timeRuns(OBSERVE_RUNS * 10, copy, (t) => expectObserved('identical', warm.view.observe(SERVER, t)?.written.length ?? 0, 0)));
    // Each run a new revision of one tool's description: a change every time.
    const changedListing = (i: number) => {
      const t = copy() as Record<string, unknown>[];
      t[7]!['description'] = `${String(t[7]!['description'] ?? '')} (revision ${i})`;
      return t;
    };
    // A restarted gateway reads the catalogue, but has no listing text yet: every tool is hashed once.
    const restarted = async () => ({ view: await readyView(warm.store), tools: copy() });
    row('first listing after a restart (catalogue known)', await timeRuns(OBSERVE_RUNS * 2, restarted, (x) => void x.view.observe(SERVER, x.tools), (x) => x.view.close()));
    row(`one tool of ${LISTED} changed`, await timeRuns(OBSERVE_RUNS * 5, changedListing, (t) => expectObserved('one changed', warm.view.observe(SERVER, t)?.changed.length ?? 0, 1)));
    await done(warm);
  }
  return rows;
}

function observeReport(rows: ObserveRow[]): string {
  const base = median(rows[0]!.us);
  const lines = [
    `\n## Recording a tools/list of ${LISTED} real tools: view.observe(server, tools), node ${process.version}\n`,
    '| listing | runs | µs per listing (median) | fastest–slowest | µs per tool | × JSON.parse of the listing |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const m = median(r.us);
    lines.push(`| ${r.label} | ${r.us.length} | ${f(m, 0)} | ${f(Math.min(...r.us), 0)}–${f(Math.max(...r.us), 0)} | ${f(m / LISTED, 2)} | ${f(m / base, 1)} |`);
  }
  return lines.join('\n') + '\n';
}

// --- Part 3: the gateway ----------------------------------------------------------------------------------------

const POLICIES = [
  { key: 'plain', label: 'a: default: allow', byRisk: false },
  { key: 'by-risk', label: 'b: default: by_risk, on_tool_change: block (echo by its risk)', byRisk: true },
] as const;
type GatewayPolicy = (typeof POLICIES)[number];
// Two gateways per policy, started a, b, b, a: on this VM the order gateways were started in moves their
// throughput by up to a third (it flips when the order does), far more than a decision costs.
const GATEWAYS = [1, 2].flatMap((n) => (n === 1 ? POLICIES : [...POLICIES].reverse()).map((p) => ({ ...p, instance: `${p.key}-${n}` })));

/** `echo` unnamed in both; b decides it by its risk class, and refuses unknown tools (so that the check below can tell). */
function gatewayPolicy(upstream: string, dir: string, c: GatewayPolicy & { instance: string }): string {
  const catalogue = c.byRisk ? '    default: by_risk\n    on_tool_change: block\n    by_risk: { Critical: deny }\n' : '    default: allow\n';
  return `version: 1
gateway: { listen: "127.0.0.1:0", state: ${JSON.stringify(`sqlite:${path.join(dir, `${c.instance}-state.db`)}`)}, audit: off }
servers:
  echo:
${upstream}
${catalogue}    tools:
      "delete_*": { action: deny, reason: "Deleting is done by humans" }
      reset_everything: deny
    hide: [debug_dump]
`;
}

/** One tools/list through the gateway in a session of its own (the catalogue is the gateway's, not the session's). */
async function listThroughGateway(url: string): Promise<string[]> {
  const client = new Client({ name: 'policylayer-bench-catalog', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  }
}

/** Cells by `policy@C` (both gateways of the policy) and by `instance@C` (one gateway). */
async function gatewayThroughput(dir: string): Promise<Map<string, Cell>> {
  const servers: Started[] = [];
  const upstream = await echoUpstream(UPSTREAM, servers);
  const clients = new Map<string, { client: EchoClient; pid: number }>();
  const results = new Map<string, Cell>();
  const cellOf = (key: string): Cell => {
    if (!results.has(key)) results.set(key, { samples: [], gatewayCpuMs: 0 });
    return results.get(key)!;
  };
  try {
    for (const c of GATEWAYS) {
      log(`starting policylayer start (HTTP→${UPSTREAM}), ${c.label} (${c.instance})`);
      const file = path.join(dir, `${c.instance}.yaml`);
      writeFileSync(file, gatewayPolicy(upstream, dir, c));
      const s = await startGateway(c.instance, file);
      servers.push(s);
      const url = `${s.match}/mcp/echo`;
      const client = await openHttpClient(url, 32);
      clients.set(c.instance, { client, pid: s.child.pid! });
      // b must decide echo from the catalogue: unknown (refused as Critical) until a listing has gone through.
      const before = await client.probe('echo');
      if (c.byRisk && !(before.includes('[POLICY DENIED]') && before.includes('not in the risk catalogue'))) {
        throw new Error(`${c.label}: echo before any listing was not refused as unknown to the catalogue: ${before.slice(0, 300)}`);
      }
      const listed = await listThroughGateway(url);
      if (!listed.includes('echo')) throw new Error(`${c.label}: tools/list through the gateway has no echo: ${listed.join(', ')}`);
      if (!(await client.call())) throw new Error(`${c.label}: echo after the listing was not allowed: ${(await client.probe('echo')).slice(0, 300)}`);
      await measure(client, 32, WARM_MS);
      await measure(client, 1, WARM_MS / 2);
    }
    await rotatingRounds(ROUNDS, GATEWAYS, async (c, level) => {
      const { client, pid } = clients.get(c.instance)!;
      const one = cellOf(`${c.instance}@${level}`);
      const both = cellOf(`${c.key}@${level}`);
      const cpu0 = one.gatewayCpuMs;
      both.samples.push(await measureCell(one, client, pid, level, SLICE_MS));
      both.gatewayCpuMs += one.gatewayCpuMs - cpu0;
    });
  } finally {
    for (const { client } of clients.values()) await client.close().catch(() => undefined);
    for (const s of servers.reverse()) await stop(s.child);
  }
  return results;
}

function gatewayReport(results: Map<string, Cell>): string {
  const lines = [
    `\n## policylayer start, HTTP→${UPSTREAM} echo server, SQLite state and catalogue, audit off, two gateways per policy, ${ROUNDS} round(s) × ${SLICE_MS / 1000} s per gateway and C, node ${process.version}\n`,
    '| policy | C | calls/s | × a (per-gateway-round range) | p50 ms | added p50 ms | p99 ms | gateway CPU µs/call | failed |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  const stats = (key: string) => cellStats(results.get(key)!);
  for (const level of CONCURRENCY) {
    const base = stats(`plain@${level}`);
    for (const c of POLICIES) {
      const [st, baseline] = [stats(`${c.key}@${level}`), c.key === 'plain'];
      lines.push(
        `| ${c.label} | ${level} | ${f(st.rate, 0)} | ${baseline ? 'baseline' : ratioText(st, base)} | ${f(st.p50, 3)} | ${baseline ? '' : f(st.p50 - base.p50, 3)} | ${f(st.p99, 3)} | ${f(st.cpuUs, 0)} | ${st.failures} |`,
      );
    }
  }
  // The same policy in its two gateways: how far apart two identical gateways land in this run.
  const spread = POLICIES.flatMap((p) => CONCURRENCY.map((level) => `${p.label[0]} at C=${level} ${ratioText(stats(`${p.key}-2@${level}`), stats(`${p.key}-1@${level}`))}`));
  lines.push(`\nSame policy, its later-started gateway × its earlier one (the noise floor of this run): ${spread.join('; ')}.`);
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policylayer-bench-catalog-'));
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  try {
    const parts: [string, string, () => Promise<string>][] = [
      ['decide', 'part 1: one decision, plain and by_risk', async () => decideReport(await decideCosts(dir))],
      ['observe', 'part 2: recording a tools/list', async () => observeReport(await observeCosts(dir))],
      ['gateway', 'part 3: gateway throughput, plain and by_risk', async () => gatewayReport(await gatewayThroughput(dir)) + gatewayProfiles(GATEWAYS.map((c) => c.instance))],
    ];
    for (const [key, what, run] of parts) {
      if (!PARTS.has(key)) continue;
      log(what);
      process.stdout.write(await run());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
