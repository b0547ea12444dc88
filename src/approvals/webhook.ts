// Tells people about every new approval: POSTs a signed JSON message (Slack-style `text`) to
// gateway.approvals.webhook.url with approve/deny links whose signature is their credential. Deliveries are retried
// with backoff in the background; a failing receiver never holds up or loses the approval.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { windowMs } from '../config/limits-schema.js';
import type { ApprovalWebhookConfig, GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ApprovalEvents } from './events.js';
import { paramsText } from './held-call.js';
import type { ApprovalRecord } from './store.js';

/** Links are served at <public_url>/approvals/link/<token>, without the admin token. */
export const LINK_PATH = '/approvals/link/';
export type LinkAction = 'approve' | 'deny';

export const MAX_ATTEMPTS = 5;
/** Waits before attempts 2, 3, …: 0.5 s, 1 s, 2 s, 4 s. */
export const retryDelayMs = (attempt: number): number => 500 * 2 ** (attempt - 1);
const ATTEMPT_TIMEOUT_MS = 10_000;
const MAX_ARGS_IN_TEXT = 500;

export interface WebhookPayload {
  text: string;
  approval: ApprovalRecord;
  approve_url: string;
  deny_url: string;
}

export interface WebhookSender {
  /** Stops retries in progress (the gateway is shutting down). */
  close(): void;
}

export interface WebhookOptions {
  /** gateway.approvals.webhook, read for every approval so that a reload can add, change or remove it. */
  config: () => ApprovalWebhookConfig | undefined;
  events: ApprovalEvents;
  /** Where links point when public_url is not set: the gateway's own address. */
  listenUrl: () => string;
  log: Logger;
}

export function startWebhook({ config, events, listenUrl, log }: WebhookOptions): WebhookSender {
  const closing = new AbortController();
  const unsubscribe = events.subscribe((_kind, record) => {
    const hook = config();
    if (!hook) return;
    const payload = webhookPayload(record, approvalLinks(record, hook, listenUrl()));
    void deliver(hook, payload, log, closing.signal);
  });
  return {
    close() {
      unsubscribe();
      closing.abort();
    },
  };
}

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, the X-Policylayer-Signature of a delivery. */
export function deliverySignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

async function deliver(hook: ApprovalWebhookConfig, payload: WebhookPayload, log: Logger, stop: AbortSignal): Promise<void> {
  const body = JSON.stringify(payload);
  const id = payload.approval.id;
  const where = new URL(hook.url).origin; // the path of a Slack-style URL is itself a secret: never logged
  const fields = { approval_id: id, webhook: where };
  let problem = '';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (attempt > 1) {
      try {
        await sleep(retryDelayMs(attempt - 1), undefined, { signal: stop });
      } catch {
        return; // shutting down
      }
    }
    // Signed per attempt: a receiver that refuses old timestamps still accepts a late retry.
    const timestamp = String(Math.floor(Date.now() / 1000));
    let retry: boolean;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'policylayer-webhook',
          'x-policylayer-timestamp': timestamp,
          'x-policylayer-signature': deliverySignature(hook.secret, timestamp, body),
        },
        body,
        // A redirect would re-send a signed body to an address nobody configured.
        redirect: 'manual',
        signal: AbortSignal.any([stop, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      await res.body?.cancel();
      if (res.ok) {
        log.info(`approval ${id}: webhook delivered${attempt > 1 ? ` on attempt ${attempt}` : ''}`, fields);
        return;
      }
      problem = `HTTP ${res.status}`;
      // The receiver's own trouble (5xx), a timeout or a rate limit may pass; any other answer will not change.
      retry = res.status >= 500 || res.status === 408 || res.status === 429;
    } catch (err) {
      if (stop.aborted) return;
      problem = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
      retry = true;
    }
    if (!retry) break;
    if (attempt < MAX_ATTEMPTS) log.warn(`approval ${id}: webhook attempt ${attempt} failed (${problem}); retrying in ${retryDelayMs(attempt)} ms`, fields);
  }
  log.error(`approval ${id}: the webhook was not delivered (${problem}); the approval still waits: decide it with policylayer approvals or the admin API`, fields);
}

