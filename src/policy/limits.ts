// Compiles rate_limit / quota blocks into the limits a Decision carries; pure, no I/O.
import { windowMs, type QuotaConfig, type RateLimitConfig, type Scope } from '../config/limits-schema.js';

export interface CompiledLimit {
  /** Stable path into the policy file (part of the counter key, so a reload keeps the counters). */
  path: string;
  kind: 'rate_limit' | 'quota';
  max: number;
  windowMs: number;
  scope: Scope;
  /** Units per call: a constant, or the path of a number inside the call's arguments. */
  cost: number | readonly string[];
  /** e.g. "10 calls per 60 s per session", for denials. */
  describe: string;
}

interface LimitBlocks {
  rate_limit?: RateLimitConfig | RateLimitConfig[] | undefined;
  quota?: QuotaConfig | QuotaConfig[] | undefined;
}

export function compileLimits(basePath: string, blocks: LimitBlocks | undefined): CompiledLimit[] {
  if (!blocks) return [];
  const out: CompiledLimit[] = [];
  const each = <T>(value: T | T[] | undefined, name: string, add: (v: T, path: string) => void) => {
    if (value === undefined) return;
    if (Array.isArray(value)) value.forEach((v, i) => add(v, `${basePath}.${name}[${i}]`));
    else add(value, `${basePath}.${name}`);
  };
  each(blocks.rate_limit, 'rate_limit', (l, path) => {
    const ms = windowMs(l.window);
    out.push({ path, kind: 'rate_limit', max: l.max, windowMs: ms, scope: l.scope, cost: 1, describe: `${l.max} calls per ${span(ms)} per ${l.scope}` });
  });
  each(blocks.quota, 'quota', (q, path) => {
    const ms = windowMs(q.window);
    const cost = typeof q.cost === 'number' ? q.cost : q.cost.split('.').slice(1);
    const per = typeof q.cost === 'number' ? `${q.cost} per call` : q.cost;
    out.push({ path, kind: 'quota', max: q.max, windowMs: ms, scope: q.scope, cost, describe: `a budget of ${q.max} (${per}) per ${span(ms)} per ${q.scope}` });
  });
  return out;
}

function span(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return `${ms / 1000} s`;
}
