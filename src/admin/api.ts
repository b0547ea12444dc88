// The admin HTTP API under /admin/ (audit queries, approvals) behind admin tokens with roles (no token configured, no
// API), and the Prometheus /metrics endpoint (open unless a token is configured, then role viewer).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { ApprovalEvents } from '../approvals/events.js';
import type { ApprovalStore } from '../approvals/store.js';
import { toCsv, toJsonl } from '../audit/format.js';
import { buildAuditFilter, queryCalls } from '../audit/query.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { header, sendJson } from '../proxy/http-util.js';
import { createApprovalsAdmin } from './approvals-api.js';
import { createAdminCredentials, requiredRole, roleAllows } from './roles.js';

export interface AdminApi {
  /** Answers /metrics and requests under /admin/ (settled once answered; a rejection is the listener's 500); false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): false | Promise<void>;
}

export interface AdminApiOptions {
  /** The gateway settings in force, read per request, so a reload can set, change or remove admin tokens. */
  gateway: () => Pick<GatewayConfig, 'admin_token' | 'admin_tokens'>;
  /** The gateway's audit log: queried by GET /admin/audit, and where admin actions are recorded. */
  audit: AuditRecorder | undefined;
  metrics: Registry;
  /** The gatekeeper's approval store, and its events (new approvals) for the live stream. */
  approvals: () => Promise<ApprovalStore>;
  approvalEvents: ApprovalEvents;
  log: Pick<Logger, 'warn' | 'error'>;
}

const ENDPOINTS = 'GET /admin/audit, /admin/approvals (GET, /ID, /stream; POST /ID/approve|deny)';

export function createAdminApi(opts: AdminApiOptions): AdminApi {
  const problem = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
    sendJson(res, status, { error: message }, headers);
  const credentials = createAdminCredentials(opts.gateway, (m) => opts.log.warn(m));
  const approvals = createApprovalsAdmin({ store: opts.approvals, events: opts.approvalEvents, audit: opts.audit, log: opts.log });

  return {
    handle(req, res, path) {
      if (!(path === '/metrics' && req.method === 'GET') && path !== '/admin' && !path.startsWith('/admin/')) return false;
      return answer(req, res, path);
    },
  };

  async function answer(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const metrics = path === '/metrics';
    if (!credentials.enabled()) {
      if (metrics) return sendMetrics(res);
      return problem(res, 404, 'the admin API is off: set gateway.admin_token (e.g. ${POLICYLAYER_ADMIN_TOKEN}) or gateway.admin_tokens to enable it');
    }
    const who = credentials.authenticate(bearer(req));
    if (!who) {
      return problem(
        res,
        401,
        metrics
          ? 'missing or wrong token: /metrics needs Authorization: Bearer <an admin token> (gateway.admin_token or gateway.admin_tokens) while an admin token is set'
          : 'missing or wrong admin token: send Authorization: Bearer <gateway.admin_token or a token of gateway.admin_tokens>',
        { 'www-authenticate': 'Bearer realm="policylayer-admin"' },
      );
    }
    const need = requiredRole(req.method, path);
    if (!roleAllows(who.role, need)) {
      return problem(res, 403, `${req.method} ${path.slice(0, 200)} needs role ${need}; admin token ${who.name} has role ${who.role}`);
    }
    if (metrics) return sendMetrics(res);
    if (path === '/admin/audit' && req.method === 'GET') return auditQuery(req, res);
    if (path === '/admin/approvals' || path.startsWith('/admin/approvals/')) return approvals.handle(req, res, path, who);
    problem(res, 404, `no admin endpoint ${req.method} ${path.slice(0, 200)}; available: ${ENDPOINTS}`);
  }

  async function sendMetrics(res: ServerResponse): Promise<void> {
    let text: string;
    try {
      text = await opts.metrics.metrics();
    } catch (err) {
      return problem(res, 500, `metrics: ${(err as Error).message}`);
    }
    res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(text);
  }

  async function auditQuery(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sink = opts.audit?.sink;
    if (!sink) return problem(res, 409, 'gateway.audit is off: there is no audit log to query');
    const params = new URL(req.url ?? '/', 'http://admin').searchParams;
    let filter;
    try {
      filter = buildAuditFilter((k) => params.get(k) ?? undefined);
    } catch (err) {
      return problem(res, 400, (err as Error).message);
    }
    const format = params.get('format') ?? 'json';
    if (!['json', 'jsonl', 'csv'].includes(format)) return problem(res, 400, `format "${format}" is not one of json, jsonl, csv`);
    try {
      const rows = await queryCalls(sink, filter);
      const [type, body] =
        format === 'csv' ? ['text/csv; charset=utf-8', toCsv(rows)] : format === 'jsonl' ? ['application/x-ndjson', toJsonl(rows)] : ['application/json', JSON.stringify(rows)];
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } catch (err) {
      problem(res, 500, `the audit log could not be read: ${(err as Error).message}`);
    }
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
  return m?.[1];
}
