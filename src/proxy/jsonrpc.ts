// JSON-RPC 2.0 message shapes and the few constructors the gateway needs to answer by itself.

export type JsonRpcId = string | number;

/**
 * `error.data` of an error answer made by the gateway's own transport when a request may have reached the server
 * (the connection broke after sending, an HTTP error without a JSON-RPC body): the call's budget is kept. A server
 * that sends it itself only keeps its own budget spent.
 */
export const MAY_HAVE_RUN = { policylayer: 'the request may have reached the server' } as const;

/** Where requests of the 2026-07-28 revision carry their protocol version. */
export const PROTOCOL_META_KEY = 'io.modelcontextprotocol/protocolVersion';

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export type MessageKind = 'request' | 'notification' | 'response' | 'invalid';

/** Classifies a parsed value without trusting it: anything not clearly one of the three kinds is invalid. */
export function kindOf(value: unknown): MessageKind {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid';
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'invalid';
  const hasId = 'id' in m;
  if (typeof m.method === 'string') {
    if (!hasId) return 'notification';
    return isId(m.id) ? 'request' : 'invalid';
  }
  if (hasId && ('result' in m || 'error' in m)) return m.id === null || isId(m.id) ? 'response' : 'invalid';
  return 'invalid';
}

function isId(id: unknown): id is JsonRpcId {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcResponse {
  const error: JsonRpcResponse['error'] = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}

export function resultResponse(id: JsonRpcId, result: Record<string, unknown>): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result };
}
