// Redis ApprovalStore: approvals shared by every replica on one Redis; decide() and consume() are Lua scripts (exactly
// once across processes) and decisions reach the processes holding calls by pub/sub.
//
// Layout under the prefix P (gateway.state_prefix):
//   P ap:rec:<id>        hash: body (the record's JSON without the fields below, written once), bind, status,
//                        expires, ttl, dat/dby/dvia/dreason (decided), used (usedAt)
//   P ap:created         zset of ids by created: list() (ties ordered by id, as Redis orders equal scores)
//   P ap:bind:<binding>  zset of ids by created: findUsable() and findPending()
//   P ap:expiry          zset of ids by the time their hash expires: expired ids leave ap:created
//   P ap:decisions       zset of ids by decision time (Redis clock), last 10 minutes: what a watcher missed
//   channel P ap:decided  every decided record's JSON, published by the script that decided it
// A hash rather than one JSON string: Lua's cjson re-encoding would reorder the arguments' keys, turn [] into {} and
// round numbers to 14 digits, and the approver must see exactly what will run. Lua never decodes the body; it splices
// the record's JSON together from the body and the fields it changes.
//
// Scripts derive record keys from ids, so Redis Cluster is not supported (as for the state store): use one primary.
import type { Redis } from 'ioredis';
import { redactUrl } from '../redact-url.js';
import { COMMAND_TIMEOUT_MS, CONNECTION_LOST, firstConnect, redisConnection, runScript, TIMED_OUT } from '../state/redis-client.js';
import { script, type LuaScript } from '../state/redis-scripts.js';
import { DEFAULT_LIST_LIMIT, type ApprovalRecord, type ApprovalStore, type ListCursor } from './store.js';

/** How long a record is kept after it stops mattering (its deadline, or the end of its ttl). */
const RETAIN_MS = 24 * 60 * 60 * 1000;
/** Decisions a watcher can catch up on after (re)subscribing; a longer outage leaves held calls to their timeout. */
const CATCHUP_MS = 10 * 60 * 1000;
/** Extra look-back of a catch-up, for the time between a decision and its record reaching the decisions log. */
const CATCHUP_MARGIN_MS = 2000;
/**
 * Most index entries one walk script looks at, so that a status filter over a huge history never blocks Redis for
 * long; list() and the finds run it again from where it stopped until they have what they asked for.
 */
const WALK_CAP = 5000;
/** Decisions remembered to tell each one once (pub/sub, catch-up and this process's own may all bring it). */
const HEARD_MAX = 10_000;


// ARGV[1] of every script is the prefix.
const PRELUDE = `
local P = ARGV[1]
local RETAIN_MS, CATCHUP_MS, WALK_CAP = ${RETAIN_MS}, ${CATCHUP_MS}, ${WALK_CAP}
local function rec(id) return P .. 'ap:rec:' .. id end
local function fmt(x) return string.format('%.17g', x) end
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The record as JSON: its body with status, decided and usedAt spliced in (numbers verbatim, as JS wrote them).
local function record_json(k)
  local f = redis.call('HMGET', k, 'body', 'status', 'dat', 'dby', 'dvia', 'dreason', 'used')
  if not f[1] then return false end
  local parts = { '"status":' .. cjson.encode(f[2]) }
  if f[3] then
    local d = '"decided":{"at":' .. f[3] .. ',"by":' .. cjson.encode(f[4]) .. ',"via":' .. cjson.encode(f[5])
    if f[6] then d = d .. ',"reason":' .. cjson.encode(f[6]) end
    parts[#parts + 1] = d .. '}'
  end
  if f[7] then parts[#parts + 1] = '"usedAt":' .. f[7] end
  local body = string.sub(f[1], 1, -2)
  return body .. (#body > 1 and ',' or '') .. table.concat(parts, ',') .. '}'
end
-- usable() of store.ts over HMGET status, dat, ttl, used: approved and decided; then within decided.at + ttlMs
-- when remembered, else unused.
local function usable(f, now)
  if f[1] ~= 'approved' or not f[2] then return false end
  if f[3] then return now < tonumber(f[2]) + tonumber(f[3]) end
  return not f[4]
end
local function extend(key, at, now)
  local left = redis.call('PTTL', key)
  if left == -1 or (left >= 0 and now + left < at) then redis.call('PEXPIREAT', key, fmt(at)) end
end
-- The record lives RETAIN_MS past its deadline or ttl (never less than RETAIN_MS from now); each index as long as
-- its longest-lived record, so that nothing outlives what it points at.
local function keep(k, id, now)
  local f = redis.call('HMGET', k, 'expires', 'dat', 'ttl', 'bind')
  local last = math.max(now, tonumber(f[1]) or 0)
  if f[2] and f[3] then last = math.max(last, tonumber(f[2]) + tonumber(f[3])) end
  local at = math.floor(last + RETAIN_MS)
  redis.call('PEXPIREAT', k, fmt(at))
  redis.call('ZADD', P .. 'ap:expiry', fmt(at), id)
  extend(P .. 'ap:created', at, now)
  extend(P .. 'ap:expiry', at, now)
  extend(P .. 'ap:bind:' .. f[4], at, now)
end
`;

