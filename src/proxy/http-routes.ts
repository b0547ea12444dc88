// The `start` listener's entry: the DNS-rebinding guard, then the route (admin API and /metrics, approval links,
// /healthz, /mcp/<server>[/sse|/messages]). No single request can stop the gateway: bad input is answered 400, and an
// unexpected throw, sync or async, is logged and answered 500 (or its socket destroyed once an answer has begun).
import { STATUS_CODES, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AdminApi } from '../admin/api.js';
import type { ApprovalLinks } from '../admin/approvals-api.js';
import { LINK_PATH } from '../approvals/webhook.js';
import type { ServerConfig } from '../config/schema.js';
import { RpcCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { AgentIdentity } from '../agents/identity.js';
import type { HttpAuth } from './http-auth.js';
import type { HostGuard } from './http-guard.js';
import { ClientGone, sendJson, sendRpcError } from './http-util.js';
import { errorResponse } from './jsonrpc.js';

export type McpSub = '/sse' | '/messages' | undefined;

/** What serves /mcp/<server>…: POSTs (also /messages), the legacy SSE stream, and a session's GET stream or DELETE. */
export interface McpHandlers {
  post(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig, sub: McpSub, who: AgentIdentity): Promise<void> | void;
  legacyStream(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig, who: AgentIdentity): void;
  getOrDelete(req: IncomingMessage, res: ServerResponse, name: string, cfg: ServerConfig, who: AgentIdentity): Promise<void> | void;
}

export interface Routes {
  /** Read per request: the guard is rebuilt once the listener knows its port. */
  guard: () => HostGuard;
  admin: AdminApi;
  links: ApprovalLinks;
  health: () => unknown;
  servers: () => Record<string, ServerConfig>;
  /** Who is calling, before any MCP path is served; the discovery document for clients told 401. */
  auth: HttpAuth;
  mcp: McpHandlers;
}

const ROUTE = /^\/mcp\/([^/?]+)(\/sse|\/messages)?\/?$/;
/** Paths are echoed in answers and logs; a 70 KB path is not. */
const SHOWN_PATH = 200;

/** The server name and sub-path of /mcp/<server>[/sse|/messages]; an error for a name that is not valid percent-encoding. */
export function parseMcpPath(path: string): { name: string; sub: McpSub } | { error: string } | undefined {
  const m = ROUTE.exec(path);
  if (!m) return undefined;
  try {
    return { name: decodeURIComponent(m[1] ?? ''), sub: m[2] as McpSub };
  } catch {
    return { error: `the server name in ${shown(path)} is not valid percent-encoding (a lone or malformed %XX escape)` };
  }
}

export function createRequestHandler(routes: Routes, log: Logger): RequestListener {
  const route = (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> | void => {
    const refused = routes.guard().check(req);
    if (refused) return sendRpcError(res, 403, RpcCode.INVALID_REQUEST, `Forbidden: ${refused}`);
    const admin = routes.admin.handle(req, res, path);
    if (admin !== false) return admin;
    if (path.startsWith(LINK_PATH)) return routes.links.handle(req, res, path);
    if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, routes.health());
    if (routes.auth.serveMetadata(req, res, path)) return;
    const m = parseMcpPath(path);
    if (m && 'error' in m) return sendRpcError(res, 400, RpcCode.INVALID_REQUEST, `Bad Request: ${m.error}`);
    const servers = routes.servers();
    const cfg = m && m.name !== '' && Object.hasOwn(servers, m.name) ? servers[m.name] : undefined;
    if (!m || !cfg) {
      const known = Object.keys(servers).map((s) => `/mcp/${s}`).join(', ');
      return sendRpcError(res, 404, RpcCode.INVALID_REQUEST, `Not found: ${shown(path)}. Servers are served at: ${known || '(none configured)'}`);
    }
    const serve = servedBy(req.method, m.sub);
    if (!serve) return sendRpcError(res, 405, RpcCode.INVALID_REQUEST, `Method ${req.method} not allowed on ${shown(path)}`);
    // Nothing of an MCP path is served before the caller is known and granted this server.
    const dispatch = (who: AgentIdentity | undefined): Promise<void> | void => {
      if (!who) return;
      if (serve === 'post') return routes.mcp.post(req, res, m.name, cfg, m.sub, who);
      if (serve === 'legacy') return routes.mcp.legacyStream(req, res, m.name, cfg, who);
      return routes.mcp.getOrDelete(req, res, m.name, cfg, who);
    };
    const who = routes.auth.authorize(req, res, m.name);
    return who instanceof Promise ? who.then(dispatch) : dispatch(who);
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const failed = (err: unknown): void => {
      if (err instanceof ClientGone) return void (log.debug(`${req.method} ${shown(path)}: ${err.message}`), res.destroy());
      const e = err instanceof Error ? err : new Error(String(err));
      log.error(`internal error on ${req.method} ${shown(path)}: ${e.stack ?? e.message}`);
      try {
        if (!res.headersSent) sendRpcError(res, 500, RpcCode.INTERNAL_ERROR, 'Internal error in the gateway; the request was not forwarded');
        else res.destroy();
      } catch {
        res.destroy();
      }
    };
    try {
      const work = route(req, res, path);
      if (work) work.catch(failed);
    } catch (err) {
      failed(err);
    }
  };
}

function servedBy(method: string | undefined, sub: McpSub): 'post' | 'legacy' | 'session' | undefined {
  if (method === 'POST' && sub !== '/sse') return 'post';
  if (method === 'GET' && sub === '/sse') return 'legacy';
  if ((method === 'GET' || method === 'DELETE') && sub === undefined) return 'session';
  return undefined;
}

/**
 * A request node:http could not parse (bad request line or headers, headers over its 16 KiB limit, too slow): a
 * JSON-RPC error instead of node's bare status line, then the connection is closed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Like node's own handler: only while no answer has started on this connection (keep-alive), else just close.
  const answering = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431
      ? 'Request Header Fields Too Large: the request headers exceed 16 KiB'
      : status === 408
        ? 'Request Timeout: the request did not arrive in time'
        : `Bad Request: not valid HTTP/1.1 (${err.code ?? err.message})`;
  const body = JSON.stringify(errorResponse(null, RpcCode.INVALID_REQUEST, message));
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

const shown = (path: string): string => (path.length > SHOWN_PATH ? `${path.slice(0, SHOWN_PATH)}… (${path.length} characters)` : path);
