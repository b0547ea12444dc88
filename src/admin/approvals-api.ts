// The approvers' HTTP side: /admin/approvals… behind the admin tokens (list, show, approve, deny, a live event
// stream), and the webhook's approve/deny links, whose signature is their only credential. Decisions are audited.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalEvents } from '../approvals/events.js';
import { cursorOf, DEFAULT_LIST_LIMIT, type ApprovalDecision, type ApprovalRecord, type ApprovalStatus, type ApprovalStore, type ListCursor } from '../approvals/store.js';
import { LINK_PATH, verifyLink, type LinkAction } from '../approvals/webhook.js';
import { recordAdminAction } from '../audit/admin-record.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { Logger } from '../log.js';
import { BodyTooLarge, readBody, sendJson } from '../proxy/http-util.js';
import type { AdminPrincipal } from './roles.js';

export const MAX_DECISION_BYTES = 64 * 1024;
/** Comments on an idle stream, so that proxies and load balancers do not close it. */
export const KEEPALIVE_MS = 15_000;
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'withdrawn'];
const MAX_LIST = 1000;
const ROUTE = /^\/admin\/approvals(?:\/(stream|[A-Za-z0-9_-]{1,64})(?:\/(approve|deny))?)?\/?$/;
const ENDPOINTS = 'GET /admin/approvals[?status=&limit=&after=], GET /admin/approvals/stream, GET /admin/approvals/ID, POST /admin/approvals/ID/approve|deny';

export interface ApprovalsHttpOptions {
  /** The gatekeeper's approval store (opened on first use). */
  store: () => Promise<ApprovalStore>;
  events: ApprovalEvents;
  /** Where decisions are recorded as admin actions (undefined: gateway.audit is off). */
  audit: AuditRecorder | undefined;
  log: Pick<Logger, 'error'>;
}

export interface ApprovalsAdmin {
  /** Answers a request under /admin/approvals; the caller has checked the admin token and its role. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, who: AdminPrincipal): void;
}

const problem = (res: ServerResponse, status: number, message: string, extra: Record<string, unknown> = {}): void =>
  sendJson(res, status, { error: message, ...extra });

export function createApprovalsAdmin({ store, events, audit, log }: ApprovalsHttpOptions): ApprovalsAdmin {
  return { handle: (req, res, path, who) => void answer(req, res, path, who).catch((err: Error) => failed(res, err)) };

  async function answer(req: IncomingMessage, res: ServerResponse, path: string, who: AdminPrincipal): Promise<void> {
    const m = ROUTE.exec(path);
    if (!m) return problem(res, 404, `no admin endpoint ${req.method} ${path}; approvals: ${ENDPOINTS}`);
    const [, id, action] = m;
    const method = action ? 'POST' : 'GET';
    if (req.method !== method) return sendJson(res, 405, { error: `${path} answers ${method} only` }, { allow: method });
    let s: ApprovalStore;
    try {
      s = await store();
    } catch (err) {
      return problem(res, 503, `approvals are not available: ${(err as Error).message}`);
    }
    if (id === undefined) return list(req, res, s);
    if (id === 'stream') return stream(res, s, events);
    if (action === undefined) {
      const r = await s.get(id);
      return r ? sendJson(res, 200, r, { 'cache-control': 'no-store' }) : problem(res, 404, `no approval ${id}`);
    }
    const decided = await decideFromApi(req, res, s, id, action as LinkAction, who.name);
    if (decided) recordDecision(audit, log, decided, who.name, 'api');
  }
}

/** The admin record of an applied decision: who (the credential's name), what, and which approval. */
function recordDecision(audit: AuditRecorder | undefined, log: Pick<Logger, 'error'>, r: ApprovalRecord, actor: string, via: string): void {
  const d = r.decided;
  recordAdminAction(
    audit,
    {
      actor,
      action: r.status === 'approved' ? 'approvals.approve' : 'approvals.deny',
      target: `approval ${r.id} (${r.tool} on ${r.server} for agent ${r.agent}${d && d.by !== actor ? `, by ${d.by}` : ''})`,
      via,
      approvalId: r.id,
      ...(d?.reason !== undefined && { reason: d.reason }),
    },
    log,
  );
}

/** The store failed mid-request (or a body could not be read): a 500 if nothing was sent yet. */
function failed(res: ServerResponse, err: Error): void {
  if (res.headersSent) return void res.destroy();
  problem(res, 500, `the approval store failed: ${err.message}`);
}

/** `after` of a next-page link: the created and id of the last record of the page before. */
const formatCursor = (c: ListCursor): string => `${c.created}.${c.id}`;
function parseCursor(text: string): ListCursor | undefined {
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{1,64})$/.exec(text);
  return m ? { created: Number(m[1]), id: m[2]! } : undefined;
}

