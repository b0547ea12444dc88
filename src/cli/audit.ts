// `policylayer audit query | tail | verify`: read the audit log named by gateway.audit (or --audit URL).
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyChain } from '../audit/chain.js';
import { redactUrl } from '../redact-url.js';
import { openAuditSink } from '../audit/open.js';
import { toCsv, toJsonl } from '../audit/format.js';
import { buildAuditFilter, queryCalls, type CallRow } from '../audit/query.js';
import type { AuditEvent, AuditFilter, AuditSink } from '../audit/sink.js';
import { AuditSettingsSchema } from '../config/audit-schema.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { parseVerbArgs, usageError } from './args.js';
import type { Io } from './limits.js';
import { formatTable } from './table.js';

const USAGE = `usage: policylayer audit <query|tail|verify> [-c policylayer.yaml] [--audit URL] [options]

  query    tool calls with their decision, rule and outcome, oldest first
             --server S --tool T --agent A --session ID
             --kind reload|tools_changed|result|admin   (other records instead of calls;
                                                  admin: approvals decided, agents added or revoked, by whom)
             --decision allowed|denied|rate_limited|hidden|held|approved|denied_by_human|expired|withdrawn|shadow|malformed
             --since T --until T   (ISO time, epoch ms, or a duration back from now: 15m, 2h, 7d)
             --limit N (default 100)   --format table|json|jsonl|csv (default table)
  tail     the newest records (-n N, default 20); -f keeps printing new ones as they are written
  verify   checks the hash chain (audit.hash_chain: true): names the first edited, missing or reordered record

The log is the one of gateway.audit in the policy file; --audit sqlite:PATH | postgres://… | jsonl:PATH reads
another. Exit status: 0, or 1 when verify finds a problem.`;

