// `policylayer limits`: the current rate-limit and spend-cap counters of the configured state store, per scope key.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import { openStateStore, sqlitePath } from '../state/open.js';
import type { CounterInfo } from '../state/store.js';
import { parseVerbArgs, usageError } from './args.js';
import { formatTable } from './table.js';

const USAGE = `usage: policylayer limits [-c policylayer.yaml] [--json]

Shows every counter with admissions in its current window: scope, who (session, agent, server or *), the limit
(its path in the policy file), units used, calls, and when the oldest admission leaves the window.
Reads the store of gateway.state (sqlite:PATH or redis://…); a memory: store lives inside the gateway process.
  --json   one JSON array instead of the table`;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** A counter with its key taken apart: `<prefix>rl:<scope>:<scope id>[:<server>]:<limit path>`. */
export interface CounterRow extends CounterInfo {
  scope?: string;
  id?: string;
  limit?: string;
}

const KEY = /^rl:(session|agent|server|global):(.*?):(?:[A-Za-z0-9][A-Za-z0-9_-]*:)?(servers\..+)$/;

export function describeKey(counter: CounterInfo, prefix: string): CounterRow {
  const rest = counter.key.startsWith(prefix) ? counter.key.slice(prefix.length) : counter.key;
  const m = KEY.exec(rest);
  return m ? { ...counter, scope: m[1]!, id: m[2]!, limit: m[3]! } : { ...counter };
}

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'limits',
    args,
    { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    USAGE,
  );
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length > 0) throw usageError(`limits: unexpected argument "${positionals[0]}"`, USAGE);
  const file = values.config ?? 'policylayer.yaml';
  let gateway;
  try {
    gateway = (await loadConfig(file)).gateway;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return 1;
  }
  const { state, state_prefix: prefix } = gateway;

  if (state === 'memory:') {
    io.stderr.write(
      `policylayer: gateway.state is memory:, so the counters live inside the running gateway process and no other process can read them.\n` +
        `Use sqlite:PATH (one host) or redis://host:port (replicas) to inspect them with \`policylayer limits\`.\n`,
    );
    return 1;
  }
  // Reading must not create the file: a missing one simply has no counters yet.
  if (state.startsWith('sqlite:') && !existsSync(sqlitePath(state))) {
    if (values.json) io.stdout.write('[]\n');
    else io.stdout.write(`No counters: ${path.resolve(sqlitePath(state))} does not exist yet (the gateway creates it on the first limited call).\n`);
    return 0;
  }

  const store = await openStateStore(state, { prefix });
  let rows: CounterRow[];
  try {
    rows = (await store.counters()).map((c) => describeKey(c, prefix));
  } finally {
    await store.close();
  }

  if (values.json) {
    io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    io.stdout.write(`No counters in ${state} under "${prefix}": no limited call in any current window.\n`);
    return 0;
  }
  io.stdout.write(table(rows));
  return 0;
}

function table(rows: CounterRow[]): string {
  const header = ['SCOPE', 'WHO', 'LIMIT', 'USED', 'CALLS', 'NEXT EXPIRY'];
  const cells = rows.map((r) => [
    r.scope ?? '-',
    r.id ?? '-',
    r.limit ?? r.key,
    amount(r.used),
    String(r.calls),
    r.nextExpiryMs === undefined ? '-' : `in ${duration(r.nextExpiryMs)}`,
  ]);
  return formatTable(header, cells, new Set([3, 4]));
}

/** Sums of decimal costs carry binary rounding (0.30000000000000004); six decimals is what a person wants. */
function amount(n: number): string {
  return String(Number(n.toFixed(6)));
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}
