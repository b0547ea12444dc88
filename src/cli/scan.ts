// `policylayer scan`: lists a server's tools (a command, a URL, or every server of a policy file), classifies them,
// prints the catalogue grouped by category, and can write a recommended policy that `validate` accepts.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { catalogUrl, openCatalog } from '../catalog/open.js';
import type { CatalogEntry } from '../catalog/entry.js';
import { listServerTools } from '../catalog/list-tools.js';
import { catalogueListing } from '../catalog/observe.js';
import { recommendedPolicy, type ScannedServer } from '../catalog/recommend.js';
import { scanTable } from '../catalog/render.js';
import { createMemoryCatalog, type CatalogStore } from '../catalog/store.js';
import { validatePolicyText, type ServerSpec } from '../config/edit.js';
import { formatProblems, loadConfig } from '../config/load.js';
import type { ServerConfig } from '../config/schema.js';
import { createLogger } from '../log.js';
import { parseHeaders, parseVerbArgs, timeoutMs, usageError } from './args.js';
import { createProgress } from './progress.js';

/** Servers scanned at once with -c (each is a process or a connection of its own). */
const SCAN_CONCURRENCY = 4;

const USAGE = `usage: policylayer scan [options] -- <command> [args…]     a local stdio server
       policylayer scan [options] --upstream URL [--header "K: V"]   a remote server
       policylayer scan [options] -c policylayer.yaml [--server NAME]   every configured server (or some)

Lists every tool, classifies it (Read, Write, Execute, Destructive, Financial; risk Low to Critical) and prints a
table per server grouped by category, with a one-line reason. With -c the risk catalogue of the file's gateway is
updated too (tools whose definitions changed since accepted are marked CHANGED).
  --json                  JSON instead of the tables
  --write-policy FILE     write a recommended policy (Read: allow; Write: allow with a rate limit; Execute,
                          Destructive, Financial: require approval), commented with the evidence
  --force                 let --write-policy replace an existing file
  --name NAME             the server's name in the output and the written policy (default: from the command/URL)
  --timeout SECONDS       per request to the server (default 30)
Exit status: 0, or 1 when a server could not be scanned.`;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

interface Target {
  name: string;
  spec: ServerSpec;
  connect: Pick<ServerConfig, 'command' | 'env' | 'cwd' | 'url' | 'headers' | 'transport'>;
}

