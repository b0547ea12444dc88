// The `start` listener: every configured server at /mcp/<server> (Streamable HTTP) and /mcp/<server>/sse (legacy).
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverPolicy, type LivePolicy } from '../config/live.js';
import type { ServerConfig } from '../config/schema.js';
import { RpcCode } from '../errors.js';
import type { Logger } from '../log.js';
import { createHostGuard } from './http-guard.js';
import { answerClientError, createRequestHandler } from './http-routes.js';
import { clientAddress, createListenerLimits, SessionTable, type Slot } from './listener-limits.js';
import { answerVerdict, createHttpLister, createPipeTarget, pipeRequest, type PipeTarget } from './http-pipe.js';
import { createCallPipeline, type CallOptions, type CallSession, type Forward } from './pipeline.js';
import { createToolsRefresher, type ToolsRefresher } from './tools-refresh.js';
import { abortOnClose, acceptsEventStream, bodyRequestId, BodyTooLarge, header, isInitialize, readBody, requestId, sendJson, sendRpcError, standardHeaders, startEventStream, tooLarge } from './http-util.js';
import { createGatekeeper } from '../approvals/gatekeeper.js';
import { createApprovalEvents } from '../approvals/events.js';
import { guardAllowances, startWebhook } from '../approvals/webhook.js';
import { openGatewayAudit } from '../audit/gateway-audit.js';
import { createToolWatch } from '../catalog/watch.js';
import type { ToolsSeen } from './tools-filter.js';
import { createLimiter, type Identity } from './admission.js';
import type { AgentIdentity } from '../agents/identity.js';
import { createAgentAuth } from '../agents/gateway-auth.js';
import { resourceMetadata } from '../agents/metadata.js';
import { createHttpAuth } from './http-auth.js';
import { createAdminApi } from '../admin/api.js';
import { createApprovalLinks } from '../admin/approvals-api.js';
import { createGatewayMetrics } from '../admin/metrics.js';
import type { CallEnd, CallObservers } from './call-observers.js';
import type { TraceCarrier } from './tracing.js';
import { errorResponse, type JsonRpcId } from './jsonrpc.js';
import { sseEvent } from '../transport/sse.js';
import { createMessageSession, type MessageSession } from './message-session.js';
import { createSharedUpstream, type SharedUpstream } from './shared-upstream.js';
import type { MessagePipe } from '../transport/message-pipe.js';
import { openUpstream, upstreamFrameLimit } from '../transport/upstream.js';

type Session =
  | {
      kind: 'pipe';
      id: string;
      server: string;
      upstreamSession: string;
      lastActivity: number;
      /** The session's calls in the pipeline: a cancel (a separate POST) or the session's end reaches them. */
      calls: CallSession;
      /** The protocol version the client last sent (the gateway's own tools/list speaks it too). */
      protocol?: string | undefined;
      /** Lists the tools after the server announces a change (with a catalogue to keep). */
      refresher?: ToolsRefresher | undefined;
      slot: Slot;
      /** The agent that opened it: only that agent's requests are served on it. */
      agent: string;
    }
  | { kind: 'message'; id: string; server: string; session: MessageSession; slot: Slot; agent: string };

export interface HttpGateway {
  url: string;
  server: http.Server;
  sessionCount(): number;
  close(): Promise<void>;
}

