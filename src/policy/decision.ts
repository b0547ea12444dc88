// The value every policy evaluation returns; a denial is data, never an exception.
import type { Action } from '../config/schema.js';
import type { CompiledLimit } from './limits.js';

export interface Decision {
  action: Action;
  /** Stable path into the policy file, e.g. `servers.demo.tools.delete_assistant`. */
  rule: string;
  reason?: string;
  /** Refused by a rate limit or spend cap (the call itself was allowed by its rule). */
  limited?: boolean;
  /** Rate limits and spend caps an allowed call must fit in (the rule's, then the server's and gateway's). */
  limits?: readonly CompiledLimit[];
  /** require_approval: how the call waits for a person. */
  approval?: ApprovalRule;
  /** What the risk catalogue says about the tool, when the decision used it or holds the call for a person. */
  classified?: Classified;
  /** Set once a person (or the clock) has decided a held call: what the audit log records. */
  approved?: { id: string; state: 'approved' | 'pending' | 'denied' | 'expired' | 'withdrawn' };
}

export interface Classified {
  category: string;
  risk: string;
  evidence: readonly string[];
}

export interface ApprovalRule {
  timeoutMs: number;
  mode: 'hold' | 'async';
  /** An approval also admits identical calls for this long; absent: used once. */
  ttlMs?: number;
  /** approval_via: client — also ask the person at the MCP client (elicitation), when it can be asked. */
  askClient?: boolean;
}

/** Higher is more restrictive; used to pick between candidate rules. */
export const RESTRICTIVENESS: Record<Action, number> = { allow: 0, require_approval: 1, deny: 2, hide: 3 };
