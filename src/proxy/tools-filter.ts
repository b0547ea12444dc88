// Removes hidden tools from a tools/list result; returns null when nothing changed, so bytes pass untouched.
import type { ServerPolicy } from '../policy/compile.js';

export function filterToolsListResponse(message: unknown, policy: ServerPolicy): Record<string, unknown> | null {
  if (typeof message !== 'object' || message === null) return null;
  const result = (message as { result?: unknown }).result;
  if (typeof result !== 'object' || result === null) return null;
  const tools = (result as { tools?: unknown }).tools;
  if (!Array.isArray(tools)) return null;
  const visible = tools.filter((t: unknown) => {
    const name = typeof t === 'object' && t !== null ? (t as { name?: unknown }).name : undefined;
    // A tool without a usable name cannot be governed by name: it is not shown.
    return typeof name === 'string' && policy.isVisible(name);
  });
  if (visible.length === tools.length) return null;
  return { ...(message as Record<string, unknown>), result: { ...result, tools: visible } };
}
