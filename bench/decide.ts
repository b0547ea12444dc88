// `bench/decide`: what deciding one client frame costs in this process (inspectClientFrame: method check, name
// folding, policy lookup), as a ratio to JSON.parse of the same frame — the cost no gateway avoids. Rounds rotate
// the cases so that slow moments of the machine fall on all of them alike.
//
//   node dist/bench/decide.js [--rounds N] [--ms MS]
import { parseArgs } from 'node:util';
import { ConfigSchema } from '../src/config/schema.js';
import { compilePolicy } from '../src/policy/compile.js';
import { inspectClientFrame } from '../src/proxy/inspect.js';
import { f, log } from './common.js';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, ms: { type: 'string', default: '400' } } });
const ROUNDS = Number(opts.rounds);
const SLICE_MS = Number(opts.ms);

const policy = compilePolicy(
  ConfigSchema.parse({
    version: 1,
    servers: {
      s: {
        command: ['x'],
        default: 'allow',
        tools: {
          echo: 'allow',
          ratey: { action: 'allow', rate_limit: { max: 2, window: 60 } },
          pay: { action: 'allow', quota: { max: 100, window: '1h', cost: 'args.amount' } },
          delete_file: { action: 'deny', reason: 'humans only' },
          'admin_*': 'deny',
          'read_*': 'allow',
        },
        hide: ['debug_dump'],
      },
    },
  }),
).server('s')!;

const frame = (method: string, name?: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 7, method, params: name === undefined ? { _meta: { progressToken: 1 } } : { name, arguments: { text: 'hello' } } });
let unique = 0;
/** Cases: [label, frame maker]; a maker called per iteration may vary the frame (fresh names miss every cache). */
const CASES: [string, () => string][] = [
  ['tools/call echo (exact rule)', ((r) => () => r)(frame('tools/call', 'echo'))],
  ['tools/call list_files (default)', ((r) => () => r)(frame('tools/call', 'list_files'))],
  ['tools/call RATEY (folded, cached)', ((r) => () => r)(frame('tools/call', 'RATEY'))],
  ['tools/call fresh name each time', () => frame('tools/call', `tool_${unique++}`)],
  ['tools/call fresh non-ASCII name each time', () => frame('tools/call', `t\u043E\u043El_\u00E9_${unique++}`)],
  ['tools/list', ((r) => () => r)(frame('tools/list'))],
  ['ping', ((r) => () => r)(frame('ping'))],
  ['notifications/progress', ((r) => () => r)(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }))],
  ['resources/read', ((r) => () => r)(frame('resources/read'))],
  ['tools.call (near miss)', ((r) => () => r)(frame('tools.call', 'echo'))],
];

/** ns per operation of `op` over about `ms`. */
function time(op: () => void, ms: number): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < until) {
    for (let i = 0; i < 200; i++) op();
    n += 200;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / n;
}

// Baseline and subject alternate in slices of 10 ms, so that a busy machine slows both alike; the ratio per pair is
// what is reported (median over all pairs of all rounds).
const PAIR_MS = 10;
const results = new Map<string, { ns: number[]; ratio: number[] }>(CASES.map(([label]) => [label, { ns: [], ratio: [] }]));
for (const [, make] of CASES) for (let i = 0; i < 5000; i++) void inspectClientFrame(make(), 's', policy);
for (let round = 0; round < ROUNDS; round++) {
  const order = CASES.map((_, i) => CASES[(i + round) % CASES.length]!);
  for (const [label, make] of order) {
    for (let pair = 0; pair < SLICE_MS / (2 * PAIR_MS); pair++) {
      const base = time(() => void JSON.parse(make()), PAIR_MS);
      const ns = time(() => void inspectClientFrame(make(), 's', policy), PAIR_MS);
      results.get(label)!.ns.push(ns);
      results.get(label)!.ratio.push(ns / base);
    }
  }
  log(`round ${round + 1}/${ROUNDS} done`);
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
console.log('| frame | decide (ns, median) | × JSON.parse of it (median, p10–p90) |');
console.log('|---|---:|---:|');
for (const [label, { ns, ratio }] of results) {
  console.log(`| ${label} | ${f(quantile(ns, 0.5), 0)} | ${f(quantile(ratio, 0.5))} (${f(quantile(ratio, 0.1))}–${f(quantile(ratio, 0.9))}) |`);
}
