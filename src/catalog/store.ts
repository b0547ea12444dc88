// The catalogue store contract, and the in-memory driver. Asynchronous, as a shared store (Redis) must be; the
// gateway never waits for it on a call: it decides from its in-memory view (view.ts).
import type { CatalogEntry } from './entry.js';

export interface CatalogStore {
  /** Registered servers that have at least one catalogued tool, sorted. */
  servers(): Promise<string[]>;
  /** The tools of one server, sorted by name. */
  tools(server: string): Promise<CatalogEntry[]>;
  get(server: string, tool: string): Promise<CatalogEntry | undefined>;
  /** Inserts or replaces entries, all or none. */
  put(entries: readonly CatalogEntry[]): Promise<void>;
  /** Removes a server's tools (or one tool); resolves to how many were removed. */
  remove(server: string, tool?: string): Promise<number>;
  /**
   * A value that changes whenever any process writes the catalogue: a reader that remembers it knows when to
   * read again without reading everything.
   */
  version(): Promise<string>;
  close(): Promise<void>;
}

const key = (server: string, tool: string): string => `${server}\u0000${tool}`;
export const byToolName = (a: CatalogEntry, b: CatalogEntry): number => (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0);

/** Entries are copied in and out, so a caller that edits what it got does not edit the store. */
export function createMemoryCatalog(): CatalogStore {
  const entries = new Map<string, CatalogEntry>();
  let version = 0;
  return {
    servers: async () => [...new Set([...entries.values()].map((e) => e.server))].sort(),
    tools: async (server) => [...entries.values()].filter((e) => e.server === server).map((e) => structuredClone(e)).sort(byToolName),
    async get(server, tool) {
      const entry = entries.get(key(server, tool));
      return entry && structuredClone(entry);
    },
    async put(list) {
      // Copied first, stored after: a list that cannot be copied stores nothing.
      const copies = list.map((entry) => structuredClone(entry));
      for (const entry of copies) entries.set(key(entry.server, entry.tool), entry);
      version++;
    },
    async remove(server, tool) {
      let removed = 0;
      for (const [k, e] of entries) {
        if (e.server === server && (tool === undefined || e.tool === tool)) {
          entries.delete(k);
          removed++;
        }
      }
      if (removed > 0) version++;
      return removed;
    },
    version: async () => String(version),
    async close() {},
  };
}
