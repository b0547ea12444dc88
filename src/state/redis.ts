// Redis StateStore driver: exact sliding windows shared by replicas, one atomic Lua round trip per reserve().
//
// Layout per limit key K (kept verbatim; the limiter builds every K under opts.prefix, "<prefix>rl:…"):
//   K        sorted set, score = admission time in ms (Redis server clock), member = "<reservation id>.<i>:<cost>"
//   K|sum    hash { sum = units of the members still in the set, win = window in ms }
// The running sum makes a check O(expired entries) instead of O(entries); both keys carry a PEXPIRE of the
// window, so an idle key disappears by itself.
//
// Redis Cluster is not supported: a script may only touch keys of one hash slot, and the keys of one call
// (several limits, each with two keys) are not arranged into one slot. Use a single primary (or Sentinel).
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type {
  CounterInfo,
  LimitCheck,
  Reservation,
  ReservationToken,
  StateStore,
  StoreHealth,
  StoreOptions,
} from './store.js';
import { assertCheck } from './window.js';

/** A command (or a connect attempt) waits at most this long, so a hung Redis turns into a fail-mode decision. */
const COMMAND_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
/** Reconnect backoff: 50 ms doubling, capped, forever (the gateway must recover by itself). */
const RECONNECT_MAX_MS = 2000;
/** The running-sum hash of key K is K + this; limiter keys end with a limit path and never look like it. */
const SUM_SUFFIX = '|sum';

// Shared Lua helpers. Numbers go to Redis as %.17g strings: Lua's default tostring keeps only 14 digits.
const LUA_PRELUDE = `
local function fmt(x) return string.format('%.17g', x) end
local function costof(m) return tonumber(string.match(m, ':([^:]+)$')) or 0 end
-- The Redis server's clock, not the callers': replicas with skewed clocks still agree on every window.
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
-- Tolerance for float drift of decimal costs summed in binary (0.1 + 0.2 fits under 0.3); same as window.ts.
local function tol(max) return 1e-9 * math.max(1, math.abs(max)) end
-- Drops the entries that left the window (score <= cutoff) and returns the units still in it.
local function prune(z, s, cutoff)
  local sum = tonumber(redis.call('HGET', s, 'sum') or '0') or 0
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', fmt(cutoff))
  if #old > 0 then
    for _, m in ipairs(old) do sum = sum - costof(m) end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', fmt(cutoff))
  end
  if redis.call('ZCARD', z) == 0 then
    redis.call('DEL', s)
    return 0
  end
  if #old > 0 then redis.call('HSET', s, 'sum', fmt(sum)) end
  return sum
end
`;

// KEYS: log, sum per check. ARGV: reservation id, then cost, max, windowMs per check.
// Returns {1, now} when admitted, {0, index, retryAfterMs, used} when check \`index\` (0-based) refused.
const RESERVE_LUA = `${LUA_PRELUDE}
local now = nowms()
local id = ARGV[1]
local n = #KEYS / 2
local pending = {}
for i = 1, n do
  local z, s = KEYS[2 * i - 1], KEYS[2 * i]
  local cost, max, win = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  -- An earlier check of this call on the same key counts too.
  local used = prune(z, s, now - win) + (pending[z] or 0)
  if used + cost > max + tol(max) then
    -- Walk the oldest entries until enough units would have left the window for this call to fit.
    local need = used + cost - max - tol(max)
    local retry = -1
    if cost <= max + tol(max) then
      local freed, off = 0, 0
      while retry < 0 do
        local batch = redis.call('ZRANGE', z, off, off + 127, 'WITHSCORES')
        if #batch == 0 then break end
        for j = 1, #batch, 2 do
          freed = freed + costof(batch[j])
          if freed >= need then
            retry = math.max(1, math.ceil(tonumber(batch[j + 1]) + win - now))
            break
          end
        end
        off = off + 128
      end
    end
    return {0, i - 1, retry, fmt(used)}
  end
  pending[z] = (pending[z] or 0) + cost
end
for i = 1, n do
  local z, s = KEYS[2 * i - 1], KEYS[2 * i]
  local cost, win = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i + 1])
  redis.call('ZADD', z, fmt(now), id .. '.' .. (i - 1) .. ':' .. ARGV[3 * i - 1])
  local sum = (tonumber(redis.call('HGET', s, 'sum') or '0') or 0) + cost
  redis.call('HSET', s, 'sum', fmt(sum), 'win', ARGV[3 * i + 1])
  local ttl = math.ceil(win) + 1
  redis.call('PEXPIRE', z, ttl)
  redis.call('PEXPIRE', s, ttl)
end
return {1, fmt(now)}
`;

