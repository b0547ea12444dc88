// Streamable HTTP client → Streamable HTTP server: decide the request body, then stream the upstream's bytes back.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { RpcCode } from '../errors.js';
import type { ServerPolicy } from '../policy/compile.js';
import { createSseParser, sseEvent } from '../transport/sse.js';
import { header, sendJson, sendReply } from './http-util.js';
import type { Verdict } from './inspect.js';
import { errorResponse, type JsonRpcId } from './jsonrpc.js';
import { outcomeOf } from './admission.js';
import type { CallEnd } from './call-observers.js';
import { filterToolsInFrame, toolsListFrame, type ToolsSeen } from './tools-filter.js';
import { announcesToolsChanged, pageOf, PAGE_TIMEOUT_MS, type ListPage, type ToolsPage } from './tools-refresh.js';
import type { TraceCarrier } from './tracing.js';

export interface PipeTarget {
  url: URL;
  headers: Record<string, string>;
  agent: http.Agent;
  /** Request options computed once (http.request would otherwise convert the URL on every call). */
  request(method: string, headers: Record<string, string>, onResponse: (res: IncomingMessage) => void): http.ClientRequest;
}

export function createPipeTarget(url: string, headers: Record<string, string>): PipeTarget {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 512 }) : new http.Agent({ keepAlive: true, maxSockets: 512 });
  const base = { hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || (secure ? 443 : 80), path: u.pathname + u.search, agent };
  const send = secure ? https.request : http.request;
  return { url: u, headers, agent, request: (method, h, onResponse) => send({ ...base, method, headers: h }, onResponse) };
}

/** Client headers that carry protocol meaning and go upstream; credentials and hop-by-hop headers do not. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'mcp-protocol-version', 'last-event-id', 'mcp-method', 'mcp-name', 'traceparent', 'tracestate', 'baggage'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'mcp-protocol-version'];

/**
 * The headers of the upstream request. `Mcp-Param-*` go along only with a body whose arguments they were checked
 * against (inspect refuses a request whose headers disagree with it), so a header never carries what the body did not.
 */
export function upstreamHeaders(target: PipeTarget, req: IncomingMessage, upstreamSession: string | undefined, checkedBody: boolean): Record<string, string> {
  const h: Record<string, string> = { ...target.headers };
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const v = header(req, name);
    if (v !== undefined) h[name] = v;
  }
  if (checkedBody) {
    for (const [name, v] of Object.entries(req.headers)) {
      if (name.startsWith('mcp-param-') && typeof v === 'string') h[name] = v;
    }
  }
  if (upstreamSession !== undefined) h['mcp-session-id'] = upstreamSession;
  return h;
}

/** How tool lists in an answer are filtered, and who else looks at them. */
export interface ToolListFilter {
  policy: () => ServerPolicy;
  /** The agent the answer goes to: the tools hidden from it are removed. */
  agent: string;
  seen?: ToolsSeen | undefined;
  /** Told when the stream carries notifications/tools/list_changed. */
  onToolsChanged?: (() => void) | undefined;
}

export interface PipeResult {
  status: number;
  /** The upstream's Mcp-Session-Id, when it issued one (on initialize). */
  upstreamSession?: string;
}

/**
 * Sends `body` upstream and streams the answer into `res`. `sessionHeader` is the gateway's own session id,
 * which replaces the upstream's. Resolves once the upstream's status is known; `beforeHead` may take over
 * (return true) instead of streaming, e.g. to fall back to legacy SSE.
 */