// ARGV: prefix, id, binding, created, then the hash's field/value pairs. 0 when the id is taken.
const CREATE_LUA = `${PRELUDE}
local id, k, now = ARGV[2], rec(ARGV[2]), nowms()
if redis.call('EXISTS', k) == 1 then return 0 end
redis.call('HSET', k, unpack(ARGV, 5))
redis.call('ZADD', P .. 'ap:created', ARGV[4], id)
redis.call('ZADD', P .. 'ap:bind:' .. ARGV[3], ARGV[4], id)
keep(k, id, now)
-- Ids whose hash expired leave the indexes (a binding's index drops them when walked, and expires itself).
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ap:expiry', '-inf', fmt(now), 'LIMIT', 0, 100)) do
  redis.call('ZREM', P .. 'ap:created', gone)
  redis.call('ZREM', P .. 'ap:expiry', gone)
end
return 1
`;

// ARGV: prefix, id, now (the caller's, as decided() takes it), status, by, via, '1' when a reason follows, reason.
// Returns {1, json} when this call decided, {0, json} when the record was not pending (or too late to approve),
// {0} when there is no such record.
const DECIDE_LUA = `${PRELUDE}
local id, k = ARGV[2], rec(ARGV[2])
local f = redis.call('HMGET', k, 'status', 'expires')
if not f[1] then return {0} end
-- decided() of store.ts: only a pending record; approving is refused from its deadline on.
if f[1] ~= 'pending' or (ARGV[4] == 'approved' and tonumber(ARGV[3]) >= tonumber(f[2])) then return {0, record_json(k)} end
redis.call('HSET', k, 'status', ARGV[4], 'dat', ARGV[3], 'dby', ARGV[5], 'dvia', ARGV[6])
if ARGV[7] == '1' then redis.call('HSET', k, 'dreason', ARGV[8]) else redis.call('HDEL', k, 'dreason') end
local now = nowms()
keep(k, id, now)
local log = P .. 'ap:decisions'
redis.call('ZADD', log, fmt(now), id)
redis.call('ZREMRANGEBYSCORE', log, '-inf', fmt(now - CATCHUP_MS))
redis.call('PEXPIRE', log, CATCHUP_MS)
local json = record_json(k)
redis.call('PUBLISH', P .. 'ap:decided', json)
return {1, json}
`;

// ARGV: prefix, id, now. consumed() of store.ts: a usable record admits the call; a single-use one is marked used.
const CONSUME_LUA = `${PRELUDE}
local k = rec(ARGV[2])
local f = redis.call('HMGET', k, 'status', 'dat', 'ttl', 'used')
if not usable(f, tonumber(ARGV[3])) then return 0 end
if not f[3] then redis.call('HSET', k, 'used', ARGV[3]) end
keep(k, ARGV[2], nowms())
return 1
`;

// ARGV: prefix, id.
const GET_LUA = `${PRELUDE}
return record_json(rec(ARGV[2]))
`;

// ARGV: prefix, index (ap:created or ap:bind:<binding>), want ('' any, 'usable', else a status), limit, now, and
// the cursor: created and id of the entry to go on after ('' and '' from the newest). Newest first (equal created
// by id, descending, as SQLite orders them); ids whose record expired are dropped. Looks at WALK_CAP entries at
// most: returns {records, 1 when the index is exhausted else 0, created and id of the last entry looked at}.
const WALK_LUA = `${PRELUDE}
local z, want, limit, now = P .. ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local last_created, last_id = ARGV[6], ARGV[7]
local cursor = ARGV[6] ~= '' and tonumber(ARGV[6]) or nil
local max = ARGV[6] ~= '' and ARGV[6] or '+inf'
local out, off, looked, done = {}, 0, 0, 0
while #out < limit and looked < WALK_CAP do
  local page = redis.call('ZREVRANGEBYSCORE', z, max, '-inf', 'WITHSCORES', 'LIMIT', off, 100)
  if #page == 0 then done = 1 break end
  local gone, seen = {}, 0
  for i = 1, #page, 2 do
    local id, created = page[i], page[i + 1]
    seen = seen + 1
    -- At the cursor's own created, the ids up to the cursor's came before it: skipped, and not counted, so that the
    -- cursor always moves on.
    if not (cursor and tonumber(created) == cursor and id >= ARGV[7]) then
      looked = looked + 1
      local f = redis.call('HMGET', rec(id), 'status', 'dat', 'ttl', 'used')
      if not f[1] then
        gone[#gone + 1] = id
      elseif want == '' or f[1] == want or (want == 'usable' and usable(f, now)) then
        out[#out + 1] = record_json(rec(id))
      end
      last_created, last_id = created, id
      if #out >= limit or looked >= WALK_CAP then break end
    end
  end
  if #gone > 0 then redis.call('ZREM', z, unpack(gone)) end
  off = off + seen - #gone
end
return {out, done, last_created, last_id}
`;

