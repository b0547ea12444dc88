// In-process StateStore: an exact sliding window kept as an admission log per key (one gateway process only).
import type { CounterInfo, LimitCheck, Reservation, ReservationToken, StateStore, StoreOptions } from './store.js';
import { assertCheck, fits, retryAfter } from './window.js';

interface Entry {
  ts: number;
  member: string;
  cost: number;
}

/** Admissions of one key, oldest first from `head` (entries before it are dropped, compacted now and then). */
interface Log {
  entries: Entry[];
  head: number;
  /** Sum of the costs of entries[head..]. */
  sum: number;
  /** Window of the last check of this key: what the sweep expires idle keys with. */
  windowMs: number;
}

export interface MemoryStoreTuning {
  /** How often idle keys are expired and dropped; default 60 s. */
  sweepIntervalMs?: number;
}

export interface MemoryStore extends StateStore {
  /** Keys currently holding admissions (memory use is proportional to it); for tests. */
  keyCount(): number;
}

// A monotonic clock: a wall-clock step (NTP) must neither free nor freeze a window.
const clock = () => performance.now();

/**
 * Counts in this process only: each replica of the gateway would have its own counters, so use sqlite: or redis:
 * when several processes serve the same limits. Everything happens synchronously inside reserve(), so concurrent
 * calls in this process are serialised by the event loop and exact.
 */
export function createMemoryStore(opts: StoreOptions, tuning: MemoryStoreTuning = {}): MemoryStore {
  const logs = new Map<string, Log>();
  let seq = 0;
  let closed = false;

  /** Drops the entries that left the window; deletes the key when none are left. */
  const expire = (key: string, log: Log, now: number): void => {
    const { entries } = log;
    const cutoff = now - log.windowMs;
    let head = log.head;
    while (head < entries.length && entries[head]!.ts <= cutoff) {
      log.sum -= entries[head]!.cost;
      head++;
    }
    if (head === entries.length) {
      logs.delete(key);
      return;
    }
    // Compact once the dropped prefix is most of the array: amortised O(1) per entry, no shift() per expiry.
    if (head > 32 && head * 2 > entries.length) {
      entries.splice(0, head);
      head = 0;
    }
    log.head = head;
  };

  const live = (key: string, windowMs: number, now: number): Log | undefined => {
    const log = logs.get(key);
    if (!log) return undefined;
    log.windowMs = windowMs;
    expire(key, log, now);
    return logs.get(key);
  };

  const sweep = () => {
    const now = clock();
    for (const [key, log] of logs) expire(key, log, now);
  };
  const timer = setInterval(sweep, tuning.sweepIntervalMs ?? 60_000);
  timer.unref();

  const reserveNow = (checks: LimitCheck[]): Reservation => {
    if (closed) throw new Error('the memory state store is closed');
    const now = clock();
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      assertCheck(check);
      const log = live(check.key, check.windowMs, now);
      let used = log ? log.sum : 0;
      // Two checks of one call on the same key both count the call.
      for (let j = 0; j < i; j++) if (checks[j]!.key === check.key) used += checks[j]!.cost;
      if (!fits(used, check.cost, check.max)) {
        const window = log ? log.entries.slice(log.head) : [];
        return { ok: false, index: i, used, retryAfterMs: retryAfter(window, used, check.cost, check.max, check.windowMs, now) };
      }
    }
    const token: ReservationToken = { entries: [] };
    for (const check of checks) {
      const member = String(++seq);
      let log = logs.get(check.key);
      if (!log) {
        log = { entries: [], head: 0, sum: 0, windowMs: check.windowMs };
        logs.set(check.key, log);
      }
      log.entries.push({ ts: now, member, cost: check.cost });
      log.sum += check.cost;
      token.entries.push({ key: check.key, member, cost: check.cost });
    }
    return { ok: true, token };
  };

  return {
    kind: 'memory',
    reserve(checks) {
      try {
        return Promise.resolve(reserveNow(checks));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async commit() {
      // The entries are in the log since reserve(); they leave it with the window.
    },
    async rollback(token) {
      for (const { key, member } of token.entries) {
        const log = logs.get(key);
        if (!log) continue;
        // Rollbacks follow their reserve() closely: the entry is near the end.
        for (let i = log.entries.length - 1; i >= log.head; i--) {
          const entry = log.entries[i]!;
          if (entry.member !== member) continue;
          log.entries.splice(i, 1);
          log.sum -= entry.cost;
          if (log.head === log.entries.length) logs.delete(key);
          else if (log.sum < 0) log.sum = 0;
          break;
        }
      }
    },
    async counters(prefix = opts.prefix) {
      const now = clock();
      const out: CounterInfo[] = [];
      for (const [key, log] of logs) {
        if (!key.startsWith(prefix)) continue;
        expire(key, log, now);
        if (!logs.has(key)) continue;
        const oldest = log.entries[log.head]!;
        out.push({ key, used: log.sum, calls: log.entries.length - log.head, nextExpiryMs: Math.max(0, Math.ceil(oldest.ts + log.windowMs - now)) });
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    health: () => (closed ? { ok: false, detail: 'memory: closed' } : { ok: true, detail: 'memory: (counters of this process only)' }),
    async close() {
      closed = true;
      clearInterval(timer);
      logs.clear();
    },
    keyCount: () => logs.size,
  };
}
