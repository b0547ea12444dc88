// Verifies JWTs from a configured issuer (gateway.auth.jwt) and turns a valid one into the agent identity it proves.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type RemoteJWKSetOptions,
} from 'jose';
import type { JwtConfig } from '../config/auth-schema.js';
import { windowMs } from '../config/limits-schema.js';
import type { AgentIdentity, AuthResult } from './identity.js';

/** An agent name becomes a budget key and a metrics label: short, plain, and bounded. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A verified token is trusted again without a signature check for at most this long (and never past its exp). */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;

export interface JwtVerifierOptions {
  /**
   * The servers a JWT agent is granted when `servers_claim` is not configured: its entry under the policy file's
   * `agents:`, or undefined when it has none (then it is granted no server). Asked on every request, so a reload
   * of the policy file applies at once.
   */
  serversOf?: ((agent: string) => readonly string[] | '*' | undefined) | undefined;
  /** Passed to jose's remote key set (tests turn its cache off to count fetches). */
  remote?: RemoteJWKSetOptions | undefined;
  /** Upper bound of the verification cache (default 10 000 tokens). */
  cacheMax?: number | undefined;
}

export interface JwtVerifier {
  verify(token: string): Promise<AuthResult>;
}

/** What a verified token proved; the servers from a policy file entry are looked up when it is used. */
interface Verified {
  agent: string;
  credential: string | undefined;
  expires: number;
  claimServers: readonly string[] | '*' | undefined;
  until: number;
}

/** The signing keys could not be obtained: the request fails closed, with a reason that says so. */
class KeysUnavailable extends Error {}

/**
 * `config` is read on every call (the live policy file); `baseDir` is the policy file's directory, against which a
 * relative `jwks_file` is resolved.
 */
export function createJwtVerifier(config: () => JwtConfig | undefined, baseDir: string, options: JwtVerifierOptions = {}): JwtVerifier {
  const cacheMax = options.cacheMax ?? CACHE_MAX;
  const cache = new Map<string, Verified>();
  // Remote key sets are kept per URL across reloads (jose caches and refreshes the keys); a file is re-read when the
  // configuration object changes, i.e. when the policy file is reloaded.
  const remoteSets = new Map<string, JWTVerifyGetKey>();
  let current: JwtConfig | undefined;
  let fileKeys: Promise<JWTVerifyGetKey> | undefined;

  function keysFor(jwt: JwtConfig): JWTVerifyGetKey {
    if (jwt.jwks_url !== undefined) {
      let set = remoteSets.get(jwt.jwks_url);
      if (!set) {
        set = createRemoteJWKSet(new URL(jwt.jwks_url), { timeoutDuration: 5000, ...options.remote });
        remoteSets.set(jwt.jwks_url, set);
      }
      return guard(set, `from ${jwt.jwks_url}`);
    }
    const file = isAbsolute(jwt.jwks_file!) ? jwt.jwks_file! : resolvePath(baseDir, jwt.jwks_file!);
    return async (header, token) => guard(await (fileKeys ??= loadFile(file)), `in ${file}`)(header, token);
  }

  function loadFile(file: string): Promise<JWTVerifyGetKey> {
    const pending = readKeyFile(file);
    // A file that could not be read is tried again on the next request (it may have been fixed meanwhile).
    pending.catch(() => {
      if (fileKeys === pending) fileKeys = undefined;
    });
    return pending;
  }

  function grantOf(entry: Verified): readonly string[] | '*' {
    return entry.claimServers ?? options.serversOf?.(entry.agent) ?? [];
  }

  function identityOf(entry: Verified): AgentIdentity {
    return { agent: entry.agent, servers: grantOf(entry), via: 'jwt', credential: entry.credential, expires: entry.expires };
  }

  function remember(token: string, entry: Verified): void {
    if (entry.until <= Date.now()) return;
    // Oldest first: entries live at most CACHE_TTL_MS, so insertion order is close to expiry order.
    while (cache.size >= cacheMax) cache.delete(cache.keys().next().value!);
    cache.set(token, entry);
  }

  return {
    async verify(token) {
      const jwt = config();
      if (!jwt) return { ok: false, reason: 'no JWT issuer is configured (gateway.auth.jwt)' };
      if (jwt !== current) {
        // New settings (issuer, audience, keys) may refuse what the old ones accepted.
        current = jwt;
        cache.clear();
        fileKeys = undefined;
      }
      const hit = cache.get(token);
      if (hit) {
        if (hit.until > Date.now()) return { ok: true, identity: identityOf(hit) };
        cache.delete(token);
      }

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keysFor(jwt), {
          issuer: jwt.issuer,
          audience: jwt.audience,
          algorithms: [...jwt.algorithms],
          requiredClaims: ['exp'],
          clockTolerance: Math.floor(windowMs(jwt.clock_skew) / 1000),
        }));
      } catch (err) {
        return { ok: false, reason: refusal(err, jwt) };
      }

      const agent = payload[jwt.agent_claim];
      if (typeof agent !== 'string' || !AGENT_NAME.test(agent)) {
        return {
          ok: false,
          reason: `the JWT's \`${jwt.agent_claim}\` claim is not an agent name (letters, digits, . _ -, at most 64, starting with a letter or digit)`,
        };
      }
      let claimServers: readonly string[] | '*' | undefined;
      if (jwt.servers_claim !== undefined) {
        claimServers = serversClaim(payload[jwt.servers_claim]);
        if (claimServers === undefined) {
          return { ok: false, reason: `the JWT's \`${jwt.servers_claim}\` claim is not a list of server names` };
        }
      }
      const expires = payload.exp! * 1000;
      const entry: Verified = {
        agent,
        credential: typeof payload.jti === 'string' ? payload.jti : undefined,
        expires,
        claimServers,
        until: Math.min(expires, Date.now() + CACHE_TTL_MS),
      };
      remember(token, entry);
      return { ok: true, identity: identityOf(entry) };
    },
  };
}

