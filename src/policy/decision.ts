// The value every policy evaluation returns; a denial is data, never an exception.
import type { Action } from '../config/schema.js';

export interface Decision {
  action: Action;
  /** Stable path into the policy file, e.g. `servers.demo.tools.delete_assistant`. */
  rule: string;
  reason?: string;
}

/** Higher is more restrictive; used to pick between candidate rules. */
export const RESTRICTIVENESS: Record<Action, number> = { allow: 0, deny: 1, hide: 2 };
