// Client side of a remote MCP server as a message pipe: Streamable HTTP, falling back to legacy HTTP+SSE.
import { RpcCode } from '../errors.js';
import type { Logger } from '../log.js';
import { errorResponse, MAY_HAVE_RUN, PROTOCOL_META_KEY, type JsonRpcId } from '../proxy/jsonrpc.js';
import type { MessagePipe } from './message-pipe.js';
import { createSseParser } from './sse.js';

export interface HttpUpstreamOptions {
  url: string;
  headers: Record<string, string>;
  mode: 'auto' | 'streamable-http' | 'sse';
  log: Logger;
}

const RECONNECT_MS = 1000;

export function createHttpUpstream({ url, headers, mode, log }: HttpUpstreamOptions): MessagePipe {
  let sessionId: string | undefined;
  let protocolVersion: string | undefined;
  let legacyEndpoint: Promise<string> | undefined = mode === 'sse' ? openLegacy() : undefined;
  let closed = false;
  let lastEventId: string | undefined;
  const streams = new Set<AbortController>();

  const pipe: MessagePipe = {
    send(raw) {
      void deliver(raw);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const s of streams) s.abort();
      if (sessionId && !legacyEndpoint) {
        fetch(url, { method: 'DELETE', headers: requestHeaders() }).catch(() => undefined);
      }
      pipe.onclose?.('closed');
    },
  };

  function requestHeaders(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...headers };
    if (sessionId) h['mcp-session-id'] = sessionId;
    if (protocolVersion) h['mcp-protocol-version'] = protocolVersion;
    return { ...h, ...extra };
  }

  async function deliver(raw: string): Promise<void> {
    let message: { id?: JsonRpcId; method?: string; params?: Record<string, unknown> };
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    const requestId = message.method !== undefined && message.id !== undefined ? message.id : undefined;
    try {
      if (legacyEndpoint) return await postLegacy(await legacyEndpoint, raw, requestId);
      const res = await fetch(url, {
        method: 'POST',
        headers: requestHeaders({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(message) }),
        body: raw,
      });
      if (message.method === 'initialize' && mode === 'auto' && [400, 404, 405].includes(res.status)) {
        await res.body?.cancel();
        log.info(`${url} does not speak Streamable HTTP (HTTP ${res.status}); trying the legacy SSE transport`);
        legacyEndpoint = openLegacy();
        return await postLegacy(await legacyEndpoint, raw, requestId);
      }
      const sid = res.headers.get('mcp-session-id');
      if (sid) sessionId = sid;
      if (res.status === 202) return;
      if (!res.ok) {
        const text = (await res.text()).slice(0, 500);
        if (requestId !== undefined) reply(requestId, `upstream answered HTTP ${res.status}: ${text}`, true);
        return;
      }
      const type = res.headers.get('content-type') ?? '';
      if (type.includes('text/event-stream')) return await readStream(res, false);
      const body = await res.text();
      if (body.trim()) emit(body, message.method === 'initialize');
    } catch (err) {
      if (requestId !== undefined) reply(requestId, `upstream ${url} unreachable: ${(err as Error).message}`, !neverConnected(err));
    } finally {
      if (message.method === 'notifications/initialized' && legacyEndpoint === undefined) void openGetStream();
    }
  }

  /** Hands one upstream message on; learns the negotiated version from the initialize result. */
  function emit(body: string, isInitialize: boolean): void {
    // A pretty-printed body would break newline framing on the client side.
    const line = body.includes('\n') ? JSON.stringify(JSON.parse(body)) : body;
    if (isInitialize) {
      try {
        const v = JSON.parse(line)?.result?.protocolVersion;
        if (typeof v === 'string') protocolVersion = v;
      } catch {
        /* not ours to judge */
      }
    }
    pipe.onmessage?.(line);
  }

  /** The transport's own error answer; `mayHaveRun` when the request may have reached the server (budget is kept). */
  function reply(id: JsonRpcId, text: string, mayHaveRun: boolean): void {
    pipe.onmessage?.(JSON.stringify(errorResponse(id, RpcCode.UPSTREAM_UNAVAILABLE, text, mayHaveRun ? MAY_HAVE_RUN : undefined)));
  }

  async function readStream(res: Response, standalone: boolean): Promise<void> {
    if (!res.body) return;
    const parser = createSseParser((e) => {
      if (e.id !== undefined && standalone) lastEventId = e.id;
      if (e.event === 'message' && e.data.trim()) emit(e.data, false);
    });
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) parser.push(Buffer.from(chunk));
    parser.end();
  }

  let getStreamOpen = false;
  async function openGetStream(): Promise<void> {
    if (getStreamOpen || closed) return;
    getStreamOpen = true;
    const abort = new AbortController();
    streams.add(abort);
    try {
      const extra: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId) extra['last-event-id'] = lastEventId;
      const res = await fetch(url, { method: 'GET', headers: requestHeaders(extra), signal: abort.signal });
      if (res.status === 405 || !res.ok) {
        await res.body?.cancel();
        return; // The server offers no standalone stream; that is allowed.
      }
      await readStream(res, true);
      getStreamOpen = false;
      if (!closed) setTimeout(() => void openGetStream(), RECONNECT_MS).unref();
    } catch {
      getStreamOpen = false;
      if (!closed) setTimeout(() => void openGetStream(), RECONNECT_MS).unref();
    } finally {
      streams.delete(abort);
    }
  }

  /** Legacy HTTP+SSE: GET opens the stream, whose first `endpoint` event says where to POST. */
  function openLegacy(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const abort = new AbortController();
      streams.add(abort);
      fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: abort.signal })
        .then(async (res) => {
          if (!res.ok || !res.body) throw new Error(`GET ${url} for legacy SSE answered HTTP ${res.status}`);
          const parser = createSseParser((e) => {
            if (e.event === 'endpoint') resolve(new URL(e.data, url).href);
            else if (e.event === 'message' && e.data.trim()) emit(e.data, false);
          });
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) parser.push(Buffer.from(chunk));
          if (!closed) {
            closed = true;
            pipe.onclose?.(`upstream ${url} closed its SSE stream`);
          }
        })
        .catch((err: Error) => {
          reject(err);
          if (!closed && err.name !== 'AbortError') {
            closed = true;
            pipe.onclose?.(`upstream ${url}: ${err.message}`);
          }
        });
    });
  }

  async function postLegacy(endpoint: string, raw: string, requestId: JsonRpcId | undefined): Promise<void> {
    const res = await fetch(endpoint, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: raw });
    await res.body?.cancel();
    if (!res.ok && requestId !== undefined) reply(requestId, `upstream answered HTTP ${res.status}`, true);
  }

  return pipe;
}