interface Scanned {
  name: string;
  spec: ServerSpec;
  entries: CatalogEntry[];
  changed: string[];
  error?: string;
}

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'scan',
    args,
    {
      config: { type: 'string', short: 'c' },
      server: { type: 'string', multiple: true },
      upstream: { type: 'string' },
      header: { type: 'string', multiple: true },
      name: { type: 'string' },
      json: { type: 'boolean' },
      'write-policy': { type: 'string' },
      force: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  const sources = [positionals.length > 0, values.upstream !== undefined, values.config !== undefined].filter(Boolean).length;
  if (sources !== 1) throw usageError('scan: give exactly one of -- <command>, --upstream URL or -c FILE', USAGE);
  const timeout = timeoutMs(values.timeout, 30_000, USAGE);
  const policyOut = values['write-policy'];
  if (policyOut && existsSync(policyOut) && !values.force) {
    throw usageError(`--write-policy ${policyOut}: the file exists; choose another name or add --force to replace it`, USAGE);
  }

  let store: CatalogStore = createMemoryCatalog();
  let targets: Target[];
  let gateway: Record<string, unknown> | undefined;
  if (values.config) {
    const config = await loadConfig(values.config);
    ({ targets, gateway } = await configuredTargets(values.config, config.servers, values.server));
    store = await openCatalog(catalogUrl(config.gateway), config.gateway.state_prefix);
  } else if (values.upstream) {
    const headers = parseHeaders(values.header, USAGE);
    const spec = { url: values.upstream, ...(Object.keys(headers).length > 0 && { headers }) };
    targets = [{ name: values.name ?? nameFromUrl(values.upstream), spec, connect: { ...spec, transport: 'auto' } }];
  } else {
    const spec = { command: positionals };
    targets = [{ name: values.name ?? nameFromCommand(positionals), spec, connect: { ...spec, transport: 'auto' } }];
  }

  const log = createLogger({ level: 'error' });
  const progress = targets.length > 1 ? createProgress(targets.length, io.stderr) : undefined;
  const scanOne = async (target: Target): Promise<Scanned> => {
    try {
      const listed = await listServerTools(target.connect, { timeoutMs: timeout, log });
      const { observed, entries } = await catalogueListing(store, target.name, listed.tools);
      return { name: target.name, spec: target.spec, entries, changed: observed.changed };
    } catch (err) {
      return { name: target.name, spec: target.spec, entries: [], changed: [], error: (err as Error).message };
    } finally {
      progress?.step(`scanned ${target.name}`);
    }
  };
  // Servers start slowly (npx, a remote handshake): a few are scanned at once; results keep the file's order.
  const results: Scanned[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < targets.length; i = next++) results[i] = await scanOne(targets[i]!);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, targets.length) }, worker));
  } finally {
    progress?.done();
    await store.close();
  }

  if (values.json) io.stdout.write(JSON.stringify(results.map(jsonResult), null, 2) + '\n');
  else for (const r of results) io.stdout.write(r.error ? `${r.name}: could not be scanned\n  ${r.error.replace(/\n/g, '\n  ')}\n\n` : scanTable(r.name, r.entries) + '\n');
  const failed = results.filter((r) => r.error);
  for (const r of failed) if (values.json) io.stderr.write(`policylayer scan: ${r.name}: ${r.error}\n`);

  if (policyOut) {
    const scanned: ScannedServer[] = results.filter((r) => !r.error).map((r) => ({ name: r.name, spec: r.spec, tools: r.entries.map((e) => ({ name: e.tool, ...e })) }));
    if (scanned.length === 0) {
      io.stderr.write(`policylayer scan: no server could be scanned; ${policyOut} was not written\n`);
      return 1;
    }
    const text = recommendedPolicy(scanned, gateway ? { gateway } : {});
    const problems = validatePolicyText(text, policyOut);
    // The generator is meant never to produce an invalid file; if it does, say so rather than write it.
    if (problems.length > 0) throw new Error(`the recommended policy is invalid (a bug; please report it):\n${formatProblems(problems)}`);
    await writeFile(policyOut, text, { flag: values.force ? 'w' : 'wx' });
    io.stderr.write(`wrote ${policyOut}: ${scanned.reduce((n, s) => n + s.tools.length, 0)} tool rules for ${scanned.map((s) => s.name).join(', ')}; review it, then \`policylayer validate -c ${policyOut}\`\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

function jsonResult(r: Scanned): unknown {
  if (r.error) return { server: r.name, error: r.error };
  return {
    server: r.name,
    tools: r.entries.map((e) => ({
      name: e.tool,
      category: e.category,
      risk: e.risk,
      confidence: e.confidence,
      evidence: e.evidence,
      status: e.status,
      description: e.definition.description ?? '',
    })),
  };
}

/** The servers of a policy file, with their connection settings as written (`${VAR}` unexpanded) for the written policy. */
async function configuredTargets(
  file: string,
  servers: Record<string, ServerConfig>,
  only: string[] | undefined,
): Promise<{ targets: Target[]; gateway?: Record<string, unknown> }> {
  const unknown = (only ?? []).filter((n) => !Object.hasOwn(servers, n));
  if (unknown.length > 0) throw usageError(`--server ${unknown.join(', ')}: not in ${file} (it has ${Object.keys(servers).join(', ') || 'no servers'})`, USAGE);
  const { readFile } = await import('node:fs/promises');
  const raw = parseDocument(await readFile(file, 'utf8')).toJS() as { gateway?: Record<string, unknown>; servers?: Record<string, Record<string, unknown>> };
  const targets = Object.entries(servers)
    .filter(([name]) => !only || only.includes(name))
    .map(([name, cfg]) => {
      const written = raw.servers?.[name] ?? {};
      const spec: ServerSpec = {};
      for (const key of ['command', 'url', 'headers', 'env'] as const) if (written[key] !== undefined) (spec as Record<string, unknown>)[key] = written[key];
      return { name, spec, connect: cfg };
    });
  return { targets, ...(raw.gateway && { gateway: raw.gateway }) };
}

const RUNNERS = /^(npx|pnpx|bunx|uvx|node|nodejs|python3?|deno|bun|uv|pipx|docker|tsx|ts-node)$/;
const GENERIC = new Set(['index', 'main', 'cli', 'server', 'dist', 'build', 'lib', 'src', 'bin', 'out', 'run', 'start']);

/** `npx -y @scope/server-foo@1.2 /tmp` → server-foo; `node node_modules/pkg/dist/index.js` → pkg. */
export function nameFromCommand(command: string[]): string {
  const first = command[0] ?? '';
  const args = command.slice(1).filter((a) => !a.startsWith('-'));
  // docker run … IMAGE: the image is the last word; other runners take the package or script first.
  const program = path.basename(first) === 'docker' ? (args.at(-1) ?? first) : RUNNERS.test(path.basename(first)) ? (args[0] ?? first) : first;
  // The last path part that names something (a package, a script), skipping dist/index.js and the like.
  const parts = program.replace(/@[^@/]*$/, '').split(/[\\/]/).map((p) => p.replace(/\.(m?js|cjs|ts|py)$/, ''));
  const named = parts.filter((p) => p && !GENERIC.has(p.toLowerCase()) && p !== 'node_modules' && !p.startsWith('.'));
  return sanitize(named.at(-1) ?? parts.at(-1) ?? 'server');
}

export function nameFromUrl(url: string): string {
  try {
    const host = new URL(url).hostname;
    // An IP address names no service (127.0.0.1 would become "127").
    if (/^[\d.]+$/.test(host) || host.startsWith('[')) return 'remote';
    return sanitize(host.split('.').filter((p) => p !== 'www' && p !== 'mcp')[0] ?? 'remote');
  } catch {
    return 'remote';
  }
}

const sanitize = (name: string): string => name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'server';
