// Opens the ApprovalStore beside the state store of `gateway.state`: the same file or server, so that every
// replica and the CLI see the same approvals. Drivers load only when configured.
import { redactUrl } from '../redact-url.js';
import { sqlitePath } from '../state/open.js';
import { createMemoryApprovalStore } from './memory.js';
import type { ApprovalStore } from './store.js';

/** `prefix`: gateway.state_prefix, the namespace of every key a shared server store writes. */
export async function openApprovalStore(stateUrl: string, prefix: string): Promise<ApprovalStore> {
  if (stateUrl === 'memory:') return createMemoryApprovalStore();
  if (stateUrl.startsWith('sqlite:')) {
    const { createSqliteApprovalStore } = await import('./sqlite.js');
    return createSqliteApprovalStore(sqlitePath(stateUrl));
  }
  if (/^rediss?:\/\/./.test(stateUrl)) {
    const { createRedisApprovalStore } = await import('./redis.js');
    return createRedisApprovalStore(stateUrl, prefix);
  }
  throw new Error(`gateway.state ${redactUrl(stateUrl)} is not a store approvals can use; use memory:, sqlite:PATH or redis://host:port`);
}
