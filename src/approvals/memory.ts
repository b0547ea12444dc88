// In-process ApprovalStore: approvals of one gateway process (approvers reach it through the admin API).
import { consumed, decided, usable, type ApprovalRecord, type ApprovalStore } from './store.js';

const MAX_RECORDS = 100_000;

export function createMemoryApprovalStore(): ApprovalStore {
  const records = new Map<string, ApprovalRecord>();
  const watchers = new Set<(r: ApprovalRecord) => void>();
  const newestFirst = () => [...records.values()].reverse();
  return {
    kind: 'memory',
    async create(record) {
      // Oldest decided records go first when the map is full; pending ones are never dropped.
      if (records.size >= MAX_RECORDS) {
        for (const [id, r] of records) {
          if (r.status === 'pending') continue;
          records.delete(id);
          break;
        }
      }
      records.set(record.id, structuredClone(record));
    },
    async get(id) {
      const r = records.get(id);
      return r && structuredClone(r);
    },
    async list(filter = {}) {
      const all = newestFirst().filter((r) => filter.status === undefined || r.status === filter.status);
      return structuredClone(all.slice(0, filter.limit ?? 100));
    },
    async decide(id, decision, now = Date.now()) {
      const r = records.get(id);
      if (!r) return { ok: false };
      const next = decided(r, decision, now);
      if (!next) return { ok: false, record: structuredClone(r) };
      records.set(id, next);
      for (const w of watchers) w(structuredClone(next));
      return { ok: true, record: structuredClone(next) };
    },
    async consume(id, now = Date.now()) {
      const r = records.get(id);
      const next = r && consumed(r, now);
      if (!next) return false;
      records.set(id, next);
      return true;
    },
    async findUsable(binding, now = Date.now()) {
      const r = newestFirst().find((x) => x.binding === binding && usable(x, now));
      return r && structuredClone(r);
    },
    async findPending(binding) {
      const r = newestFirst().find((x) => x.binding === binding && x.status === 'pending');
      return r && structuredClone(r);
    },
    watch(onDecided) {
      watchers.add(onDecided);
      return () => watchers.delete(onDecided);
    },
    async close() {
      watchers.clear();
    },
  };
}
