// Sees every tool list a server sends through the gateway: keeps the catalogue up to date and records a
// `tools_changed` audit event naming the tools whose definitions changed (or that appeared later).
import type { AuditInput } from '../audit/recorder.js';
import type { CatalogView } from './view.js';

/** `lastPage`: the result had no nextCursor (the end of a listing). */
export type ToolListObserver = (server: string, tools: readonly unknown[], lastPage: boolean) => void;

export function createToolWatch(view: CatalogView, record?: (input: AuditInput) => void): ToolListObserver {
  // Servers whose first listing ever is under way: its pages register tools, they are not news.
  const registering = new Set<string>();
  return (server, tools, lastPage) => {
    if (!view.knows(server)) registering.add(server);
    const quiet = registering.has(server);
    if (lastPage) registering.delete(server);
    const result = view.observe(server, tools);
    if (!result || !record) return;
    const added = quiet ? [] : result.added;
    const parts = [
      result.changed.length > 0 && `changed: ${result.changed.join(', ')}`,
      added.length > 0 && `added: ${added.join(', ')}`,
      result.restored.length > 0 && `back to the accepted definition, still held until accepted: ${result.restored.join(', ')}`,
    ].filter(Boolean);
    if (parts.length > 0) record({ kind: 'tools_changed', server, detail: parts.join('; ').slice(0, 4000) });
  };
}
