// Sliding-window arithmetic shared by the state store drivers: does a cost fit, and how long until it will.

/**
 * Costs are decimal amounts (spend caps: 0.1 + 0.2 must fit under a cap of 0.3) summed in binary floating point.
 * A relative tolerance of 1e-9 absorbs the rounding; it admits at most a billionth of `max` too much, never a call.
 */
export function tolerance(max: number): number {
  return 1e-9 * Math.max(1, Math.abs(max));
}

/** Whether `cost` more units fit when `used` are already admitted in the window. */
export function fits(used: number, cost: number, max: number): boolean {
  return used + cost <= max + tolerance(max);
}

/** Rejects checks that the contract excludes, before they could corrupt a running sum. */
export function assertCheck(check: { key: string; cost: number; max: number; windowMs: number }): void {
  if (!(check.cost > 0 && check.cost < Infinity) || !(check.max > 0) || !(check.windowMs > 0 && check.windowMs < Infinity)) {
    throw new TypeError(`invalid limit check for ${check.key}: cost ${check.cost}, max ${check.max}, windowMs ${check.windowMs} (all must be positive and finite)`);
  }
}

/**
 * Milliseconds until enough of the oldest admissions leave the window for `cost` to fit (`used - freed + cost <= max`).
 * `oldestFirst` are the admissions in the window, in time order; an admission at `ts` leaves at `ts + windowMs`.
 * A cost larger than `max` never fits, however long the caller waits: the answer is then `windowMs` (the limiter
 * should tell such a call apart by comparing cost and max itself).
 */
export function retryAfter(
  oldestFirst: Iterable<{ ts: number; cost: number }>,
  used: number,
  cost: number,
  max: number,
  windowMs: number,
  now: number,
): number {
  if (cost > max + tolerance(max)) return windowMs;
  const need = used + cost - max - tolerance(max);
  let freed = 0;
  for (const e of oldestFirst) {
    freed += e.cost;
    if (freed >= need) return Math.max(1, Math.ceil(e.ts + windowMs - now));
  }
  // Only reached when `used` counts units that are not in the list (e.g. an earlier check of the same reserve()).
  return windowMs;
}