/**
 * GET /admin/approvals: a page of at most `limit` records, newest first. When more follow, a `Link: <…>; rel="next"`
 * header gives the URL of the next page, so that no record is out of reach and none is left out silently.
 */
async function list(req: IncomingMessage, res: ServerResponse, s: ApprovalStore): Promise<void> {
  const params = new URL(req.url ?? '/', 'http://admin').searchParams;
  const status = params.get('status') ?? undefined;
  if (status !== undefined && !STATUSES.includes(status as ApprovalStatus)) {
    return problem(res, 400, `status "${status}" is not one of ${STATUSES.join(', ')}`);
  }
  const limitText = params.get('limit') ?? String(DEFAULT_LIST_LIMIT);
  const limit = /^\d+$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIST)) return problem(res, 400, `limit "${limitText}" is not a whole number from 1 to ${MAX_LIST}`);
  const afterText = params.get('after') ?? undefined;
  const after = afterText === undefined ? undefined : parseCursor(afterText);
  if (afterText !== undefined && !after) return problem(res, 400, `after "${afterText}" is not a page cursor; follow the Link header of the page before`);
  // One more than asked for tells whether a next page exists.
  const records = await s.list({ ...(status !== undefined && { status: status as ApprovalStatus }), limit: limit + 1, ...(after && { after }) });
  const page = records.slice(0, limit);
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (records.length > limit) {
    const next = new URLSearchParams({ ...(status !== undefined && { status }), limit: String(limit), after: formatCursor(cursorOf(page.at(-1)!)) });
    headers.link = `</admin/approvals?${next}>; rel="next"`;
  }
  sendJson(res, 200, page, headers);
}

/**
 * POST /admin/approvals/ID/approve|deny with {"reason": "…"} (and optionally "by"). `by` in the record is the admin
 * token's name, never only what the caller says: a body `by` (a person sharing one token) is kept after it,
 * `TOKEN:by`. Resolves with the decided record when the decision was applied.
 */
async function decideFromApi(req: IncomingMessage, res: ServerResponse, s: ApprovalStore, id: string, action: LinkAction, tokenName: string): Promise<ApprovalRecord | undefined> {
  let raw: string;
  try {
    raw = await readBody(req, MAX_DECISION_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLarge) return void problem(res, 413, `the body is larger than ${MAX_DECISION_BYTES} bytes`);
    throw err;
  }
  let body: unknown = {};
  if (raw.trim() !== '') {
    try {
      body = JSON.parse(raw);
    } catch (err) {
      return void problem(res, 400, `the body is not JSON: ${(err as Error).message}`);
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return void problem(res, 400, 'the body is a JSON object: {"reason": "WHY"} (optionally "by": "NAME")');
  const { by, reason } = body as { by?: unknown; reason?: unknown };
  for (const [key, value] of [['by', by], ['reason', reason]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '' || value.length > 1000)) {
      return void problem(res, 400, `"${key}" is a non-empty string of at most 1000 characters`);
    }
  }
  if (action === 'deny' && reason === undefined) return void problem(res, 400, 'deny needs a "reason": the agent is told why');
  const decision: ApprovalDecision = {
    status: action === 'approve' ? 'approved' : 'denied',
    by: by === undefined || by === tokenName ? tokenName : `${tokenName}:${by as string}`,
    via: 'api',
    ...(reason !== undefined && { reason: reason as string }),
  };
  const result = await s.decide(id, decision);
  if (result.ok && result.record) {
    sendJson(res, 200, result.record);
    return result.record;
  }
  if (!result.record) return void problem(res, 404, `no approval ${id}`);
  problem(res, 409, whyNotDecided(id, result.record), { record: result.record });
  return undefined;
}

/** Server-sent events: `requested` for approvals this gateway asks for, `decided` for every decision in the store. */
function stream(res: ServerResponse, s: ApprovalStore, events: ApprovalEvents): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  const send = (kind: string, r: ApprovalRecord): void => void res.write(`event: ${kind}\ndata: ${JSON.stringify(r)}\n\n`);
  const unsubscribe = events.subscribe(send);
  const unwatch = s.watch((r) => send('decided', r));
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  res.once('close', () => {
    unsubscribe();
    unwatch();
    clearInterval(keepalive);
  });
  // Tells the client it is subscribed: from here on no event is missed.
  res.write(': approvals stream open\n\n');
}

/** Why a decision was not applied: decided before (by whom, when), or too late to approve. */
function whyNotDecided(id: string, r: ApprovalRecord): string {
  if (r.status === 'pending') return `approval ${id} expired at ${new Date(r.expires).toISOString()}: it can no longer be approved`;
  const d = r.decided;
  return `approval ${id} is already ${r.status}${d ? ` (by ${d.by} via ${d.via} at ${new Date(d.at).toISOString()}${d.reason ? `: ${d.reason}` : ''})` : ''}`;
}

