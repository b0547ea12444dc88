// Small node:http helpers shared by the gateway's HTTP handlers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RpcCode } from '../errors.js';
import type { StandardHeaders } from './inspect.js';
import { errorResponse, type JsonRpcId, type JsonRpcResponse } from './jsonrpc.js';
import { paramHeaders } from './param-headers.js';

export class BodyTooLarge extends Error {}
/** The client went away before its request body arrived: nobody is left to answer, and nothing went wrong here. */
export class ClientGone extends Error {}

/** Reads a request body up to `limit` bytes; a larger body is refused without being buffered. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(new BodyTooLarge(`${declared} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge(`more than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ECONNRESET' ? new ClientGone(`the client closed the connection mid-body (${err.message})`) : err));
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, errorResponse(null, code, message));
}

export function sendReply(res: ServerResponse, reply: JsonRpcResponse | JsonRpcResponse[] | null, status = 200, headers?: Record<string, string>): void {
  if (reply === null) {
    res.writeHead(202, headers).end();
    return;
  }
  sendJson(res, status, reply, headers);
}

/** Turns a POST's answer into an event stream (its status and headers go out now; events follow). */
export function startEventStream(res: ServerResponse, headers?: Record<string, string>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
}

export function tooLarge(res: ServerResponse, limit: number): void {
  sendRpcError(res, 413, RpcCode.INVALID_REQUEST, `Message refused: larger than the gateway's ${limit}-byte limit (gateway.max_message_bytes)`);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

// Matched in any case: a server that decodes `=?BASE64?…?=` must not read a name the gateway took literally.
const SENTINEL = /^=\?base64\?(.*)\?=$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/**
 * Decodes an `Mcp-Name`-style header value, which non-ASCII names carry as `=?base64?…?=`. A payload that is not
 * Base64 stays literal, so it matches no body (and the request is refused as a mismatch).
 */
export function decodeMcpHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = SENTINEL.exec(value);
  return m && BASE64.test(m[1] ?? '') ? Buffer.from(m[1] ?? '', 'base64').toString('utf8') : value;
}

export function acceptsEventStream(req: IncomingMessage): boolean {
  return (header(req, 'accept') ?? '').includes('text/event-stream');
}

/** True when Accept names text/event-stream before application/json. */
export function prefersEventStream(req: IncomingMessage): boolean {
  const accept = header(req, 'accept') ?? '';
  const sse = accept.indexOf('text/event-stream');
  const json = accept.indexOf('application/json');
  return sse !== -1 && (json === -1 || sse < json);
}

/** Aborted when the client goes away before its answer: a call held for approval is then withdrawn. */
export function abortOnClose(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  return abort.signal;
}

/** Whether a request body is an initialize request (read only when its text mentions it). */
export function isInitialize(raw: string): boolean {
  try {
    return (JSON.parse(raw) as { method?: unknown }).method === 'initialize';
  } catch {
    return false;
  }
}

/** The id of the request in a body, for a refusal the gateway answers before reading it further (null if none). */
export function bodyRequestId(raw: string): JsonRpcId | null {
  try {
    return requestId(JSON.parse(raw) as Record<string, unknown>) ?? null;
  } catch {
    return null;
  }
}

/** The id of a request (a message with a method and an id), for answering it when the upstream cannot. */
export function requestId(message: Record<string, unknown>): JsonRpcId | undefined {
  const id = message.id;
  return typeof message.method === 'string' && (typeof id === 'string' || typeof id === 'number') ? id : undefined;
}

/** The 2026-07-28 standard headers and the W3C trace context of a request, when it has any. */
export function standardHeaders(req: IncomingMessage): StandardHeaders | undefined {
  const method = header(req, 'mcp-method');
  const name = header(req, 'mcp-name');
  const traceparent = header(req, 'traceparent');
  const params = paramHeaders(req.headers);
  if (method === undefined && name === undefined && traceparent === undefined && params === undefined) return undefined;
  const trace = traceparent === undefined ? undefined : { traceparent, tracestate: header(req, 'tracestate') };
  return { method, name: decodeMcpHeader(name), trace, params };
}
