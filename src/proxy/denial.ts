// Turns a refusing Decision into what the agent receives: a readable CallToolResult or an unknown-tool error.
import { RpcCode } from '../errors.js';
import type { Decision } from '../policy/decision.js';
import { errorResponse, PROTOCOL_META_KEY, resultResponse, type JsonRpcId, type JsonRpcResponse } from './jsonrpc.js';


export function denialText(server: string, tool: string, decision: Decision): string {
  const reason = decision.reason ?? 'this tool is not allowed by the gateway policy';
  return `[POLICY DENIED] Tool "${tool}" on server "${server}" was blocked by rule ${decision.rule}: ${reason}`;
}

/**
 * A denial is a normal tool result with isError, so a model reads the reason and changes course.
 * Requests of the 2026-07-28 revision carry the protocol version in _meta and need `resultType`.
 */
export function denialResponse(
  id: JsonRpcId,
  server: string,
  tool: string,
  decision: Decision,
  params: Record<string, unknown> | undefined,
  retryAfterMs?: number,
): JsonRpcResponse {
  const result: Record<string, unknown> = {
    content: [{ type: 'text', text: denialText(server, tool, decision) }],
    isError: true,
  };
  // Agents that back off read this instead of parsing the text.
  if (retryAfterMs !== undefined) result._meta = { retryAfterMs };
  const meta = params?._meta;
  if (typeof meta === 'object' && meta !== null && PROTOCOL_META_KEY in meta) result.resultType = 'complete';
  return resultResponse(id, result);
}

/** What a server answers for a tool it does not have (spec: -32602), so a hidden tool looks absent. */
export function unknownToolResponse(id: JsonRpcId, tool: string): JsonRpcResponse {
  return errorResponse(id, RpcCode.INVALID_PARAMS, `Unknown tool: ${tool}`);
}
