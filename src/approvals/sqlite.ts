// SQLite ApprovalStore: approvals in the state file, shared by every gateway process on the host and by the CLI;
// decisions are exactly once (BEGIN IMMEDIATE) and reach the holding process by polling.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { consumed, decided, usable, type ApprovalRecord, type ApprovalStore } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  binding TEXT NOT NULL,
  status TEXT NOT NULL,
  created INTEGER NOT NULL,
  decided_at INTEGER,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_binding ON approvals (binding, status);
CREATE INDEX IF NOT EXISTS approvals_decided ON approvals (decided_at);
CREATE INDEX IF NOT EXISTS approvals_created ON approvals (created);
`;

/** How often a process holding calls looks for decisions made by others. */
const POLL_MS = 200;

export function createSqliteApprovalStore(file: string, opts: { pollMs?: number } = {}): ApprovalStore {
  const where = file === ':memory:' ? file : path.resolve(file);
  if (file !== ':memory:') mkdirSync(path.dirname(where), { recursive: true });
  const db = new Database(where);
  db.pragma('busy_timeout = 5000');
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);

  const st = {
    insert: db.prepare<[string, string, string, number, number | null, string]>(
      'INSERT INTO approvals (id, binding, status, created, decided_at, record) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    get: db.prepare<[string], { record: string }>('SELECT record FROM approvals WHERE id = ?'),
    update: db.prepare<[string, number | null, string, string]>('UPDATE approvals SET status = ?, decided_at = ?, record = ? WHERE id = ?'),
    list: db.prepare<[number], { record: string }>('SELECT record FROM approvals ORDER BY created DESC, id DESC LIMIT ?'),
    listStatus: db.prepare<[string, number], { record: string }>('SELECT record FROM approvals WHERE status = ? ORDER BY created DESC, id DESC LIMIT ?'),
    byBinding: db.prepare<[string, string], { record: string }>('SELECT record FROM approvals WHERE binding = ? AND status = ? ORDER BY created DESC'),
    decidedSince: db.prepare<[number], { record: string; decided_at: number }>('SELECT record, decided_at FROM approvals WHERE decided_at > ? ORDER BY decided_at'),
  };
  const parse = (row: { record: string } | undefined): ApprovalRecord | undefined => (row ? (JSON.parse(row.record) as ApprovalRecord) : undefined);
  const write = (r: ApprovalRecord): void => void st.update.run(r.status, r.decided?.at ?? null, JSON.stringify(r), r.id);

  /** Read-modify-write under the write lock: exactly one process applies a change to a record. */
  const change = db.transaction((id: string, next: (r: ApprovalRecord) => ApprovalRecord | undefined) => {
    const r = parse(st.get.get(id));
    if (!r) return { ok: false };
    const after = next(r);
    if (!after) return { ok: false, record: r };
    write(after);
    return { ok: true, record: after };
  });

  const watchers = new Set<(r: ApprovalRecord) => void>();
  let timer: NodeJS.Timeout | undefined;
  // Decisions are seen from the time watching starts; a record decided in the same millisecond twice is seen once.
  let seenUntil = Date.now() - 1;
  const seenAt = new Set<string>();
  const poll = (): void => {
    for (const row of st.decidedSince.all(seenUntil - 1)) {
      const r = JSON.parse(row.record) as ApprovalRecord;
      const key = `${r.id}:${row.decided_at}`;
      if (seenAt.has(key)) continue;
      seenAt.add(key);
      if (row.decided_at > seenUntil) {
        seenUntil = row.decided_at;
        for (const k of seenAt) if (Number(k.slice(k.lastIndexOf(':') + 1)) < seenUntil - 1) seenAt.delete(k);
      }
      for (const w of watchers) w(r);
    }
  };

  return {
    kind: 'sqlite',
    async create(record) {
      st.insert.run(record.id, record.binding, record.status, record.created, record.decided?.at ?? null, JSON.stringify(record));
    },
    async get(id) {
      return parse(st.get.get(id));
    },
    async list(filter = {}) {
      const limit = filter.limit ?? 100;
      const rows = filter.status === undefined ? st.list.all(limit) : st.listStatus.all(filter.status, limit);
      return rows.map((row) => JSON.parse(row.record) as ApprovalRecord);
    },
    async decide(id, decision, now = Date.now()) {
      const result = change.immediate(id, (r) => decided(r, decision, now));
      if (result.ok && result.record) {
        // This process's own watchers hear at once; the poll skips what they already heard.
        seenAt.add(`${id}:${now}`);
        for (const w of watchers) w(result.record);
      }
      return result;
    },
    async consume(id, now = Date.now()) {
      return change.immediate(id, (r) => consumed(r, now)).ok;
    },
    async findUsable(binding, now = Date.now()) {
      return st.byBinding.all(binding, 'approved').map((row) => JSON.parse(row.record) as ApprovalRecord).find((r) => usable(r, now));
    },
    async findPending(binding) {
      return parse(st.byBinding.all(binding, 'pending')[0]);
    },
    watch(onDecided) {
      watchers.add(onDecided);
      if (!timer) {
        timer = setInterval(poll, opts.pollMs ?? POLL_MS);
        timer.unref();
      }
      return () => {
        watchers.delete(onDecided);
        if (watchers.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      watchers.clear();
      if (db.open) db.close();
    },
  };
}