export function pipeRequest(
  target: PipeTarget,
  req: IncomingMessage,
  res: ServerResponse,
  opts: {
    method: 'POST' | 'GET' | 'DELETE';
    body?: string;
    upstreamSession?: string;
    sessionHeader?: (upstreamSession: string | undefined) => string | undefined;
    /** Buffer the whole answer and filter tool lists in it (a tools/list request). */
    filter?: ToolListFilter;
    /** Filter tool lists in an SSE stream event by event (GET streams, which may replay old answers). */
    filterStream?: ToolListFilter;
    replyToId?: JsonRpcId | undefined;
    beforeHead?: (status: number) => boolean;
    /** Told how the call ended (for settling its reservation); the bytes are still streamed as they come. */
    onOutcome?: ((end: CallEnd) => void) | undefined;
    /** The gateway's own trace context for the upstream call, replacing the client's. */
    trace?: TraceCarrier | undefined;
  },
): Promise<PipeResult> {
  return new Promise((resolve) => {
    const headers = upstreamHeaders(target, req, opts.upstreamSession, opts.body !== undefined);
    if (opts.trace) Object.assign(headers, opts.trace);
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const up = target.request(opts.method, headers, (upRes) => {
      const status = upRes.statusCode ?? 502;
      const upstreamSession = header(upRes as unknown as IncomingMessage, 'mcp-session-id');
      const result: PipeResult = upstreamSession === undefined ? { status } : { status, upstreamSession };
      if (opts.beforeHead?.(status)) {
        upRes.resume();
        return resolve(result);
      }
      const out: Record<string, string> = {};
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const v = upRes.headers[name];
        if (typeof v === 'string') out[name] = v;
      }
      const sid = opts.sessionHeader ? opts.sessionHeader(upstreamSession) : undefined;
      if (sid !== undefined) out['mcp-session-id'] = sid;
      resolve(result);
      const stream = (out['content-type'] ?? '').includes('text/event-stream');
      if (opts.onOutcome) watchOutcome(upRes, status, stream, opts.replyToId, opts.onOutcome, () => res.destroyed && !res.writableFinished);
      if (opts.filter && status === 200) return filterInto(upRes, res, out, opts.filter, opts.replyToId);
      // The gateway already answers with a stream (progress while the call was held): the answer joins it.
      if (res.headersSent) return joinStream(upRes, res, status, stream, opts.replyToId);
      res.writeHead(status, out);
      // A stream's headers go out at once (the client may wait long for its first event); a JSON body
      // carries them in the same write.
      if (stream) res.flushHeaders();
      if (opts.filterStream && stream) {
        const { policy, agent, seen, onToolsChanged } = opts.filterStream;
        const parser = createSseParser((e) => {
          if (onToolsChanged && e.event === 'message' && announcesToolsChanged(e.data)) onToolsChanged();
          const data = filterToolsInFrame(e.data, policy(), agent, seen);
          if (data !== null) res.write(sseEvent(data, e.id, e.event));
        });
        upRes.on('data', (c: Buffer) => parser.push(c));
        upRes.on('end', () => res.end());
      } else upRes.pipe(res);
      res.on('close', () => upRes.destroy());
    });
    // Until the request is handed to the socket, an error means the server cannot have seen the call.
    let sent = false;
    up.on('finish', () => (sent = true));
    up.on('error', (err) => {
      opts.onOutcome?.(sent ? 'lost' : 'failed');
      if (!res.headersSent) {
        const message = `upstream ${target.url.href} unreachable: ${err.message}`;
        if (opts.replyToId !== undefined) sendJson(res, 200, errorResponse(opts.replyToId, RpcCode.UPSTREAM_UNAVAILABLE, message));
        else sendJson(res, 502, errorResponse(null, RpcCode.UPSTREAM_UNAVAILABLE, message));
      } else res.destroy();
      resolve({ status: 502 });
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.end(opts.body);
  });
}

/**
 * tools/list answers are buffered (JSON or SSE), parsed whatever their bytes, filtered by the policy and sent; an
 * answer that cannot be read becomes an error (a lenient client might still find hidden tools in it).
 */
function filterInto(upRes: IncomingMessage, res: ServerResponse, out: Record<string, string>, { policy, agent, seen }: ToolListFilter, id: JsonRpcId | undefined): void {
  const chunks: Buffer[] = [];
  upRes.on('data', (c: Buffer) => chunks.push(c));
  upRes.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const rewrite = (data: string): string => {
      // An event without data (a resumption point SDK servers send first) carries nothing to read.
      if (data.trim() === '') return data;
      try {
        return toolsListFrame(data, JSON.parse(data), policy(), agent, seen);
      } catch {
        return JSON.stringify(errorResponse(id ?? null, RpcCode.UPSTREAM_UNAVAILABLE, 'the server answered tools/list with something that is not JSON'));
      }
    };
    let text: string;
    if ((out['content-type'] ?? '').includes('text/event-stream')) {
      text = '';
      const parser = createSseParser((e) => {
        // Every event is read as a message, whatever it calls itself: a client may not look at the event name.
        text += sseEvent(rewrite(e.data), e.id, e.event);
      });
      parser.push(body);
      parser.end();
    } else text = rewrite(body);
    delete out['content-length'];
    sendJson(res, 200, text, out);
  });
}

/**
 * Lists tools on an upstream session with requests of the gateway's own (after tools/list_changed): the target's
 * configured headers, the session and the protocol version the client speaks; a JSON or an event-stream answer.
 */
