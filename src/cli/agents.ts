// `policylayer agents add | list | revoke`: agent tokens in the store of gateway.state (parsing and printing only).
import { localIdentity } from '../agents/authenticate.js';
import { openAgentStore } from '../agents/open.js';
import type { AgentStore, AgentTokenRecord } from '../agents/store.js';
import { mintToken, newTokenId, REVOKED_WITHIN_MS, tokenSha256 } from '../agents/tokens.js';
import { openAdminAuditLog, type AdminActionInput } from '../audit/admin-record.js';
import { AGENT_NAME, AGENT_NAME_RULE } from '../config/agents-schema.js';
import { windowMs, WindowSchema } from '../config/limits-schema.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log.js';
import { parseVerbArgs, usageError } from './args.js';
import type { Io } from './limits.js';
import { formatTable } from './table.js';

const USAGE = `usage: policylayer agents <add|list|revoke> [-c policylayer.yaml] [options]

  add NAME --servers a,b [--expires 90d]   a new token for agent NAME, granted those servers; printed once
  add NAME --all-servers [--expires 90d]   … granted every server (also those added later)
  list [--json]                            every agent and token: servers, created, expires, revoked
  revoke NAME|TOKEN-ID                     revoke one token, or every token of an agent

Adding to an existing agent gives it one more token (rotation: add, move the clients, revoke the old one).
One of --servers or --all-servers is required, so that no token gets every server by accident. Only the
token's SHA-256 is stored, in the store of gateway.state (sqlite:PATH on this host, redis://… for replicas);
running gateways refuse a revoked token within ${REVOKED_WITHIN_MS / 1000} s. Agents can also be declared in the policy
file under \`agents:\` (token_sha256 or token_env); those are changed by editing the file.`;

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'agents',
    args,
    {
      config: { type: 'string', short: 'c' },
      servers: { type: 'string' },
      'all-servers': { type: 'boolean' },
      expires: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  const [sub, target, ...extra] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  if (!['add', 'list', 'revoke'].includes(sub)) throw usageError(`agents: unknown subcommand "${sub}"`, USAGE);
  if (sub !== 'list' && target === undefined) throw usageError(`agents ${sub}: which agent? give its name${sub === 'revoke' ? ' or a token id (see policylayer agents list)' : ''}`, USAGE);
  const unexpected = sub === 'list' ? target : extra[0];
  if (unexpected !== undefined) throw usageError(`agents ${sub}: unexpected argument "${unexpected}"`, USAGE);
  for (const opt of ['servers', 'all-servers', 'expires'] as const) {
    if (values[opt] !== undefined && sub !== 'add') throw usageError(`agents ${sub}: --${opt} is an option of add`, USAGE);
  }
  if (values.json && sub !== 'list') throw usageError(`agents ${sub}: --json is an option of list`, USAGE);

  const file = values.config ?? 'policylayer.yaml';
  let config: Config;
  try {
    config = await loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return 1;
  }
  // Checked before the store is opened: a refused `add` leaves nothing behind.
  const grant = sub === 'add' ? grantOf(target!, values, config) : undefined;
  const audit = sub === 'list' ? undefined : await openAudit(config, sub === 'add', io);
  if (audit === false) return 1;
  const store = await openStore(config, io);
  if (!store) {
    await audit?.close();
    return 1;
  }
  try {
    if (grant) return await add(store, target!, grant, io, audit!);
    if (sub === 'list') return await list(store, config, values.json === true, io);
    return await revoke(store, config, target!, io, audit!);
  } finally {
    await store.close();
    await audit?.close();
  }
}

interface CommandAudit {
  /** Records what the command did, as the OS user running it; rejects when a refused record must undo the action. */
  write(a: Omit<AdminActionInput, 'actor' | 'via'>): Promise<void>;
  close(): Promise<void>;
}

/**
 * The audit log of gateway.audit, which records `add` and `revoke` as admin actions. Adding fails closed: a log that
 * cannot be opened (false: refuse) or written (write rejects: the token is revoked again) means no token is made
 * that the log does not show. Revoking goes ahead whatever the log does, warning loudly: stopping a stolen token
 * matters more than its record. gateway.audit off or stdout keeps no log a command can write to: a note, and on.
 */
