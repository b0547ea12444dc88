// The gateway's in-memory copy of the catalogue: decisions read it without I/O; tool lists passing through update
// it at once and the store behind (a write that fails is retried, and the copy keeps failing closed meanwhile);
// writes by other processes or replicas (`catalog accept`, `servers add`) are picked up by a cheap poll.
// A tool counts as changed here when the catalogue says so (any replica saw a change) or when the definition this
// process's server last listed is not the accepted one: a poll that brings another replica's honest listing never
// releases a tool this one saw rug-pulled, and only `catalog accept` releases a tool once marked changed.
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
  /**
   * What is known now, and a read of the store behind it: a tool that is refused as changed, or unknown, may have
   * been accepted or listed by another process a moment ago; the next call sees the answer.
   */
  recheck(server: string, tool: string): ViewEntry | undefined;
  /** The names of the server's tools marked changed (to catch look-alike names of them); do not modify. */
  changed(server: string): readonly string[];
  /** False until the catalogue has been read from its store once: until then no pin can be checked. */
  loaded(): boolean;
}

export interface CatalogView extends CatalogLookup {
  /** Resolves once the catalogue has been read from the store (or could not be: then it starts empty). */
  readonly ready: Promise<void>;
  /** Observes a tools/list page; returns what changed, or undefined when nothing did. */
  observe(server: string, tools: readonly unknown[]): ObserveResult | undefined;
  /** Whether any tool of the server is catalogued. */
  knows(server: string): boolean;
  /** Resolves when every write so far has been tried, and the poll and rechecks in progress have ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface CatalogViewOptions {
  /** How often the store's version is checked for writes by others (and failed writes retried); default 1 s. */
  pollMs?: number;
  onError?: (err: Error) => void;
}

const RECHECK_GAP_MS = 250;
const MAX_TEXTS_PER_SERVER = 10_000;
const MAX_SEEN = 100_000;
const keyOf = (server: string, tool: string): string => `${server}\u0000${tool}`;

