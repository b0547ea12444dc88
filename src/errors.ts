// Error codes used across the gateway, listed once; JSON-RPC codes appear only on the wire.

export const ErrorCode = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  CONFIG_NOT_FOUND: 'CONFIG_NOT_FOUND',
  CONFIG_ENV_MISSING: 'CONFIG_ENV_MISSING',
  SERVER_UNKNOWN: 'SERVER_UNKNOWN',
  UPSTREAM_FAILED: 'UPSTREAM_FAILED',
  UPSTREAM_EXITED: 'UPSTREAM_EXITED',
  USAGE: 'USAGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class GatewayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
  }
}

/** JSON-RPC error codes the gateway itself answers with. */
export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Server error range: the upstream could not be reached. */
  UPSTREAM_UNAVAILABLE: -32001,
  /** Server error range: a listener cap (sessions, started children) refused a new session; HTTP 503 + Retry-After. */
  OVER_CAPACITY: -32003,
  /** Server error range: who is calling cannot be told, because the agent store cannot be read; HTTP 503. */
  IDENTITY_UNAVAILABLE: -32004,
  /** Same code the v2 SDK server uses when Mcp-Method/Mcp-Name headers disagree with the body. */
  HEADER_MISMATCH: -32020,
} as const;
