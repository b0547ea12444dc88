// The memory, SQLite and Redis catalogue stores against the contract suite (two connections on one file or one
// prefix are the gateway, its replicas and the CLI); Redis keeps its keys under the prefix; which catalogue opens.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, describe, it, test, type TestContext } from 'node:test';
import type { Redis as RedisClient } from 'ioredis';
import type { CatalogEntry } from '../../src/catalog/entry.js';
import { catalogUrl, openCatalog } from '../../src/catalog/open.js';
import { createRedisCatalog } from '../../src/catalog/redis-store.js';
import { createSqliteCatalog } from '../../src/catalog/sqlite-store.js';
import { createMemoryCatalog, type CatalogStore } from '../../src/catalog/store.js';
import { GatewaySchema } from '../../src/config/schema.js';
import { GatewayError } from '../../src/errors.js';
import { freePort, tempDir } from '../helpers/gateway.js';
import { pingRedis, redisKeysUnder, redisOrSkip, SHARED_REDIS, uniquePrefix } from '../helpers/limits-rig.js';
import { catalogEntry, runCatalogStoreContract } from './catalog-store-contract.js';

// Removed when this file's process exits, after any write still under way (an after() hook can come too early).
const dir = tempDir('pl-catalog-stores-');
let files = 0;
const freshFile = () => path.join(dir, `catalog-${files++}.db`);

/** An entry JSON cannot write (structured cloning can, so the memory driver is not asked). */
function bigIntEntry(server: string, tool: string): CatalogEntry {
  const entry = catalogEntry(server, tool);
  (entry as unknown as { confidence: bigint }).confidence = 1n;
  return entry;
}

// memory: the catalogue lives in one process, so the "connections" of a test are its one instance.
const memoryStores = new Map<string, CatalogStore>();
runCatalogStoreContract('memory', {
  async open(space) {
    let store = memoryStores.get(space);
    if (!store) memoryStores.set(space, (store = createMemoryCatalog()));
    return store;
  },
  drop: async (space) => void memoryStores.delete(space),
});

runCatalogStoreContract('sqlite', { open: async (space) => createSqliteCatalog(path.join(dir, `${space}.db`)) });

describe('SQLite catalogue', () => {
  it('a put JSON cannot write fails whole, and the other connection sees nothing of it', async (t) => {
    const file = freshFile();
    const [gateway, cli] = [createSqliteCatalog(file), createSqliteCatalog(file)];
    t.after(() => Promise.all([gateway.close(), cli.close()]));
    const version = await gateway.version();
    await assert.rejects(cli.put([catalogEntry('s', 'good'), bigIntEntry('s', 'bad')]), /BigInt/);
    assert.deepEqual(await gateway.tools('s'), []);
    assert.equal(await gateway.version(), version);
  });

  it('creates the directory of the file', async (t) => {
    const file = path.join(dir, 'nested', 'deeper', 'state.db');
    const store = createSqliteCatalog(file);
    t.after(() => store.close());
    await store.put([catalogEntry('s', 'x')]);
    assert.equal((await store.tools('s')).length, 1);
  });
});

const RUN_PREFIX = uniquePrefix('catalog');
const redisProblem = await pingRedis();

