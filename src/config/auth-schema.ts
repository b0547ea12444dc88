// Schema of gateway.auth in policylayer.yaml: whether callers must prove an agent identity, and how JWTs are checked.
import { z } from 'zod';
import { WindowSchema, windowMs } from './limits-schema.js';

export const AuthModeSchema = z
  .enum(['required', 'optional', 'off'])
  .describe('required: every request needs a valid agent token or JWT; optional: none is anonymous, a bad one is refused; off: everyone is anonymous');

/**
 * Asymmetric algorithms only. HS* is not supported at all: a shared secret would have to live in this file, and
 * accepting HMAC next to public keys is how algorithm-confusion attacks work. `none` is never accepted.
 */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

/** Longer skew would let an expired token work for minutes; 5m covers any sanely synchronised clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** https://… anywhere; http://… only to this machine (tests, a local identity provider). */
function secureOrLoopback(u: string): boolean {
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOST.test(url.hostname));
  } catch {
    return false;
  }
}

const SecureUrlSchema = z
  .url({ protocol: /^https?$/ })
  .refine(secureOrLoopback, { message: 'must be an https:// URL (http:// only for localhost / 127.0.0.1 / [::1])' });

const BaseUrlSchema = z
  .url({ protocol: /^https?$/ })
  .refine((u) => !/[?#]/.test(u), 'a base URL, without ?query or #fragment (the resource is PUBLIC_URL/mcp/<server>)');

export const JwtSchema = z
  .object({
    issuer: z.string().min(1).describe('Expected `iss` claim (exact match), e.g. https://login.example.com/'),
    audience: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('Expected `aud`: the token must name one of these (usually the gateway URL or an API identifier)'),
    jwks_url: SecureUrlSchema.optional().describe("URL of the issuer's JSON Web Key Set (fetched and cached; https, or http to loopback)"),
    jwks_file: z
      .string()
      .min(1)
      .optional()
      .describe('A JSON Web Key Set file instead of jwks_url (relative to the policy file; re-read when the policy file changes)'),
    agent_claim: z.string().min(1).default('sub').describe('Claim whose value is the agent name (letters, digits, . _ -, at most 64)'),
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .default([...DEFAULT_JWT_ALGORITHMS])
      .describe('Accepted signature algorithms (asymmetric only; HS* and none are never accepted)'),
    clock_skew: WindowSchema.refine((w) => !(windowMs(w) > MAX_CLOCK_SKEW_MS), { message: 'clock_skew may be at most 5m' })
      .default('30s')
      .describe('Tolerance for exp / nbf / iat against this clock (default 30s, at most 5m)'),
    servers_claim: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Claim listing the servers the token grants (an array, or a space-separated string; "*" for all). Without it, a JWT agent gets the servers of its entry under `agents:`, else none',
      ),
    authorization_servers: z
      .array(SecureUrlSchema)
      .min(1)
      .optional()
      .describe('Authorization servers named in the OAuth protected resource metadata (default: [issuer])'),
    scopes_supported: z
      .array(z.string().min(1))
      .optional()
      .describe('Scopes advertised in the protected resource metadata (advertised only; the gateway does not check scopes)'),
  })
  .strict()
  .superRefine(
    (jwt, ctx) => {
      if (jwt.jwks_url === undefined && jwt.jwks_file === undefined) {
        ctx.addIssue({
          code: 'custom',
          params: { hint: "add `jwks_url: https://…/.well-known/jwks.json` (the issuer's keys) or `jwks_file: keys.json`" },
          message: 'the JWT settings need one of `jwks_url` or `jwks_file`, to know which keys sign the tokens',
        });
      } else if (jwt.jwks_url !== undefined && jwt.jwks_file !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['jwks_file'],
          params: { at: 'key', hint: 'keep one: `jwks_url` for keys fetched from the issuer, or `jwks_file` for a local file' },
          message: 'give either `jwks_url` or `jwks_file`, not both',
        });
      }
      // The metadata must name an authorization server; the issuer serves unless it is not a URL.
      if (jwt.authorization_servers === undefined && typeof jwt.issuer === 'string' && !secureOrLoopback(jwt.issuer)) {
        ctx.addIssue({
          code: 'custom',
          path: ['issuer'],
          params: { at: 'value', hint: 'add `authorization_servers: [https://…]` (where clients get tokens), or use the https issuer URL' },
          message: 'the issuer is not an https:// URL, so it cannot be named as the authorization server in the protected resource metadata',
        });
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
  );
export type JwtConfig = z.infer<typeof JwtSchema>;

const AuthObjectSchema = z
  .object({
    mode: AuthModeSchema.optional().describe('Default: required once any agent or JWT issuer is configured, else off'),
    jwt: JwtSchema.optional().describe('Accept JWTs from an identity provider besides agent tokens'),
    public_url: BaseUrlSchema.optional().describe(
      'Base URL at which clients reach this gateway, for the `resource` of the protected resource metadata (default: http://<Host header>)',
    ),
  })
  .strict();

/** `gateway.auth: required` is shorthand for `gateway.auth: { mode: required }`. */
export const AuthSchema = z
  .union([AuthModeSchema, AuthObjectSchema])
  .transform((v) => (typeof v === 'string' ? { mode: v } : v))
  .describe('Who may call: `required | optional | off`, or `{ mode, jwt: { issuer, audience, jwks_url | jwks_file, … } }`');
export type AuthConfig = z.output<typeof AuthSchema>;
