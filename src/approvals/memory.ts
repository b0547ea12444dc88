// In-process ApprovalStore: approvals of one gateway process (approvers reach it through the admin API).
import { consumed, decided, DEFAULT_LIST_LIMIT, listedAfter, usable, type ApprovalRecord, type ApprovalStore } from './store.js';

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
      const { status, after } = filter;
      const all = [...records.values()].filter((r) => (status === undefined || r.status === status) && (after === undefined || listedAfter(r, after)));
      // The order every driver lists in (insertion order is not it: records created in the same ms).
      all.sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      return structuredClone(all.slice(0, filter.limit ?? DEFAULT_LIST_LIMIT));
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
