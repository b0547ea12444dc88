// The gateway's in-memory copy of the catalogue: decisions read it without I/O; tool lists passing through update
// it (and the store); writes by other processes (`catalog accept`, `servers add`) are picked up by a cheap poll.
import type { Category, Risk } from './classify.js';
import type { CatalogEntry, PinStatus } from './entry.js';
import { CLASSIFIER_REVISION, definitionHash, observeDefinitions, toolDefinition, type HashedDefinition, type ObserveResult } from './observe.js';
import type { CatalogStore } from './store.js';

export interface ViewEntry {
  readonly category: Category;
  readonly risk: Risk;
  readonly status: PinStatus;
  readonly evidence: readonly string[];
  readonly hash: string;
  readonly classifier?: number | undefined;
}

/** What policy decisions need from the catalogue. */
export interface CatalogLookup {
  lookup(server: string, tool: string): ViewEntry | undefined;
  /** Reads one tool again from the store: a changed tool may have been accepted by another process a moment ago. */
  recheck(server: string, tool: string): ViewEntry | undefined;
  /** The names of the server's tools marked changed (to catch look-alike names of them); do not modify. */
  changed(server: string): readonly string[];
}

export interface CatalogView extends CatalogLookup {
  /** Observes a tools/list page; returns what changed, or undefined when nothing did. */
  observe(server: string, tools: readonly unknown[]): ObserveResult | undefined;
  /** Whether any tool of the server is catalogued. */
  knows(server: string): boolean;
  close(): void;
}

export interface CatalogViewOptions {
  /** How often the store's version is checked for writes by other processes; default 1 s. */
  pollMs?: number;
  onError?: (err: Error) => void;
}

const toView = (e: CatalogEntry): ViewEntry => ({ category: e.category, risk: e.risk, status: e.status, evidence: e.evidence, hash: e.hash, classifier: e.classifier });

export function createCatalogView(store: CatalogStore, opts: CatalogViewOptions = {}): CatalogView {
  const servers = new Map<string, Map<string, ViewEntry>>();
  // The JSON text of each tool as last listed: an identical listing is recognised without hashing it again.
  const lastText = new Map<string, Map<string, string>>();
  // Per server, the names of its changed tools: asked on every call of a name the catalogue does not know.
  const changedNames = new Map<string, string[]>();
  let version = -1;
  const onError = opts.onError ?? (() => {});

  const toolsOf = (server: string): Map<string, ViewEntry> => {
    let tools = servers.get(server);
    if (!tools) servers.set(server, (tools = new Map()));
    return tools;
  };
  const reload = (): void => {
    const now = store.version();
    if (now === version) return;
    version = now;
    servers.clear();
    changedNames.clear();
    for (const server of store.servers()) {
      const tools = toolsOf(server);
      for (const entry of store.tools(server)) tools.set(entry.tool, toView(entry));
    }
  };
  const guarded = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      onError(err as Error);
    }
  };
  guarded(reload);
  const poll = setInterval(() => guarded(reload), opts.pollMs ?? 1000);
  poll.unref();

  return {
    lookup: (server, tool) => servers.get(server)?.get(tool),
    recheck(server, tool) {
      let entry: CatalogEntry | undefined;
      try {
        entry = store.get(server, tool);
      } catch (err) {
        onError(err as Error);
        return servers.get(server)?.get(tool);
      }
      if (!entry) return undefined;
      const view = toView(entry);
      toolsOf(server).set(tool, view);
      changedNames.delete(server);
      return view;
    },
    observe(server, tools) {
      const known = toolsOf(server);
      let texts = lastText.get(server);
      if (!texts) lastText.set(server, (texts = new Map()));
      const differing: HashedDefinition[] = [];
      for (const tool of tools) {
        const def = toolDefinition(tool);
        if (!def) continue;
        const text = JSON.stringify(tool);
        if (texts.get(def.name) === text && known.has(def.name)) continue;
        const prior = known.get(def.name);
        const hash = definitionHash(def);
        if (prior?.hash !== hash || prior.classifier !== CLASSIFIER_REVISION) differing.push({ def, hash });
        if (texts.size < 10_000 || texts.has(def.name)) texts.set(def.name, text);
      }
      if (differing.length === 0) return undefined;
      changedNames.delete(server);
      try {
        const result = observeDefinitions(store, server, differing);
        for (const entry of result.written) known.set(entry.tool, toView(entry));
        return result.written.length > 0 ? result : undefined;
      } catch (err) {
        onError(err as Error);
        // Fails closed: a known tool whose new definition could not be recorded counts as changed in memory. Its
        // hash stays the recorded one, so that the next listing differs again and the write is tried again.
        for (const { def } of differing) {
          const prior = known.get(def.name);
          if (prior) known.set(def.name, { ...prior, status: 'changed' });
          texts.delete(def.name);
        }
        return undefined;
      }
    },
    changed(server) {
      let names = changedNames.get(server);
      if (!names) {
        names = [...(servers.get(server) ?? [])].filter(([, e]) => e.status === 'changed').map(([name]) => name);
        changedNames.set(server, names);
      }
      return names;
    },
    knows: (server) => (servers.get(server)?.size ?? 0) > 0,
    close() {
      clearInterval(poll);
    },
  };
}
