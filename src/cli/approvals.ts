// `policylayer approvals list | approve | deny`: the people's side of require_approval, on the store of gateway.state.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { paramsText } from '../approvals/held-call.js';
import { openApprovalStore } from '../approvals/open.js';
import { allRecords, type ApprovalDecision, type ApprovalRecord, type ApprovalStore } from '../approvals/store.js';
import { localIdentity } from '../agents/authenticate.js';
import { openAdminAuditLog } from '../audit/admin-record.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log.js';
import { parseVerbArgs, usageError } from './args.js';
import type { Io } from './limits.js';
import { formatTable } from './table.js';

const USAGE = `usage: policylayer approvals <list|approve|deny> [-c policylayer.yaml] [options]

  list [--all] [--json] [--limit N] calls waiting for a person (--all: decided ones too), newest first; the
                                    newest N (default 200), and how many more there are
  approve ID [--reason TEXT]        let the held call through (once; or for approval_ttl)
  deny ID --reason TEXT             refuse it: the agent gets [POLICY DENIED] with your reason
  approve|deny --pending …          decide every pending approval (that the filters select) at once
  watch                             shows each new held call as it comes and asks: approve? [y/n/s(kip)]

--server S, --tool T, --agent A select the calls of that server, tool or agent (list, --pending, watch).

--by NAME records who decided (default: your user name). The approvals live in the store of gateway.state
(sqlite:PATH on this host, redis://… for replicas); the gateway holding the call sees the decision at once.`;

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'approvals',
    args,
    {
      config: { type: 'string', short: 'c' },
      reason: { type: 'string' },
      by: { type: 'string' },
      all: { type: 'boolean' },
      pending: { type: 'boolean' },
      server: { type: 'string' },
      tool: { type: 'string' },
      agent: { type: 'string' },
      json: { type: 'boolean' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  const [sub, id, ...extra] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  if (!['list', 'approve', 'deny', 'watch'].includes(sub)) throw usageError(`approvals: unknown subcommand "${sub}"`, USAGE);
  const only: Filter = { server: values.server, tool: values.tool, agent: values.agent };
  // Deciding one approval by its id with a filter beside it would leave unclear which of the two was meant.
  if (id !== undefined && sub !== 'list' && sub !== 'watch' && hasFilter(only)) {
    throw usageError(`approvals ${sub}: --server, --tool and --agent select calls for --pending, not for one id`, USAGE);
  }
  if (sub === 'watch') {
    if (id !== undefined) throw usageError(`approvals watch: unexpected argument "${id}"`, USAGE);
    const store = await openStore(values.config, io);
    if (!store) return 1;
    try {
      return await watch(store, only, values.by ?? userName(), io);
    } finally {
      await store.close();
    }
  }
  if (sub !== 'list' && id === undefined && !values.pending) throw usageError(`approvals ${sub}: which approval? give its id, or --pending for all (see policylayer approvals list)`, USAGE);
  if (sub !== 'list' && id !== undefined && values.pending) throw usageError(`approvals ${sub}: give an id or --pending, not both`, USAGE);
  if (sub === 'deny' && !values.reason) throw usageError('approvals deny: --reason is required: the agent is told why', USAGE);
  if (extra.length > 0 || (sub === 'list' && id !== undefined)) throw usageError(`approvals ${sub}: unexpected argument "${extra[0] ?? id}"`, USAGE);
  if (values.limit !== undefined && (sub !== 'list' || !/^[1-9]\d{0,8}$/.test(values.limit))) {
    throw usageError(sub === 'list' ? `approvals list: --limit "${values.limit}" is not a whole number above 0` : `approvals ${sub}: --limit is an option of list`, USAGE);
  }

  const store = await openStore(values.config, io);
  if (!store) return 1;
  try {
    if (sub === 'list') return await list(store, { all: values.all === true, json: values.json === true, limit: Number(values.limit ?? DEFAULT_LIST), only }, io);
    const by = values.by ?? userName();
    const decision = { status: sub === 'approve' ? ('approved' as const) : ('denied' as const), by, via: 'cli', ...(values.reason && { reason: values.reason }) };
    if (values.pending) return await decideAll(store, decision, only, io);
    const result = await store.decide(id!, decision);
    if (result.ok) {
      io.stdout.write(`${sub === 'approve' ? 'approved' : 'denied'}: ${describe(result.record!)}\n`);
      return 0;
    }
    io.stderr.write(`policylayer: ${whyNot(id!, result.record)}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

const DEFAULT_LIST = 200;

/** Which calls a command is about: each given field must match exactly. */
interface Filter {
  server?: string | undefined;
  tool?: string | undefined;
  agent?: string | undefined;
}

const hasFilter = (f: Filter): boolean => f.server !== undefined || f.tool !== undefined || f.agent !== undefined;

const matches = (r: ApprovalRecord, f: Filter): boolean =>
  (f.server === undefined || r.server === f.server) && (f.tool === undefined || r.tool === f.tool) && (f.agent === undefined || r.agent === f.agent);

/**
 * The newest `limit` records that match, and on stderr (stdout stays a table or JSON) how many more match: none
 * left out silently.
 */
async function list(store: ApprovalStore, opts: { all: boolean; json: boolean; limit: number; only: Filter }, io: Io): Promise<number> {
  const shown: ApprovalRecord[] = [];
  let more = 0;
  for await (const r of allRecords(store, opts.all ? undefined : 'pending')) {
    if (!matches(r, opts.only)) continue;
    if (shown.length < opts.limit) shown.push(r);
    else more++;
  }
  io.stdout.write(opts.json ? JSON.stringify(shown, null, 2) + '\n' : table(shown));
  if (more > 0) io.stderr.write(`policylayer: ${more} more not shown (the newest ${shown.length} of ${shown.length + more}); use --limit ${shown.length + more} to show them all\n`);
  return 0;
}

/**
 * Decides every pending approval (optionally only those of one server / tool / agent), however many; each still
 * exactly once. The store is read page by page from a cursor, so records decided on the way shift nothing.
 */
async function decideAll(store: ApprovalStore, decision: ApprovalDecision, only: Filter, io: Io): Promise<number> {
  const now = Date.now();
  let done = 0;
  let missed = 0;
  for await (const r of allRecords(store, 'pending')) {
    // Past its deadline it can no longer be approved; its gateway expires it (or died, leaving it pending).
    if (r.expires <= now || !matches(r, only)) continue;
    if ((await store.decide(r.id, decision)).ok) done++;
    else missed++;
  }
  io.stdout.write(`${decision.status} ${done} pending approval(s)${missed > 0 ? `; ${missed} were decided by someone else meanwhile` : ''}\n`);
  return 0;
}
const WATCH_POLL_MS = 300;

/**
 * Prints every new pending approval and asks what to do with it, one at a time, until SIGINT or the end of the
 * input (then it only prints). Answers: y approves, n asks for the reason and denies, s (or nothing) skips.
 */
async function watch(store: ApprovalStore, only: Filter, by: string, io: Io): Promise<number> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
  let open = true;
  rl.on('close', () => (open = false));
  const ask = (q: string): Promise<string | undefined> =>
    open ? new Promise((resolve) => {
      const onClose = () => resolve(undefined);
      rl.once('close', onClose);
      rl.question(q, (a) => {
        rl.off('close', onClose);
        resolve(a.trim());
      });
    }) : Promise.resolve(undefined);
  let stop = false;
  const onSignal = () => {
    stop = true;
    rl.close();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const seen = new Set<string>();
  io.stdout.write('Watching for calls held for approval (Ctrl-C to stop)…\n');
  try {
    while (!stop) {
      const pending: ApprovalRecord[] = [];
      for await (const r of allRecords(store, 'pending')) if (!seen.has(r.id) && r.expires > Date.now() && matches(r, only)) pending.push(r);
      const fresh = pending.reverse();
      for (const r of fresh) {
        seen.add(r.id);
        io.stdout.write(`\n${describe(r)}\n  rule ${r.rule}${r.reason ? ` (${r.reason})` : ''}; ${Math.round((r.expires - Date.now()) / 1000)} s left\n`);
        const answer = (await ask('approve? [y/n/s] '))?.toLowerCase();
        if (answer !== 'y' && answer !== 'n') continue;
        const reason = answer === 'n' ? ((await ask('reason (the agent is told): ')) || 'denied from approvals watch') : undefined;
        const result = await store.decide(r.id, { status: answer === 'y' ? 'approved' : 'denied', by, via: 'cli', ...(reason && { reason }) });
        io.stdout.write(result.ok ? `${answer === 'y' ? 'approved' : 'denied'} ${r.id}\n` : `${whyNot(r.id, result.record)}\n`);
      }
      if (!stop) await sleep(WATCH_POLL_MS);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rl.close();
  }
  return 0;
}

async function openStore(file: string | undefined, io: Io): Promise<ApprovalStore | undefined> {
  let config: Config;
  try {
    config = await loadConfig(file ?? 'policylayer.yaml');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return undefined;
  }
  const { state, state_prefix: prefix } = config.gateway;
  if (state === 'memory:') {
    io.stderr.write('policylayer: gateway.state is memory:, so approvals live inside the gateway process and no other process can decide them; use sqlite:PATH or redis://host:port\n');
    return undefined;
  }
  try {
    return auditDecisions(await openApprovalStore(state, prefix), config, io);
  } catch (err) {
    io.stderr.write(`policylayer: ${(err as Error).message}\n`);
    return undefined;
  }
}

function whyNot(id: string, r: ApprovalRecord | undefined): string {
  if (!r) return `no approval ${id} (see policylayer approvals list)`;
  if (r.status === 'pending') return `approval ${id} expired at ${new Date(r.expires).toISOString()}: the call is denied for want of an answer`;
  const d = r.decided;
  return `approval ${id} is already ${r.status}${d ? ` (by ${d.by} via ${d.via} at ${new Date(d.at).toISOString()}${d.reason ? `: ${d.reason}` : ''})` : ''}`;
}

function describe(r: ApprovalRecord): string {
  const label = r.classified ? ` [${r.classified.category}, ${r.classified.risk} risk: ${r.classified.evidence[0] ?? ''}]` : '';
  return `${r.id} ${r.tool} on ${r.server} for ${r.agent} with ${paramsText(r)}${label}`;
}

function table(records: ApprovalRecord[]): string {
  if (records.length === 0) return 'No approvals waiting.\n';
  const now = Date.now();
  const rows = records.map((r) => [
    r.id,
    r.status === 'pending' && now >= r.expires ? 'expired' : r.status,
    r.server,
    r.tool,
    r.classified ? `${r.classified.category}/${r.classified.risk}` : '-',
    r.agent,
    // Each part cut on its own: long arguments never hide that other params fields are there.
    paramsText(r, 80),
    r.status === 'pending' ? `${Math.max(0, Math.round((r.expires - now) / 1000))} s left` : (r.decided?.by ?? '-'),
    r.rule,
  ]);
  return formatTable(['ID', 'STATUS', 'SERVER', 'TOOL', 'RISK', 'AGENT', 'ARGUMENTS', 'DECIDES / BY', 'RULE'], rows);
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/**
 * The store, with every decision this command applies recorded in the audit log as an admin action (who, via
 * cli). A record that cannot be written is warned about, not waited on: a held call's decision is time-bound.
 */
function auditDecisions(store: ApprovalStore, config: Config, io: Io): ApprovalStore {
  let audit: ReturnType<typeof openAdminAuditLog> | undefined;
  const actor = localIdentity().agent;
  const record = async (r: ApprovalRecord, decision: ApprovalDecision): Promise<void> => {
    audit ??= openAdminAuditLog(config, createLogger());
    const log = await audit;
    if (!log.ok) {
      if (log.why === 'failed') io.stderr.write(`policylayer WARNING: ${log.message}; this decision is NOT IN THE AUDIT LOG\n`);
      return;
    }
    const action = decision.status === 'approved' ? 'approvals.approve' : 'approvals.deny';
    await log
      .write({ actor, action, target: `approval ${r.id} (${r.tool} on ${r.server} for ${r.agent})`, via: 'cli', approvalId: r.id, ...(decision.reason !== undefined && { reason: decision.reason }) })
      .catch((err: Error) => io.stderr.write(`policylayer WARNING: the audit log could not record approval ${r.id}: ${err.message}\n`));
  };
  return {
    ...store,
    async decide(id, decision, now) {
      const result = await store.decide(id, decision, now);
      if (result.ok && result.record && (decision.status === 'approved' || decision.status === 'denied')) await record(result.record, decision);
      return result;
    },
    async close() {
      const log = await audit;
      if (log?.ok) await log.close();
      await store.close();
    },
  };
}
