// An HTTP client session whose upstream speaks in messages (a stdio child, a legacy SSE server): routes each
// upstream message to the HTTP response waiting for it, the session's GET stream, or a short buffer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RpcCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { ServerPolicy } from '../policy/compile.js';
import type { ServerConfig } from '../config/schema.js';
import type { MessagePipe } from '../transport/message-pipe.js';
import { sseEvent } from '../transport/sse.js';
import { openUpstream, upstreamFrameLimit } from '../transport/upstream.js';
import { acceptsEventStream, prefersEventStream, sendJson, sendReply } from './http-util.js';
import type { Identity, Limiter } from './admission.js';
import type { CallObservers } from './call-observers.js';
import type { Gatekeeper } from '../approvals/gatekeeper.js';
import type { StandardHeaders, Verdict } from './inspect.js';
import { errorResponse, type JsonRpcId } from './jsonrpc.js';
import { createRelay, type Relay } from './relay.js';
import { idKey } from './pipeline.js';

interface PendingPost {
  res: ServerResponse;
  id: JsonRpcId;
  sse: boolean;
  acceptsSse: boolean;
  progressToken?: unknown;
}

export interface MessageSession {
  readonly id: string;
  lastActivity: number;
  /** True while a client holds a stream open (GET or legacy SSE): such a session is not idle. */
  hasStream(): boolean;
  handlePost(req: IncomingMessage, res: ServerResponse, raw: string, headers?: StandardHeaders): void;
  handleGet(res: ServerResponse): void;
  close(reason: string): void;
}

export interface MessageSessionOptions {
  id: string;
  server: string;
  config: ServerConfig;
  policy: () => ServerPolicy;
  maxBytes: number;
  log: Logger;
  /** Legacy SSE client: every message goes down this stream instead of the POST responses. */
  legacyStream?: ServerResponse;
  onEnd(session: MessageSession, reason: string): void;
  /** For tests and shared children: an upstream already open. */
  upstream?: MessagePipe;
  /** Whether responses carry Mcp-Session-Id (false for sessionless requests). Default true. */
  sessionHeaders?: boolean;
  limiter?: Limiter;
  observers?: CallObservers;
  gatekeeper?: Gatekeeper;
  /** Budget keys; by default the session id and an anonymous agent. */
  identity?: Identity;
}

const BUFFER_LIMIT = 1000;

