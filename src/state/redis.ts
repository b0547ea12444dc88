// Redis StateStore driver: exact sliding windows shared by replicas, one atomic Lua round trip per reserve()
// (the key layout is described in redis-scripts.ts). Reservations asked for in the same turn of the event loop
// share one script run, so that under load a round trip serves many calls.
//
// Redis Cluster is not supported: a script may only touch keys of one hash slot, and the keys of one call
// (several limits, each with two keys) are not arranged into one slot. Use a single primary (or Sentinel).
import { randomBytes } from 'node:crypto';
import type {
  CounterInfo,
  LimitCheck,
  Reservation,
  ReservationToken,
  StateStore,
  StoreHealth,
  StoreOptions,
} from './store.js';
import { redactUrl } from '../redact-url.js';
import { createBatcher } from './batcher.js';
import { COMMAND_TIMEOUT_MS, CONNECTION_LOST, firstConnect, redisConnection, runScript, TIMED_OUT } from './redis-client.js';
import { SCRIPTS, SUM_SUFFIX, type LuaScript } from './redis-scripts.js';
import { assertCheck } from './window.js';

/**
 * Reservations of one event-loop turn travel in one script run. A batch keeps Redis busy for ≈10 µs per call, so
 * 64 calls bound the pause other clients of the same Redis see; two batches in flight keep the pipe full.
 */
const BATCHING = { maxBatch: 64, maxInFlight: 2 };

