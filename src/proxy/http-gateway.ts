// The `start` listener: every configured server at /mcp/<server> (Streamable HTTP) and /mcp/<server>/sse (legacy).
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverPolicy, type LivePolicy } from '../config/live.js';
import type { ServerConfig } from '../config/schema.js';
import { RpcCode } from '../errors.js';
import type { Logger } from '../log.js';
import { createHostGuard } from './http-guard.js';
import { answerVerdict, createHttpLister, createPipeTarget, pipeRequest, type PipeTarget } from './http-pipe.js';
import { createToolsRefresher, type ToolsRefresher } from './tools-refresh.js';
import { abortOnClose, BodyTooLarge, header, isInitialize, readBody, requestId, sendRpcError, standardHeaders, tooLarge } from './http-util.js';
import { createGatekeeper } from '../approvals/gatekeeper.js';
import { createApprovalEvents } from '../approvals/events.js';
import { LINK_PATH, guardAllowances, startWebhook } from '../approvals/webhook.js';
import { openGatewayAudit } from '../audit/gateway-audit.js';
import { gateVerdict, needsApproval } from './approval-gate.js';
import { createToolWatch } from '../catalog/watch.js';
import type { ToolsSeen } from './tools-filter.js';
import { admitVerdict, createLimiter, needsAdmission, type Identity, type Outcome } from './admission.js';
import { createAdminApi } from '../admin/api.js';
import { createApprovalLinks } from '../admin/approvals-api.js';
import { createGatewayMetrics } from '../admin/metrics.js';
import { observeVerdict, type CallEnd, type CallObservers } from './call-observers.js';
import { idKey, unrecordedRefusal, type Pending } from './relay.js';
import type { TraceCarrier } from './tracing.js';
import { inspectClientFrame, type StandardHeaders, type Verdict } from './inspect.js';
import type { JsonRpcId } from './jsonrpc.js';
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
      /** Forwarded calls of this session, so that a cancel (a separate POST) can end them. */
      inflight: Map<string, Pending>;
      /** The protocol version the client last sent (the gateway's own tools/list speaks it too). */
      protocol?: string | undefined;
      /** Lists the tools after the server announces a change (with a catalogue to keep). */
      refresher?: ToolsRefresher | undefined;
    }
  | { kind: 'message'; id: string; server: string; session: MessageSession };

export interface HttpGateway {
  url: string;
  server: http.Server;
  sessionCount(): number;
  close(): Promise<void>;
}

const IDLE_MS = 30 * 60 * 1000;
const ROUTE = /^\/mcp\/([^/?]+)(\/sse|\/messages)?\/?$/;