async function openAudit(config: Config, failClosed: boolean, io: Io): Promise<CommandAudit | false> {
  const log = createLogger();
  const opened = await openAdminAuditLog(config, log);
  const actor = localIdentity().agent;
  if (!opened.ok) {
    if (opened.why === 'none') {
      io.stderr.write(`note: ${opened.message}; this change is not audited\n`);
      return { write: async () => {}, close: async () => {} };
    }
    if (failClosed) {
      io.stderr.write(`policylayer: ${opened.message}; no token was added, because adding one is audited (fix gateway.audit and run again)\n`);
      return false;
    }
    io.stderr.write(`policylayer WARNING: ${opened.message}; revoking anyway, but THIS REVOCATION IS NOT IN THE AUDIT LOG\n`);
    return { write: async () => {}, close: async () => {} };
  }
  return {
    async write(a) {
      try {
        await opened.write({ ...a, actor, via: 'cli' });
      } catch (err) {
        if (failClosed) throw err;
        io.stderr.write(`policylayer WARNING: the audit log could not record this: ${(err as Error).message}; THIS REVOCATION IS NOT IN THE AUDIT LOG\n`);
      }
    },
    close: () => opened.close(),
  };
}

interface Grant {
  servers: string[] | '*';
  expiresMs?: number;
}