export function createHttpLister(target: PipeTarget, upstreamSession: string, protocolVersion: () => string | undefined): ListPage {
  let next = 0;
  return (cursor) =>
    new Promise<ToolsPage>((resolve, reject) => {
      const id = `policylayer-tools-${next++}`;
      const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', params: cursor === undefined ? {} : { cursor } });
      const headers: Record<string, string> = {
        ...target.headers,
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'mcp-session-id': upstreamSession,
      };
      const version = protocolVersion();
      if (version !== undefined) headers['mcp-protocol-version'] = version;
      const settle = (page: ToolsPage | Error): void => {
        clearTimeout(timer);
        up.destroy();
        if (page instanceof Error) reject(page);
        else resolve(page);
      };
      const answer = (data: string): void => {
        try {
          const message = JSON.parse(data) as { id?: unknown };
          if (message.id === id) settle(pageOf(message));
        } catch (err) {
          settle(err as Error);
        }
      };
      const up = target.request('POST', headers, (res) => {
        if (res.statusCode !== 200) return settle(new Error(`tools/list got HTTP ${res.statusCode}`));
        if (String(res.headers['content-type']).includes('text/event-stream')) {
          const parser = createSseParser((e) => e.event === 'message' && e.data.includes(id) && answer(e.data));
          res.on('data', (c: Buffer) => parser.push(c));
        } else {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => answer(Buffer.concat(chunks).toString('utf8')));
        }
        res.on('end', () => settle(new Error('tools/list: the answer ended without a result')));
      });
      const timer = setTimeout(() => settle(new Error(`tools/list got no answer in ${PAGE_TIMEOUT_MS / 1000} s`)), PAGE_TIMEOUT_MS);
      up.on('error', (err) => settle(err));
      up.end(body);
    });
}

export function answerVerdict(res: ServerResponse, verdict: Extract<Verdict, { kind: 'answer' }>, sessionId?: string): void {
  // Progress was streamed while the call was held: the refusal is the stream's last event.
  if (res.headersSent) return void res.end(verdict.reply ? sseEvent(JSON.stringify(verdict.reply)) : undefined);
  sendReply(res, verdict.reply, verdict.malformed ? 400 : 200, sessionId ? { 'mcp-session-id': sessionId } : undefined);
}

const OUTCOME_SCAN_LIMIT = 1024 * 1024;

/**
 * Reads the answer to a call beside the bytes streamed to the client, to settle it. Only an answer read as a
 * JSON-RPC error gives the budget back; an answer that cannot be read (too large, an HTTP error without a JSON-RPC
 * body, a stream cut before the answer) keeps it, since the server may have run the call.
 */
function watchOutcome(
  upRes: IncomingMessage,
  status: number,
  stream: boolean,
  id: JsonRpcId | undefined,
  report: (end: CallEnd) => void,
  clientGone: () => boolean,
): void {
  const ok = status >= 200 && status < 300;
  let outcome: CallEnd | undefined;
  let size = 0;
  const chunks: Buffer[] = [];
  const parser = stream
    ? createSseParser((e) => {
        if (outcome !== undefined || !e.data.includes('"id"')) return;
        try {
          const m = JSON.parse(e.data);
          if (m?.id === id && m.method === undefined) outcome = outcomeOf(m);
        } catch {
          /* not a message we can read */
        }
      })
    : undefined;
  upRes.on('data', (c: Buffer) => {
    if (parser) return parser.push(c);
    size += c.length;
    if (size <= OUTCOME_SCAN_LIMIT) chunks.push(c);
  });
  upRes.on('close', () => {
    if (!parser && size <= OUTCOME_SCAN_LIMIT) {
      try {
        const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; error?: unknown } | null;
        if (m !== null && typeof m === 'object' && (m.result !== undefined || m.error !== undefined)) outcome = outcomeOf(m);
      } catch {
        /* not JSON: decided below */
      }
    }
    // A whole JSON answer too large to read was still an answer; anything else unread may have run or be running.
    if (outcome === undefined && ok && !parser && size > OUTCOME_SCAN_LIMIT) outcome = 'ok';
    report(outcome ?? (clientGone() ? 'cancelled' : 'lost'));
  });
}

/**
 * The upstream's answer to a call whose client already has an event stream from the gateway (progress while held):
 * its events are passed on, a JSON answer becomes one event, and an HTTP error an error event for the call.
 */
function joinStream(upRes: IncomingMessage, res: ServerResponse, status: number, stream: boolean, id: JsonRpcId | undefined): void {
  if (status === 200 && stream) {
    upRes.pipe(res);
  } else {
    const chunks: Buffer[] = [];
    upRes.on('data', (c: Buffer) => chunks.push(c));
    upRes.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const message = status === 200 ? body : JSON.stringify(errorResponse(id ?? null, RpcCode.UPSTREAM_UNAVAILABLE, `the server answered HTTP ${status}`));
      res.end(sseEvent(message));
    });
  }
  res.on('close', () => upRes.destroy());
}
