// The Lua scripts of the Redis StateStore driver. Each runs atomically inside Redis: one round trip per script.
//
// Layout per limit key K (kept verbatim; the limiter builds every K under the store's prefix, "<prefix>rl:…"):
//   K        sorted set, score = admission time in ms (Redis server clock), member = "<reservation id>.<i>:<cost>"
//   K|sum    hash { sum = units of the members still in the set, win = window in ms }
// The running sum makes a check O(expired entries) instead of O(entries); both keys carry a PEXPIRE of the
// window, so an idle key disappears by itself.
import { createHash } from 'node:crypto';

/** The running-sum hash of key K is K + this; limiter keys end with a limit path and never look like it. */
export const SUM_SUFFIX = '|sum';

export interface LuaScript {
  lua: string;
  sha: string;
}

export function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// Shared helpers. Numbers go to Redis as %.17g strings: Lua's default tostring keeps only 14 digits.
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
-- Drops the entries of z that left the window (score <= cutoff) from sum; an emptied set restarts at 0 exactly.
local function prune(z, sum, cutoff)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', fmt(cutoff))
  if #old == 0 then return sum, false end
  for _, m in ipairs(old) do sum = sum - costof(m) end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', fmt(cutoff))
  if redis.call('ZCARD', z) == 0 then sum = 0 end
  return sum, true
end
`;

// Several calls' reservations in one script, decided one after the other in the order given: exactly what the
// same calls sent one by one would get, for one round trip and one write of each key's sum and expiry.
// ARGV: number of calls, then per call: reservation id, number of checks, then cost, max, windowMs per check.
// KEYS: log, sum per check, in the same order. Returns per call {1} when admitted, or
// {0, index, retryAfterMs, used} when its check `index` (0-based) refused (retryAfterMs -1: can never fit).
const RESERVE_LUA = `${LUA_PRELUDE}
local now = nowms()
local sums, cuts, seen, order = {}, {}, {}, {}
-- Units in z's window: read and pruned on the first touch of this script, then kept in sums[z].
local function current(z, s, win)
  local k = seen[z]
  if not k then
    k = { s = s, dirty = false }
    seen[z] = k
    order[#order + 1] = z
    sums[z] = tonumber(redis.call('HGET', s, 'sum') or '0') or 0
  end
  local cutoff = now - win
  if cuts[z] == nil or cutoff > cuts[z] then
    local pruned
    sums[z], pruned = prune(z, sums[z], cutoff)
    k.dirty = k.dirty or pruned
    cuts[z] = cutoff
  end
  return sums[z]
end
-- Walks the oldest entries until enough units would have left the window for this cost to fit.
local function retry_after(z, used, cost, max, win)
  if cost > max + tol(max) then return -1 end
  local need = used + cost - max - tol(max)
  local freed, off = 0, 0
  while true do
    local batch = redis.call('ZRANGE', z, off, off + 127, 'WITHSCORES')
    if #batch == 0 then return -1 end
    for j = 1, #batch, 2 do
      freed = freed + costof(batch[j])
      if freed >= need then return math.max(1, math.ceil(tonumber(batch[j + 1]) + win - now)) end
    end
    off = off + 128
  end
end
local out = {}
local a, kk = 2, 1
for c = 1, tonumber(ARGV[1]) do
  local id, n = ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  local result = nil
  -- An earlier check of this call on the same key counts too.
  local pending = {}
  for i = 0, n - 1 do
    local z, s = KEYS[kk + 2 * i], KEYS[kk + 2 * i + 1]
    local cost, max, win = tonumber(ARGV[a + 3 * i]), tonumber(ARGV[a + 3 * i + 1]), tonumber(ARGV[a + 3 * i + 2])
    local used = current(z, s, win) + (pending[z] or 0)
    if used + cost > max + tol(max) then
      result = {0, i, retry_after(z, used, cost, max, win), fmt(used)}
      break
    end
    pending[z] = (pending[z] or 0) + cost
  end
  if not result then
    for i = 0, n - 1 do
      local z = KEYS[kk + 2 * i]
      local k = seen[z]
      redis.call('ZADD', z, fmt(now), id .. '.' .. i .. ':' .. ARGV[a + 3 * i])
      sums[z] = sums[z] + tonumber(ARGV[a + 3 * i])
      k.dirty, k.win = true, ARGV[a + 3 * i + 2]
    end
    result = {1}
  end
  out[c] = result
  a = a + 3 * n
  kk = kk + 2 * n
end
for _, z in ipairs(order) do
  local k = seen[z]
  if k.win then
    -- Admitted: the set holds at least this admission; both keys live one window past it.
    redis.call('HSET', k.s, 'sum', fmt(sums[z]), 'win', k.win)
    local ttl = math.ceil(tonumber(k.win)) + 1
    redis.call('PEXPIRE', z, ttl)
    redis.call('PEXPIRE', k.s, ttl)
  elseif k.dirty then
    -- Only pruned (every call on it refused).
    if redis.call('ZCARD', z) == 0 then redis.call('DEL', k.s) else redis.call('HSET', k.s, 'sum', fmt(sums[z])) end
  end
end
return out
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
    local pruned
    used, pruned = prune(z, tonumber(redis.call('HGET', s, 'sum') or '0') or 0, now - win)
    calls = redis.call('ZCARD', z)
    if calls == 0 then
      redis.call('DEL', s)
    else
      if pruned then redis.call('HSET', s, 'sum', fmt(used)) end
      local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
      next = math.max(0, math.ceil(tonumber(first[2]) + win - now))
    end
  end
  out[i] = {fmt(used), calls, next}
end
return out
`;

export const SCRIPTS = { reserve: script(RESERVE_LUA), rollback: script(ROLLBACK_LUA), counters: script(COUNTERS_LUA) };