/** The servers and lifetime `add` gives, from its options; a usage error saying what to type when they are wrong. */
function grantOf(name: string, values: { servers?: string | undefined; 'all-servers'?: boolean | undefined; expires?: string | undefined }, config: Config): Grant {
  if (!AGENT_NAME.test(name)) throw usageError(`agents add: invalid agent name "${name}": ${AGENT_NAME_RULE} (names become budget keys and metric labels)`, USAGE);
  if (values.servers !== undefined && values['all-servers']) throw usageError('agents add: give --servers a,b or --all-servers, not both', USAGE);
  let servers: Grant['servers'];
  if (values['all-servers']) servers = '*';
  else if (values.servers !== undefined) {
    servers = [...new Set(values.servers.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
    const known = Object.keys(config.servers);
    const unknown = servers.filter((s) => !Object.hasOwn(config.servers, s));
    if (servers.length === 0) throw usageError('agents add: --servers is empty; list server names separated by commas', USAGE);
    if (unknown.length > 0) {
      throw usageError(`agents add: no server ${unknown.map((s) => `"${s}"`).join(', ')} in the policy file; ${known.length ? `configured: ${known.join(', ')}` : 'add servers first (policylayer servers add)'}`, USAGE);
    }
  } else {
    throw usageError(`agents add: which servers may ${name} use? give --servers a,b (or --all-servers for every server)`, USAGE);
  }
  if (values.expires === undefined) return { servers };
  const parsed = WindowSchema.safeParse(values.expires);
  const ms = parsed.success ? windowMs(parsed.data) : NaN;
  if (!(ms > 0)) throw usageError(`agents add: --expires "${values.expires}" is not a duration; write e.g. 90d, 12h or 30m`, USAGE);
  return { servers, expiresMs: ms };
}

async function add(store: AgentStore, agent: string, grant: Grant, io: Io, audit: CommandAudit): Promise<number> {
  const token = mintToken();
  const created = Date.now();
  const record: AgentTokenRecord = { id: newTokenId(), agent, sha256: tokenSha256(token), servers: grant.servers, created };
  if (grant.expiresMs !== undefined) record.expires = created + grant.expiresMs;
  const before = (await store.list()).filter((r) => r.agent === agent && active(r, created)).length;
  await store.add(record);
  try {
    const expires = record.expires ? `, expires ${iso(record.expires)}` : '';
    await audit.write({ action: 'agents.add', target: `agent ${agent} token ${record.id} (servers ${serversText(record.servers)}${expires})` });
  } catch (err) {
    await store.revoke({ id: record.id });
    io.stderr.write(`policylayer: the audit log could not record the new token (${(err as Error).message}); it was revoked again, so none was added\n`);
    return 1;
  }
  // The token alone on stdout (so that TOKEN=$(policylayer agents add …) works); the explanation on stderr.
  io.stderr.write(
    `Added token ${record.id} for agent ${agent}: servers ${serversText(record.servers)}, ${record.expires ? `expires ${iso(record.expires)}` : 'does not expire'}` +
      `${before > 0 ? ` (the agent has ${before} other active token(s); revoke the old one once clients use this)` : ''}.\n` +
      'This is the only time the token is shown; only its SHA-256 is stored. Clients send it as\n' +
      `  Authorization: Bearer ${token}\n`,
  );
  io.stdout.write(`${token}\n`);
  return 0;
}

async function list(store: AgentStore, config: Config, json: boolean, io: Io): Promise<number> {
  const now = Date.now();
  const stored = (await store.list()).map(({ sha256: _hash, ...r }) => ({ ...r, source: 'store' as const }));
  const declared = Object.entries(config.agents).map(([agent, a]) => ({ agent, servers: a.servers, source: 'policy file' as const }));
  if (json) {
    io.stdout.write(JSON.stringify([...declared, ...stored], null, 2) + '\n');
    return 0;
  }
  if (stored.length + declared.length === 0) {
    io.stdout.write('No agents. Add one with: policylayer agents add NAME --servers a,b\n');
    return 0;
  }
  const rows = [
    ...declared.map((a) => [a.agent, '(policy file)', serversText(a.servers), '-', '-', 'active']),
    ...stored.map((r) => [r.agent, r.id, serversText(r.servers), iso(r.created), r.expires ? iso(r.expires) : 'never', status(r, now)]),
  ];
  io.stdout.write(formatTable(['AGENT', 'TOKEN', 'SERVERS', 'CREATED', 'EXPIRES', 'STATUS'], rows));
  return 0;
}

async function revoke(store: AgentStore, config: Config, target: string, io: Io, audit: CommandAudit): Promise<number> {
  const all = await store.list();
  // A token id first: ids are random, so one naming an agent as well is a coincidence the id wins.
  const by = all.some((r) => r.id === target) ? { id: target } : all.some((r) => r.agent === target) ? { agent: target } : undefined;
  if (!by) {
    const declared = Object.hasOwn(config.agents, target);
    io.stderr.write(
      declared
        ? `policylayer: agent ${target} is declared in the policy file; remove or change agents.${target} there to revoke it\n`
        : `policylayer: no agent or token "${target}" in the store (see policylayer agents list)\n`,
    );
    return 1;
  }
  const revoked = await store.revoke(by);
  const what = 'id' in by ? `token ${by.id}` : `agent ${by.agent}`;
  if (revoked.length === 0) {
    io.stdout.write(`${what}: nothing to revoke (already revoked)\n`);
    return 0;
  }
  const agent = revoked[0]!.agent;
  await audit.write({ action: 'agents.revoke', target: `agent ${agent} token(s) ${revoked.map((r) => r.id).join(', ')}` });
  io.stdout.write(`revoked ${revoked.length} token(s) of agent ${agent}: ${revoked.map((r) => r.id).join(', ')}; running gateways refuse them within ${REVOKED_WITHIN_MS / 1000} s\n`);
  if (Object.hasOwn(config.agents, agent)) io.stdout.write(`note: agent ${agent} is also declared in the policy file; that token still works until removed there\n`);
  return 0;
}

async function openStore(config: Config, io: Io): Promise<AgentStore | undefined> {
  const { state, state_prefix: prefix } = config.gateway;
  if (state === 'memory:') {
    io.stderr.write('policylayer: gateway.state is memory:, so agent tokens would live inside one process and no gateway would see them; use sqlite:PATH or redis://host:port, or declare agents in the policy file under `agents:`\n');
    return undefined;
  }
  try {
    return await openAgentStore(state, prefix);
  } catch (err) {
    io.stderr.write(`policylayer: ${(err as Error).message}\n`);
    return undefined;
  }
}

type Shown = Omit<AgentTokenRecord, 'sha256'>;
const active = (r: Shown, now: number): boolean => r.revoked === undefined && (r.expires === undefined || now < r.expires);
const status = (r: Shown, now: number): string =>
  r.revoked !== undefined ? `revoked ${iso(r.revoked)}` : r.expires !== undefined && now >= r.expires ? 'expired' : 'active';
const serversText = (servers: string[] | '*'): string => (servers === '*' ? '* (all)' : servers.join(','));
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