/** Errors of fetch that mean no connection was made, so the server cannot have seen the request. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
function neverConnected(err: unknown): boolean {
  const code = ((err as { cause?: { code?: unknown } }).cause ?? {}).code;
  return typeof code === 'string' && NOT_CONNECTED.has(code);
}

/** Which body field the `Mcp-Name` header mirrors, per method (2026-07-28 standard headers). */
const NAME_FIELD: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/**
 * The standard request headers a 2026-07-28 server requires on HTTP, derived from a request that carries
 * the revision's `_meta` envelope (over stdio the client had no headers to send). Older requests get none.
 */
export function standardHeaders(message: { id?: unknown; method?: string; params?: Record<string, unknown> }): Record<string, string> {
  const meta = message.params?._meta as Record<string, unknown> | undefined;
  const version = meta?.[PROTOCOL_META_KEY];
  if (typeof version !== 'string' || typeof message.method !== 'string') return {};
  const h: Record<string, string> = { 'mcp-protocol-version': version };
  if (message.id === undefined) return h;
  h['mcp-method'] = message.method;
  const field = Object.hasOwn(NAME_FIELD, message.method) ? NAME_FIELD[message.method] : undefined;
  const value = field ? message.params?.[field] : undefined;
  if (typeof value === 'string') h['mcp-name'] = encodeHeaderValue(value);
  return h;
}

/** Plain printable ASCII passes as is; anything else travels as `=?base64?<utf-8 base64>?=`. */
function encodeHeaderValue(value: string): string {
  const plain = value.length > 0 && value === value.trim() && /^[\x20-\x7e\t]*$/.test(value) && !(value.startsWith('=?base64?') && value.endsWith('?='));
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
