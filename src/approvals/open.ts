// Opens the ApprovalStore beside the state store of `gateway.state`: the same file or server, so that every
// replica and the CLI see the same approvals. Drivers load only when configured.
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
  void prefix;
  throw new Error(`approvals are not available on ${stateUrl.split('://')[0]}:// state yet; use gateway.state sqlite:PATH (one host) or memory:`);
}