const FORMATS = ['table', 'json', 'jsonl', 'csv'] as const;
const FOLLOW_POLL_MS = 500;
/** Longer than any flush interval a writer uses by default (audit.flush_ms, 200 ms), with room for replicas' clocks. */
const FOLLOW_LAG_MS = 5000;

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'audit',
    args,
    {
      config: { type: 'string', short: 'c' },
      audit: { type: 'string' },
      server: { type: 'string' },
      tool: { type: 'string' },
      agent: { type: 'string' },
      session: { type: 'string' },
      kind: { type: 'string' },
      decision: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
      n: { type: 'string', short: 'n' },
      follow: { type: 'boolean', short: 'f' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  const [sub, ...extra] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  if (!['query', 'tail', 'verify'].includes(sub)) throw usageError(`audit: unknown subcommand "${sub}"`, USAGE);
  if (extra.length > 0) throw usageError(`audit ${sub}: unexpected argument "${extra[0]}"`, USAGE);

  const sink = await openSink(values.config, values.audit, io);
  if (!sink) return 1;
  try {
    if (sub === 'verify') return await verify(sink, io);
    if (sub === 'tail') return await tail(sink, io, positiveInt(values.n ?? '20', '-n'), values.follow === true, values.format ?? 'table');
    const filter = buildFilter(values);
    const rows = await queryCalls(sink, filter);
    io.stdout.write(render(rows, values.json ? 'json' : (values.format ?? 'table')));
    return 0;
  } finally {
    await sink.close();
  }
}

async function openSink(file: string | undefined, url: string | undefined, io: Io): Promise<AuditSink | undefined> {
  let target = url;
  let settings = AuditSettingsSchema.parse({});
  if (target === undefined) {
    try {
      const config = await loadConfig(file ?? 'policylayer.yaml');
      target = config.gateway.audit;
      settings = config.audit;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.stderr.write(`${err.message}\n`);
      return undefined;
    }
  }
  if (target === 'off' || target === 'stdout') {
    io.stderr.write(`policylayer: gateway.audit is ${target}, so there is no log to read; use sqlite:PATH, postgres://… or jsonl:PATH (or pass --audit URL)\n`);
    return undefined;
  }
  try {
    return await openAuditSink(target, settings);
  } catch (err) {
    io.stderr.write(`policylayer: cannot open the audit log ${redactUrl(target)}: ${(err as Error).message}\n`);
    return undefined;
  }
}

function buildFilter(values: Record<string, string | boolean | undefined>): AuditFilter {
  const format = values.format;
  if (typeof format === 'string' && !(FORMATS as readonly string[]).includes(format)) throw usageError(`audit: --format "${format}" is not one of ${FORMATS.join(', ')}`, USAGE);
  try {
    return buildAuditFilter((k) => (typeof values[k] === 'string' ? (values[k] as string) : undefined));
  } catch (err) {
    throw usageError(`audit: ${(err as Error).message}`, USAGE);
  }
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw usageError(`audit: ${flag} "${text}" is not a positive whole number`, USAGE);
  return n;
}

async function tail(sink: AuditSink, io: Io, n: number, follow: boolean, format: string): Promise<number> {
  const newest = await sink.query({ newest_first: true, limit: n });
  const shown = newest.reverse();
  io.stdout.write(render(shown, format === 'table' ? 'lines' : format));
  if (!follow) return 0;
  // Follow by polling: every backend can answer "since a time". Batched writers (and other replicas) may add
  // records a little in the past, so each poll looks back FOLLOW_LAG_MS and skips the ids it already printed.
  const seen = new Map(shown.map((e) => [e.id, e.time]));
  let last = shown.at(-1)?.time ?? Date.now();
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  while (!stop) {
    await sleep(FOLLOW_POLL_MS);
    const fresh = (await sink.query({ since: last - FOLLOW_LAG_MS, limit: 10_000 })).filter((e) => !seen.has(e.id));
    if (fresh.length === 0) continue;
    io.stdout.write(render(fresh, format === 'table' ? 'lines' : format));
    for (const e of fresh) seen.set(e.id, e.time);
    last = Math.max(last, ...fresh.map((e) => e.time));
    for (const [id, time] of seen) if (time < last - FOLLOW_LAG_MS) seen.delete(id);
  }
  return 0;
}

async function verify(sink: AuditSink, io: Io): Promise<number> {
  const events = await sink.query({ limit: Number.MAX_SAFE_INTEGER });
  const result = verifyChain(events);
  if (result.ok) {
    io.stdout.write(`ok: ${result.checked} record(s) of ${result.instances} gateway instance(s); the hash chain is intact\n`);
    return 0;
  }
  const p = result.problem;
  io.stdout.write(`FAILED after ${result.checked} good record(s): instance ${p.instance}, record ${p.id} (seq ${p.seq}): ${p.what}\n`);
  return 1;
}

const COLUMNS: [string, (r: CallRow) => string][] = [
  ['TIME', (r) => new Date(r.time).toISOString()],
  ['SERVER', (r) => r.server ?? '-'],
  ['TOOL', (r) => r.tool ?? (r.kind === 'call' ? '-' : `(${r.kind})`)],
  ['AGENT', (r) => r.agent ?? '-'],
  ['DECISION', (r) => r.decision ?? r.outcome ?? '-'],
  ['OUTCOME', (r) => (r.kind === 'call' ? (r.outcome ?? (r.decision === 'allowed' ? 'pending' : '-')) : '-')],
  ['RULE', (r) => r.rule ?? '-'],
  // An admin record's target is in `detail`; its reason (a denial's) follows it.
  ['REASON', (r) => oneLine(r.kind === 'admin' ? [r.detail, r.reason].filter(Boolean).join(': ') : (r.reason ?? r.detail ?? ''))],
];

function render(rows: AuditEvent[], format: string): string {
  switch (format) {
    case 'json':
      return JSON.stringify(rows, null, 2) + '\n';
    case 'jsonl':
      return toJsonl(rows);
    case 'csv':
      return toCsv(rows);
    case 'lines':
      return rows.map((r) => COLUMNS.map(([, get]) => get(r)).join('  ') + '\n').join('');
    default:
      if (rows.length === 0) return 'No records match.\n';
      return formatTable(
        COLUMNS.map(([h]) => h),
        rows.map((r) => COLUMNS.map(([, get]) => get(r))),
      );
  }
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}
