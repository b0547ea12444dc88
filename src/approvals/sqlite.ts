// SQLite ApprovalStore: approvals in the state file, shared by every gateway process on the host and by the CLI;
// decisions are exactly once (BEGIN IMMEDIATE) and reach the holding process by polling.
import { openStateDatabase } from '../state/sqlite.js';
import { consumed, decided, DEFAULT_LIST_LIMIT, usable, type ApprovalRecord, type ApprovalStore } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  binding TEXT NOT NULL,
  status TEXT NOT NULL,
  created INTEGER NOT NULL,
  decided_at INTEGER,
  -- Numbers decisions in commit order (assigned under the write lock), so a poller never skips one.
  change_seq INTEGER,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_binding ON approvals (binding, status);
CREATE INDEX IF NOT EXISTS approvals_change ON approvals (change_seq);
CREATE INDEX IF NOT EXISTS approvals_created ON approvals (created);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, created, id);
`;

/** How often a process holding calls looks for decisions made by others. */
const POLL_MS = 200;

export function createSqliteApprovalStore(file: string, opts: { pollMs?: number } = {}): ApprovalStore {
  const db = openStateDatabase(file, SCHEMA);

  const st = {
    insert: db.prepare<[string, string, string, number, number | null, string]>(
      'INSERT INTO approvals (id, binding, status, created, decided_at, record) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    get: db.prepare<[string], { record: string }>('SELECT record FROM approvals WHERE id = ?'),
    update: db.prepare<[string, number | null, string, string]>('UPDATE approvals SET status = ?, decided_at = ?, record = ? WHERE id = ?'),
    stamp: db.prepare<[string]>('UPDATE approvals SET change_seq = (SELECT coalesce(max(change_seq), 0) + 1 FROM approvals) WHERE id = ?'),
    lastChange: db.prepare<[], { seq: number | null }>('SELECT max(change_seq) AS seq FROM approvals'),
    // (created, id) < cursor: list order goes on after the cursor; the cursor of the first page is past every record.
    list: db.prepare<[number, string, number], { record: string }>('SELECT record FROM approvals WHERE (created, id) < (?, ?) ORDER BY created DESC, id DESC LIMIT ?'),
    listStatus: db.prepare<[string, number, string, number], { record: string }>(
      'SELECT record FROM approvals WHERE status = ? AND (created, id) < (?, ?) ORDER BY created DESC, id DESC LIMIT ?',
    ),
    byBinding: db.prepare<[string, string], { record: string }>('SELECT record FROM approvals WHERE binding = ? AND status = ? ORDER BY created DESC'),
    changedSince: db.prepare<[number], { record: string; change_seq: number }>('SELECT record, change_seq FROM approvals WHERE change_seq > ? ORDER BY change_seq'),
  };
  const parse = (row: { record: string } | undefined): ApprovalRecord | undefined => (row ? (JSON.parse(row.record) as ApprovalRecord) : undefined);
  const write = (r: ApprovalRecord): void => void st.update.run(r.status, r.decided?.at ?? null, JSON.stringify(r), r.id);

  /** Read-modify-write under the write lock: exactly one process applies a change to a record. */
  const change = db.transaction((id: string, next: (r: ApprovalRecord) => ApprovalRecord | undefined, announce: boolean) => {
    const r = parse(st.get.get(id));
    if (!r) return { ok: false };
    const after = next(r);
    if (!after) return { ok: false, record: r };
    write(after);
    if (announce) st.stamp.run(id);
    return { ok: true, record: after };
  });

  const watchers = new Set<(r: ApprovalRecord) => void>();
  let timer: NodeJS.Timeout | undefined;
  /** The last decision this process has told its watchers about (by commit order). */
  let seenSeq = 0;
  const heard = new Set<string>();
  const tell = (r: ApprovalRecord): void => {
    // Own decisions are told at once and again by the poll: once each.
    const key = `${r.id}:${r.status}`;
    if (heard.has(key)) return;
    heard.add(key);
    if (heard.size > 10_000) heard.clear();
    for (const w of watchers) w(r);
  };
  const poll = (): void => {
    for (const row of st.changedSince.all(seenSeq)) {
      seenSeq = row.change_seq;
      tell(JSON.parse(row.record) as ApprovalRecord);
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
      const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
      const [created, id] = filter.after ? [filter.after.created, filter.after.id] : [Number.MAX_SAFE_INTEGER, ''];
      const rows = filter.status === undefined ? st.list.all(created, id, limit) : st.listStatus.all(filter.status, created, id, limit);
      return rows.map((row) => JSON.parse(row.record) as ApprovalRecord);
    },
    async decide(id, decision, now = Date.now()) {
      const result = change.immediate(id, (r) => decided(r, decision, now), true);
      if (result.ok && result.record && watchers.size > 0) tell(result.record);
      return result;
    },
    async consume(id, now = Date.now()) {
      return change.immediate(id, (r) => consumed(r, now), false).ok;
    },
    async findUsable(binding, now = Date.now()) {
      return st.byBinding.all(binding, 'approved').map((row) => JSON.parse(row.record) as ApprovalRecord).find((r) => usable(r, now));
    },
    async findPending(binding) {
      return parse(st.byBinding.all(binding, 'pending')[0]);
    },
    watch(onDecided) {
      // From now on: earlier decisions are read by get(), not replayed.
      if (watchers.size === 0) seenSeq = st.lastChange.get()?.seq ?? 0;
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
