// The identity step of `start`'s MCP paths: who is calling (401 when nobody is proven), whether they may reach
// this server (403), and the discovery document standard MCP clients read after a 401 (RFC 9728).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayAuth } from '../agents/authenticate.js';
import { granted, type AgentIdentity, type AuthResult } from '../agents/identity.js';
import { bearerChallenge, METADATA_PATH, metadataUrl } from '../agents/metadata.js';
import { RpcCode } from '../errors.js';
import { header, sendJson } from './http-util.js';
import { errorResponse } from './jsonrpc.js';

export interface HttpAuthOptions {
  auth: GatewayAuth;
  /** Where clients reach the gateway (for the metadata URL in WWW-Authenticate). */
  baseUrl: () => string;
  /** The RFC 9728 document for a server, or undefined when no authorization server is configured (404). */
  metadata: (server: string, resource: string) => Record<string, unknown> | undefined;
  servers: () => Record<string, unknown>;
}

export interface HttpAuth {
  /** The caller's identity (at once when its credential was verified a moment ago), or undefined once it has answered 401, 403 or 503. */
  authorize(req: IncomingMessage, res: ServerResponse, server: string): AgentIdentity | undefined | Promise<AgentIdentity | undefined>;
  /** Serves /.well-known/oauth-protected-resource/mcp/<server>; false for other paths. */
  serveMetadata(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

export function createHttpAuth(opts: HttpAuthOptions): HttpAuth {
  const resource = (server: string): string => `${opts.baseUrl()}/mcp/${encodeURIComponent(server)}`;
  /** Answers a refusal (503 when nobody can be told apart, 401 when nothing is proven, 403 without a grant), or returns who it is. */
  const conclude = (result: AuthResult, authorization: string | undefined, res: ServerResponse, server: string): AgentIdentity | undefined => {
    if (!result.ok && result.unavailable) {
      sendJson(res, 503, errorResponse(null, RpcCode.IDENTITY_UNAVAILABLE, `Service unavailable: ${result.reason}`), { 'retry-after': '5' });
      return undefined;
    }
    if (!result.ok) {
      // RFC 6750: a credential that was sent and refused is an invalid_token; none sent gets the bare challenge.
      const error = authorization === undefined ? undefined : { code: 'invalid_token' as const, description: result.reason };
      const challenge = bearerChallenge(metadataUrl(resource(server)), error);
      sendJson(res, 401, errorResponse(null, RpcCode.INVALID_REQUEST, `Unauthorized: ${result.reason}`), { 'www-authenticate': challenge });
      return undefined;
    }
    if (!granted(result.identity, server)) {
      const message = `Forbidden: agent "${result.identity.agent}" has no grant for server "${server}"; grant it with policylayer agents add ${result.identity.agent} --servers ${server} (or in the policy file's agents:)`;
      sendJson(res, 403, errorResponse(null, RpcCode.INVALID_REQUEST, message));
      return undefined;
    }
    return result.identity;
  };
  return {
    authorize(req, res, server) {
      const authorization = header(req, 'authorization');
      const result = opts.auth.identify(authorization);
      return result instanceof Promise ? result.then((r) => conclude(r, authorization, res, server)) : conclude(result, authorization, res, server);
    },
    serveMetadata(req, res, path) {
      if (!path.startsWith(`${METADATA_PATH}/mcp/`) || req.method !== 'GET') return false;
      let server: string;
      try {
        server = decodeURIComponent(path.slice(METADATA_PATH.length + '/mcp/'.length).replace(/\/$/, ''));
      } catch {
        sendJson(res, 400, errorResponse(null, RpcCode.INVALID_REQUEST, 'Bad Request: the server name is not valid percent-encoding'));
        return true;
      }
      const doc = Object.hasOwn(opts.servers(), server) ? opts.metadata(server, resource(server)) : undefined;
      if (!doc) sendJson(res, 404, errorResponse(null, RpcCode.INVALID_REQUEST, `Not found: no protected resource metadata for "${server}" (gateway.auth.jwt is not configured, or no such server)`));
      else sendJson(res, 200, doc, { 'cache-control': 'max-age=300' });
      return true;
    },
  };
}