export async function startHttpGateway(live: LivePolicy, log: Logger): Promise<HttpGateway> {
  // Removing a session from the table frees its slot under gateway.sessions' caps.
  const sessions = new SessionTable<Session>();
  const limits = createListenerLimits(() => gw().sessions);
  const metrics = createGatewayMetrics();
  const audit = await openGatewayAudit(live, log, metrics);
  const observers: CallObservers = { audit, metrics, tools: createToolWatch(live.catalog, audit?.record) };
  const toolsSeen = (server: string): ToolsSeen | undefined => (observers.tools ? (tools, last) => observers.tools!(server, tools, last) : undefined);
  metrics.gauge('sessions', () => sessions.size);
  const limiter = createLimiter(() => live.current().config, log, metrics);
  const approvalEvents = createApprovalEvents((err) => log.warn(`an approval listener failed: ${err.message}`));
  const gatekeeper = createGatekeeper({ state: () => ({ url: gw().state, prefix: gw().state_prefix }), log, redaction: () => live.current().config.audit, onRequested: (r) => approvalEvents.emit('requested', r) });
  const admin = createAdminApi({ gateway: () => gw(), audit, metrics: metrics.registry, approvals: gatekeeper.store, approvalEvents, log });
  const links = createApprovalLinks({ store: gatekeeper.store, secret: () => gw().approvals?.webhook?.secret, audit, log });
  const webhook = startWebhook({ config: () => gw().approvals?.webhook, events: approvalEvents, listenUrl: () => url, log });
  metrics.gauge('approvals_held', () => gatekeeper.held());
  limiter.prepare();
  const targets = new Map<string, PipeTarget>();
  const gw = () => live.current().config.gateway;

  const pipeTarget = (cfg: ServerConfig): PipeTarget => {
    const key = `${cfg.url}\n${JSON.stringify(cfg.headers ?? {})}`;
    let t = targets.get(key);
    if (!t) targets.set(key, (t = createPipeTarget(cfg.url!, cfg.headers ?? {})));
    return t;
  };

  const shared = new Map<string, SharedUpstream>();
  /** The one child serving `shared: true` sessions, or sessionless (2026-07-28) requests, of a stdio server. */
  const sharedChannel = (name: string, cfg: ServerConfig, purpose: 'sessions' | 'sessionless'): MessagePipe => {
    const key = `${name}\n${purpose}`;
    let s = shared.get(key);
    if (!s) {
      const upstreamLimit = upstreamFrameLimit(gw().max_message_bytes);
      shared.set(key, (s = createSharedUpstream(() => openUpstream(cfg, upstreamLimit, log))));
    }
    return s.channel();
  };

  const openMessageSession = (name: string, cfg: ServerConfig, slot: Slot, who: AgentIdentity, legacyStream?: ServerResponse, upstream?: MessagePipe): MessageSession => {
    const id = randomUUID();
    const session = createMessageSession({
      id,
      server: name,
      config: cfg,
      policy: () => serverPolicy(live, name),
      maxBytes: gw().max_message_bytes,
      log,
      limiter,
      observers,
      gatekeeper,
      identity: { session: id, agent: who.agent },
      ...(legacyStream && { legacyStream }),
      ...(upstream ? { upstream } : cfg.command && cfg.shared ? { upstream: sharedChannel(name, cfg, 'sessions') } : {}),
      onEnd: (_s, reason) => {
        sessions.delete(id);
        log.debug(`session ${id} on "${name}" ended: ${reason}`);
      },
    });
    slot.adopt();
    sessions.set(id, { kind: 'message', id, server: name, session, slot, agent: who.agent });
    return session;
  };

  /** A session on a remote Streamable HTTP server, renamed; with a catalogue, it lists the tools on a change notice. */
  const pipeSession = (id: string, name: string, cfg: ServerConfig, upstreamSession: string, slot: Slot, who: AgentIdentity): Session & { kind: 'pipe' } => {
    // `calls` and `refresher` read the session's protocol: they are set right below.
    const session = { kind: 'pipe', id, server: name, upstreamSession, lastActivity: Date.now(), slot, agent: who.agent } as Session & { kind: 'pipe' };
    slot.adopt();
    const seen = toolsSeen(name);
    if (seen) {
      const list = createHttpLister(pipeTarget(cfg), upstreamSession, () => session.protocol);
      session.refresher = createToolsRefresher(list, seen, (err) => log.warn(`server "${name}" said its tools changed, but listing them failed: ${err.message}`));
    }
    session.calls = pipeline(name).session({ identity: { session: id, agent: who.agent }, protocol: () => session.protocol, refresher: session.refresher });
    return session;
  };
  /** A remote session ends: its held calls are withdrawn (forwarded ones keep their budget) and its slot is freed. */
  const endPipeSession = (s: Session & { kind: 'pipe' }): void => {
    s.calls.abandon('cancelled');
    sessions.delete(s.id);
  };
  /** The call pipeline of a remote server's requests (message sessions build their own, in the relay). */
  const pipeline = (name: string) => createCallPipeline({ server: name, policy: () => serverPolicy(live, name), limiter, observers, gatekeeper });

  async function handlePost(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig, sub: string | undefined, who: AgentIdentity): Promise<void> {
    const limit = gw().max_message_bytes;
    let raw: string;
    try {
      raw = await readBody(req, limit);
    } catch (err) {
      if (err instanceof BodyTooLarge) return tooLarge(res, limit);
      throw err;
    }
    const headers = standardHeaders(req);
    const sid = sub === '/messages' ? new URL(req.url ?? '', 'http://x').searchParams.get('sessionId') ?? undefined : header(req, 'mcp-session-id');
    if (sid !== undefined) {
      const s = sessions.get(sid);
      if (!s || s.server !== name) return sendRpcError(res, 404, RpcCode.UPSTREAM_UNAVAILABLE, 'Session not found: it ended or never existed; send initialize again');
      if (s.agent !== who.agent) return notYours(res);
      if (s.kind === 'message') return s.session.handlePost(req, res, raw, headers);
      s.lastActivity = Date.now();
      s.protocol = header(req, 'mcp-protocol-version') ?? s.protocol;
      const verdict = await s.calls.decide(raw, headers, callOptions(req, res, sid));
      if (verdict.kind === 'answer') return answerVerdict(res, verdict, sid);
      await pipeRequest(pipeTarget(cfg), req, res, {
        ...forwarding(verdict, s.calls),
        method: 'POST',
        body: verdict.raw,
        upstreamSession: s.upstreamSession,
        sessionHeader: () => sid,
        replyToId: requestId(verdict.message),
        ...(verdict.listId !== undefined && { filter: { policy: () => serverPolicy(live, name), agent: who.agent, seen: toolsSeen(name) } }),
      });
      return;
    }
    if (sub === '/messages') return sendRpcError(res, 400, RpcCode.INVALID_REQUEST, 'POST /messages needs ?sessionId= from the SSE endpoint event');
    const initialize = raw.includes('"initialize"') && isInitialize(raw);
    const slot = claimSlot(req, res, initialize && cfg.command !== undefined && !cfg.shared, raw);
    if (!slot) return;
    if (!cfg.url || cfg.transport === 'sse') {
      if (initialize) return openMessageSession(name, cfg, slot, who).handlePost(req, res, raw, headers);
      if (!cfg.command) {
        return sendRpcError(res, 400, RpcCode.INVALID_REQUEST, 'Bad Request: Mcp-Session-Id header is required; start with an initialize request');
      }
      // Sessionless (2026-07-28 style) request to a stdio server: one short-lived session on the shared child.
      const once = createMessageSession({
        id: randomUUID(),
        server: name,
        config: cfg,
        policy: () => serverPolicy(live, name),
        maxBytes: gw().max_message_bytes,
        log,
        upstream: sharedChannel(name, cfg, 'sessionless'),
        sessionHeaders: false,
        limiter,
        observers,
        gatekeeper,
        identity: connectionIdentity(req, who),
        onEnd: () => undefined,
      });
      res.on('close', () => once.close('request finished'));
      return once.handlePost(req, res, raw, headers);
    }
    // A remote Streamable HTTP server: decide, forward, stream back; sessions are the upstream's, renamed.
    const calls = pipeline(name).session({ identity: connectionIdentity(req, who), protocol: () => header(req, 'mcp-protocol-version') });
    const verdict = await calls.decide(raw, headers, callOptions(req, res));
    if (verdict.kind === 'answer') return answerVerdict(res, verdict);
    await pipeRequest(pipeTarget(cfg), req, res, {
      ...forwarding(verdict, calls),
      method: 'POST',
      body: verdict.raw,
      replyToId: requestId(verdict.message),
      sessionHeader: (upstreamSession) => {
        if (!initialize || upstreamSession === undefined) return undefined;
        const id = randomUUID();
        sessions.set(id, pipeSession(id, name, cfg, upstreamSession, slot, who));
        return id;
      },
      beforeHead: (status) => {
        if (!(initialize && cfg.transport === 'auto' && [400, 404, 405].includes(status))) return false;
        log.info(`server "${name}" (${cfg.url}) does not speak Streamable HTTP (HTTP ${status}); using legacy SSE`);
        openMessageSession(name, { ...cfg, transport: 'sse' }, slot, who).handlePost(req, res, raw, headers);
        return true;
      },
      ...(verdict.listId !== undefined && { filter: { policy: () => serverPolicy(live, name), agent: who.agent, seen: toolsSeen(name) } }),
    });
  }

  /** A held call's POST: withdrawn when the client goes away; progress, when asked for, turns the answer into a stream. */
  function callOptions(req: IncomingMessage, res: ServerResponse, sid?: string): CallOptions {
    const notify = acceptsEventStream(req)
      ? (message: Record<string, unknown>) => {
          if (!res.headersSent) startEventStream(res, sid === undefined ? undefined : { 'mcp-session-id': sid });
          res.write(sseEvent(JSON.stringify(message)));
        }
      : undefined;
    return { signal: abortOnClose(res), notify };
  }
  /** A forwarded call's end, when its HTTP answer ends, settles it in the pipeline (budget, audit record). */
  function forwarding(verdict: Forward, calls: CallSession): { onOutcome?: (end: CallEnd) => void; trace?: TraceCarrier } {
    if (!verdict.tool) return {};
    const id = verdict.message.id as JsonRpcId;
    return { onOutcome: (end) => calls.ended(id, end), ...(verdict.trace && { trace: verdict.trace }) };
  }

  async function handleGetOrDelete(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig, who: AgentIdentity): Promise<void> {
    const sid = header(req, 'mcp-session-id');
    const s = sid === undefined ? undefined : sessions.get(sid);
    if (sid !== undefined && (!s || s.server !== name)) return sendRpcError(res, 404, RpcCode.UPSTREAM_UNAVAILABLE, 'Session not found');
    if (s && s.agent !== who.agent) return notYours(res);
    const method = req.method as 'GET' | 'DELETE';
    if (s?.kind === 'message') {
      if (method === 'GET') return s.session.handleGet(res);
      s.session.close('client ended the session');
      res.writeHead(200).end();
      return;
    }
    if (!cfg.url || cfg.transport === 'sse') return sendRpcError(res, 405, RpcCode.INVALID_REQUEST, 'Method not allowed without a session');
    if (s && method === 'DELETE') endPipeSession(s);
    if (s) {
      s.lastActivity = Date.now();
      s.protocol = header(req, 'mcp-protocol-version') ?? s.protocol;
    }
    await pipeRequest(pipeTarget(cfg), req, res, {
      method,
      filterStream: { policy: () => serverPolicy(live, name), agent: who.agent, seen: toolsSeen(name), onToolsChanged: s?.refresher && (() => s.refresher!.refresh()) },
      ...(s && { upstreamSession: s.upstreamSession, sessionHeader: () => s.id }),
    });
  }

  function handleLegacyStream(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig, who: AgentIdentity): void {
    const slot = claimSlot(req, res, cfg.command !== undefined && !cfg.shared);
    if (!slot) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const session = openMessageSession(name, cfg, slot, who, res);
    res.write(`event: endpoint\ndata: /mcp/${encodeURIComponent(name)}/messages?sessionId=${session.id}\n\n`);
  }

  /**
   * A slot under gateway.sessions' caps for the session this request may open (kept if it opens one, freed when the
   * request ends otherwise). Over a cap the request is answered 503 with Retry-After: nothing started, nothing forwarded.
   */
  function claimSlot(req: IncomingMessage, res: ServerResponse, spawns: boolean, raw?: string): Slot | undefined {
    const claimed = limits.claim(clientAddress(req.socket.remoteAddress), spawns);
    if (!claimed.ok) {
      const { refusal } = claimed;
      metrics.sessionRefused(refusal.cap);
      log.debug(`session refused: ${refusal.message}`);
      const data = { cap: refusal.key, limit: refusal.limit, retryAfterSeconds: refusal.retryAfterSeconds };
      const reply = errorResponse(raw === undefined ? null : bodyRequestId(raw), RpcCode.OVER_CAPACITY, `Service unavailable: ${refusal.message}`, data);
      return void sendJson(res, 503, reply, { 'retry-after': String(refusal.retryAfterSeconds) });
    }
    const { slot } = claimed;
    res.once('close', () => slot.adopted || slot.release());
    return slot;
  }

  const healthReport = () => {
    const state = limiter.health() ?? { ok: true, detail: `${gw().state} (not opened yet: no call has needed it)` };
    return { status: state.ok ? 'ok' : 'degraded', servers: Object.keys(live.current().config.servers), sessions: sessions.size, state };
  };

  let guard = createHostGuard('127.0.0.1', 0, [], []);
  const servers = () => live.current().config.servers;
  const mcp = { post: handlePost, legacyStream: handleLegacyStream, getOrDelete: handleGetOrDelete };
  const auth = createHttpAuth({ auth: createAgentAuth(live, log), baseUrl: () => gw().auth?.public_url?.replace(/\/+$/, '') ?? url, metadata: (server, resource) => resourceMetadata(gw().auth?.jwt, resource), servers });
  const server = http.createServer(createRequestHandler({ guard: () => guard, admin, links, health: healthReport, servers, auth, mcp }, log));
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 65_000;

  // Checked at a quarter of the idle timeout (at most once a minute), so that a short timeout is kept closely.
  let sweep: NodeJS.Timeout;
  const sweepIdle = (): void => {
    const idle = limits.idleMs();
    const cutoff = Date.now() - idle;
    for (const s of sessions.values()) {
      if (s.kind === 'pipe' && s.lastActivity < cutoff) endPipeSession(s);
      if (s.kind === 'message' && s.session.lastActivity < cutoff && !s.session.hasStream()) s.session.close(`idle for ${gw().sessions.idle_timeout} (gateway.sessions.idle_timeout)`);
    }
    sweep = setTimeout(sweepIdle, Math.min(60_000, Math.max(250, idle / 4)));
    sweep.unref();
  };
  sweepIdle();

  const { host, port } = splitListen(gw().listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  // Once listening, a failed accept (EMFILE: out of file descriptors) is logged; without a listener it would be fatal.
  server.on('error', (err) => log.error(`the listener failed to accept a connection: ${err.message}`));
  const actual = (server.address() as AddressInfo).port;
  guard = createHostGuard(host, actual, ...guardAllowances(gw()));
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${actual}`;
  return {
    url,
    server,
    sessionCount: () => sessions.size,
    close: async () => {
      clearInterval(sweep);
      webhook.close();
      for (const s of sessions.values()) if (s.kind === 'message') s.session.close('gateway shutting down');
      sessions.clear();
      for (const t of targets.values()) t.agent.destroy();
      for (const s of shared.values()) s.close();
      await limiter.close();
      await gatekeeper.close();
      await audit?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Budget key of a request without an MCP session (2026-07-28, stateless servers): its agent and connection. */
function connectionIdentity(req: IncomingMessage, who: AgentIdentity): Identity {
  return { session: `conn:${who.agent}:${req.socket.remoteAddress}:${req.socket.remotePort}`, agent: who.agent };
}

/** A session id is not a credential: another agent's request on it is refused, never served. */
function notYours(res: ServerResponse): void {
  sendRpcError(res, 403, RpcCode.INVALID_REQUEST, 'Forbidden: this session was opened by another agent');
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(listen.slice(i + 1)) };
}