// ARGV: prefix, look-back in ms. The records decided within it (Redis clock), oldest first.
const RECENT_LUA = `${PRELUDE}
local out = {}
local ids = redis.call('ZRANGEBYSCORE', P .. 'ap:decisions', fmt(nowms() - tonumber(ARGV[2])), '+inf', 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  local json = record_json(rec(id))
  if json then out[#out + 1] = json end
end
return out
`;

const SCRIPTS = {
  create: script(CREATE_LUA), decide: script(DECIDE_LUA), consume: script(CONSUME_LUA),
  get: script(GET_LUA), walk: script(WALK_LUA), recent: script(RECENT_LUA),
};

/** A number as Lua and JSON both read it back exactly; NaN and Infinity have no JSON form. */
function num(n: number, what: string): string {
  if (!Number.isFinite(n)) throw new TypeError(`approval ${what} must be a finite number, got ${n}`);
  return String(n);
}

/** The hash fields of a new record: the body as JSON, the fields the scripts read and change apart. */
function hashFields(record: ApprovalRecord): string[] {
  const { status, decided, usedAt, ...body } = record;
  const fields = ['body', JSON.stringify(body), 'bind', record.binding, 'status', status, 'expires', num(record.expires, 'expires')];
  if (record.ttlMs !== undefined) fields.push('ttl', num(record.ttlMs, 'ttlMs'));
  if (decided) {
    fields.push('dat', num(decided.at, 'decided.at'), 'dby', decided.by, 'dvia', decided.via);
    if (decided.reason !== undefined) fields.push('dreason', decided.reason);
  }
  if (usedAt !== undefined) fields.push('used', num(usedAt, 'usedAt'));
  return fields;
}


