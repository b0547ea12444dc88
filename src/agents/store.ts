// The AgentStore contract: agent tokens (their SHA-256, never the token) shared by every gateway replica and the CLI.

/** One token of an agent. An agent has as many as it was given (rotation: add a new one, then revoke the old). */
export interface AgentTokenRecord {
  /** Short and random; what `agents list` shows and `agents revoke` takes. Not secret. */
  id: string;
  agent: string;
  /** SHA-256 of the token, lowercase hex: the lookup key. The token itself is never stored. */
  sha256: string;
  /** The servers the token grants; `'*'` for all. */
  servers: string[] | '*';
  /** Milliseconds since the epoch. */
  created: number;
  /** After this the token proves nothing; absent: it does not expire. */
  expires?: number;
  /** When it was revoked; absent: not revoked. Revoked records are kept, so that a refusal can say why. */
  revoked?: number;
}

/** Which tokens to revoke: one by its id, or every token of an agent. */
export type RevokeTarget = { id: string } | { agent: string };

export interface AgentStore {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  /** Adds a token; rejects when its id or its hash is already stored (nothing is overwritten). */
  add(record: AgentTokenRecord): Promise<void>;
  /** The token with this SHA-256 (hex), revoked and expired ones included. */
  findByHash(sha256: string): Promise<AgentTokenRecord | undefined>;
  /** Every token, oldest first (by created, then id). */
  list(): Promise<AgentTokenRecord[]>;
  /** Revokes the target's tokens that are not yet revoked, exactly once across processes; returns those. */
  revoke(target: RevokeTarget, now?: number): Promise<AgentTokenRecord[]>;
  close(): Promise<void>;
}

/** list() order: created, then id. */
export const byCreated = (a: AgentTokenRecord, b: AgentTokenRecord): number => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Whether `r` is one of the target's tokens. */
export const targets = (target: RevokeTarget, r: AgentTokenRecord): boolean => ('id' in target ? r.id === target.id : r.agent === target.agent);

/** The error every driver throws for an id or hash that is taken. */
export function duplicateToken(r: AgentTokenRecord): Error {
  return new Error(`agent store: token ${r.id} of agent ${r.agent} not added: its id or its hash is already stored`);
}
