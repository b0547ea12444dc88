// Admin actions in the audit log (`kind: admin`): who decided an approval, who added or revoked an agent token;
// written by a running gateway's recorder, or by the CLI into the log of the policy file's gateway.audit.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../redact-url.js';
import { openAuditSink } from './open.js';
import { createAuditRecorder, type AuditInput, type AuditRecorder } from './recorder.js';

export type AdminAction = 'approvals.approve' | 'approvals.deny' | 'agents.add' | 'agents.revoke';

export interface AdminActionInput {
  /** Who: the admin token's name (API), `link` (a signed webhook link), the OS user name (CLI). */
  actor: string;
  action: AdminAction;
  /** What it was done to, as people read it: `approval Xk3d9QeF`, `agent support-bot token tok_…`. */
  target: string;
  /** Through which channel: api, webhook, cli. */
  via: string;
  reason?: string;
  approvalId?: string;
}

/**
 * The record of an admin action, in the columns every sink already has (no schema migration): `agent` is the actor,
 * `tool` the action, `detail` the target and channel, `outcome` ok (only actions that took effect are recorded).
 */
export function adminEvent(a: AdminActionInput): AuditInput {
  return {
    kind: 'admin',
    agent: a.actor,
    tool: a.action,
    detail: `${a.target} via ${a.via}`,
    outcome: 'ok',
    ...(a.reason !== undefined && { reason: a.reason }),
    ...(a.approvalId !== undefined && { approval_id: a.approvalId }),
  };
}

/** Records through a running gateway's recorder, off the request's path; a strict log that cannot write is logged. */
export function recordAdminAction(recorder: AuditRecorder | undefined, a: AdminActionInput, log: Pick<Logger, 'error'>): void {
  if (!recorder) return;
  recorder.record(adminEvent(a)).committed?.catch((err: Error) => log.error(`audit: the admin record of ${a.action} on ${a.target} by ${a.actor} was not written: ${err.message}`));
}

export type AdminAuditLog =
  | { ok: true; write(a: AdminActionInput): Promise<void>; close(): Promise<void> }
  /** `none`: gateway.audit keeps no log the CLI can write to (off, stdout); `failed`: it could not be opened. */
  | { ok: false; why: 'none' | 'failed'; message: string };

/**
 * The audit log of a policy file, for a CLI command that acts as an admin. write() resolves once the record is in
 * the sink and rejects when it could not be written, so the caller can decide to undo (fail closed) or warn.
 */
export async function openAdminAuditLog(config: Config, log: Logger): Promise<AdminAuditLog> {
  const url = config.gateway.audit;
  if (url === 'off' || url === 'stdout') {
    return { ok: false, why: 'none', message: `gateway.audit is ${url}: there is no audit log this command can write to` };
  }
  let sink;
  try {
    sink = await openAuditSink(url, config.audit);
  } catch (err) {
    return { ok: false, why: 'failed', message: `the audit log ${redactUrl(url)} could not be opened: ${(err as Error).message}` };
  }
  if (!sink) return { ok: false, why: 'none', message: `gateway.audit is ${url}` };
  const recorder = createAuditRecorder(sink, () => config.audit, log);
  return {
    ok: true,
    async write(a) {
      recorder.record(adminEvent(a));
      await recorder.flush();
    },
    close: () => recorder.close(),
  };
}
