// Admin roles: the role each admin endpoint needs, and which admin (name and role) a bearer token proves, from
// gateway.admin_token (the admin named `admin`) and gateway.admin_tokens.
import { createHash, timingSafeEqual } from 'node:crypto';
import { tokenSha256 } from '../agents/tokens.js';
import { ADMIN_ROLES, LEGACY_ADMIN_NAME, type AdminRole } from '../config/admin-tokens-schema.js';
import type { GatewayConfig } from '../config/schema.js';

export { ADMIN_ROLES, type AdminRole };

/** Whether a token of role `have` may use an endpoint that needs `need` (roles are ordered, each includes the ones below). */
export const roleAllows = (have: AdminRole, need: AdminRole): boolean => ADMIN_ROLES.indexOf(have) >= ADMIN_ROLES.indexOf(need);

export interface AdminEndpoint {
  method: 'GET' | 'POST';
  path: RegExp;
  /** How the README and error messages write it. */
  shown: string;
  role: AdminRole;
}

const ID = '[A-Za-z0-9_-]{1,64}';

/**
 * Every admin endpoint and the role it needs. Nothing here changes configuration or agents yet (those are done by
 * editing the policy file and with `policylayer agents`); such an endpoint would need `admin`.
 */
export const ADMIN_ENDPOINTS: readonly AdminEndpoint[] = [
  { method: 'GET', path: /^\/metrics$/, shown: 'GET /metrics', role: 'viewer' },
  { method: 'GET', path: /^\/admin\/audit$/, shown: 'GET /admin/audit', role: 'viewer' },
  { method: 'GET', path: /^\/admin\/approvals\/?$/, shown: 'GET /admin/approvals', role: 'viewer' },
  { method: 'GET', path: /^\/admin\/approvals\/stream\/?$/, shown: 'GET /admin/approvals/stream', role: 'viewer' },
  { method: 'GET', path: new RegExp(`^/admin/approvals/${ID}/?$`), shown: 'GET /admin/approvals/ID', role: 'viewer' },
  { method: 'POST', path: new RegExp(`^/admin/approvals/${ID}/(approve|deny)/?$`), shown: 'POST /admin/approvals/ID/approve|deny', role: 'approver' },
];

/**
 * The role a request needs. A method and path the table does not list (a typo, or an endpoint added without an
 * entry) needs `admin`: fail closed, so a forgotten entry never opens an endpoint to viewers.
 */
export function requiredRole(method: string | undefined, path: string): AdminRole {
  return ADMIN_ENDPOINTS.find((e) => e.method === method && e.path.test(path))?.role ?? 'admin';
}

/** Who an admin request is from: the token's name (what audit records and approvals' `by` say) and its role. */
export interface AdminPrincipal {
  name: string;
  role: AdminRole;
}

export interface AdminCredentials {
  /** Whether any admin token is configured (no token, no admin API, and /metrics is open). */
  enabled(): boolean;
  /** The admin a bearer token proves, or undefined for none or an unknown one. */
  authenticate(bearer: string | undefined): AdminPrincipal | undefined;
}

type AdminSettings = Pick<GatewayConfig, 'admin_token' | 'admin_tokens'>;
interface Entry extends AdminPrincipal {
  digest: Buffer;
}

/** Admin credentials from the gateway settings in force (read per request, so a reload applies to the next one). */
export function createAdminCredentials(settings: () => AdminSettings, warn: (message: string) => void = () => {}): AdminCredentials {
  // Built once per loaded policy: token_env is read then, as for agents (a reload reads it again).
  const indexes = new WeakMap<AdminSettings, Entry[]>();
  const entries = (): Entry[] => {
    const s = settings();
    let list = indexes.get(s);
    if (list) return list;
    list = [];
    if (s.admin_token) list.push({ name: LEGACY_ADMIN_NAME, role: 'admin', digest: Buffer.from(tokenSha256(s.admin_token), 'hex') });
    for (const [name, t] of Object.entries(s.admin_tokens ?? {})) {
      let hex = t.token_sha256?.toLowerCase();
      if (hex === undefined && t.token_env !== undefined) {
        // Only the variable the file names: no other environment fallback, so a stray variable grants nothing.
        const value = process.env[t.token_env];
        if (value) hex = tokenSha256(value);
        else warn(`gateway.admin_tokens.${name}.token_env: environment variable ${t.token_env} is not set, so admin ${name} cannot authenticate`);
      }
      if (hex !== undefined) list.push({ name, role: t.role, digest: Buffer.from(hex, 'hex') });
    }
    indexes.set(s, list);
    return list;
  };
  return {
    enabled() {
      const s = settings();
      return Boolean(s.admin_token) || Object.keys(s.admin_tokens ?? {}).length > 0;
    },
    authenticate(bearer) {
      if (bearer === undefined || bearer === '') return undefined;
      const digest = createHash('sha256').update(bearer, 'utf8').digest();
      // Every entry is compared, in constant time, with no early exit: the answer's timing tells nothing about
      // which entry (or how much of a digest) matched.
      let found: Entry | undefined;
      for (const e of entries()) if (timingSafeEqual(e.digest, digest) && !found) found = e;
      return found && { name: found.name, role: found.role };
    },
  };
}
