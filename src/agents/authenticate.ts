// The gateway's identity step: from a request's Authorization header to the agent it proves (agent token or JWT),
// under gateway.auth's mode; the grant check that follows it; the local user's identity for `wrap`.
import { userInfo } from 'node:os';
import type { AgentIdentity, AuthResult } from './identity.js';
import { TOKEN_PREFIX } from './tokens.js';

export type AuthMode = 'required' | 'optional' | 'off';

/** Every caller while authentication is off, and a caller without credentials under `optional`. */
export const ANONYMOUS: AgentIdentity = { agent: 'anonymous', servers: '*', via: 'anonymous' };

export interface GatewayAuthOptions {
  /** gateway.auth.mode as the file says it (read per request: a reload applies to the next one). */
  configuredMode: () => AuthMode | undefined;
  /** Agent tokens (`plg_…`): the store and the policy file's `agents:`. */
  tokens: { authenticate(token: string): Promise<AuthResult>; anyAgent(): Promise<boolean> };
  /** JWTs, when gateway.auth.jwt is configured (undefined otherwise). */
  jwt: () => { verify(token: string): Promise<AuthResult> } | undefined;
  /** gateway.fail_mode: whether an agent store never read yet may be taken as empty (open) or not (closed). */
  failMode: () => 'open' | 'closed';
  /** Told when the store cannot be read and fail_mode open lets callers in anonymously. */
  warn?: (message: string) => void;
  now?: () => number;
}

/** How long "does any agent exist?" is answered from memory (an agent added by the CLI is seen within this). */
const AGENTS_EXIST_TTL_MS = 2000;
/** How long a verified credential is taken as proven without asking its checker again, and how many are kept. */
const RECENT_MS = 1000;
const RECENT_MAX = 10_000;

export interface GatewayAuth {
  /** The identity a request proves, or why it proves none (then it gets HTTP 401 and reaches nothing). */
  identify(authorization: string | undefined): AuthResult | Promise<AuthResult>;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The identity step under gateway.auth.mode; without a mode in the file: `required` once anyone can prove an
 * identity (an agent in the file or the store, or a JWT issuer), else `off`, so a gateway without agents keeps
 * working as it did.
 */
export function createGatewayAuth(opts: GatewayAuthOptions): GatewayAuth {
  const now = opts.now ?? Date.now;
  let known: { exist: boolean; at: number } | undefined;
  let warned = false;
  const agentsExist = async (): Promise<boolean> => {
    if (known && now() - known.at < AGENTS_EXIST_TTL_MS) return known.exist;
    try {
      const exist = await opts.tokens.anyAgent();
      known = { exist, at: now() };
      return exist;
    } catch (err) {
      // The last answer holds while the store is away: nobody can add (or use) a stored agent meanwhile either.
      if (known) return known.exist;
      if (opts.failMode() === 'open') {
        if (!warned) opts.warn?.(`the agent store cannot be read (${(err as Error).message}); gateway.fail_mode is open, so callers are let in as anonymous until it can`);
        warned = true;
        return false;
      }
      throw err;
    }
  };
  const unreadable = (err: unknown): AuthResult => ({
    ok: false,
    // Whether credentials are needed depends on the store: unread, nobody gets in (and nobody is told 401).
    reason: `the agent store (gateway.state) cannot be read, so the gateway cannot tell whether credentials are needed: ${(err as Error).message}; set gateway.auth.mode to decide without it`,
    unavailable: true,
  });
  /** The mode in force: at once when the file says it or the last answer is fresh, else after asking the store. */
  const mode = (): AuthMode | AuthResult | Promise<AuthMode | AuthResult> => {
    const configured = opts.configuredMode();
    if (configured !== undefined) return configured;
    if (opts.jwt() !== undefined) return 'required';
    if (known && now() - known.at < AGENTS_EXIST_TTL_MS) return known.exist ? 'required' : 'off';
    return agentsExist().then((exist) => (exist ? 'required' : 'off'), unreadable);
  };

  // Credentials verified a moment ago, by header value: most requests of a session are then decided without a
  // promise or a hash. Short-lived (with the token cache behind it, a revocation elsewhere is seen within 2 s).
  const recent = new Map<string, { result: AuthResult; until: number }>();
  const remember = (authorization: string, result: AuthResult): AuthResult => {
    if (!result.ok) return result;
    if (recent.size >= RECENT_MAX) recent.clear();
    const until = Math.min(now() + RECENT_MS, result.identity.expires ?? Infinity);
    recent.set(authorization, { result, until });
    return result;
  };

  const withMode = (current: AuthMode | AuthResult, authorization: string | undefined): AuthResult | Promise<AuthResult> => {
    if (typeof current === 'object') return current;
    if (current === 'off') return { ok: true, identity: ANONYMOUS };
    if (authorization === undefined || authorization.trim() === '') {
      return current === 'optional' ? { ok: true, identity: ANONYMOUS } : { ok: false, reason: 'this gateway needs a credential: send Authorization: Bearer <agent token or JWT>' };
    }
    const hit = recent.get(authorization);
    if (hit && now() < hit.until) return hit.result;
    // A credential that is sent is always checked, under `optional` too: a bad one is never read as "none".
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined) return { ok: false, reason: 'the Authorization header is not "Bearer <token>"' };
    // A JWT has three dot-separated parts; anything else is an agent token (`plg_…`, or one of the file's own).
    const jwt = opts.jwt();
    if (!token.startsWith(TOKEN_PREFIX) && JWT_SHAPE.test(token) && !jwt) {
      return { ok: false, reason: 'the token is a JWT, and no JWT issuer is configured (gateway.auth.jwt)' };
    }
    const checked = jwt && !token.startsWith(TOKEN_PREFIX) && JWT_SHAPE.test(token) ? jwt.verify(token) : opts.tokens.authenticate(token);
    return checked.then((result) => remember(authorization, result));
  };

  return {
    identify(authorization) {
      const current = mode();
      return current instanceof Promise ? current.then((m) => withMode(m, authorization)) : withMode(current, authorization);
    },
  };
}

/** `wrap` runs for the person who started it: their user name as the agent, every server. */
export function localIdentity(): AgentIdentity {
  let name = 'local';
  try {
    name = userInfo().username;
  } catch {
    /* no user database entry (containers): the fallback name */
  }
  const agent = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'local';
  return { agent, servers: '*', via: 'local' };
}