async function readKeyFile(file: string): Promise<JWTVerifyGetKey> {
  try {
    return createLocalJWKSet(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    throw new KeysUnavailable(`the signing keys in ${file} could not be read (${(err as Error).message})`, { cause: err });
  }
}

/** A key getter whose failures other than "no such key" say that the keys could not be obtained. */
function guard(keys: JWTVerifyGetKey, where: string): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof KeysUnavailable) throw err;
      throw new KeysUnavailable(`the signing keys could not be fetched ${where}: ${(err as Error).message}`, { cause: err });
    }
  };
}

/** An array of names, or one space-separated string (the OAuth `scope` style); `*` grants every server. */
function serversClaim(value: unknown): readonly string[] | '*' | undefined {
  const list = typeof value === 'string' ? value.split(' ').filter((s) => s !== '') : value;
  if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) return undefined;
  return list.includes('*') ? '*' : list;
}

/** A short reason for the 401, naming what was wrong; never the token itself. */
function refusal(err: unknown, jwt: JwtConfig): string {
  if (err instanceof KeysUnavailable) return `${err.message}; the token cannot be checked, so it is refused`;
  if (err instanceof errors.JWTExpired) return 'the JWT has expired (exp)';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'the JWT is not valid yet (nbf)';
      case 'iss':
        return `the JWT was not issued by ${jwt.issuer} (iss)`;
      case 'aud':
        return 'the JWT is meant for another audience (aud)';
      case 'exp':
        return err.reason === 'missing' ? 'the JWT has no expiry (exp); tokens without one are refused' : 'the JWT has an invalid exp';
      default:
        return `the JWT's \`${err.claim}\` claim is invalid (${err.reason})`;
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return `the JWT's signing algorithm is not accepted (allowed: ${jwt.algorithms.join(', ')})`;
  if (err instanceof errors.JWKSNoMatchingKey) return "no signing key of the issuer matches the JWT (unknown kid or algorithm)";
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'several signing keys match the JWT; it needs a kid';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the JWT signature does not verify';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) return 'not a well-formed JWT';
  return 'the JWT could not be verified';
}
