// Who is calling: the agent a credential proves, and the servers it is granted. Shared by every way of proving it
// (agent tokens, JWTs, the local user under `wrap`).

export interface AgentIdentity {
  /** The agent's name: the budget key of `scope: agent`, and what audit records and approvals show. */
  agent: string;
  /** The servers the agent may reach; `'*'` for all. */
  servers: readonly string[] | '*';
  /** How it was proven. */
  via: 'token' | 'jwt' | 'local' | 'anonymous';
  /** The id of the token that proved it (tokens), or the JWT's `jti` when it has one: for audit and revocation. */
  credential?: string | undefined;
  /** Milliseconds since the epoch after which the credential no longer proves anything (checked per request). */
  expires?: number | undefined;
}

/** What an authentication step concludes: an identity, or why there is none (the request gets HTTP 401). */
export type AuthResult =
  | { ok: true; identity: AgentIdentity }
  /** `unavailable`: nothing was proven because the agent store could not be read (HTTP 503, not 401). */
  | { ok: false; reason: string; unavailable?: boolean };

/** Whether an identity may reach a server. */
export function granted(identity: AgentIdentity, server: string): boolean {
  return identity.servers === '*' || identity.servers.includes(server);
}