export async function createRedisApprovalStore(url: string, prefix: string): Promise<ApprovalStore> {
  if (!/^rediss?:\/\//i.test(url)) throw new Error(`not a Redis URL: ${redactUrl(url)} (expected redis://host:port[/db])`);
  const shown = redactUrl(url);
  const channel = `${prefix}ap:decided`;
  const redis = redisConnection(url, 'policylayer-approvals', { autoResubscribe: false });
  let closed = false;
  let lastError: string | undefined;
  // Without an 'error' listener a refused connection would crash the process; ioredis reconnects by itself.
  redis.on('error', (err: Error) => void (lastError = err.message || String(err)));
  redis.on('ready', () => void (lastError = undefined));

  await firstConnect(redis);

  const fail = (what: string, err: unknown): Error => {
    const msg = err instanceof Error ? err.message : String(err);
    if (TIMED_OUT.test(msg)) {
      // A hung Redis keeps its connection: drop it so that the next calls fail at once while ioredis reconnects.
      lastError = `no answer within ${COMMAND_TIMEOUT_MS} ms`;
      redis.disconnect(true);
    } else if (!CONNECTION_LOST.test(msg)) {
      return new Error(`approval store ${shown}: ${what} failed: ${msg}`, { cause: err });
    }
    return new Error(`approval store ${shown} unreachable: ${what} failed (${lastError ?? 'connection lost'})`, { cause: err });
  };

  /** One script run (one round trip); ARGV[1] is always the prefix. */
  async function run(s: LuaScript, args: (string | number)[], what: string): Promise<unknown> {
    if (closed) throw new Error(`approval store ${shown} is closed: cannot ${what}`);
    if (redis.status !== 'ready') {
      throw new Error(`approval store ${shown} unreachable: cannot ${what} (${redis.status}${lastError ? `; last error: ${lastError}` : ''})`);
    }
    try {
      return await runScript(redis, s, [], [prefix, ...args]);
    } catch (err) {
      throw fail(what, err);
    }
  }

  const parse = (json: unknown): ApprovalRecord | undefined => (typeof json === 'string' ? (JSON.parse(json) as ApprovalRecord) : undefined);
  /** The first `limit` records of an index that match `want`, from after `after`: bounded scripts until found or exhausted. */
  const walk = async (index: string, want: string, limit: number, now: number, what: string, after?: ListCursor): Promise<ApprovalRecord[]> => {
    const out: ApprovalRecord[] = [];
    let at = after && { created: num(after.created, 'after.created'), id: after.id };
    for (;;) {
      const args = [index, want, limit - out.length, num(now, 'now'), at?.created ?? '', at?.id ?? ''];
      const [records, done, created, id] = (await run(SCRIPTS.walk, args, what)) as [string[], number, string, string];
      for (const json of records) out.push(JSON.parse(json) as ApprovalRecord);
      if (out.length >= limit || done === 1) return out;
      at = { created, id };
    }
  };

  // Watching: one subscriber connection while anyone watches. Every decision is told once per process, whether it
  // came by pub/sub, by a catch-up or from this process's own decide().
  const watchers = new Set<(r: ApprovalRecord) => void>();
  const heard = new Set<string>();
  let listener: { sub: Redis; stop: () => Promise<void> } | undefined;

  const hear = (r: ApprovalRecord): void => {
    const key = `${r.id}\n${r.decided?.at ?? ''}`;
    if (heard.has(key)) return;
    heard.add(key);
    if (heard.size > HEARD_MAX) heard.delete(heard.values().next().value as string);
    for (const w of [...watchers]) {
      try {
        w(structuredClone(r));
      } catch {
        // A faulty watcher must not keep the others (or the subscriber connection) from hearing.
      }
    }
  };

  function listen(): { sub: Redis; stop: () => Promise<void> } {
    // The watcher subscribes again itself on every 'ready', then catches up on what it missed.
    const sub = redisConnection(url, 'policylayer-approvals-watch', { autoResubscribe: false });
    // Since when decisions may have gone unheard: from the first watch, and from every lost connection.
    let unheardSince: number | undefined = Date.now();
    let stopped = false;
    sub.on('error', () => undefined);
    sub.on('close', () => void (unheardSince ??= Date.now()));
    sub.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      try {
        hear(JSON.parse(message) as ApprovalRecord);
      } catch {
        // Not a record: someone else published on our channel.
      }
    });
    sub.on('ready', () => {
      const since = unheardSince ?? Date.now();
      sub.subscribe(channel).then(
        async () => {
          if (stopped) return;
          unheardSince = undefined;
          // What was decided before the subscription took effect: the holder's get() may have just missed it.
          const back = Math.min(Date.now() - since + CATCHUP_MARGIN_MS, CATCHUP_MS);
          const recent = await run(SCRIPTS.recent, [back], 'catch up on decisions').catch(() => []);
          if (!stopped) for (const json of recent as string[]) hear(JSON.parse(json) as ApprovalRecord);
        },
        // Lost again or no answer: reconnect, and the next 'ready' subscribes again.
        () => void (stopped || sub.disconnect(true)),
      );
    });
    sub.connect().catch(() => undefined);
    return {
      sub,
      async stop() {
        stopped = true;
        try {
          await sub.quit();
        } catch {
          sub.disconnect();
        }
      },
    };
  }

  const stopListening = async (): Promise<void> => {
    const l = listener;
    listener = undefined;
    await l?.stop();
  };

  return {
    kind: 'redis',
    async create(record) {
      const created = await run(SCRIPTS.create, [record.id, record.binding, num(record.created, 'created'), ...hashFields(record)], `create approval ${record.id}`);
      if (created !== 1) throw new Error(`approval store ${shown}: cannot create approval ${record.id}: the id is taken`);
    },
    async get(id) {
      return parse(await run(SCRIPTS.get, [id], `read approval ${id}`));
    },
    async list(filter = {}) {
      return walk('ap:created', filter.status ?? '', filter.limit ?? DEFAULT_LIST_LIMIT, Date.now(), 'list approvals', filter.after);
    },
    async decide(id, decision, now = Date.now()) {
      const hasReason = decision.reason !== undefined;
      const args = [id, num(now, 'now'), decision.status, decision.by, decision.via, hasReason ? '1' : '0', decision.reason ?? ''];
      const [ok, json] = (await run(SCRIPTS.decide, args, `decide approval ${id}`)) as [number, string | null | undefined];
      const record = parse(json);
      // This process's watchers hear at once; the same decision coming back by pub/sub is not told again.
      if (ok === 1 && record) hear(record);
      return record ? { ok: ok === 1, record } : { ok: ok === 1 };
    },
    async consume(id, now = Date.now()) {
      return (await run(SCRIPTS.consume, [id, num(now, 'now')], `use approval ${id}`)) === 1;
    },
    async findUsable(binding, now = Date.now()) {
      return (await walk(`ap:bind:${binding}`, 'usable', 1, now, 'find an approval for the call'))[0];
    },
    async findPending(binding) {
      return (await walk(`ap:bind:${binding}`, 'pending', 1, Date.now(), 'find a pending approval for the call'))[0];
    },
    watch(onDecided) {
      watchers.add(onDecided);
      if (!listener && !closed) listener = listen();
      return () => {
        watchers.delete(onDecided);
        if (watchers.size === 0) void stopListening();
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      watchers.clear();
      await stopListening();
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