/** The approve and deny links of an approval, signed with the webhook secret. */
export function approvalLinks(record: ApprovalRecord, hook: ApprovalWebhookConfig, listenUrl: string): { approve_url: string; deny_url: string } {
  const base = (hook.public_url ?? listenUrl).replace(/\/+$/, '');
  const until = hook.link_ttl === undefined ? record.expires : Math.min(record.expires, Date.now() + windowMs(hook.link_ttl));
  const exp = Math.floor(until / 1000);
  const link = (action: LinkAction) => `${base}${LINK_PATH}${signLink(hook.secret, { id: record.id, action, exp })}`;
  return { approve_url: link('approve'), deny_url: link('deny') };
}

export function webhookPayload(record: ApprovalRecord, links: { approve_url: string; deny_url: string }): WebhookPayload {
  return { text: slackLine(record, links), approval: record, ...links };
}

/** One line in Slack's mrkdwn (`<url|label>` links; &, < and > escaped), readable as plain text elsewhere too. */
function slackLine(r: ApprovalRecord, links: { approve_url: string; deny_url: string }): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const args = paramsText(r, MAX_ARGS_IN_TEXT);
  const label = r.classified ? ` [${r.classified.category}, ${r.classified.risk} risk]` : '';
  const why = `${label}${r.reason ? ` (${esc(r.reason)})` : ''}`;
  return (
    `Approval ${r.id}: agent ${esc(r.agent)} wants ${esc(r.tool)} on ${esc(r.server)} with ${esc(args)}${why}; ` +
    `<${links.approve_url}|Approve> or <${links.deny_url}|Deny> before ${new Date(r.expires).toISOString()}`
  );
}

interface LinkClaim {
  id: string;
  action: LinkAction;
  /** Seconds since the epoch. */
  exp: number;
}

export type LinkCheck = { ok: true; id: string; action: LinkAction } | { ok: false; reason: string };

/** Links have their own key, derived from the secret, so that no delivery signature can ever pass for a link's. */
const linkKey = (secret: string): Buffer => createHmac('sha256', secret).update('policylayer approval link v1').digest();
const linkSignature = (secret: string, claim: string): Buffer => createHmac('sha256', linkKey(secret)).update(claim).digest();

/** base64url(JSON {id, action, exp}) + "." + base64url(HMAC-SHA256). */
export function signLink(secret: string, claim: LinkClaim): string {
  const encoded = Buffer.from(JSON.stringify(claim)).toString('base64url');
  return `${encoded}.${linkSignature(secret, encoded).toString('base64url')}`;
}

/** The approval and action a link stands for, if its signature is good and it has not expired. */
export function verifyLink(secret: string, token: string, now = Date.now()): LinkCheck {
  const forged: LinkCheck = { ok: false, reason: 'this link is not valid: it was changed or cut short, or signed with another secret' };
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
  if (!m) return forged;
  const given = Buffer.from(m[2]!, 'base64url');
  const expected = linkSignature(secret, m[1]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return forged;
  let claim: Partial<LinkClaim>;
  try {
    claim = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as Partial<LinkClaim>;
  } catch {
    return forged;
  }
  if (typeof claim.id !== 'string' || (claim.action !== 'approve' && claim.action !== 'deny') || typeof claim.exp !== 'number') return forged;
  if (now >= claim.exp * 1000) return { ok: false, reason: `this link expired at ${new Date(claim.exp * 1000).toISOString()}` };
  return { ok: true, id: claim.id, action: claim.action };
}

/**
 * The DNS-rebinding guard's allowed hosts and origins, plus those of public_url: the operator says browsers reach
 * the gateway there, and a confirm page served from it posts back to it.
 */
export function guardAllowances(gw: GatewayConfig): [hosts: string[], origins: string[]] {
  const pub = gw.approvals?.webhook?.public_url;
  if (!pub) return [gw.allowed_hosts, gw.allowed_origins];
  const u = new URL(pub);
  return [[...gw.allowed_hosts, u.host], [...gw.allowed_origins, u.origin]];
}
