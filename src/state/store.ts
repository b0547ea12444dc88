// The StateStore contract: atomic sliding-window reservations shared by every gateway replica that uses the store.

/** One limit to check for a call: at most `max` units admitted in any `windowMs` interval under `key`. */
export interface LimitCheck {
  key: string;
  /** Units this call uses: 1 for a rate limit, the amount for a spend cap. Always > 0 and finite. */
  cost: number;
  max: number;
  windowMs: number;
}

/** What reserve() admitted; serialisable so that another replica could commit or roll it back. */
export interface ReservationToken {
  entries: { key: string; member: string; cost: number }[];
}

export type Reservation =
  | { ok: true; token: ReservationToken }
  /** `index` is the check that refused; `retryAfterMs` when enough of its window has passed for this cost. */
  | { ok: false; index: number; retryAfterMs: number; used: number };

export interface CounterInfo {
  key: string;
  /** Units admitted in the current window of the key. */
  used: number;
  /** Admitted calls (entries) in the window. */
  calls: number;
  /** Time until the oldest entry leaves the window. */
  nextExpiryMs?: number;
}

export interface StoreHealth {
  ok: boolean;
  /** e.g. "redis://127.0.0.1:6379 connected" or the last error. */
  detail: string;
}

export interface StateStore {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  /**
   * Admits the call against every check or against none, atomically across all processes sharing the store:
   * for each check, the units admitted in (now - windowMs, now] plus `cost` must not exceed `max`.
   * Exact sliding window (a log of admissions), never calendar buckets. Rejects (throws) when the store is
   * unreachable; the caller applies the fail mode.
   */
  reserve(checks: LimitCheck[]): Promise<Reservation>;
  /** The call happened: the admission stays counted until it leaves its window. */
  commit(token: ReservationToken): Promise<void>;
  /** The call did not happen (upstream failure, cancel): its units are given back at once. */
  rollback(token: ReservationToken): Promise<void>;
  /** Current counters of keys starting with `prefix` (for `policylayer limits`). */
  counters(prefix?: string): Promise<CounterInfo[]>;
  health(): StoreHealth;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Prefix of every key the store writes (Redis key namespace, SQLite key column). */
  prefix: string;
  /** Called on connection state changes (Redis), for logs and /healthz. */
  onHealthChange?: (health: StoreHealth) => void;
}