export interface ApprovalLinks {
  /** Answers GET (a confirm page) and POST (the decision) under /approvals/link/. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void;
}

/**
 * The webhook's links. A GET only shows what would be decided and a button, so that link previews, mail scanners
 * and crawlers that follow links decide nothing; the button POSTs to the same URL, which decides.
 */
export interface ApprovalLinksOptions {
  store: () => Promise<ApprovalStore>;
  secret: () => string | undefined;
  /** Where decisions are recorded as admin actions by `link` (whoever holds a link is its credential). */
  audit: AuditRecorder | undefined;
  log: Pick<Logger, 'error'>;
}

export function createApprovalLinks({ store, secret, audit, log }: ApprovalLinksOptions): ApprovalLinks {
  return { handle: (req, res, path) => void answer(req, res, path).catch((err: Error) => failed(res, err)) };

  async function answer(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') {
      return void res.writeHead(405, { allow: 'GET, POST', 'content-type': 'text/plain; charset=utf-8' }).end('GET shows the approval; POST decides it\n');
    }
    const key = secret();
    if (!key) return page(res, 404, 'Approval links are off', 'This gateway has no gateway.approvals.webhook configured.');
    const link = verifyLink(key, path.slice(LINK_PATH.length));
    if (!link.ok) return page(res, 403, 'Link not accepted', link.reason);
    const verb = link.action === 'approve' ? 'Approve' : 'Deny';
    let s: ApprovalStore;
    let r: ApprovalRecord | undefined;
    try {
      s = await store();
      r = await s.get(link.id);
    } catch (err) {
      return page(res, 503, 'Approvals are not available', (err as Error).message);
    }
    if (!r) return page(res, 404, 'Unknown approval', `There is no approval ${link.id}.`);
    if (req.method === 'GET') {
      const open = r.status === 'pending' && (link.action === 'deny' || Date.now() < r.expires);
      if (!open) return page(res, 409, r.status === 'pending' ? 'Expired' : 'Already decided', whyNotDecided(r.id, r), r);
      const reason = link.action === 'deny' ? '<p><label>Reason (the agent is told): <input name="reason" required maxlength="1000"></label></p>' : '';
      return page(res, 200, `${verb} this call?`, '', r, `<form method="post">${reason}<button type="submit">${verb}</button></form>`);
    }
    let raw: string;
    try {
      raw = await readBody(req, MAX_DECISION_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLarge) return page(res, 413, 'Too large', `The form is larger than ${MAX_DECISION_BYTES} bytes.`);
      throw err;
    }
    const reason = new URLSearchParams(raw).get('reason')?.trim().slice(0, 1000) || (link.action === 'deny' ? 'denied through the approval link' : undefined);
    const status = link.action === 'approve' ? 'approved' : 'denied';
    const result = await s.decide(r.id, { status, by: 'link', via: 'webhook', ...(reason !== undefined && { reason }) });
    if (!result.ok) return page(res, result.record ? 409 : 404, 'Not applied', result.record ? whyNotDecided(r.id, result.record) : `There is no approval ${r.id}.`, result.record);
    if (result.record) recordDecision(audit, log, result.record, 'link', 'webhook');
    page(res, 200, link.action === 'approve' ? 'Approved' : 'Denied', link.action === 'approve' ? 'The held call goes through now.' : 'The agent is told the call was denied.', result.record);
  }
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small self-contained page; the token in its URL must not leak through Referer, frames or other origins. */
function page(res: ServerResponse, status: number, title: string, message: string, r?: ApprovalRecord, form = ''): void {
  const rows = r
    ? [
        ['Approval', r.id],
        ['Status', r.status],
        ['Tool', `${r.tool} on ${r.server}`],
        ['Agent', r.agent],
        ['Rule', `${r.rule}${r.reason ? `: ${r.reason}` : ''}`],
        ['Expires', new Date(r.expires).toISOString()],
      ]
    : [];
  const table = rows.map(([k, v]) => `<tr><th>${k}</th><td>${esc(v ?? '')}</td></tr>`).join('');
  const pre = (label: string, value: unknown) => `<p>${label}</p><pre>${esc(JSON.stringify(value, null, 2) ?? 'null')}</pre>`;
  const args = r ? pre('Arguments:', r.args) + (r.otherParams ? pre('Other params (the server receives these too):', r.otherParams) : '') : '';
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="robots" content="noindex">` +
    `<title>${esc(title)}</title><style>body{font:15px system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}th{text-align:left;padding-right:1em}pre{background:#f4f4f4;padding:.5em;overflow:auto}</style></head>` +
    `<body><h1>${esc(title)}</h1>${message ? `<p>${esc(message)}</p>` : ''}<table>${table}</table>${args}${form}</body></html>`;
  res
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    })
    .end(html);
}
