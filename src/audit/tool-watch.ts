// Notices when a server's tool definitions change between listings (a description rewritten after the user
// trusted it, a schema widened) and records a `tools_changed` event naming the tools. In memory, per process.
import { canonicalJson, sha256Hex } from './canonical.js';
import type { AuditInput } from './recorder.js';

/** Per server at most this many tools are remembered (a server cannot grow the gateway's memory without bound). */
const MAX_TOOLS_PER_SERVER = 10_000;

/** `lastPage`: the result had no nextCursor (the end of a listing). */
export type ToolListObserver = (server: string, tools: readonly unknown[], lastPage: boolean) => void;

export function createToolWatch(record: (input: AuditInput) => void): ToolListObserver {
  const known = new Map<string, Map<string, string>>();
  // Servers whose first complete listing (every page) has been seen: until then new names are the baseline.
  const listed = new Set<string>();
  return (server, tools, lastPage) => {
    let defs = known.get(server);
    if (!defs) known.set(server, (defs = new Map()));
    const baseline = !listed.has(server);
    if (lastPage) listed.add(server);
    const added: string[] = [];
    const changed: string[] = [];
    for (const tool of tools) {
      const name = typeof tool === 'object' && tool !== null ? (tool as { name?: unknown }).name : undefined;
      if (typeof name !== 'string') continue;
      const hash = sha256Hex(canonicalJson(tool));
      const before = defs.get(name);
      if (before === hash) continue;
      if (before === undefined) {
        if (defs.size >= MAX_TOOLS_PER_SERVER) continue;
        if (!baseline) added.push(name);
      } else changed.push(name);
      defs.set(name, hash);
    }
    if (added.length === 0 && changed.length === 0) return;
    const parts = [changed.length > 0 && `changed: ${changed.join(', ')}`, added.length > 0 && `added: ${added.join(', ')}`].filter(Boolean);
    record({ kind: 'tools_changed', server, detail: parts.join('; ').slice(0, 4000) });
  };
}