/** SCAN MATCH treats * ? [ ] \ as pattern syntax; limit keys may contain them. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

type ConnState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export async function createRedisStore(url: string, opts: StoreOptions): Promise<StateStore> {
  if (!/^rediss?:\/\//i.test(url)) throw new Error(`not a Redis URL: ${redactUrl(url)} (expected redis://host:port[/db])`);
  const shown = redactUrl(url);

  const redis = redisConnection(url, 'policylayer-state');

  let state: ConnState = 'connecting';
  let lastError: string | undefined;
  let reported = '';

  const health = (): StoreHealth => {
    if (state === 'connected') return { ok: true, detail: `${shown} connected` };
    const why = lastError ? ` (last error: ${lastError})` : '';
    return { ok: false, detail: `${shown} ${state}${why}` };
  };
  const report = (): void => {
    const h = health();
    const sig = `${h.ok} ${h.detail}`;
    if (sig === reported) return;
    reported = sig;
    try {
      opts.onHealthChange?.(h);
    } catch {
      // A faulty listener must not break the connection handling.
    }
  };

  // Without an 'error' listener a refused connection would crash the process (EventEmitter semantics).
  redis.on('error', (err: Error) => {
    lastError = err.message || String(err);
    if (state === 'connected') state = 'reconnecting';
    report();
  });
  redis.on('ready', () => {
    state = 'connected';
    lastError = undefined;
    report();
  });
  redis.on('close', () => {
    if (state === 'connected') lastError ??= 'connection closed by the server';
    if (state !== 'closed') state = state === 'connecting' ? 'connecting' : 'reconnecting';
    report();
  });
  redis.on('reconnecting', () => {
    if (state !== 'closed') state = 'reconnecting';
    report();
  });

  await firstConnect(redis);
  report();

  const fail = (err: unknown): Error => {
    const msg = err instanceof Error ? err.message : String(err);
    // ioredis words a connection lost mid-command as a retry limit or an unwritable stream; say what happened.
    if (CONNECTION_LOST.test(msg)) {
      return new Error(`state store ${shown} unreachable (connection lost${lastError ? `: ${lastError}` : ''})`, { cause: err });
    }
    if (TIMED_OUT.test(msg)) {
      // A hung Redis keeps its TCP connection: drop it, so that the next calls fail at once instead of each
      // waiting for the timeout, health says so, and ioredis reconnects (answering its ready check) by itself.
      lastError = `no answer within ${COMMAND_TIMEOUT_MS} ms`;
      if (state === 'connected') {
        state = 'reconnecting';
        report();
        redis.disconnect(true);
      }
      return new Error(`state store ${shown} unreachable (${lastError})`, { cause: err });
    }
    return new Error(`state store ${shown} failed: ${msg}`, { cause: err });
  };
  const unreachable = (): Error =>
    new Error(`state store ${shown} unreachable (${state}${lastError ? `; last error: ${lastError}` : ''})`);

  async function run(s: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (state === 'closed') throw new Error(`state store ${shown} is closed`);
    if (redis.status !== 'ready') throw unreachable();
    try {
      return await runScript(redis, s, keys, args);
    } catch (err) {
      throw fail(err);
    }
  }

  let seq = 0;
  const base = randomBytes(9).toString('base64url');

  /** One call's reservation as the batched script answers it: [1] or [0, index, retryAfterMs, used]. */
  type ReserveReply = [number, ...unknown[]];
  const reserveBatch = createBatcher<{ id: string; checks: LimitCheck[] }, ReserveReply>(
    async (calls) => {
      const keys: string[] = [];
      const args: string[] = [String(calls.length)];
      for (const { id, checks } of calls) {
        args.push(id, String(checks.length));
        for (const c of checks) {
          keys.push(c.key, c.key + SUM_SUFFIX);
          args.push(String(c.cost), String(c.max), String(c.windowMs));
        }
      }
      return (await run(SCRIPTS.reserve, keys, args)) as ReserveReply[];
    },
    BATCHING,
  );

  return {
    kind: 'redis',

    async reserve(checks: LimitCheck[]): Promise<Reservation> {
      for (const c of checks) {
        assertCheck(c);
        if (c.key.endsWith(SUM_SUFFIX)) throw new TypeError(`limit key ${c.key} ends with ${SUM_SUFFIX}, which the redis driver uses itself`);
      }
      if (checks.length === 0) return { ok: true, token: { entries: [] } };
      // Unique per process (random base) and per call (sequence): members never collide across replicas.
      const id = `${base}${(seq++).toString(36)}`;
      const res = await reserveBatch({ id, checks });
      if (res[0] === 1) {
        return {
          ok: true,
          token: { entries: checks.map((c, i) => ({ key: c.key, member: `${id}.${i}:${String(c.cost)}`, cost: c.cost })) },
        };
      }
      const index = Number(res[1]);
      const retry = Number(res[2]);
      // -1: the cost alone exceeds max, no wait helps; report a whole window so callers back off.
      const windowMs = checks[index]?.windowMs ?? 0;
      return { ok: false, index, retryAfterMs: retry < 0 ? Math.ceil(windowMs) : retry, used: Number(res[3]) };
    },

    async commit(_token: ReservationToken): Promise<void> {
      // Nothing to do: the admission was written by reserve() and expires with its window.
    },

    async rollback(token: ReservationToken): Promise<void> {
      if (token.entries.length === 0) return;
      const keys: string[] = [];
      const args: string[] = [];
      for (const e of token.entries) {
        keys.push(e.key, e.key + SUM_SUFFIX);
        args.push(e.member, String(e.cost));
      }
      await run(SCRIPTS.rollback, keys, args);
    },

    async counters(prefix = opts.prefix): Promise<CounterInfo[]> {
      const found = new Set<string>();
      let cursor = '0';
      do {
        if (state === 'closed') throw new Error(`state store ${shown} is closed`);
        if (redis.status !== 'ready') throw unreachable();
        let reply: [string, string[]];
        try {
          reply = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
        } catch (err) {
          throw fail(err);
        }
        cursor = reply[0];
        for (const k of reply[1]) found.add(k.endsWith(SUM_SUFFIX) ? k.slice(0, -SUM_SUFFIX.length) : k);
      } while (cursor !== '0');

      const names = [...found].sort();
      const out: CounterInfo[] = [];
      for (let i = 0; i < names.length; i += 200) {
        const batch = names.slice(i, i + 200);
        const keys = batch.flatMap((k) => [k, k + SUM_SUFFIX]);
        const rows = (await run(SCRIPTS.counters, keys, [])) as [string, number, number][];
        rows.forEach((row, j) => {
          const key = batch[j];
          if (key === undefined || row[1] === 0) return;
          const info: CounterInfo = { key, used: Number(row[0]), calls: row[1] };
          if (row[2] >= 0) info.nextExpiryMs = row[2];
          out.push(info);
        });
      }
      return out;
    },

    health,

    async close(): Promise<void> {
      if (state === 'closed') return;
      state = 'closed';
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
