// SQLite AgentStore: agent tokens in the state file, shared by every gateway process on the host and by the CLI.
import { openStateDatabase } from '../state/sqlite.js';
import { byCreated, duplicateToken, type AgentStore, type AgentTokenRecord } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agent_tokens (
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  servers TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER,
  revoked INTEGER
);
CREATE INDEX IF NOT EXISTS agent_tokens_agent ON agent_tokens (agent);
`;

interface Row {
  id: string;
  agent: string;
  sha256: string;
  servers: string;
  created: number;
  expires: number | null;
  revoked: number | null;
}

function recordOf(row: Row): AgentTokenRecord {
  const r: AgentTokenRecord = { id: row.id, agent: row.agent, sha256: row.sha256, servers: JSON.parse(row.servers) as AgentTokenRecord['servers'], created: row.created };
  if (row.expires !== null) r.expires = row.expires;
  if (row.revoked !== null) r.revoked = row.revoked;
  return r;
}

export function createSqliteAgentStore(file: string): AgentStore {
  const db = openStateDatabase(file, SCHEMA);
  const COLUMNS = 'id, agent, sha256, servers, created, expires, revoked';
  const st = {
    insert: db.prepare<[string, string, string, string, number, number | null, number | null]>(`INSERT OR IGNORE INTO agent_tokens (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    byHash: db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM agent_tokens WHERE sha256 = ?`),
    all: db.prepare<[], Row>(`SELECT ${COLUMNS} FROM agent_tokens ORDER BY created, id`),
    // RETURNING under SQLite's write lock: each token is revoked by exactly one caller, which learns it.
    revokeId: db.prepare<[number, string], Row>(`UPDATE agent_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL RETURNING ${COLUMNS}`),
    revokeAgent: db.prepare<[number, string], Row>(`UPDATE agent_tokens SET revoked = ? WHERE agent = ? AND revoked IS NULL RETURNING ${COLUMNS}`),
  };
  return {
    kind: 'sqlite',
    async add(r) {
      const servers = JSON.stringify(r.servers);
      if (st.insert.run(r.id, r.agent, r.sha256, servers, r.created, r.expires ?? null, r.revoked ?? null).changes !== 1) throw duplicateToken(r);
    },
    async findByHash(sha256) {
      const row = st.byHash.get(sha256);
      return row && recordOf(row);
    },
    async list() {
      return st.all.all().map(recordOf);
    },
    async revoke(target, now = Date.now()) {
      const rows = 'id' in target ? st.revokeId.all(now, target.id) : st.revokeAgent.all(now, target.agent);
      return rows.map(recordOf).sort(byCreated);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
