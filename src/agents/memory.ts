// In-process AgentStore (gateway.state memory:): tokens of one gateway process; the CLI cannot reach them.
import { byCreated, duplicateToken, targets, type AgentStore, type AgentTokenRecord } from './store.js';

export function createMemoryAgentStore(): AgentStore {
  const byId = new Map<string, AgentTokenRecord>();
  const idOfHash = new Map<string, string>();
  const copy = (r: AgentTokenRecord | undefined) => r && structuredClone(r);
  return {
    kind: 'memory',
    async add(record) {
      if (byId.has(record.id) || idOfHash.has(record.sha256)) throw duplicateToken(record);
      byId.set(record.id, structuredClone(record));
      idOfHash.set(record.sha256, record.id);
    },
    async findByHash(sha256) {
      const id = idOfHash.get(sha256);
      return copy(id === undefined ? undefined : byId.get(id));
    },
    async list() {
      return [...byId.values()].map((r) => structuredClone(r)).sort(byCreated);
    },
    async revoke(target, now = Date.now()) {
      const done: AgentTokenRecord[] = [];
      for (const r of byId.values()) {
        if (r.revoked !== undefined || !targets(target, r)) continue;
        r.revoked = now;
        done.push(structuredClone(r));
      }
      return done.sort(byCreated);
    },
    async close() {},
  };
}