export function createMessageSession(opts: MessageSessionOptions): MessageSession {
  const { id, server, log } = opts;
  const pending = new Map<string, PendingPost>();
  const buffered: string[] = [];
  let getStream: ServerResponse | undefined = opts.legacyStream;
  let ended = false;
  const sessionHeader = opts.legacyStream || opts.sessionHeaders === false ? {} : { 'mcp-session-id': id };

  const writeEvent = (res: ServerResponse, raw: string): void => {
    res.write(sseEvent(raw));
  };
  const startSse = (p: PendingPost): void => {
    p.sse = true;
    p.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...sessionHeader });
  };

  const toClient = (raw: string, parsed?: unknown): void => {
    session.lastActivity = Date.now();
    if (opts.legacyStream) return writeEvent(opts.legacyStream, raw);
    let message: { id?: unknown; method?: unknown; params?: { progressToken?: unknown } };
    try {
      message = (parsed ?? JSON.parse(raw)) as typeof message;
    } catch {
      log.warn(`server "${server}" sent a frame that is not JSON; dropped`);
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const isResponse = message.method === undefined && (typeof message.id === 'string' || typeof message.id === 'number');
    if (isResponse) {
      const key = idKey(message.id as JsonRpcId);
      const p = pending.get(key);
      if (!p) return;
      pending.delete(key);
      if (p.sse) {
        writeEvent(p.res, raw);
        p.res.end();
      } else sendJson(p.res, 200, raw, sessionHeader);
      return;
    }
    const target = routeFor(message);
    if (target) {
      if (!target.sse) startSse(target);
      return writeEvent(target.res, raw);
    }
    if (getStream) return writeEvent(getStream, raw);
    if (buffered.length >= BUFFER_LIMIT) buffered.shift();
    buffered.push(raw);
  };

  /** Progress goes to the request it reports on; other server messages to the newest open request, if any. */
  const routeFor = (message: { method?: unknown; params?: { progressToken?: unknown } }): PendingPost | undefined => {
    const token = message.method === 'notifications/progress' ? message.params?.progressToken : undefined;
    let newest: PendingPost | undefined;
    for (const p of pending.values()) {
      if (!p.acceptsSse) continue;
      if (token !== undefined && p.progressToken === token) return p;
      newest = p;
    }
    return token !== undefined && getStream ? undefined : newest;
  };

  const client: MessagePipe = { send: toClient, close() {} };
  const upstream = opts.upstream ?? openUpstream(opts.config, upstreamFrameLimit(opts.maxBytes), log);
  const relay: Relay = createRelay({
    server,
    policy: opts.policy,
    client,
    upstream,
    ...(opts.limiter && { limiter: opts.limiter }),
    ...(opts.observers && { observers: opts.observers }),
    gatekeeper: opts.gatekeeper,
    identity: opts.identity ?? { session: id, agent: 'anonymous' },
    onEnd: (side, reason) => session.close(side === 'upstream' ? `server "${server}" ended the session: ${reason ?? 'closed'}` : 'client closed'),
    onRefreshError: (err) => log.warn(`server "${server}" said its tools changed, but listing them failed: ${err.message}`),
  });

  const respond = (req: IncomingMessage, res: ServerResponse, verdict: Verdict): void => {
    if (verdict.kind === 'answer') {
      if (opts.legacyStream) {
        if (verdict.reply) writeEvent(opts.legacyStream, JSON.stringify(verdict.reply));
        res.writeHead(202).end();
        return;
      }
      return sendReply(res, verdict.reply, verdict.malformed ? 400 : 200, sessionHeader);
    }
    const m = verdict.message;
    const isRequest = typeof m.method === 'string' && m.id !== undefined;
    if (!isRequest || opts.legacyStream) {
      res.writeHead(202, sessionHeader).end();
      return;
    }
    const rid = m.id as JsonRpcId;
    const meta = (m.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
    const p: PendingPost = { res, id: rid, sse: false, acceptsSse: acceptsEventStream(req), progressToken: meta?.progressToken };
    // JSON is cheaper, and we switch to SSE when a message precedes the answer; a client that lists
    // text/event-stream first in Accept prefers a stream from the start, as SDK servers give it.
    if (prefersEventStream(req)) startSse(p);
    const key = idKey(rid);
    pending.set(key, p);
    res.on('close', () => {
      if (pending.get(key) === p) pending.delete(key);
    });
  };

  const session: MessageSession = {
    id,
    lastActivity: Date.now(),
    hasStream: () => getStream !== undefined,
    handlePost(req, res, raw, headers) {
      session.lastActivity = Date.now();
      const verdict = relay.fromClient(raw, headers);
      if (verdict instanceof Promise) void verdict.then((v) => respond(req, res, v));
      else respond(req, res, verdict);
    },
    handleGet(res) {
      session.lastActivity = Date.now();
      getStream?.end();
      getStream = res;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...sessionHeader });
      res.flushHeaders();
      res.on('close', () => {
        if (getStream === res) getStream = undefined;
      });
      for (const raw of buffered.splice(0)) writeEvent(res, raw);
    },
    close(reason) {
      if (ended) return;
      ended = true;
      relay.close();
      for (const p of pending.values()) {
        const err = JSON.stringify(errorResponse(p.id, RpcCode.UPSTREAM_UNAVAILABLE, reason));
        if (p.sse) {
          writeEvent(p.res, err);
          p.res.end();
        } else sendJson(p.res, 200, err, sessionHeader);
      }
      pending.clear();
      getStream?.end();
      opts.onEnd(session, reason);
    },
  };
  if (opts.legacyStream) opts.legacyStream.on('close', () => session.close('client closed the SSE stream'));
  return session;
}
