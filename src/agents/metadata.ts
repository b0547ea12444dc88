// OAuth discovery for standard MCP clients: the RFC 9728 protected resource metadata of each served MCP endpoint and
// the RFC 6750 `WWW-Authenticate: Bearer` challenge that points at it.
import type { JwtConfig } from '../config/auth-schema.js';

export const METADATA_PATH = '/.well-known/oauth-protected-resource';

/** RFC 9728 §2, the members this gateway fills in. */
export type ProtectedResourceMetadata = {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: ['header'];
  scopes_supported?: string[];
};

/** Where the metadata of an MCP endpoint is served: the well-known segment inserted between the origin and the path. */
export function metadataUrl(resource: string): string {
  const url = new URL(resource);
  return `${url.origin}${METADATA_PATH}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The metadata document of one MCP endpoint (`resource`: its URL on the gateway, e.g. `https://gw.example.com/mcp/fs`,
 * which clients compare with the URL they dialed). It names the authorization servers (default: the JWT issuer);
 * undefined without gateway.auth.jwt, since MCP clients need at least one authorization server to do anything.
 */
export function resourceMetadata(jwt: JwtConfig | undefined, resource: string): ProtectedResourceMetadata | undefined {
  if (!jwt) return undefined;
  const doc: ProtectedResourceMetadata = {
    resource,
    authorization_servers: [...(jwt.authorization_servers ?? [jwt.issuer])],
    bearer_methods_supported: ['header'],
  };
  if (jwt.scopes_supported) doc.scopes_supported = [...jwt.scopes_supported];
  return doc;
}

export interface ChallengeError {
  /** RFC 6750 §3.1: `invalid_token` (401) when a credential was sent and refused; `insufficient_scope` (403) for no grant. */
  code: 'invalid_token' | 'insufficient_scope';
  description?: string | undefined;
}

/**
 * The `WWW-Authenticate` value of a 401 (or 403): where the metadata is, and, when a credential was sent, why it was
 * refused. Without a credential no error is named (RFC 6750 §3.1: the client may not know authentication is needed).
 */
export function bearerChallenge(metadata: string, error?: ChallengeError): string {
  let value = `Bearer resource_metadata="${quotable(metadata)}"`;
  if (error) {
    value += `, error="${error.code}"`;
    if (error.description) value += `, error_description="${quotable(error.description).slice(0, 200)}"`;
  }
  return value;
}

/** RFC 6750 allows only %x20-21 / %x23-5B / %x5D-7E inside these quoted strings: no quote, no backslash, ASCII. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "'");
}