export function createCatalogView(store: CatalogStore, opts: CatalogViewOptions = {}): CatalogView {
  // The entries as stored (what listings are compared with), and as this process decides by (status adjusted).
  const stored = new Map<string, Map<string, CatalogEntry>>();
  const servers = new Map<string, Map<string, CatalogEntry>>();
  // The JSON text of each tool as last listed: an identical listing is recognised without hashing it again.
  const lastText = new Map<string, Map<string, string>>();
  // Per server, the names of its changed tools: asked on every call of a name the catalogue does not know.
  const changedNames = new Map<string, string[]>();
  // Entries the store has not taken yet: written again by the poll, and laid over what it reads meanwhile.
  const unsaved = new Map<string, CatalogEntry>();
  const recentRechecks = new Map<string, number>();
  // The hash of each tool's definition as this process's server last listed it.
  const seenHash = new Map<string, string>();
  const inFlight = new Set<Promise<unknown>>();
  const onError = opts.onError ?? (() => {});
  let version: string | undefined;
  let loaded = false;
  let polling = false;
  let closed = false;

  const toolsOf = (map: Map<string, Map<string, CatalogEntry>>, server: string): Map<string, CatalogEntry> => {
    let tools = map.get(server);
    if (!tools) map.set(server, (tools = new Map()));
    return tools;
  };
  /** Keeps an entry as stored, and as decided here: changed if stored so or if this server lists another definition. */
  const remember = (entry: CatalogEntry): void => {
    toolsOf(stored, entry.server).set(entry.tool, entry);
    const seen = seenHash.get(keyOf(entry.server, entry.tool));
    const status = entry.status === 'changed' || (seen !== undefined && seen !== entry.acceptedHash) ? 'changed' : 'accepted';
    toolsOf(servers, entry.server).set(entry.tool, status === entry.status ? entry : { ...entry, status });
    changedNames.delete(entry.server);
  };
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };

  const save = (entries: CatalogEntry[]): void => {
    void track(
      store.put(entries).catch((err: Error) => {
        onError(err);
        for (const e of entries) unsaved.set(keyOf(e.server, e.tool), e);
      }),
    );
  };

  const retryUnsaved = async (): Promise<void> => {
    if (unsaved.size === 0) return;
    const tried = [...unsaved];
    const retry: CatalogEntry[] = [];
    for (const [, entry] of tried) {
      // Someone wrote the tool since (an accept, a newer listing elsewhere): theirs is the newer truth.
      const current = await store.get(entry.server, entry.tool);
      if (!current || current.updatedAt <= entry.updatedAt) retry.push(entry);
    }
    await store.put(retry);
    // Only what was tried: a save that failed meanwhile stays for the next poll.
    for (const [key, entry] of tried) if (unsaved.get(key) === entry) unsaved.delete(key);
  };

  const reload = async (): Promise<void> => {
    await retryUnsaved();
    const now = await store.version();
    if (now === version) return;
    const fresh = new Map<string, Map<string, CatalogEntry>>();
    for (const server of await store.servers()) fresh.set(server, new Map((await store.tools(server)).map((e) => [e.tool, e])));
    version = now;
    stored.clear();
    servers.clear();
    changedNames.clear();
    for (const tools of fresh.values()) for (const entry of tools.values()) remember(entry);
    for (const entry of unsaved.values()) remember(entry);
    loaded = true;
  };

  const poll = async (): Promise<void> => {
    if (polling || closed) return;
    polling = true;
    try {
      await reload();
    } catch (err) {
      onError(err as Error);
    } finally {
      polling = false;
    }
  };
  const ready = track(poll());
  const timer = setInterval(() => void track(poll()), opts.pollMs ?? 1000);
  timer.unref();

  const refresh = (server: string, tool: string): void => {
    const key = keyOf(server, tool);
    const now = Date.now();
    if (now - (recentRechecks.get(key) ?? 0) < RECHECK_GAP_MS) return;
    if (recentRechecks.size >= 10_000) recentRechecks.clear();
    recentRechecks.set(key, now);
    void track(
      store.get(server, tool).then(
        (entry) => {
          if (entry && !unsaved.has(key)) remember(entry);
        },
        (err: Error) => onError(err),
      ),
    );
  };

  return {
    ready,
    lookup: (server, tool) => servers.get(server)?.get(tool),
    recheck(server, tool) {
      refresh(server, tool);
      return servers.get(server)?.get(tool);
    },
    changed(server) {
      let names = changedNames.get(server);
      if (!names) {
        names = [...(servers.get(server)?.values() ?? [])].filter((e) => e.status === 'changed').map((e) => e.tool);
        changedNames.set(server, names);
      }
      return names;
    },
    loaded: () => loaded,
    observe(server, tools) {
      // Before the catalogue is read, every tool would look new and its pin would be overwritten: nothing is
      // recorded, and on_tool_change: block refuses the calls it cannot check (catalog-rules.ts).
      if (!loaded) return undefined;
      const known = toolsOf(stored, server);
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
        const key = keyOf(server, def.name);
        if (seenHash.size < MAX_SEEN || seenHash.has(key)) seenHash.set(key, hash);
        if (prior?.hash !== hash || prior.classifier !== CLASSIFIER_REVISION) differing.push({ def, hash });
        // The same definition as stored, but this process may have judged another one before: judge this one.
        else remember(prior);
        if (texts.size < MAX_TEXTS_PER_SERVER || texts.has(def.name)) texts.set(def.name, text);
      }
      if (differing.length === 0) return undefined;
      const result = observeDefinitions(known, server, differing);
      if (result.written.length === 0) return result.restored.length > 0 ? result : undefined;
      // Decided from memory at once (this very listing is filtered by it), stored behind.
      for (const entry of result.written) remember(entry);
      save(result.written);
      return result;
    },
    knows: (server) => (stored.get(server)?.size ?? 0) > 0,
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await this.settled();
    },
  };
}