// KEYS: log, sum per entry. ARGV: member, cost per entry. Entries already out of the window are left alone.
const ROLLBACK_LUA = `${LUA_PRELUDE}
for i = 1, #KEYS / 2 do
  local z, s = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('ZREM', z, ARGV[2 * i - 1]) == 1 then
    if redis.call('ZCARD', z) == 0 then
      redis.call('DEL', s)
    else
      local sum = (tonumber(redis.call('HGET', s, 'sum') or '0') or 0) - tonumber(ARGV[2 * i])
      if sum < 0 then sum = 0 end
      redis.call('HSET', s, 'sum', fmt(sum))
    end
  end
end
return #KEYS / 2
`;

// KEYS: log, sum per key. Returns {used, calls, nextExpiryMs or -1} per key, after dropping expired entries.
const COUNTERS_LUA = `${LUA_PRELUDE}
local now = nowms()
local out = {}
for i = 1, #KEYS / 2 do
  local z, s = KEYS[2 * i - 1], KEYS[2 * i]
  -- SCAN may find keys of other kinds under the prefix: only limit logs with their sum count.
  local win = nil
  if redis.call('TYPE', z).ok == 'zset' and redis.call('TYPE', s).ok == 'hash' then
    win = tonumber(redis.call('HGET', s, 'win') or '')
  end
  local used, calls, next = 0, 0, -1
  if win then
    used = prune(z, s, now - win)
    calls = redis.call('ZCARD', z)
    if calls > 0 then
      local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
      next = math.max(0, math.ceil(tonumber(first[2]) + win - now))
    end
  end
  out[i] = {fmt(used), calls, next}
end
return out
`;

interface LuaScript {
  lua: string;
  sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const SCRIPTS = { reserve: script(RESERVE_LUA), rollback: script(ROLLBACK_LUA), counters: script(COUNTERS_LUA) };

/** The URL without its password, for messages and /healthz. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** SCAN MATCH treats * ? [ ] \ as pattern syntax; limit keys may contain them. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

type ConnState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export async function createRedisStore(url: string, opts: StoreOptions): Promise<StateStore> {
  if (!/^rediss?:\/\//i.test(url)) throw new Error(`not a Redis URL: ${redactUrl(url)} (expected redis://host:port[/db])`);
  const shown = redactUrl(url);

  const redis = new Redis(url, {
    lazyConnect: true,
    // Fail fast instead of queueing: the caller applies fail_mode while Redis is away.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), RECONNECT_MAX_MS),
    connectionName: 'policylayer-state',
  });

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

  // Wait briefly for the first connection so the first calls do not fail needlessly; an unreachable Redis
  // still yields a store (calls reject, health says why, ioredis keeps reconnecting).
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, CONNECT_TIMEOUT_MS + 100);
    redis.once('ready', done);
    redis.once('error', done);
    redis.connect().catch(() => done());
  });
  report();

  const fail = (err: unknown): Error => {
    const msg = err instanceof Error ? err.message : String(err);
    // ioredis words a connection lost mid-command as a retry limit or an unwritable stream; say what happened.
    if (/max retries per request|Connection is closed|Stream isn't writeable/i.test(msg)) {
      return new Error(`state store ${shown} unreachable (connection lost${lastError ? `: ${lastError}` : ''})`, { cause: err });
    }
    if (/Command timed out/i.test(msg)) {
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

  /** EVALSHA (one round trip), loading the script with EVAL only after a Redis restart flushed it. */
  async function run(s: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (state === 'closed') throw new Error(`state store ${shown} is closed`);
    if (redis.status !== 'ready') throw unreachable();
    try {
      return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        try {
          return await redis.eval(s.lua, keys.length, ...keys, ...args);
        } catch (err2) {
          throw fail(err2);
        }
      }
      throw fail(err);
    }
  }

  let seq = 0;
  const base = randomBytes(9).toString('base64url');

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
      const keys: string[] = [];
      const args: (string | number)[] = [id];
      for (const c of checks) {
        keys.push(c.key, c.key + SUM_SUFFIX);
        args.push(String(c.cost), String(c.max), String(c.windowMs));
      }
      const res = (await run(SCRIPTS.reserve, keys, args)) as [number, ...unknown[]];
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
