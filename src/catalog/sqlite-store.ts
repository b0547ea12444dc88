// SQLite catalogue: one row per (server, tool) in the state file, shared by the gateway and the CLI on one host.
import { openStateDatabase } from '../state/sqlite.js';
import type { CatalogEntry } from './entry.js';
import type { CatalogStore } from './store.js';

// The entry is kept whole as JSON: the catalogue is read by server and by tool, never queried by its fields.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS catalog_tools (
  server TEXT NOT NULL,
  tool TEXT NOT NULL,
  entry TEXT NOT NULL,
  PRIMARY KEY (server, tool)
) WITHOUT ROWID;
`;

interface Row {
  entry: string;
}

export function createSqliteCatalog(file: string): CatalogStore {
  const db = openStateDatabase(file, SCHEMA);

  const st = {
    servers: db.prepare<[], { server: string }>('SELECT DISTINCT server FROM catalog_tools ORDER BY server'),
    tools: db.prepare<[string], Row>('SELECT entry FROM catalog_tools WHERE server = ? ORDER BY tool'),
    get: db.prepare<[string, string], Row>('SELECT entry FROM catalog_tools WHERE server = ? AND tool = ?'),
    put: db.prepare<[string, string, string]>(
      'INSERT INTO catalog_tools (server, tool, entry) VALUES (?, ?, ?) ON CONFLICT (server, tool) DO UPDATE SET entry = excluded.entry',
    ),
    removeServer: db.prepare<[string]>('DELETE FROM catalog_tools WHERE server = ?'),
    removeTool: db.prepare<[string, string]>('DELETE FROM catalog_tools WHERE server = ? AND tool = ?'),
  };
  const putAll = db.transaction((entries: readonly CatalogEntry[]) => {
    for (const e of entries) st.put.run(e.server, e.tool, JSON.stringify(e));
  });
  // data_version moves when another connection commits; own writes are counted here.
  let ownWrites = 0;
  // better-sqlite3 is synchronous: each call completes before its promise is returned.
  return {
    servers: async () => st.servers.all().map((r) => r.server),
    tools: async (server) => st.tools.all(server).map((r) => JSON.parse(r.entry) as CatalogEntry),
    async get(server, tool) {
      const row = st.get.get(server, tool);
      return row && (JSON.parse(row.entry) as CatalogEntry);
    },
    async put(entries) {
      putAll(entries);
      ownWrites++;
    },
    async remove(server, tool) {
      const changes = (tool === undefined ? st.removeServer.run(server) : st.removeTool.run(server, tool)).changes;
      if (changes > 0) ownWrites++;
      return changes;
    },
    version: async () => `${db.pragma('data_version', { simple: true }) as number}.${ownWrites}`,
    close: async () => void db.close(),
  };
}
