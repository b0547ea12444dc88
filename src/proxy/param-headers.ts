// `Mcp-Param-*` headers (2026-07-28): a client mirrors tool arguments into headers. They go upstream beside the
// body, and a server (or a router in front of it) may act on them, so each must say what the decided body says.
import { decodeMcpHeader } from './http-util.js';

/** The `Mcp-Param-*` headers of a request, by the lower-cased name after the prefix; undefined when it has none. */
export function paramHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('mcp-param-')) continue;
    found ??= {};
    // Node joins repeated headers with ", "; a repeated Mcp-Param header can then match nothing and is refused.
    found[name.slice('mcp-param-'.length)] = Array.isArray(value) ? value.join(', ') : (value ?? '');
  }
  return found;
}

/**
 * Why the headers disagree with the body, or null when each names an argument of a tools/call (its name, in any
 * case: HTTP header names have none) and carries exactly its value. Anything else is refused, not dropped: a
 * header the gateway cannot check is one the server might act on.
 */
export function paramHeaderMismatch(method: string, params: Record<string, unknown> | undefined, headers: Record<string, string>): string | null {
  if (method !== 'tools/call') return `Header mismatch: Mcp-Param-* headers belong to tools/call requests, not ${method}`;
  const args = params?.arguments;
  const given = typeof args === 'object' && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
  for (const [name, raw] of Object.entries(headers)) {
    const keys = Object.keys(given).filter((k) => k.toLowerCase() === name);
    if (keys.length !== 1) {
      return keys.length === 0
        ? `Header mismatch: Mcp-Param-${name} names no argument of the call; send only headers that mirror its arguments`
        : `Header mismatch: Mcp-Param-${name} could mirror several arguments (${keys.join(', ')})`;
    }
    const value = given[keys[0]!];
    if (!sameValue(decodeMcpHeader(raw) ?? '', value)) {
      return `Header mismatch: Mcp-Param-${name} does not carry the value of arguments.${keys[0]} in the body`;
    }
  }
  return null;
}

/** A header value against the argument it mirrors: strings as they are, integers in decimal, booleans as words. */
function sameValue(header: string, value: unknown): boolean {
  if (typeof value === 'string') return header === value;
  if (typeof value === 'boolean') return header === String(value);
  if (typeof value === 'number') return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(header) && Number(header) === value;
  return false;
}
