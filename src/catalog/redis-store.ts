// Redis catalogue: shared by every gateway replica and the CLI, so a tool is pinned once for all of them (a replica
// that starts after a rug pull still compares with the definition first seen anywhere). Kept without expiry.
import { firstConnect, redisConnection, runScript } from '../state/redis-client.js';
import { script } from '../state/redis-scripts.js';
import type { CatalogEntry } from './entry.js';
import { byToolName, type CatalogStore } from './store.js';

// KEYS: the server's tools hash, the servers set, the version. ARGV: server[, tool]. Atomic, and the version moves
// only when something was removed (every replica re-reads the catalogue when it moves).
const REMOVE_SERVER = script(`
local n = redis.call('HLEN', KEYS[1])
if n > 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('INCR', KEYS[3])
end
return n`);
const REMOVE_TOOL = script(`
local n = redis.call('HDEL', KEYS[1], ARGV[2])
if n > 0 then
  if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
  redis.call('INCR', KEYS[3])
end
return n`);

/**
 * Keys, under the state prefix: `catalog:servers` (a set of server names), `catalog:tools:<server>` (a hash of tool
 * name → entry JSON), `catalog:version` (incremented by every write, in the same transaction).
 */
export async function createRedisCatalog(url: string, prefix: string): Promise<CatalogStore> {
  const redis = redisConnection(url, 'policylayer-catalog');
  // Without an 'error' listener a refused connection would crash the process; commands reject meanwhile.
  redis.on('error', () => {});
  await firstConnect(redis);
  const serversKey = `${prefix}catalog:servers`;
  const versionKey = `${prefix}catalog:version`;
  const toolsKey = (server: string): string => `${prefix}catalog:tools:${server}`;

  /** Runs a transaction and fails if any command in it failed. */
  const exec = async (tx: ReturnType<typeof redis.multi>): Promise<unknown[]> => {
    const results = await tx.exec();
    if (!results) throw new Error('the Redis transaction was aborted');
    for (const [err] of results) if (err) throw err;
    return results.map(([, value]) => value);
  };

  return {
    servers: async () => (await redis.smembers(serversKey)).sort(),
    tools: async (server) => (await redis.hvals(toolsKey(server))).map((json) => JSON.parse(json) as CatalogEntry).sort(byToolName),
    async get(server, tool) {
      const json = await redis.hget(toolsKey(server), tool);
      return json === null ? undefined : (JSON.parse(json) as CatalogEntry);
    },
    async put(entries) {
      if (entries.length === 0) return;
      const tx = redis.multi();
      for (const e of entries) tx.hset(toolsKey(e.server), e.tool, JSON.stringify(e)).sadd(serversKey, e.server);
      await exec(tx.incr(versionKey));
    },
    async remove(server, tool) {
      const keys = [toolsKey(server), serversKey, versionKey];
      const removed = tool === undefined ? runScript(redis, REMOVE_SERVER, keys, [server]) : runScript(redis, REMOVE_TOOL, keys, [server, tool]);
      return Number(await removed);
    },
    version: async () => (await redis.get(versionKey)) ?? '0',
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