if (redisProblem !== undefined) {
  test('CatalogStore on Redis', (t) => void redisOrSkip(t, redisProblem));
} else {
  const { Redis } = await import('ioredis');
  const admin: RedisClient = new Redis(SHARED_REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  await admin.connect();
  const dropKeys = async (prefix: string): Promise<void> => {
    const keys = await redisKeysUnder(admin, prefix);
    if (keys.length > 0) await admin.unlink(...keys);
  };
  /** Keys anywhere in the Redis whose name holds `token` (hex: no glob characters). */
  const keysNaming = async (token: string): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `*${token}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  };
  after(async () => {
    await dropKeys(RUN_PREFIX);
    await admin.quit();
  });

  // Each test has a prefix of its own, deleted after it.
  runCatalogStoreContract('redis', {
    open: (space) => createRedisCatalog(SHARED_REDIS, `${RUN_PREFIX}${space}:`),
    drop: (space) => dropKeys(`${RUN_PREFIX}${space}:`),
  });

  describe('Redis catalogue', () => {
    /** A prefix of the test's own, its keys deleted after it, and a store on it. */
    async function onFreshPrefix(t: TestContext): Promise<{ prefix: string; store: CatalogStore }> {
      const prefix = `${RUN_PREFIX}${randomBytes(5).toString('hex')}:`;
      const store = await createRedisCatalog(SHARED_REDIS, prefix);
      t.after(async () => {
        await store.close();
        await dropKeys(prefix);
      });
      return { prefix, store };
    }

    it('keeps every key under the prefix: a set of servers, a hash of tools per server, a version', async (t) => {
      const { prefix, store } = await onFreshPrefix(t);
      // Server names no other test uses, so a search of the whole keyspace finds only this test's keys.
      const token = randomBytes(6).toString('hex');
      const [github, files] = [`github-${token}`, `files-${token}`];
      const issue = catalogEntry(github, 'get_issue');
      await store.put([issue, catalogEntry(github, 'delete_repo'), catalogEntry(files, 'read_file')]);
      assert.deepEqual(await redisKeysUnder(admin, prefix), [
        `${prefix}catalog:servers`,
        `${prefix}catalog:tools:${files}`,
        `${prefix}catalog:tools:${github}`,
        `${prefix}catalog:version`,
      ]);
      assert.deepEqual((await admin.smembers(`${prefix}catalog:servers`)).sort(), [files, github]);
      assert.deepEqual((await admin.hkeys(`${prefix}catalog:tools:${github}`)).sort(), ['delete_repo', 'get_issue']);
      assert.deepEqual(JSON.parse((await admin.hget(`${prefix}catalog:tools:${github}`, 'get_issue'))!), issue);
      assert.equal(await admin.get(`${prefix}catalog:version`), await store.version());
      const named = await keysNaming(token);
      assert.equal(named.length, 2);
      assert.ok(named.every((k) => k.startsWith(prefix)), `keys outside the prefix: ${named.join(', ')}`);
      for (const k of [`${prefix}catalog:servers`, `${prefix}catalog:tools:${github}`]) assert.equal(await admin.pttl(k), -1, `${k} never expires`);

      // Removed tools take their keys with them; only the version stays.
      await store.remove(github, 'get_issue');
      await store.remove(github, 'delete_repo');
      await store.remove(files);
      assert.deepEqual(await redisKeysUnder(admin, prefix), [`${prefix}catalog:version`]);
    });

    it('stores on other prefixes are other catalogues', async (t) => {
      const { store: a } = await onFreshPrefix(t);
      const { store: b } = await onFreshPrefix(t);
      await a.put([catalogEntry('s', 'x')]);
      const version = await b.version();
      assert.deepEqual(await b.servers(), []);
      assert.equal(await b.get('s', 'x'), undefined);
      await b.put([catalogEntry('s', 'x', { status: 'changed' })]);
      assert.equal((await a.get('s', 'x'))?.status, 'accepted');
      assert.notEqual(await b.version(), version);
    });

    it('a put JSON cannot write fails whole, and sends nothing', async (t) => {
      const { prefix, store } = await onFreshPrefix(t);
      await store.put([catalogEntry('s', 'kept')]);
      const keys = await redisKeysUnder(admin, prefix);
      const version = await store.version();
      await assert.rejects(store.put([catalogEntry('s', 'good'), catalogEntry('t', 'new'), bigIntEntry('s', 'bad')]), /BigInt/);
      assert.deepEqual(await redisKeysUnder(admin, prefix), keys);
      assert.deepEqual(await store.servers(), ['s']);
      assert.deepEqual((await store.tools('s')).map((e) => e.tool), ['kept']);
      assert.equal(await store.version(), version);
    });

    it('openCatalog(redis://…, prefix) is that Redis under that prefix', async (t) => {
      const { prefix, store } = await onFreshPrefix(t);
      const opened = await openCatalog(SHARED_REDIS, prefix);
      t.after(() => opened.close());
      await opened.put([catalogEntry('s', 'x')]);
      assert.equal((await store.get('s', 'x'))?.tool, 'x');
      assert.ok((await redisKeysUnder(admin, prefix)).includes(`${prefix}catalog:tools:s`));
    });
  });
}

describe('Redis catalogue without a Redis', () => {
  it('opens at once, rejects each call saying why, and closes', async (t) => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const store = await openCatalog(url, uniquePrefix('catalog-away'));
    t.after(() => store.close());
    assert.ok(Date.now() - started < 3000, 'opening does not wait for a Redis that is not there');
    await assert.rejects(store.servers());
    await assert.rejects(store.put([catalogEntry('s', 'x')]));
    await assert.rejects(store.version());
  });
});

describe('openCatalog and catalogUrl', () => {
  it('opens memory: and sqlite:PATH, and refuses anything else with a hint', async (t) => {
    const memory = await openCatalog('memory:');
    const file = freshFile();
    const sqlite = await openCatalog(`sqlite:${file}`);
    const again = createSqliteCatalog(file);
    t.after(() => Promise.all([memory.close(), sqlite.close(), again.close()]));
    await sqlite.put([catalogEntry('s', 'x')]);
    assert.equal((await again.get('s', 'x'))?.tool, 'x', 'sqlite:PATH is that file');
    assert.deepEqual(await memory.servers(), []);
    for (const url of ['postgres://localhost/db', 'state.db', 'redis://', 'mem:']) {
      await assert.rejects(openCatalog(url), (err: unknown) => {
        assert.ok(err instanceof GatewayError, url);
        assert.ok(err.message.includes(`gateway.catalog "${url}"`), err.message);
        assert.match(err.message, /sqlite:PATH.*redis:\/\/host:port.*memory:/);
        return true;
      });
    }
    await assert.rejects(openCatalog('sqlite:'), /names no file/);
  });

  it('defaults to the state store (the same SQLite file, the same Redis, memory); gateway.catalog wins', () => {
    assert.equal(catalogUrl({ state: 'sqlite:/var/pl/state.db' }), 'sqlite:/var/pl/state.db');
    assert.equal(catalogUrl({ state: 'memory:' }), 'memory:');
    assert.equal(catalogUrl({ state: 'redis://r:6379' }), 'redis://r:6379');
    assert.equal(catalogUrl({ state: 'rediss://user:pw@r:6380/2' }), 'rediss://user:pw@r:6380/2');
    assert.equal(catalogUrl({ state: 'redis://r:6379', catalog: 'sqlite:/x.db' }), 'sqlite:/x.db');
    assert.equal(catalogUrl({ state: 'sqlite:/a.db', catalog: 'memory:' }), 'memory:');
    assert.equal(catalogUrl({ state: 'sqlite:/a.db', catalog: 'redis://r:6379/1' }), 'redis://r:6379/1');
    // As a policy file is read: no state, no catalogue → the default state file for both.
    assert.equal(catalogUrl(GatewaySchema.parse({})), 'sqlite:.policylayer/state.db');
    assert.equal(catalogUrl(GatewaySchema.parse({ state: 'redis://r:6379' })), 'redis://r:6379');
  });
});
