// `policylayer catalog show|accept`: reads the risk catalogue (what each tool is, how dangerous, why, and the
// recommended rule) and accepts changed tool definitions so that a gateway with `on_tool_change: block` lets them through.
import { existsSync } from 'node:fs';
import { catalogUrl, openCatalog } from '../catalog/open.js';
import type { CatalogEntry } from '../catalog/entry.js';
import { acceptTool } from '../catalog/observe.js';
import { recommendRule } from '../catalog/recommend.js';
import { requiredParameters, riskSummary, scanTable, toolPage, whatItDoes } from '../catalog/render.js';
import type { CatalogStore } from '../catalog/store.js';
import { loadConfig } from '../config/load.js';
import { GatewaySchema } from '../config/schema.js';
import { parseVerbArgs, usageError } from './args.js';
import { formatTable } from './table.js';

const USAGE = `usage: policylayer catalog show [SERVER [TOOL]] [-c policylayer.yaml] [--format text|json|md]
       policylayer catalog accept SERVER TOOL… [-c policylayer.yaml]
       policylayer catalog accept SERVER --all-changed [-c policylayer.yaml]

show: without SERVER, every catalogued server; with SERVER, its tools by category; with TOOL, the tool's page
(description, category, risk class, required parameters, why it needs a policy, the recommended rule, evidence).
accept: pins the tool's current definition; a tool marked CHANGED is served again by gateways with
on_tool_change: block (they notice within a second).
The catalogue is the one of the file's gateway (gateway.catalog, by default the state file).`;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const FORMATS = ['text', 'json', 'md'] as const;
type Format = (typeof FORMATS)[number];

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'catalog',
    args,
    {
      config: { type: 'string', short: 'c' },
      format: { type: 'string' },
      'all-changed': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  const [action, server, ...tools] = positionals;
  const format = (values.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) throw usageError(`--format "${values.format}": expected text, json or md`, USAGE);
  if (action !== 'show' && action !== 'accept') throw usageError(`catalog: expected show or accept${action ? `, not "${action}"` : ''}`, USAGE);
  if (action === 'show' && tools.length > 1) throw usageError('catalog show: one SERVER and at most one TOOL', USAGE);
  if (action === 'accept' && (!server || (tools.length === 0) === !values['all-changed'])) {
    throw usageError('catalog accept: name the SERVER and its TOOL(s), or SERVER --all-changed', USAGE);
  }

  const file = values.config ?? 'policylayer.yaml';
  const gateway = existsSync(file) ? (await loadConfig(file)).gateway : GatewaySchema.parse({});
  const store = await openCatalog(catalogUrl(gateway), gateway.state_prefix);
  try {
    return action === 'show' ? await show(store, server, tools[0], format, io) : await accept(store, server!, values['all-changed'] ? undefined : tools, io);
  } finally {
    await store.close();
  }
}

async function show(store: CatalogStore, server: string | undefined, tool: string | undefined, format: Format, io: Io): Promise<number> {
  if (!server) {
    const servers = await Promise.all((await store.servers()).map(async (s) => ({ server: s, tools: await store.tools(s) })));
    if (format === 'json') io.stdout.write(JSON.stringify(servers.map((s) => ({ server: s.server, summary: riskSummary(s.tools) })), null, 2) + '\n');
    else if (servers.length === 0) io.stdout.write('the catalogue is empty: register a server with `policylayer servers add`, or run `policylayer scan -c FILE`\n');
    else io.stdout.write(formatTable(['SERVER', 'TOOLS'], servers.map((s) => [s.server, riskSummary(s.tools)])));
    return 0;
  }
  const entries = await store.tools(server);
  if (entries.length === 0) return missing(`no server "${server}" in the catalogue${await knownServers(store)}`, io);
  if (tool === undefined) {
    if (format === 'json') io.stdout.write(JSON.stringify(entries.map(jsonEntry), null, 2) + '\n');
    else if (format === 'md') io.stdout.write(serverMarkdown(server, entries));
    else io.stdout.write(scanTable(server, entries));
    return 0;
  }
  const entry = entries.find((e) => e.tool === tool);
  if (!entry) return missing(`server "${server}" has no tool "${tool}" in the catalogue (it has ${entries.length}: ${entries.slice(0, 10).map((e) => e.tool).join(', ')}${entries.length > 10 ? ', …' : ''})`, io);
  io.stdout.write(format === 'json' ? JSON.stringify(jsonEntry(entry), null, 2) + '\n' : toolPage(entry, format));
  return 0;
}

async function accept(store: CatalogStore, server: string, tools: string[] | undefined, io: Io): Promise<number> {
  const entries = await store.tools(server);
  if (entries.length === 0) return missing(`no server "${server}" in the catalogue${await knownServers(store)}`, io);
  const names = tools ?? entries.filter((e) => e.status === 'changed').map((e) => e.tool);
  if (names.length === 0) {
    io.stdout.write(`no tool of "${server}" is marked changed\n`);
    return 0;
  }
  let bad = 0;
  for (const name of names) {
    const before = entries.find((e) => e.tool === name);
    if (!before) {
      io.stderr.write(`policylayer catalog: server "${server}" has no tool "${name}" in the catalogue\n`);
      bad++;
      continue;
    }
    const entry = (await acceptTool(store, server, name))!;
    io.stdout.write(
      before.status === 'changed'
        ? `accepted the new definition of ${server}/${name} (${entry.category}, risk ${entry.risk})\n`
        : `${server}/${name} was not changed; its current definition stays pinned\n`,
    );
  }
  return bad > 0 ? 1 : 0;
}

const missing = (message: string, io: Io): number => {
  io.stderr.write(`policylayer catalog: ${message}\n`);
  return 1;
};

const knownServers = async (store: CatalogStore): Promise<string> => {
  const servers = await store.servers();
  return servers.length > 0 ? ` (it has ${servers.join(', ')})` : ' (it is empty: run `policylayer servers add` or `policylayer scan -c FILE`)';
};

function jsonEntry(e: CatalogEntry): unknown {
  const { rule, summary } = recommendRule(e.category, e.risk, e.tool);
  const required = requiredParameters(e);
  return { ...e, required, whatItDoes: whatItDoes(e, required), recommended: { rule, summary } };
}

function serverMarkdown(server: string, entries: readonly CatalogEntry[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
  const rows = entries.map((e) => `| \`${cell(e.tool)}\`${e.status === 'changed' ? ' (CHANGED)' : ''} | ${e.category} | ${e.risk} | ${cell(e.evidence[0] ?? '')} |`);
  return `# ${server}\n\n${riskSummary(entries)}\n\n| tool | category | risk | evidence |\n|---|---|---|---|\n${rows.join('\n')}\n`;
}
