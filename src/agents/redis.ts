// Redis AgentStore: agent tokens shared by every replica on one Redis; add and revoke are Lua scripts (atomic).
//
// Layout under the prefix P (gateway.state_prefix); nothing expires (revoked and expired tokens stay listed):
//   P ag:tok:<id>       hash: body (the record's JSON without `revoked`, written once), revoked (ms)
//   P ag:hash:<sha256>  string: the id of the token with that hash
//   P ag:ids            zset of ids by created: list()
//   P ag:agent:<name>   set of the agent's ids: revoke by name
import { redactUrl } from '../redact-url.js';
import { firstConnect, redisConnection, runScript } from '../state/redis-client.js';
import { script, type LuaScript } from '../state/redis-scripts.js';
import { byCreated, duplicateToken, type AgentStore, type AgentTokenRecord } from './store.js';

// ARGV[1] of every script is the prefix.
const PRELUDE = `
local P = ARGV[1]
local function tok(id) return P .. 'ag:tok:' .. id end
local function entry(id)
  local f = redis.call('HMGET', tok(id), 'body', 'revoked')
  if not f[1] then return false end
  return { f[1], f[2] or '' }
end
`;

// ARGV: prefix, id, sha256, agent, created, body. 0 when the id or the hash is taken.
const ADD_LUA = `${PRELUDE}
local id, h = ARGV[2], P .. 'ag:hash:' .. ARGV[3]
if redis.call('EXISTS', tok(id)) == 1 or redis.call('EXISTS', h) == 1 then return 0 end
redis.call('HSET', tok(id), 'body', ARGV[6])
redis.call('SET', h, id)
redis.call('ZADD', P .. 'ag:ids', ARGV[5], id)
redis.call('SADD', P .. 'ag:agent:' .. ARGV[4], id)
return 1
`;

// ARGV: prefix, sha256. {body, revoked or ''}, or nil.
const FIND_LUA = `${PRELUDE}
local id = redis.call('GET', P .. 'ag:hash:' .. ARGV[2])
if not id then return false end
return entry(id)
`;

// ARGV: prefix. Every {body, revoked or ''}, by created then id (Redis orders equal scores by member).
const LIST_LUA = `${PRELUDE}
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'ag:ids', 0, -1)) do
  local e = entry(id)
  if e then out[#out + 1] = e end
end
return out
`;

// ARGV: prefix, 'id' or 'agent', the id or name, now. The bodies of the tokens this call revoked (HSETNX: once).
const REVOKE_LUA = `${PRELUDE}
local ids = ARGV[2] == 'id' and { ARGV[3] } or redis.call('SMEMBERS', P .. 'ag:agent:' .. ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  if redis.call('HEXISTS', tok(id), 'body') == 1 and redis.call('HSETNX', tok(id), 'revoked', ARGV[4]) == 1 then
    out[#out + 1] = redis.call('HGET', tok(id), 'body')
  end
end
return out
`;

const SCRIPTS = { add: script(ADD_LUA), find: script(FIND_LUA), list: script(LIST_LUA), revoke: script(REVOKE_LUA) };

function recordOf(body: string, revoked: string): AgentTokenRecord {
  const r = JSON.parse(body) as AgentTokenRecord;
  if (revoked !== '') r.revoked = Number(revoked);
  return r;
}

export async function createRedisAgentStore(url: string, prefix: string): Promise<AgentStore> {
  if (!/^rediss?:\/\//i.test(url)) throw new Error(`not a Redis URL: ${redactUrl(url)} (expected redis://host:port[/db])`);
  const shown = redactUrl(url);
  const redis = redisConnection(url, 'policylayer-agents');
  let lastError: string | undefined;
  let closed = false;
  // Without an 'error' listener a refused connection would crash the process; ioredis reconnects by itself.
  redis.on('error', (err: Error) => void (lastError = err.message || String(err)));
  redis.on('ready', () => void (lastError = undefined));
  await firstConnect(redis);

  async function run(s: LuaScript, args: (string | number)[], what: string): Promise<unknown> {
    if (closed) throw new Error(`agent store ${shown} is closed: cannot ${what}`);
    if (redis.status !== 'ready') throw new Error(`agent store ${shown} unreachable: cannot ${what} (${redis.status}${lastError ? `; last error: ${lastError}` : ''})`);
    try {
      return await runScript(redis, s, [], [prefix, ...args]);
    } catch (err) {
      throw new Error(`agent store ${shown}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  return {
    kind: 'redis',
    async add(r) {
      const { revoked: _revoked, ...body } = r;
      const added = await run(SCRIPTS.add, [r.id, r.sha256, r.agent, r.created, JSON.stringify(body)], `add token ${r.id}`);
      if (added !== 1) throw duplicateToken(r);
      // A record added already revoked (imports): the flag lives beside the body.
      if (r.revoked !== undefined) await run(SCRIPTS.revoke, ['id', r.id, r.revoked], `revoke token ${r.id}`);
    },
    async findByHash(sha256) {
      const e = (await run(SCRIPTS.find, [sha256], 'look up a token')) as [string, string] | null;
      return e ? recordOf(e[0], e[1]) : undefined;
    },
    async list() {
      return ((await run(SCRIPTS.list, [], 'list tokens')) as [string, string][]).map(([body, revoked]) => recordOf(body, revoked));
    },
    async revoke(target, now = Date.now()) {
      const args = 'id' in target ? ['id', target.id] : ['agent', target.agent];
      const bodies = (await run(SCRIPTS.revoke, [...args, now], `revoke ${args.join(' ')}`)) as string[];
      return bodies.map((b) => recordOf(b, String(now))).sort(byCreated);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
