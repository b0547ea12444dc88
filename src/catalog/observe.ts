// Brings the catalogue up to date with a server's tool list: new tools are classified and pinned; a tool whose
// definition differs from the pinned one is marked changed and reclassified, and stays changed until accepted.
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { classifyTool, type ToolAnnotations } from './classify.js';
import type { CatalogEntry, ToolDefinition } from './entry.js';
import type { CatalogStore } from './store.js';

/** Raised whenever the classifier's rules change, so that catalogued tools are relabelled when next listed. */
export const CLASSIFIER_REVISION = 3;

/** Per server at most this many tools are kept (a server cannot grow the catalogue without bound). */
export const MAX_TOOLS_PER_SERVER = 10_000;

/** A tool definition with its hash, computed once. */
export interface HashedDefinition {
  def: ToolDefinition;
  hash: string;
}

export interface ObserveResult {
  added: string[];
  changed: string[];
  /** Tools marked changed whose listing is back to the accepted definition (they stay changed until accepted). */
  restored: string[];
  /** Every entry written. */
  written: CatalogEntry[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The pinned parts of an MCP Tool (what the agent reads and what calls carry); undefined when it has no name. */
export function toolDefinition(tool: unknown): ToolDefinition | undefined {
  if (!isRecord(tool) || typeof tool['name'] !== 'string' || tool['name'] === '') return undefined;
  const def: ToolDefinition = { name: tool['name'] };
  if (typeof tool['title'] === 'string') def.title = tool['title'];
  if (typeof tool['description'] === 'string') def.description = tool['description'];
  if (tool['inputSchema'] !== undefined) def.inputSchema = tool['inputSchema'];
  if (tool['outputSchema'] !== undefined) def.outputSchema = tool['outputSchema'];
  if (isRecord(tool['annotations'])) def.annotations = tool['annotations'];
  return def;
}

export const definitionHash = (def: ToolDefinition): string => sha256Hex(canonicalJson(def));

function classified(server: string, def: ToolDefinition, hash: string, at: string): CatalogEntry {
  const c = classifyTool({
    name: def.name,
    ...(def.description !== undefined && { description: def.description }),
    inputSchema: def.inputSchema,
    ...(def.annotations && { annotations: def.annotations as ToolAnnotations }),
  });
  return {
    server,
    tool: def.name,
    definition: def,
    hash,
    acceptedHash: hash,
    status: 'accepted',
    category: c.category,
    risk: c.risk,
    confidence: c.confidence,
    evidence: c.evidence,
    classifier: CLASSIFIER_REVISION,
    firstSeen: at,
    updatedAt: at,
  };
}


/** The definitions of the named tools of a listing, hashed. */
export function hashedDefinitions(tools: readonly unknown[]): HashedDefinition[] {
  const hashed: HashedDefinition[] = [];
  for (const tool of tools) {
    const def = toolDefinition(tool);
    if (def) hashed.push({ def, hash: definitionHash(def) });
  }
  return hashed;
}

/**
 * What a listing changes in a server's catalogue, given the entries known (by tool name): the entries to write.
 * Pure; the caller writes `result.written` (in one `put`) and updates what it knows.
 */
export function observeDefinitions(
  known: ReadonlyMap<string, CatalogEntry>,
  server: string,
  definitions: readonly HashedDefinition[],
  now = new Date(),
): ObserveResult {
  const at = now.toISOString();
  const result: ObserveResult = { added: [], changed: [], restored: [], written: [] };
  for (const { def, hash } of definitions) {
    const prior = known.get(def.name);
    if (prior?.hash === hash) {
      // Same definition, older rules: relabel it, pin and status unchanged.
      if (prior.classifier !== CLASSIFIER_REVISION) result.written.push({ ...prior, ...pick(classified(server, def, hash, at)), updatedAt: at });
      continue;
    }
    if (!prior) {
      if (known.size + result.added.length >= MAX_TOOLS_PER_SERVER) continue;
      result.added.push(def.name);
      result.written.push(classified(server, def, hash, at));
    } else if (hash === prior.acceptedHash) {
      // Back to the accepted definition while marked changed: reported, not trusted by itself (another replica may
      // still be served the new one; a server that flips back may flip again). It stays changed until accepted.
      if (prior.status === 'changed') result.restored.push(def.name);
    } else {
      result.changed.push(def.name);
      // The definition last accepted: the prior one itself if it was accepted (whatever status a view shows).
      const accepted = prior.hash === prior.acceptedHash ? prior.definition : prior.acceptedDefinition;
      result.written.push({
        ...prior,
        ...pick(classified(server, def, hash, at)),
        ...(accepted && { acceptedDefinition: accepted }),
        status: 'changed',
        updatedAt: at,
        changedAt: at,
      });
    }
  }
  return result;
}

/** Observes a listing against the store and writes what changed (one put). */
export async function observeTools(store: CatalogStore, server: string, tools: readonly unknown[], now = new Date()): Promise<ObserveResult> {
  const known = new Map((await store.tools(server)).map((e) => [e.tool, e]));
  const result = observeDefinitions(known, server, hashedDefinitions(tools), now);
  if (result.written.length > 0) await store.put(result.written);
  return result;
}

/** Observes a complete listing and returns the catalogue entries of exactly the tools listed (not older ones). */
export async function catalogueListing(store: CatalogStore, server: string, tools: readonly unknown[]): Promise<{ observed: ObserveResult; entries: CatalogEntry[] }> {
  const observed = await observeTools(store, server, tools);
  const names = new Set(tools.map((t) => toolDefinition(t)?.name));
  return { observed, entries: (await store.tools(server)).filter((e) => names.has(e.tool)) };
}

/** Pins the definition last seen: the tool is accepted as it is now. Resolves to the entry, or undefined if unknown. */
export async function acceptTool(store: CatalogStore, server: string, tool: string, now = new Date()): Promise<CatalogEntry | undefined> {
  const prior = await store.get(server, tool);
  if (!prior) return undefined;
  const { acceptedDefinition: _, changedAt: __, ...rest } = prior;
  const entry: CatalogEntry = { ...rest, acceptedHash: prior.hash, status: 'accepted', updatedAt: now.toISOString() };
  await store.put([entry]);
  return entry;
}

const pick = (e: CatalogEntry) => ({
  definition: e.definition,
  hash: e.hash,
  category: e.category,
  risk: e.risk,
  confidence: e.confidence,
  evidence: e.evidence,
  classifier: CLASSIFIER_REVISION,
});
