// Agent tokens: minting (`plg_` + 32 random bytes), hashing, and the authenticator that proves an agent from a bearer
// token, against the policy file's `agents:` and the AgentStore, with a short cache so a request costs no store trip.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { AgentIdentity, AuthResult } from './identity.js';
import type { AgentStore, AgentTokenRecord, RevokeTarget } from './store.js';

export const TOKEN_PREFIX = 'plg_';
/**
 * How long a token verified against the store is trusted without asking the store again: the bound within which a
 * revocation made by another process (the CLI, another replica) takes effect. Revoking through the authenticator's
 * own revoke() takes effect at once; expiry is checked on every request.
 */
export const DEFAULT_CACHE_MS = 1000;
/** Within this a revocation elsewhere is seen by every gateway: this cache, then 1 s of the gateway's own memory of a verified header (authenticate.ts). */
export const REVOKED_WITHIN_MS = 2000;
/** Cached tokens at most; past it the cache starts over (a flood of distinct valid tokens only costs store trips). */
const MAX_CACHED = 10_000;

/** A new token: shown once to the person who asked for it, never stored. */
export const mintToken = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');
/** A token's id: short and random, not derived from the token (so it can be shown and typed safely). */
export const newTokenId = (): string => `tok_${randomBytes(6).toString('hex')}`;
/** SHA-256 of a token, lowercase hex: what the store and the policy file hold. */
export const tokenSha256 = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export interface TokenAuthenticatorOptions {
  /** The policy in force (read on every call, so a reload applies to the next request). */
  config: () => Config;
  /** The AgentStore; called once (again only after it failed), so it may open the store lazily. */
  store: () => Promise<AgentStore>;
  cacheMs?: number;
  now?: () => number;
  /** Told once per policy about an agent whose `token_env` variable is unset (that agent cannot authenticate). */
  warn?: (message: string) => void;
}

export interface TokenAuthenticator {
  /** The identity a bearer token proves, or why it proves none (never echoing the token). Fails closed. */
  authenticate(token: string): Promise<AuthResult>;
  /** Revokes through the store; in this process the tokens are refused at once (no cache delay). */
  revoke(target: RevokeTarget): Promise<AgentTokenRecord[]>;
  /** Whether any agent exists (in the file, or a token in the store that is neither revoked nor expired). */
  anyAgent(): Promise<boolean>;
}

interface FileAgent {
  agent: string;
  servers: string[] | '*';
  digest: Buffer;
}

export function createTokenAuthenticator(opts: TokenAuthenticatorOptions): TokenAuthenticator {
  const cacheMs = opts.cacheMs ?? DEFAULT_CACHE_MS;
  const now = opts.now ?? Date.now;
  const fileIndexes = new WeakMap<Config['agents'], Map<string, FileAgent>>();
  const cache = new Map<string, { record: AgentTokenRecord; at: number }>();
  const inFlight = new Map<string, Promise<AgentTokenRecord | undefined>>();
  let opened: Promise<AgentStore> | undefined;

  const store = (): Promise<AgentStore> => {
    opened ??= opts.store().catch((err: unknown) => {
      opened = undefined;
      throw err;
    });
    return opened;
  };

  /** The file's agents by token digest, built once per loaded policy. */
  function fileAgents(): Map<string, FileAgent> {
    const agents = opts.config().agents;
    let index = fileIndexes.get(agents);
    if (index) return index;
    index = new Map();
    for (const [agent, a] of Object.entries(agents)) {
      let hex = a.token_sha256?.toLowerCase();
      if (hex === undefined && a.token_env !== undefined) {
        const value = process.env[a.token_env];
        if (value) hex = tokenSha256(value);
        else opts.warn?.(`agents.${agent}.token_env: environment variable ${a.token_env} is not set, so agent ${agent} cannot authenticate`);
      }
      if (hex !== undefined) index.set(hex, { agent, servers: a.servers === '*' ? '*' : [...a.servers], digest: Buffer.from(hex, 'hex') });
    }
    fileIndexes.set(agents, index);
    return index;
  }

  /** The stored record of a digest: from the cache while fresh, else one store trip shared by concurrent requests. */
  async function stored(hex: string): Promise<AgentTokenRecord | undefined> {
    const hit = cache.get(hex);
    if (hit && now() - hit.at < cacheMs) return hit.record;
    let pending = inFlight.get(hex);
    if (!pending) {
      pending = store()
        .then((s) => s.findByHash(hex))
        .then((record) => {
          if (record) {
            if (cache.size >= MAX_CACHED) cache.clear();
            cache.set(hex, { record, at: now() });
          } else cache.delete(hex);
          return record;
        })
        .finally(() => inFlight.delete(hex));
      inFlight.set(hex, pending);
    }
    return pending;
  }

  /** Constant-time equality of two SHA-256 digests (equal length by construction). */
  const sameDigest = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

  return {
    async authenticate(token) {
      if (token === '') return { ok: false, reason: 'no token' };
      // The lookup is keyed by the token's SHA-256, not the token: a map lookup's timing then depends only on a digest
      // the caller cannot steer toward a stored one (finding a token whose digest shares a prefix with a stored digest
      // is a preimage search). The final check compares the digests in constant time.
      const digest = createHash('sha256').update(token, 'utf8').digest();
      const hex = digest.toString('hex');
      const file = fileAgents().get(hex);
      if (file && sameDigest(file.digest, digest)) {
        return { ok: true, identity: { agent: file.agent, servers: file.servers, via: 'token', credential: `agents.${file.agent}` } };
      }
      let record: AgentTokenRecord | undefined;
      try {
        record = await stored(hex);
      } catch (err) {
        return { ok: false, reason: `cannot check the token: ${(err as Error).message}`, unavailable: true };
      }
      if (!record || !sameDigest(Buffer.from(record.sha256, 'hex'), digest)) return { ok: false, reason: 'unknown token' };
      const t = now();
      if (record.revoked !== undefined) return { ok: false, reason: `token ${record.id} of agent ${record.agent} was revoked at ${new Date(record.revoked).toISOString()}` };
      if (record.expires !== undefined && t >= record.expires) return { ok: false, reason: `token ${record.id} of agent ${record.agent} expired at ${new Date(record.expires).toISOString()}` };
      const identity: AgentIdentity = { agent: record.agent, servers: record.servers, via: 'token', credential: record.id };
      if (record.expires !== undefined) identity.expires = record.expires;
      return { ok: true, identity };
    },
    async revoke(target) {
      const revoked = await (await store()).revoke(target, now());
      for (const r of revoked) cache.delete(r.sha256);
      return revoked;
    },
    async anyAgent() {
      if (Object.keys(opts.config().agents).length > 0) return true;
      const t = now();
      return (await (await store()).list()).some((r) => r.revoked === undefined && (r.expires === undefined || t < r.expires));
    },
  };
}
