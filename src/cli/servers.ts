// `policylayer servers add|list|remove`: registers MCP servers in the policy file (comments and order kept) and in
// the risk catalogue. `add` lists and classifies every tool before it writes anything.
import { existsSync } from 'node:fs';
import { catalogUrl, openCatalog } from '../catalog/open.js';
import { listServerTools } from '../catalog/list-tools.js';
import { catalogueListing } from '../catalog/observe.js';
import { riskSummary, scanTable } from '../catalog/render.js';
import { addServer, listServers, removeServer, type ServerSpec } from '../config/edit.js';
import { expandEnv } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import { GatewaySchema, SERVER_NAME } from '../config/schema.js';
import { createLogger } from '../log.js';
import { parseHeaders, parseVerbArgs, timeoutMs, usageError } from './args.js';
import { formatTable } from './table.js';

const USAGE = `usage: policylayer servers add NAME [-c policylayer.yaml] [--replace] -- <command> [args…]
       policylayer servers add NAME [-c policylayer.yaml] [--replace] --url URL [--header "K: V"]…
       policylayer servers list [-c policylayer.yaml] [--json]
       policylayer servers remove NAME [-c policylayer.yaml]

add connects to the server, lists every tool and classifies it; only then is the server written into the policy
file (created if missing; comments and order kept) and its tools into the risk catalogue, pinned as they are now.
A server whose tools cannot be listed is reported and nothing is written. Header values may be written as
\${VAR}: the variable is read now to connect, and the file keeps the reference.
A new server is written safe by default: tools no rule names follow their risk class (High and Critical held
for approval) and a tool whose definition changes is refused until \`policylayer catalog accept\`.
  --default ACTION     for tools no rule names: by_risk (default), allow, deny or require_approval
  --on-tool-change M   block (default) or record
  --replace            replace the connection settings of an existing server (its rules stay)
  --timeout SECONDS    per request to the server (default 30)`;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'servers',
    args,
    {
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      header: { type: 'string', multiple: true },
      replace: { type: 'boolean' },
      default: { type: 'string' },
      'on-tool-change': { type: 'string' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  const [action, name, ...command] = positionals;
  const file = values.config ?? 'policylayer.yaml';
  if (action === 'list') return list(file, values.json === true, io);
  if (action !== 'add' && action !== 'remove') throw usageError(`servers: expected add, list or remove${action ? `, not "${action}"` : ''}`, USAGE);
  if (!name) throw usageError(`servers ${action}: name the server`, USAGE);
  if (!SERVER_NAME.test(name)) throw usageError(`servers ${action}: "${name}" is not a server name; use letters, digits, _ and - (it appears in URLs)`, USAGE);
  if (action === 'remove') return remove(file, name, io);

  if ((command.length > 0) === (values.url !== undefined)) throw usageError('servers add: give either -- <command> or --url URL', USAGE);
  const headers = parseHeaders(values.header, USAGE);
  const spec: ServerSpec = values.url ? { url: values.url, ...(Object.keys(headers).length > 0 && { headers }) } : { command };
  const timeout = timeoutMs(values.timeout, 30_000, USAGE);
  const settings = { default: choice('--default', values.default, DEFAULTS), on_tool_change: choice('--on-tool-change', values['on-tool-change'], ON_CHANGE) };

  const connect = { ...spec, headers: expandHeaders(headers), transport: 'auto' as const };
  const listed = await listServerTools(connect, { timeoutMs: timeout, log: createLogger({ level: 'error' }) });
  await addServer(file, name, spec, { replace: values.replace === true, settings });
  // The file is now valid with the server in it: its gateway settings say where the catalogue lives.
  const { gateway } = await loadConfig(file);
  const store = await openCatalog(catalogUrl(gateway), gateway.state_prefix);
  try {
    const { observed, entries } = await catalogueListing(store, name, listed.tools);
    io.stdout.write(`${values.replace ? 'replaced' : 'added'} server "${name}" in ${file}\n\n${scanTable(name, entries)}\n`);
    if (observed.changed.length > 0) {
      io.stdout.write(`CHANGED since accepted: ${observed.changed.join(', ')}; see \`policylayer catalog show ${name} TOOL\`\n`);
    }
    io.stdout.write(`${values.replace ? '' : safeDefaults(name, settings)}Next: \`policylayer catalog show ${name} TOOL\` for a tool's page; name a tool under servers.${name}.tools to give it a rule of its own.\n`);
  } finally {
    await store.close();
  }
  return 0;
}

function expandHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    const { value: expanded, issues } = expandEnv(value, process.env);
    const missing = issues.map((i) => i.name);
    if (missing.length > 0) throw usageError(`--header ${key}: ${missing.map((m) => `\${${m}}`).join(', ')} is not set in the environment`, USAGE);
    out[key] = expanded;
  }
  return out;
}

const DEFAULTS = ['by_risk', 'allow', 'deny', 'require_approval'] as const;
const ON_CHANGE = ['block', 'record'] as const;

/** The option's value if it is one of `allowed` (the first when not given), else a usage error. */
function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0]!;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usageError(`servers add: ${flag} must be one of ${allowed.join(', ')}, not "${value}"`, USAGE);
}

/** What the settings written for a new server mean, in a line or two. */
function safeDefaults(name: string, settings: { default: string; on_tool_change: string }): string {
  const unnamed =
    settings.default === 'by_risk'
      ? 'tools no rule names follow their risk class (Low and Medium allowed, High and Critical held for approval)'
      : `tools no rule names: ${settings.default}`;
  const change = settings.on_tool_change === 'block' ? 'a tool whose definition changes is refused until `policylayer catalog accept`' : 'changed tool definitions are recorded';
  return `servers.${name}: ${unnamed}; ${change}.\n`;
}

async function catalogOf(file: string) {
  const gateway = existsSync(file) ? (await loadConfig(file)).gateway : GatewaySchema.parse({});
  return openCatalog(catalogUrl(gateway), gateway.state_prefix);
}

async function list(file: string, json: boolean, io: Io): Promise<number> {
  const servers = await listServers(file);
  const store = await catalogOf(file);
  try {
    const rows = await Promise.all(servers.map(async (s) => ({ ...s, tools: await store.tools(s.name) })));
    if (json) {
      io.stdout.write(JSON.stringify(rows.map((r) => ({ name: r.name, command: r.command, url: r.url, catalogue: riskSummary(r.tools) })), null, 2) + '\n');
    } else if (rows.length === 0) {
      io.stdout.write(`no servers in ${file}; add one with \`policylayer servers add NAME -- <command>\`\n`);
    } else {
      const table = rows.map((r) => [r.name, r.url ?? (r.command ?? []).join(' '), r.tools.length > 0 ? riskSummary(r.tools) : 'not catalogued yet (run `policylayer scan -c FILE`)']);
      io.stdout.write(formatTable(['NAME', 'CONNECTS TO', 'CATALOGUE'], table));
    }
  } finally {
    await store.close();
  }
  return 0;
}

async function remove(file: string, name: string, io: Io): Promise<number> {
  const store = await catalogOf(file);
  try {
    if (!(await removeServer(file, name))) {
      io.stderr.write(`policylayer servers: no server "${name}" in ${file}\n`);
      return 1;
    }
    const tools = await store.remove(name);
    io.stdout.write(`removed server "${name}" from ${file}${tools > 0 ? ` and its ${tools} tools from the catalogue` : ''}\n`);
  } finally {
    await store.close();
  }
  return 0;
}
