// Decides what happens to one client→server frame: forward (bytes, or the exact object decided on) or answer.
import { RpcCode } from '../errors.js';
import type { ServerPolicy } from '../policy/compile.js';
import type { Decision } from '../policy/decision.js';
import { folds } from '../policy/names.js';
import type { Ticket } from './admission.js';
import type { CallEnd } from './call-observers.js';
import type { TraceCarrier } from './tracing.js';
import { denialResponse, unknownToolResponse } from './denial.js';
import { errorResponse, kindOf, type JsonRpcId, type JsonRpcResponse } from './jsonrpc.js';
import { paramHeaderMismatch } from './param-headers.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';

export interface StandardHeaders {
  /** `Mcp-Method`, when the HTTP request carried it. */
  method?: string | undefined;
  /** `Mcp-Name`, already decoded from its base64 sentinel form. */
  name?: string | undefined;
  /** W3C `traceparent` / `tracestate` of the HTTP request, for the call's spans. */
  trace?: TraceCarrier | undefined;
  /** `Mcp-Param-*` headers, by the lower-cased name after the prefix: each must mirror an argument of the body. */
  params?: Record<string, string> | undefined;
}

export type Verdict =
  | {
      kind: 'forward';
      /** What to send upstream: the original bytes when they cannot be read two ways, else a re-serialisation. */
      raw: string;
      message: Record<string, unknown>;
      /** Request id whose response is a tools/list result to filter. */
      listId?: JsonRpcId;
      /** Present for tools/call: the decision that let it through. */
      tool?: { name: string; decision: Decision };
      /** The reservation the call holds against its limits, settled when the answer comes. */
      ticket?: Ticket;
      /** Records the end of an observed call (HTTP pipe path; the relay keeps its own). */
      finish?: (end: CallEnd) => void;
      /** Trace context for the upstream request (HTTP pipe path), when a tracer records the call. */
      trace?: TraceCarrier;
    }
  | {
      kind: 'answer';
      reply: JsonRpcResponse | JsonRpcResponse[] | null;
      /** The frame itself was unacceptable (garbage, batch, header mismatch): HTTP answers 400, not 200. */
      malformed?: boolean;
      tool?: { name: string; decision: Decision };
      /** The refused call's params: its arguments and `_meta` are still recorded (audit, traces). */
      params?: Record<string, unknown> | undefined;
    };

// The methods the gateway interprets are tools/call and tools/list. Another method whose folded form (names.ts: case,
// width, separators, punctuation, invisible and look-alike characters all folded away) reads as one of them — in
// either word order, singular or plural: toolscall, calltool, listtools, … — is refused, so that a lenient server
// cannot run a call the policy never saw.
const GOVERNED_SKELETONS = new Set(
  ['tool', 'tools'].flatMap((noun) => ['call', 'calls', 'list', 'lists'].flatMap((verb) => [noun + verb, verb + noun])),
);
const NAME_SOURCE: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

