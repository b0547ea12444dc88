// `npm run bench`: tools/call latency and throughput through policylayer and two peer proxies, as ratios to direct.
//
//   node dist/bench/proxy.js [--quick] [--rounds N] [--seconds S] [--only key,key] [--json-responses]
//   BENCH_CPU_PROF=DIR node dist/bench/proxy.js   also writes and summarises CPU profiles of the policylayer processes
//
// Every configuration runs in the same process tree at the same time and is measured in short slices, round after
// round in rotating order, so that the noise of a busy machine falls on all of them alike. See bench/README.md.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, CONCURRENCY, ECHO, log, NODE, PROFILE_DIR, ROOT, ROUND_OPTIONS, roundSettings, rotatingRounds, sum } from './common.js';
import { authReport } from './auth-report.js';
import { summariseProfile } from './cpu-profile.js';
import { measure, openHttpClient, openStdioClient, percentile, type EchoClient, type Sample } from './load.js';
import { cpuMs, descendants, freePort, rssMb, startServer, stop, syscalls, type Started } from './procs.js';

const MCP_PROXY = path.join(ROOT, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs');
const SUPERGATEWAY = path.join(ROOT, 'node_modules/supergateway/dist/index.js');
const BARE_RELAY = path.join(ROOT, 'dist/bench/bare-relay.js');

const { values: opts } = parseArgs({
  options: {
    ...ROUND_OPTIONS,
    'json-responses': { type: 'boolean', default: false },
  },
});
const { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS } = roundSettings(opts);

type Baseline = 'direct-http' | 'direct-stdio';
interface Setup {
  key: string;
  label: string;
  /** What the ratios are taken against; none for the baselines themselves. */
  vs?: Baseline;
  group: 'baseline' | 'policylayer' | 'floor' | 'peer';
  /** For a configuration with an agent token: the key of the same one with authentication off (compared 1:1). */
  authOff?: string;
  open(): Promise<Opened>;
}
interface Opened {
  client: EchoClient;
  /** The proxy's own process (none for direct). */
  proxyPid?: number;
  /** The echo server's process(es) behind it. */
  serverPids(): number[];
  close(): Promise<void>;
}

// An agent token for the auth-on rows: the gateway knows only its hash (a policy-file agent), the client sends it.
const TOKEN = `plg_${randomBytes(32).toString('base64url')}`;
const AUTHORIZATION = { authorization: `Bearer ${TOKEN}` };
const AGENTS = `agents:
  bench: { token_sha256: "${createHash('sha256').update(TOKEN).digest('hex')}", servers: [echo] }
`;

// A policy that does real work on every call: default deny, so `echo` is found by its exact rule among
// denials, a glob and hides. `agents` (with AGENTS) turns authentication on, the rest unchanged.
const policy = (server: string, agents = ''): string => `version: 1
gateway: { listen: "127.0.0.1:0", audit: off }
servers:
  echo:
${server}
    default: deny
    tools:
      echo: allow
      delete_everything: { action: deny, reason: "bench: destructive" }
      refund: { action: deny, reason: "bench: financial" }
      "admin_*": { action: deny, reason: "bench: admin tools are for humans" }
      "get_*": allow
    hide: [debug_dump, "internal_*"]
${agents}`;

/** Node flags for a policylayer process: a CPU profile when BENCH_CPU_PROF is set. */
const profiled = (name: string): string[] =>
  PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [];

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policylayer-bench-'));
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const echoArgs = ['http', ...(opts['json-responses'] ? ['--json'] : [])];
  const echoHttp = await startServer(NODE, [ECHO, ...echoArgs], /listening on (http:\/\/[^\s"]+)/);
  const servers: Started[] = [echoHttp];
  const httpPolicy = path.join(dir, 'http.yaml');
  const stdioPolicy = path.join(dir, 'stdio.yaml');
  writeFileSync(httpPolicy, policy(`    url: ${echoHttp.match}`));
  writeFileSync(stdioPolicy, policy(`    command: [${JSON.stringify(NODE)}, ${JSON.stringify(ECHO)}, stdio]`));
  const httpAuthPolicy = path.join(dir, 'http-auth.yaml');
  const stdioAuthPolicy = path.join(dir, 'stdio-auth.yaml');
  writeFileSync(httpAuthPolicy, policy(`    url: ${echoHttp.match}`, AGENTS));
  writeFileSync(stdioAuthPolicy, policy(`    command: [${JSON.stringify(NODE)}, ${JSON.stringify(ECHO)}, stdio]`, AGENTS));

  const httpSetup = (url: string, proxy: Started | undefined, headers?: Record<string, string>): Promise<Opened> =>
    openHttpClient(url, 32, undefined, headers).then((client) => ({
      client,
      ...(proxy?.child.pid !== undefined && { proxyPid: proxy.child.pid }),
      // Behind a proxy the echo server is its child (stdio upstreams); pl-start-http overrides this.
      serverPids: () => (proxy ? descendants(proxy.child.pid!) : [echoHttp.child.pid!]),
      close: () => client.close(),
    }));

  const gateway = async (key: string, file: string): Promise<Started> => {
    const s = await startServer(NODE, [...profiled(key), CLI, 'start', '-c', file], /listening on (http:\/\/[^\s"]+)/);
    servers.push(s);
    return s;
  };
  const onPort = async (args: (port: number) => string[]): Promise<{ s: Started; url: string }> => {
    const port = await freePort();
    const s = await startServer(NODE, args(port), port);
    servers.push(s);
    return { s, url: `http://127.0.0.1:${port}/mcp` };
  };
  const stdioSetup = async (args: string[]): Promise<Opened> => {
    const client = await openStdioClient(NODE, args);
    const pid = client.child.pid!;
    const isProxy = args.includes('wrap');
    return {
      client,
      ...(isProxy && { proxyPid: pid }),
      serverPids: () => (isProxy ? descendants(pid) : [pid]),
      close: () => client.close(),
    };
  };

  /** `policylayer start` on `policy`, measured at /mcp/echo; with the token, it must first refuse a request without it. */
  const started = async (key: string, policy: string, echoOverHttp: boolean, token: boolean): Promise<Opened> => {
    const s = await gateway(key, policy);
    const url = `${s.match}/mcp/echo`;
    if (token) await checkAuthRequired(url);
    const o = await httpSetup(url, s, token ? AUTHORIZATION : undefined);
    return echoOverHttp ? { ...o, serverPids: () => [echoHttp.child.pid!] } : o;
  };

  const all: Setup[] = [
    { key: 'direct-http', label: 'direct HTTP (echo server)', group: 'baseline', open: () => httpSetup(echoHttp.match, undefined) },
    {
      key: 'pl-start-http',
      label: 'policylayer start, HTTP→HTTP',
      vs: 'direct-http',
      group: 'policylayer',
      open: () => started('pl-start-http', httpPolicy, true, false),
    },
    {
      key: 'pl-start-http-auth',
      label: 'policylayer start, HTTP→HTTP, agent token',
      vs: 'direct-http',
      authOff: 'pl-start-http',
      group: 'policylayer',
      open: () => started('pl-start-http-auth', httpAuthPolicy, true, true),
    },
    {
      key: 'bare-relay',
      label: 'bare node:http relay, no policy (floor)',
      vs: 'direct-http',
      group: 'floor',
      open: async () => {
        const s = await startServer(NODE, [BARE_RELAY, echoHttp.match], /listening on (http:\/\/[^\s"]+)/);
        servers.push(s);
        const o = await httpSetup(s.match, s);
        return { ...o, serverPids: () => [echoHttp.child.pid!] };
      },
    },
    {
      key: 'pl-start-stdio',
      label: 'policylayer start, HTTP→stdio',
      vs: 'direct-http',
      group: 'policylayer',
      open: () => started('pl-start-stdio', stdioPolicy, false, false),
    },
    {
      key: 'pl-start-stdio-auth',
      label: 'policylayer start, HTTP→stdio, agent token',
      vs: 'direct-http',
      authOff: 'pl-start-stdio',
      group: 'policylayer',
      open: () => started('pl-start-stdio-auth', stdioAuthPolicy, false, true),
    },
    {
      key: 'mcp-proxy',
      label: `mcp-proxy ${version('mcp-proxy')}, HTTP→stdio`,
      vs: 'direct-http',
      group: 'peer',
      open: async () => {
        const { s, url } = await onPort((port) => [MCP_PROXY, '--port', String(port), '--host', '127.0.0.1', '--', NODE, ECHO, 'stdio']);
        return httpSetup(url, s);
      },
    },
    {
      key: 'supergateway',
      label: `supergateway ${version('supergateway')}, HTTP→stdio`,
      vs: 'direct-http',
      group: 'peer',
      open: async () => {
        const { s, url } = await onPort((port) => [
          SUPERGATEWAY,
          '--stdio',
          `"${NODE}" "${ECHO}" stdio`,
          '--outputTransport',
          'streamableHttp',
          '--stateful',
          '--port',
          String(port),
          '--logLevel',
          'none',
        ]);
        return httpSetup(url, s);
      },
    },
    { key: 'direct-stdio', label: 'direct stdio (echo server)', group: 'baseline', open: () => stdioSetup([ECHO, 'stdio']) },
    {
      key: 'pl-wrap',
      label: 'policylayer wrap, stdio→stdio',
      vs: 'direct-stdio',
      group: 'policylayer',
      open: () => stdioSetup([...profiled('pl-wrap'), CLI, 'wrap', '-c', stdioPolicy, '--server', 'echo']),
    },
  ];
  const only = opts.only?.split(',').map((s) => s.trim());
  // A chosen configuration brings what it is compared with: its baseline, and for an auth-on row its auth-off twin.
  const wanted = only ? all.filter((s) => only.includes(s.key) || all.some((o) => only.includes(o.key) && (o.vs === s.key || o.authOff === s.key))) : all;
  const chosen: Setup[] = [];

  const opened = new Map<string, Opened>();
  const results = new Map<string, Cell>();
  try {
    for (const s of wanted) {
      log(`starting ${s.label}`);
      let o: Opened;
      try {
        o = await s.open();
      } catch (err) {
        // A peer that will not start on this machine should not cost the rest of the run; ours and baselines must.
        if (s.group !== 'peer') throw err;
        log(`skipping ${s.label}: ${(err as Error).message}`);
        continue;
      }
      chosen.push(s);
      opened.set(s.key, o);
      if (s.group === 'policylayer') await checkPolicyInForce(s.label, o.client);
      // Warm every process on the path (JIT, socket pools) before anything counts.
      await measure(o.client, 32, WARM_MS);
      await measure(o.client, 1, WARM_MS / 2);
    }
    await rotatingRounds(ROUNDS, chosen, async (s, c) => {
      const o = opened.get(s.key)!;
      const pids = o.serverPids();
      const before = { proxy: o.proxyPid ? cpuMs(o.proxyPid) : 0, server: sum(pids.map(cpuMs)), sys: o.proxyPid ? syscalls(o.proxyPid) : 0 };
      const sample = await measure(o.client, c, SLICE_MS);
      const cell = cellOf(results, s.key, c);
      cell.samples.push(sample);
      cell.proxyCpuMs += o.proxyPid ? cpuMs(o.proxyPid) - before.proxy : 0;
      cell.serverCpuMs += sum(pids.map(cpuMs)) - before.server;
      cell.proxySyscalls += o.proxyPid ? syscalls(o.proxyPid) - before.sys : 0;
    });
    const rss = new Map(chosen.map((s) => [s.key, rssMb(opened.get(s.key)!.proxyPid ?? opened.get(s.key)!.serverPids()[0] ?? 0)]));
    process.stdout.write(report(chosen, results, rss));
    process.stdout.write(authReport(chosen, (key, c) => {
      const cell = results.get(`${key}@${c}`);
      return cell && stats(cell);
    }));
  } finally {
    for (const o of opened.values()) await o.close().catch(() => undefined);
    for (const s of servers.reverse()) await stop(s.child);
    rmSync(dir, { recursive: true, force: true });
  }
  if (PROFILE_DIR) {
    for (const file of readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile'))) {
      process.stdout.write(`\n### CPU profile ${file}\n\n${summariseProfile(path.join(PROFILE_DIR, file), 25)}\n`);
    }
  }
}

/** Fails the run unless the policy acts through this configuration: a denial, a glob denial and a hidden tool. */
async function checkPolicyInForce(label: string, client: EchoClient): Promise<void> {
  const expect: [string, string][] = [
    ['delete_everything', '[POLICY DENIED]'],
    ['admin_reset', '[POLICY DENIED]'],
    ['debug_dump', 'Unknown tool'],
  ];
  for (const [tool, text] of expect) {
    const answer = await client.probe(tool);
    if (!answer.includes(text)) throw new Error(`${label}: calling ${tool} should answer "${text}", got: ${answer.slice(0, 300)}`);
  }
}

/** Fails the run unless the auth-on gateway really requires the token: a client without it gets HTTP 401. */
async function checkAuthRequired(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
  await res.body?.cancel();
  if (res.status !== 401) throw new Error(`${url} without a token should answer HTTP 401, got ${res.status}`);
}

interface Cell {
  samples: Sample[];
  proxyCpuMs: number;
  serverCpuMs: number;
  proxySyscalls: number;
}
const cellOf = (m: Map<string, Cell>, key: string, c: number): Cell => {
  const k = `${key}@${c}`;
  let cell = m.get(k);
  if (!cell) m.set(k, (cell = { samples: [], proxyCpuMs: 0, serverCpuMs: 0, proxySyscalls: 0 }));
  return cell;
};
const version = (pkg: string): string =>
  (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

interface Stats {
  rate: number;
  rounds: number[];
  p50: number;
  p99: number;
  calls: number;
  failures: number;
  proxyUs: number;
  proxySyscalls: number;
  serverUs: number;
  loadUs: number;
}
function stats(cell: Cell): Stats {
  const calls = sum(cell.samples.map((s) => s.calls));
  const lat = Float64Array.from(cell.samples.flatMap((s) => s.latencies)).sort();
  return {
    rate: (calls / sum(cell.samples.map((s) => s.elapsedMs))) * 1000,
    rounds: cell.samples.map((s) => (s.calls / s.elapsedMs) * 1000),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    calls,
    failures: sum(cell.samples.map((s) => s.failures)),
    proxyUs: (cell.proxyCpuMs * 1000) / calls,
    proxySyscalls: cell.proxySyscalls / calls,
    serverUs: (cell.serverCpuMs * 1000) / calls,
    loadUs: (sum(cell.samples.map((s) => s.loadCpuMs)) * 1000) / calls,
  };
}

function report(chosen: Setup[], results: Map<string, Cell>, rss: Map<string, { rss: number; peak: number }>): string {
  const f = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const get = (key: string, c: number): Stats | undefined => {
    const cell = results.get(`${key}@${c}`);
    return cell ? stats(cell) : undefined;
  };
  const lines: string[] = [];
  lines.push(`\n## tools/call echo, ${ROUNDS} round(s) × ${SLICE_MS / 1000} s per cell, node ${process.version}\n`);
  lines.push('| configuration | C | calls/s | × direct (per-round range) | p50 ms | added p50 ms | p99 ms | failed |');
  lines.push('|---|---:|---:|---|---:|---:|---:|---:|');
  for (const c of CONCURRENCY) {
    for (const s of chosen) {
      const st = get(s.key, c);
      if (!st) continue;
      const base = s.vs ? get(s.vs, c) : undefined;
      const perRound = base ? st.rounds.map((r, i) => r / (base.rounds[i] ?? Number.NaN)) : [];
      const ratio = base ? `**${f(st.rate / base.rate)}** (${f(Math.min(...perRound))}–${f(Math.max(...perRound))}) vs ${s.vs}` : 'baseline';
      const added = base ? f(st.p50 - base.p50, 3) : '';
      lines.push(`| ${s.label} | ${c} | ${f(st.rate, 0)} | ${ratio} | ${f(st.p50, 3)} | ${added} | ${f(st.p99, 3)} | ${st.failures} |`);
    }
  }
  lines.push('\n### CPU per call (µs) and memory of the proxy process\n');
  lines.push('| configuration | proxy CPU µs/call C=1 | C=32 | proxy syscalls/call C=1 | C=32 | echo server µs/call C=1 | C=32 | load generator µs/call C=32 | proxy RSS MB (peak) |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of chosen) {
    const a = get(s.key, 1);
    const b = get(s.key, 32);
    const m = rss.get(s.key);
    const proxy =
      s.group === 'baseline'
        ? ['', '', '', '']
        : [f(a?.proxyUs ?? NaN, 0), f(b?.proxyUs ?? NaN, 0), f(a?.proxySyscalls ?? NaN, 1), f(b?.proxySyscalls ?? NaN, 1)];
    const mem = s.group === 'baseline' ? `(server) ${f(m?.rss ?? NaN, 0)} (${f(m?.peak ?? NaN, 0)})` : `${f(m?.rss ?? NaN, 0)} (${f(m?.peak ?? NaN, 0)})`;
    lines.push(`| ${s.label} | ${proxy.join(' | ')} | ${f(a?.serverUs ?? NaN, 0)} | ${f(b?.serverUs ?? NaN, 0)} | ${f(b?.loadUs ?? NaN, 0)} | ${mem} |`);
  }
  lines.push('\n### Targets (issue 4)\n');
  const check = (ok: boolean | undefined, text: string): string => `- ${ok === undefined ? 'n/a ' : ok ? 'MET ' : 'MISSED '} ${text}`;
  const ratio = (key: string, c: number): number => {
    const st = get(key, c);
    const base = st && get('direct-http', c);
    return st && base ? st.rate / base.rate : Number.NaN;
  };
  const r = ratio('pl-start-http', 32);
  lines.push(check(Number.isNaN(r) ? undefined : r >= 0.75, `throughput at C=32 ≥ 0.75 of direct, HTTP→HTTP: ${f(r)}`));
  for (const s of chosen.filter((x) => x.group === 'policylayer' && x.vs)) {
    const st = get(s.key, 1);
    const base = get(s.vs!, 1);
    if (st && base) lines.push(check(st.p50 - base.p50 <= 0.3, `added p50 ≤ 0.3 ms at C=1, ${s.label}: ${f(st.p50 - base.p50, 3)} ms`));
  }
  const peers = chosen.filter((x) => x.group === 'peer');
  for (const key of ['pl-start-stdio', 'pl-start-http']) {
    if (!results.has(`${key}@1`) || peers.length === 0) continue;
    for (const c of CONCURRENCY) {
      const mine = get(key, c)!.rate;
      const best = Math.max(...peers.map((p) => get(p.key, c)?.rate ?? 0));
      lines.push(check(mine > best, `${key} ahead of every peer at C=${c}: ${f(mine, 0)} vs best peer ${f(best, 0)} calls/s`));
    }
  }
  return lines.join('\n') + '\n';
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
