// The admin HTTP API under /admin/ (audit queries, approvals) behind a bearer token (no token configured, no API),
// and the Prometheus /metrics endpoint (open unless a token is configured, then the same token).
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { ApprovalEvents } from '../approvals/events.js';
import type { ApprovalStore } from '../approvals/store.js';
import { toCsv, toJsonl } from '../audit/format.js';
import { buildAuditFilter, queryCalls } from '../audit/query.js';
import type { AuditSink } from '../audit/sink.js';
import { header, sendJson } from '../proxy/http-util.js';
import { createApprovalsAdmin } from './approvals-api.js';

export interface AdminApi {
  /** Answers /metrics and requests under /admin/ (settled once answered; a rejection is the listener's 500); false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): false | Promise<void>;
}

export interface AdminApiOptions {
  /** Read per request, so a reload can set, change or remove the token. */
  token: () => string | undefined;
  audit: () => AuditSink | undefined;
  metrics: Registry;
  /** The gatekeeper's approval store, and its events (new approvals) for the live stream. */
  approvals: () => Promise<ApprovalStore>;
  approvalEvents: ApprovalEvents;
}

export function createAdminApi(opts: AdminApiOptions): AdminApi {
  const problem = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
    sendJson(res, status, { error: message }, headers);
  const approvals = createApprovalsAdmin({ store: opts.approvals, events: opts.approvalEvents });

  return {
    handle(req, res, path) {
      if (!(path === '/metrics' && req.method === 'GET') && path !== '/admin' && !path.startsWith('/admin/')) return false;
      return answer(req, res, path);
    },
  };

  async function answer(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/metrics') {
      const token = opts.token();
      if (token && !sameSecret(bearer(req), token)) {
        return problem(res, 401, 'missing or wrong token: /metrics needs Authorization: Bearer <gateway.admin_token> while an admin token is set');
      }
      let text: string;
      try {
        text = await opts.metrics.metrics();
      } catch (err) {
        return problem(res, 500, `metrics: ${(err as Error).message}`);
      }
      return void res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(text);
    }
    const token = opts.token();
    if (!token) return problem(res, 404, 'the admin API is off: set gateway.admin_token (e.g. ${POLICYLAYER_ADMIN_TOKEN}) to enable it');
    if (!sameSecret(bearer(req), token)) {
      return problem(res, 401, 'missing or wrong admin token: send Authorization: Bearer <gateway.admin_token>', { 'www-authenticate': 'Bearer realm="policylayer-admin"' });
    }
    if (path === '/admin/audit' && req.method === 'GET') return auditQuery(req, res);
    if (path === '/admin/approvals' || path.startsWith('/admin/approvals/')) return approvals.handle(req, res, path);
    problem(res, 404, `no admin endpoint ${req.method} ${path.slice(0, 200)}; available: GET /admin/audit, /admin/approvals (GET, /ID, /stream; POST /ID/approve|deny)`);
  }

  async function auditQuery(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sink = opts.audit();
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

/** Constant-time comparison (of hashes, so that lengths do not leak either). */
function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