/** `agent`: the caller's agent, whose rules decide (omitted: `anonymous`, as for a caller without credentials). */
export function inspectClientFrame(
  raw: string,
  server: string,
  policy: ServerPolicy,
  headers?: StandardHeaders,
  agent?: string,
): Verdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return malformed(errorResponse(null, RpcCode.PARSE_ERROR, `Parse error: ${(err as Error).message}`));
  }
  if (nestsDeeperThan(raw)) {
    return malformed(errorResponse(idOf(parsed), RpcCode.INVALID_REQUEST, `Invalid Request: JSON nested more than ${MAX_JSON_DEPTH} levels deep`));
  }
  if (Array.isArray(parsed)) {
    // Batches were dropped from MCP in 2025-06-18; deciding them as a unit invites smuggling, so refuse each element.
    const replies = parsed.map((el) =>
      errorResponse(idOf(el), RpcCode.INVALID_REQUEST, 'JSON-RPC batches are not accepted by the policylayer gateway; send one message per frame'),
    );
    return malformed(replies.length > 0 ? replies : errorResponse(null, RpcCode.INVALID_REQUEST, 'Empty batch'));
  }
  const kind = kindOf(parsed);
  if (kind === 'invalid') {
    return malformed(errorResponse(idOf(parsed), RpcCode.INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 request, notification or response'));
  }
  const message = parsed as Record<string, unknown>;
  const method = typeof message.method === 'string' ? message.method : undefined;
  const id = kind === 'request' ? (message.id as JsonRpcId) : null;
  const params = isObject(message.params) ? message.params : undefined;

  if (headers) {
    const mismatch = method === undefined ? headersWithoutMethod(headers) : checkHeaders(method, params, headers);
    if (mismatch) return malformed(errorResponse(id, RpcCode.HEADER_MISMATCH, mismatch));
  }
  if (method !== 'tools/call') {
    if (method !== undefined && method !== 'tools/list' && nearMissOfGoverned(method)) {
      return answer(id === null ? null : errorResponse(id, RpcCode.METHOD_NOT_FOUND, `Method not found: ${method}`));
    }
    const listId = method === 'tools/list' && id !== null ? id : undefined;
    // Requests are always re-serialised: a server whose parser keeps the first of two duplicate keys must read
    // exactly what was decided. Notifications and responses keep their bytes unless they could be read two ways.
    const out = id !== null || !unambiguous(raw, method === undefined ? 0 : 1) ? JSON.stringify(message) : raw;
    return listId === undefined ? { kind: 'forward', raw: out, message } : { kind: 'forward', raw: out, message, listId };
  }
  if (id === null) {
    // A tools/call notification would execute without anyone seeing a result: never forwarded.
    return answer(null);
  }
  const name = params?.name;
  if (typeof name !== 'string') {
    return answer(errorResponse(id, RpcCode.INVALID_PARAMS, 'Invalid params: tools/call needs params.name (a string)'));
  }
  const decision = policy.decide(name, agent);
  const tool = { name, decision };
  const action = decision.action;
  switch (action) {
    case 'allow':
    case 'require_approval':
      // The upstream receives exactly the object that was decided on, whatever duplicate keys or escapes the bytes held.
      return { kind: 'forward', raw: JSON.stringify(message), message, tool };
    case 'deny':
      return { kind: 'answer', reply: denialResponse(id, server, name, decision, params), tool, params };
    case 'hide':
      return { kind: 'answer', reply: unknownToolResponse(id, name), tool, params };
    default: {
      // A decision this code does not know (a new action not wired here) refuses; it never forwards.
      const unknown: never = action;
      const refusal = { action: 'deny' as const, rule: decision.rule, reason: `unknown decision "${String(unknown)}"` };
      return { kind: 'answer', reply: denialResponse(id, server, name, refusal, params), tool: { name, decision: refusal }, params };
    }
  }
}

function answer(reply: JsonRpcResponse | JsonRpcResponse[] | null): Verdict {
  return { kind: 'answer', reply };
}

function malformed(reply: JsonRpcResponse | JsonRpcResponse[]): Verdict {
  return { kind: 'answer', reply, malformed: true };
}

/**
 * True when every JSON parser reads these bytes as we did: one `"method"` key at most (first-wins parsers
 * would see another), and no escapes (a key spelled with \u escapes can hide a duplicate).
 */
function unambiguous(raw: string, methodKeys: number): boolean {
  if (raw.includes('\\')) return false;
  const first = raw.indexOf('"method"');
  if (methodKeys === 0) return first === -1;
  return first !== -1 && raw.indexOf('"method"', first + 8) === -1;
}

function checkHeaders(method: string, params: Record<string, unknown> | undefined, headers: StandardHeaders): string | null {
  if (headers.method !== undefined && headers.method !== method) {
    return `Header mismatch: Mcp-Method "${headers.method}" does not match the body's method "${method}"`;
  }
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  if (headers.name !== undefined) {
    const value = field ? params?.[field] : undefined;
    if (value !== headers.name) {
      return `Header mismatch: Mcp-Name "${headers.name}" does not match the body's ${field ? `params.${field}` : 'method, which carries no name'}`;
    }
  }
  return headers.params ? paramHeaderMismatch(method, params, headers.params) : null;
}

/** A response carries no method: call headers on it could only make a server that reads them see a call. */
function headersWithoutMethod(headers: StandardHeaders): string | null {
  if (headers.params) return 'Header mismatch: Mcp-Param-* headers belong to tools/call requests, not responses';
  if (headers.method === undefined && headers.name === undefined) return null;
  return 'Header mismatch: Mcp-Method and Mcp-Name belong to requests and notifications; this message has no method';
}

/** Whether a method that is not exactly governed folds onto one. Called for every other method, so: cheap first. */
function nearMissOfGoverned(method: string): boolean {
  // Printable ASCII folds only by losing case and separators, so it cannot fold onto a governed method when it is
  // shorter than the shortest (toolcall) or has no "l" (every one has "tool"): ping, notifications/progress,
  // resources/read. Anything else may change under NFKD (ligatures, ㎈), so it is folded.
  if (PRINTABLE_ASCII.test(method) && (method.length < 8 || !HAS_L.test(method))) return false;
  return folds(method).some((f) => GOVERNED_SKELETONS.has(f));
}
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const HAS_L = /[lL]/;

function idOf(value: unknown): JsonRpcId | null {
  if (!isObject(value)) return null;
  const id = value.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