export async function startHttpGateway(live: LivePolicy, log: Logger): Promise<HttpGateway> {
  const sessions = new Map<string, Session>();
  const metrics = createGatewayMetrics();
  const audit = await openGatewayAudit(live, log, metrics);
  const observers: CallObservers = { audit, metrics, tools: createToolWatch(live.catalog, audit?.record) };
  const toolsSeen = (server: string): ToolsSeen | undefined => (observers.tools ? (tools, last) => observers.tools!(server, tools, last) : undefined);
  metrics.gauge('sessions', () => sessions.size);
  const limiter = createLimiter(() => live.current().config, log, metrics);
  const approvalEvents = createApprovalEvents((err) => log.warn(`an approval listener failed: ${err.message}`));
  const gatekeeper = createGatekeeper({ state: () => ({ url: gw().state, prefix: gw().state_prefix }), log, onRequested: (r) => approvalEvents.emit('requested', r) });
  const admin = createAdminApi({ token: () => gw().admin_token, audit: () => audit?.sink, metrics: metrics.registry, approvals: gatekeeper.store, approvalEvents });
  const links = createApprovalLinks({ store: gatekeeper.store, secret: () => gw().approvals?.webhook?.secret });
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

  const openMessageSession = (name: string, cfg: ServerConfig, legacyStream?: ServerResponse, upstream?: MessagePipe): MessageSession => {
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
      ...(legacyStream && { legacyStream }),
      ...(upstream ? { upstream } : cfg.command && cfg.shared ? { upstream: sharedChannel(name, cfg, 'sessions') } : {}),
      onEnd: (_s, reason) => {
        sessions.delete(id);
        log.debug(`session ${id} on "${name}" ended: ${reason}`);
      },
    });
    sessions.set(id, { kind: 'message', id, server: name, session });
    return session;
  };

  /** A session on a remote Streamable HTTP server, renamed; with a catalogue, it lists the tools on a change notice. */
  const pipeSession = (id: string, name: string, cfg: ServerConfig, upstreamSession: string): Session & { kind: 'pipe' } => {
    const session: Session & { kind: 'pipe' } = { kind: 'pipe', id, server: name, upstreamSession, lastActivity: Date.now(), inflight: new Map() };
    const seen = toolsSeen(name);
    if (seen) {
      const list = createHttpLister(pipeTarget(cfg), upstreamSession, () => session.protocol);
      session.refresher = createToolsRefresher(list, seen, (err) => log.warn(`server "${name}" said its tools changed, but listing them failed: ${err.message}`));
    }
    return session;
  };

  async function handlePost(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig, sub: string | undefined): Promise<void> {
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
      if (s.kind === 'message') return s.session.handlePost(req, res, raw, headers);
      s.lastActivity = Date.now();
      s.protocol = header(req, 'mcp-protocol-version') ?? s.protocol;
      // After the server announced that its tools changed, requests wait until the gateway has listed them.
      const held = s.refresher?.holds(raw);
      if (held) await held;
      const identity = { session: sid, agent: 'anonymous' };
      const verdict = await decided(raw, name, headers, identity, req, res);
      if (verdict.kind === 'answer') return answerVerdict(res, verdict, sid);
      if (verdict.message.method === 'notifications/cancelled') settleCancelled(s.inflight, verdict.message);
      await pipeRequest(pipeTarget(cfg), req, res, {
        ...settleOnOutcome(verdict, s.inflight),
        method: 'POST',
        body: verdict.raw,
        upstreamSession: s.upstreamSession,
        sessionHeader: () => sid,
        replyToId: requestId(verdict.message),
        ...(verdict.listId !== undefined && { filter: { policy: () => serverPolicy(live, name), seen: toolsSeen(name) } }),
      });
      return;
    }
    if (sub === '/messages') return sendRpcError(res, 400, RpcCode.INVALID_REQUEST, 'POST /messages needs ?sessionId= from the SSE endpoint event');
    const initialize = raw.includes('"initialize"') && isInitialize(raw);
    if (!cfg.url || cfg.transport === 'sse') {
      if (initialize) return openMessageSession(name, cfg).handlePost(req, res, raw, headers);
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
        identity: connectionIdentity(req),
        onEnd: () => undefined,
      });
      res.on('close', () => once.close('request finished'));
      return once.handlePost(req, res, raw, headers);
    }
    // A remote Streamable HTTP server: decide, forward, stream back; sessions are the upstream's, renamed.
    const verdict = await decided(raw, name, headers, connectionIdentity(req), req, res);
    if (verdict.kind === 'answer') return answerVerdict(res, verdict);
    await pipeRequest(pipeTarget(cfg), req, res, {
      ...settleOnOutcome(verdict),
      method: 'POST',
      body: verdict.raw,
      replyToId: requestId(verdict.message),
      sessionHeader: (upstreamSession) => {
        if (!initialize || upstreamSession === undefined) return undefined;
        const id = randomUUID();
        sessions.set(id, pipeSession(id, name, cfg, upstreamSession));
        return id;
      },
      beforeHead: (status) => {
        if (!(initialize && cfg.transport === 'auto' && [400, 404, 405].includes(status))) return false;
        log.info(`server "${name}" (${cfg.url}) does not speak Streamable HTTP (HTTP ${status}); using legacy SSE`);
        openMessageSession(name, { ...cfg, transport: 'sse' }).handlePost(req, res, raw, headers);
        return true;
      },
      ...(verdict.listId !== undefined && { filter: { policy: () => serverPolicy(live, name), seen: toolsSeen(name) } }),
    });
  }

  /**
   * Decides a frame for an HTTP upstream: admits an allowed call with limits against the state store and records
   * tool calls in the audit log (waiting for the record under strict durability); other frames pass as they are.
   */
  async function decided(
    raw: string,
    server: string,
    headers: StandardHeaders | undefined,
    identity: Identity,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Verdict> {
    const startedAt = performance.now();
    const first = inspectClientFrame(raw, server, serverPolicy(live, server), headers);
    const gated = needsApproval(first) ? await gateVerdict(first, gatekeeper, server, identity, abortOnClose(res)) : first;
    const verdict = needsAdmission(gated) ? await admitVerdict(gated, limiter, server, identity) : gated;
    const protocol = header(req, 'mcp-protocol-version');
    const context = { server, session: identity.session, agent: identity.agent, protocol, trace: headers?.trace };
    const observed = observeVerdict(observers, verdict, context, startedAt);
    if (verdict.kind !== 'forward') return verdict;
    if (observed?.committed) {
      try {
        await observed.committed;
      } catch (err) {
        if (verdict.ticket) limiter.settle(verdict.ticket, 'failed');
        return unrecordedRefusal(verdict, server, err);
      }
    }
    if (!observed?.finish) return verdict;
    return { ...verdict, finish: observed.finish, ...(observed.trace && { trace: observed.trace }) };
  }
  /** Settles the call's reservation and audit record when its answer ends; a session also tracks it for cancels. */
  function settleOnOutcome(verdict: Verdict, inflight?: Map<string, Pending>): { onOutcome?: (o: Outcome) => void; trace?: TraceCarrier } {
    if (verdict.kind !== 'forward' || (!verdict.ticket && !verdict.finish)) return {};
    const pending: Pending = { ticket: verdict.ticket, finish: verdict.finish };
    const key = idKey(verdict.message.id as JsonRpcId);
    inflight?.set(key, pending);
    return {
      ...(verdict.trace && { trace: verdict.trace }),
      onOutcome: (o) => {
        if (inflight && inflight.get(key) !== pending) return; // already ended by a cancel
        inflight?.delete(key);
        endPending(pending, o);
      },
    };
  }
  function endPending(pending: Pending, end: CallEnd): void {
    if (pending.ticket) limiter.settle(pending.ticket, end === 'cancelled' ? 'failed' : end);
    pending.finish?.(end);
  }
  function settleCancelled(inflight: Map<string, Pending>, message: Record<string, unknown>): void {
    const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const pending = inflight.get(idKey(requestId));
    if (!pending) return;
    inflight.delete(idKey(requestId));
    endPending(pending, 'cancelled');
  }

  async function handleGetOrDelete(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig): Promise<void> {
    const sid = header(req, 'mcp-session-id');
    const s = sid === undefined ? undefined : sessions.get(sid);
    if (sid !== undefined && (!s || s.server !== name)) return sendRpcError(res, 404, RpcCode.UPSTREAM_UNAVAILABLE, 'Session not found');
    const method = req.method as 'GET' | 'DELETE';
    if (s?.kind === 'message') {
      if (method === 'GET') return s.session.handleGet(res);
      s.session.close('client ended the session');
      res.writeHead(200).end();
      return;
    }
    if (!cfg.url || cfg.transport === 'sse') return sendRpcError(res, 405, RpcCode.INVALID_REQUEST, 'Method not allowed without a session');
    if (s && method === 'DELETE') sessions.delete(s.id);
    if (s) {
      s.lastActivity = Date.now();
      s.protocol = header(req, 'mcp-protocol-version') ?? s.protocol;
    }
    await pipeRequest(pipeTarget(cfg), req, res, {
      method,
      filterStream: { policy: () => serverPolicy(live, name), seen: toolsSeen(name), onToolsChanged: s?.refresher && (() => s.refresher!.refresh()) },
      ...(s && { upstreamSession: s.upstreamSession, sessionHeader: () => s.id }),
    });
  }

  function handleLegacyStream(res: ServerResponse, name: string, cfg: ServerConfig): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const session = openMessageSession(name, cfg, res);
    res.write(`event: endpoint\ndata: /mcp/${encodeURIComponent(name)}/messages?sessionId=${session.id}\n\n`);
  }

  const healthReport = () => {
    const state = limiter.health() ?? { ok: true, detail: `${gw().state} (not opened yet: no call has needed it)` };
    return { status: state.ok ? 'ok' : 'degraded', servers: Object.keys(live.current().config.servers), sessions: sessions.size, state };
  };

  let guard = createHostGuard('127.0.0.1', 0, [], []);
  const server = http.createServer((req, res) => {
    const refused = guard.check(req);
    if (refused) return sendRpcError(res, 403, RpcCode.INVALID_REQUEST, `Forbidden: ${refused}`);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (admin.handle(req, res, path)) return;
    if (path.startsWith(LINK_PATH)) return links.handle(req, res, path);
    if (path === '/healthz' && req.method === 'GET') {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(healthReport()));
    }
    const m = ROUTE.exec(path);
    const name = m ? decodeURIComponent(m[1] ?? '') : undefined;
    const cfg = name !== undefined && Object.hasOwn(live.current().config.servers, name) ? live.current().config.servers[name] : undefined;
    if (!m || !name || !cfg) {
      const known = Object.keys(live.current().config.servers).map((s) => `/mcp/${s}`).join(', ');
      return sendRpcError(res, 404, RpcCode.INVALID_REQUEST, `Not found: ${path}. Servers are served at: ${known || '(none configured)'}`);
    }
    const sub = m[2];
    const work =
      req.method === 'POST' && sub !== '/sse'
        ? handlePost(req, res, name, cfg, sub)
        : req.method === 'GET' && sub === '/sse'
          ? (handleLegacyStream(res, name, cfg), Promise.resolve())
          : (req.method === 'GET' || req.method === 'DELETE') && sub === undefined
            ? handleGetOrDelete(req, res, name, cfg)
            : Promise.resolve(sendRpcError(res, 405, RpcCode.INVALID_REQUEST, `Method ${req.method} not allowed on ${path}`));
    work.catch((err: Error) => {
      log.error(`internal error on ${req.method} ${path}: ${err.stack ?? err.message}`);
      if (!res.headersSent) sendRpcError(res, 500, RpcCode.INTERNAL_ERROR, 'Internal error in the gateway; the request was not forwarded');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  const sweep = setInterval(() => {
    const cutoff = Date.now() - IDLE_MS;
    for (const s of sessions.values()) {
      if (s.kind === 'pipe' && s.lastActivity < cutoff) sessions.delete(s.id);
      if (s.kind === 'message' && s.session.lastActivity < cutoff && !s.session.hasStream()) s.session.close('idle for 30 minutes');
    }
  }, 60_000);
  sweep.unref();

  const { host, port } = splitListen(gw().listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
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

/** Budget key of a request without an MCP session (2026-07-28, stateless servers): its connection. */
function connectionIdentity(req: IncomingMessage): Identity {
  return { session: `conn:${req.socket.remoteAddress}:${req.socket.remotePort}`, agent: 'anonymous' };
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(listen.slice(i + 1)) };
}
