// Removes hidden tools from a tools/list result; returns null when nothing changed, so bytes pass untouched.
import type { ServerPolicy } from '../policy/compile.js';

/** Told about every tool list passing through (before hidden tools are removed), e.g. to notice changed definitions. */
export type ToolsSeen = (tools: readonly unknown[], lastPage: boolean) => void;

export function filterToolsListResponse(message: unknown, policy: ServerPolicy, seen?: ToolsSeen): Record<string, unknown> | null {
  if (typeof message !== 'object' || message === null) return null;
  const result = (message as { result?: unknown }).result;
  if (typeof result !== 'object' || result === null) return null;
  const tools = (result as { tools?: unknown }).tools;
  if (!Array.isArray(tools)) return null;
  seen?.(tools, (result as { nextCursor?: unknown }).nextCursor === undefined);
  const visible = tools.filter((t: unknown) => {
    const name = typeof t === 'object' && t !== null ? (t as { name?: unknown }).name : undefined;
    // A tool without a usable name cannot be governed by name: it is not shown.
    return typeof name === 'string' && policy.isVisible(name);
  });
  if (visible.length === tools.length) return null;
  return { ...(message as Record<string, unknown>), result: { ...result, tools: visible } };
}

/**
 * Filters any upstream frame that carries a tool list, whichever request it answers: matching answers to
 * requests by id could be confused by a client reusing ids, or by a replayed stream. Frames that do not
 * mention "tools" are returned as they are, unparsed.
 */
export function filterToolsInFrame(raw: string, policy: ServerPolicy, seen?: ToolsSeen): string {
  if (!raw.includes('"tools"')) return raw;
  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch {
    return raw;
  }
  const filtered = filterToolsListResponse(message, policy, seen);
  return filtered ? JSON.stringify(filtered) : raw;
}
