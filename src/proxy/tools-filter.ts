// Removes hidden tools from tools/list results, and makes sure no tool list passes unread, whatever its bytes.
import type { ServerPolicy } from '../policy/compile.js';

/** Told about every tool list passing through (before hidden tools are removed), e.g. to notice changed definitions. */
export type ToolsSeen = (tools: readonly unknown[], lastPage: boolean) => void;

/**
 * The message without the tools hidden from `agent` (rules may hide a tool from one agent and show it to another), or
 * null when it carries no tool list or nothing was hidden.
 */
export function filterToolsListResponse(message: unknown, policy: ServerPolicy, agent: string, seen?: ToolsSeen): Record<string, unknown> | null {
  const tools = toolsOf(message);
  if (!tools) return null;
  const result = (message as { result: Record<string, unknown> }).result;
  seen?.(tools, result.nextCursor === undefined);
  const visible = tools.filter((t: unknown) => {
    const name = typeof t === 'object' && t !== null ? (t as { name?: unknown }).name : undefined;
    // A tool without a usable name cannot be governed by name: it is not shown.
    return typeof name === 'string' && policy.isVisible(name, agent);
  });
  if (visible.length === tools.length) return null;
  return { ...(message as Record<string, unknown>), result: { ...result, tools: visible } };
}

function toolsOf(message: unknown): unknown[] | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const result = (message as { result?: unknown }).result;
  if (typeof result !== 'object' || result === null) return undefined;
  const tools = (result as { tools?: unknown }).tools;
  return Array.isArray(tools) ? tools : undefined;
}

/**
 * Whether a frame may carry a tool list. A JSON key can only be disguised with a `\u` escape (`"tool\u0073"`),
 * so a frame with neither the plain key nor any such escape cannot hold one and is passed on unparsed.
 */
export function mayCarryTools(raw: string): boolean {
  return raw.includes('"tools"') || raw.includes('\\u');
}

/**
 * What to send on for a parsed upstream message: without its hidden tools; re-serialised whenever it carries a
 * tool list whose bytes a client could read another way (escapes, a repeated key), so the client reads exactly
 * the list that was filtered; else the original bytes.
 */
export function toolsListFrame(raw: string, message: unknown, policy: ServerPolicy, agent: string, seen?: ToolsSeen): string {
  const filtered = filterToolsListResponse(message, policy, agent, seen);
  if (filtered) return JSON.stringify(filtered);
  if (toolsOf(message) && !readOneWay(raw)) return JSON.stringify(message);
  return raw;
}

function readOneWay(raw: string): boolean {
  if (raw.includes('\\')) return false;
  const first = raw.indexOf('"tools"');
  return first !== -1 && raw.indexOf('"tools"', first + 7) === -1;
}

/**
 * Filters any upstream frame that carries a tool list, whichever request it answers: matching answers to requests
 * by id could be confused by a client reusing ids, or by a replayed stream. Frames that cannot carry one are
 * returned as they are, unparsed; one that might but cannot be parsed is dropped (null), since a lenient client
 * could still read a list out of it.
 */
export function filterToolsInFrame(raw: string, policy: ServerPolicy, agent: string, seen?: ToolsSeen): string | null {
  if (!mayCarryTools(raw)) return raw;
  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch {
    return null;
  }
  return toolsListFrame(raw, message, policy, agent, seen);
}
