// The Redis StateStore on a real Redis: the shared contract, fail-fast when Redis is away, recovery, exactness across processes.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/state/redis.js';
import type { LimitCheck, StoreHealth } from '../../src/state/store.js';
import { runStateStoreContract } from '../unit/state-contract.js';
import { pingRedis, redisKeysUnder } from '../helpers/limits-rig.js';

const HOST = '127.0.0.1';
const PORT = 6379;
const URL_ = `redis://${HOST}:${PORT}`;
/** Every key of this run lives under it, so parallel runs do not meet and cleanup finds them all. */
const RUN_PREFIX = `policylayer-test:${process.pid}-${randomBytes(4).toString('hex')}:`;
const here = path.dirname(fileURLToPath(import.meta.url));
const DRIVER_URL = pathToFileURL(path.resolve(here, '../../src/state/redis.js')).href;

const ping = pingRedis;

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A private redis-server (the machine's shared one must never be stopped: other tests use it). */
function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: 'ignore',
  });
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

const one = (key: string, max: number, windowMs = 60_000, cost = 1): LimitCheck[] => [{ key, cost, max, windowMs }];

const unreachable = await ping(PORT);

if (unreachable !== undefined) {
  const why = `Redis not reachable at ${HOST}:${PORT}: ${unreachable}`;
  if (process.env.CI === 'true') {
    test(`Redis is reachable at ${HOST}:${PORT} (required in CI)`, () => assert.fail(why));
  } else {
    test('Redis StateStore', (t) => t.skip(`${why} (start redis-server to run these tests)`));
  }
} else {
  const admin = new Redis(URL_, { lazyConnect: true });
  admin.on('error', () => {});
  await admin.connect();
  /** Prefixes the contract suite chose (it picks its own, one per test); deleted after the run with ours. */
  const contractPrefixes = new Set<string>();

  const keysUnder = (prefix: string): Promise<string[]> => redisKeysUnder(admin, prefix);

  after(async () => {
    // Delete everything this run wrote (the shared Redis holds other runs' keys too).
    for (const prefix of [RUN_PREFIX, ...contractPrefixes]) {
      const keys = await keysUnder(prefix);
      if (keys.length > 0) await admin.unlink(...keys);
    }
    await admin.quit();
  });

  runStateStoreContract('redis', (opts) => {
    contractPrefixes.add(opts.prefix);
    return createRedisStore(URL_, opts);
  });

  describe('redis driver', () => {
    test('keys live under the prefix and expire with their window, without further calls', async () => {
      const prefix = `${RUN_PREFIX}ttl:`;
      const store = await createRedisStore(URL_, { prefix });
      try {
        assert.equal((await store.reserve(one(`${prefix}k`, 5, 300))).ok, true);
        const keys = (await keysUnder(prefix)).sort();
        assert.deepEqual(keys, [`${prefix}k`, `${prefix}k|sum`], 'the log and its running sum, under the prefix');
        for (const k of keys) {
          const ttl = await admin.pttl(k);
          assert.ok(ttl > 0 && ttl <= 301, `${k} PTTL ${ttl}`);
        }
        await sleep(450);
        assert.equal(await admin.exists(...keys), 0, 'keys are gone after the window');
      } finally {
        await store.close();
      }
    });

    test('counters() pages through many keys with SCAN and treats glob characters in the prefix literally', async () => {
      const prefix = `${RUN_PREFIX}scan:`;
      const store = await createRedisStore(URL_, { prefix });
      try {
        const many = Array.from({ length: 1200 }, (_, i) => `${prefix}many:${i}`);
        await Promise.all(many.map((k) => store.reserve(one(k, 10, 60_000, 2))));
        await store.reserve(one(`${prefix}gl*b:x`, 10));
        await store.reserve(one(`${prefix}glob:x`, 10));
        // A key of another kind under the prefix (e.g. a future approvals record) is not a counter.
        await admin.set(`${prefix}many:not-a-limit`, 'x');
        const all = await store.counters(`${prefix}many:`);
        assert.equal(all.length, 1200);
        assert.deepEqual(new Set(all.map((c) => c.key)), new Set(many));
        assert.ok(all.every((c) => c.used === 2 && c.calls === 1 && c.nextExpiryMs !== undefined && c.nextExpiryMs > 50_000));
        assert.deepEqual((await store.counters(`${prefix}gl*b`)).map((c) => c.key), [`${prefix}gl*b:x`]);
        assert.equal((await store.counters()).length, 1202);
      } finally {
        await store.close();
      }
    });

    test('a dead port: creating works, reserve() rejects at once naming the URL, the password is not shown', async () => {
      const changes: StoreHealth[] = [];
      const started = performance.now();
      const store = await createRedisStore('redis://policy:s3cret@127.0.0.1:1', {
        prefix: RUN_PREFIX,
        onHealthChange: (h) => changes.push(h),
      });
      try {
        assert.ok(performance.now() - started < 1500, 'createRedisStore does not hang on a dead port');
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          await assert.rejects(store.reserve(one(`${RUN_PREFIX}k`, 1)), (err: Error) => {
            assert.match(err.message, /redis:\/\/policy:\*\*\*@127\.0\.0\.1:1\b/);
            assert.match(err.message, /ECONNREFUSED|unreachable/);
            assert.doesNotMatch(err.message, /s3cret/);
            return true;
          });
          assert.ok(performance.now() - t0 < 1000, `rejected after ${performance.now() - t0} ms`);
        }
        await assert.rejects(store.counters(), /127\.0\.0\.1:1/);
        const h = store.health();
        assert.equal(h.ok, false);
        assert.match(h.detail, /127\.0\.0\.1:1.*ECONNREFUSED/);
        assert.ok(changes.length > 0 && changes.every((c) => !c.ok), 'onHealthChange told about the failure');
      } finally {
        await store.close();
      }
    });

    test('its own redis-server stopped under traffic: fast refusals while down, no crash, recovery by itself', async (t) => {
      const port = await freePort();
      let server = startRedis(port);
      t.after(() => stop(server, 'SIGKILL'));
      await waitFor(async () => (await ping(port, 200)) === undefined, 10_000, 'the private redis-server');

      const changes: StoreHealth[] = [];
      const store = await createRedisStore(`redis://${HOST}:${port}`, { prefix: 'pl:', onHealthChange: (h) => changes.push(h) });
      t.after(() => store.close());
      assert.equal(store.health().ok, true);

      // Four callers reserving every few ms, as a busy gateway would.
      const seen = { ok: 0, failed: 0, slowestFailureMs: 0, messages: new Set<string>() };
      let running = true;
      const caller = async (): Promise<void> => {
        while (running) {
          const t0 = performance.now();
          try {
            if ((await store.reserve(one('pl:busy', 1e9))).ok) seen.ok++;
          } catch (err) {
            seen.failed++;
            seen.slowestFailureMs = Math.max(seen.slowestFailureMs, performance.now() - t0);
            seen.messages.add((err as Error).message.replaceAll(String(port), 'PORT'));
          }
          await sleep(3);
        }
      };
      const callers = Array.from({ length: 4 }, caller);
      await waitFor(() => seen.ok >= 20, 5000, 'traffic');
      assert.equal(seen.failed, 0);

      await stop(server, 'SIGKILL');
      await waitFor(() => !store.health().ok, 3000, 'health to report the outage');
      const failedBefore = seen.failed;
      await waitFor(() => seen.failed >= failedBefore + 20, 5000, 'refusals while down');
      const t0 = performance.now();
      await assert.rejects(store.reserve(one('pl:busy', 1e9)), new RegExp(`redis://127\\.0\\.0\\.1:${port}`));
      assert.ok(performance.now() - t0 < 1000);
      assert.match(store.health().detail, new RegExp(`127\\.0\\.0\\.1:${port} reconnecting`));

      // Back on the same port (empty, its script cache flushed): the driver reconnects and reloads its script.
      server = startRedis(port);
      await waitFor(() => store.health().ok, 10_000, 'the store to reconnect');
      const okBefore = seen.ok;
      await waitFor(() => seen.ok >= okBefore + 20, 5000, 'traffic to be admitted again');
      running = false;
      await Promise.all(callers);

      assert.ok(seen.slowestFailureMs < 1000, `slowest refusal ${seen.slowestFailureMs} ms`);
      for (const m of seen.messages) assert.match(m, /^state store redis:\/\/127\.0\.0\.1:PORT unreachable \(/);
      console.log(`# refusals while down: ${[...seen.messages].join(' | ')}`);
      const oks = changes.map((c) => c.ok);
      assert.deepEqual(oks.filter((ok, i) => i === 0 || ok !== oks[i - 1]), [true, false, true], JSON.stringify(changes));
      assert.match(changes.at(-1)?.detail ?? '', /connected/);
    });

    test('a hung redis-server (SIGSTOP): one call waits for the timeout, the next fail at once, recovery on SIGCONT', async (t) => {
      const port = await freePort();
      const server = startRedis(port);
      t.after(() => stop(server, 'SIGKILL'));
      await waitFor(async () => (await ping(port, 200)) === undefined, 10_000, 'the private redis-server');
      const store = await createRedisStore(`redis://${HOST}:${port}`, { prefix: 'pl:' });
      t.after(() => store.close());
      assert.equal((await store.reserve(one('pl:k', 1e9))).ok, true);

      server.kill('SIGSTOP');
      const t0 = performance.now();
      await assert.rejects(store.reserve(one('pl:k', 1e9)), /unreachable \(no answer within \d+ ms\)/);
      assert.ok(performance.now() - t0 < 1500, `first call gave up after ${performance.now() - t0} ms`);
      assert.equal(store.health().ok, false);
      assert.match(store.health().detail, /no answer within/);
      for (let i = 0; i < 5; i++) {
        const t1 = performance.now();
        await assert.rejects(store.reserve(one('pl:k', 1e9)), /unreachable/);
        assert.ok(performance.now() - t1 < 100, 'later calls do not wait for the hung server');
      }

      server.kill('SIGCONT');
      await waitFor(() => store.health().ok, 10_000, 'the store to reconnect');
      assert.equal((await store.reserve(one('pl:k', 1e9))).ok, true);
    });

    describe('three processes sharing one Redis', () => {
      /** Opens a store in a child node process, waits until all are connected, fires `calls` reserve() at once. */
      const CHILD = `
        const { createRedisStore } = await import(process.env.PL_DRIVER);
        const store = await createRedisStore(process.env.PL_URL, { prefix: process.env.PL_PREFIX });
        const calls = Number(process.env.PL_CALLS), spend = process.env.PL_MODE === 'spend';
        process.stdout.write('ready\\n');
        process.stdin.once('data', async () => {
          const out = { ok: 0, refused: 0, kept: 0, errors: [], badRefusals: 0 };
          await Promise.all(Array.from({ length: calls }, async () => {
            const cost = spend ? 1 + Math.floor(Math.random() * 50) : 1;
            try {
              const r = await store.reserve([{ key: process.env.PL_PREFIX + 'rl:global:*:calls', cost, max: spend ? 500 : 100, windowMs: 60000 }]);
              if (!r.ok) {
                out.refused++;
                if (r.index !== 0 || !(r.retryAfterMs > 0 && r.retryAfterMs <= 60000)) out.badRefusals++;
                return;
              }
              out.ok++;
              // Spend: calls with an odd amount "fail upstream" and are rolled back.
              if (spend && cost % 2 === 1) await store.rollback(r.token);
              else { await store.commit(r.token); out.kept += cost; }
            } catch (err) { out.errors.push(String(err)); }
          }));
          process.stdout.write(JSON.stringify(out) + '\\n');
          await store.close();
        });`;

      async function race(mode: 'rate' | 'spend', prefix: string): Promise<{ ok: number; refused: number; kept: number }[]> {
        const per = [334, 333, 333];
        const children = per.map((calls) =>
          spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
            env: { ...process.env, PL_DRIVER: DRIVER_URL, PL_URL: URL_, PL_PREFIX: prefix, PL_CALLS: String(calls), PL_MODE: mode },
            stdio: ['pipe', 'pipe', 'inherit'],
          }),
        );
        try {
          const lines = children.map((c) => {
            let buf = '';
            const waiters: ((line: string) => void)[] = [];
            const queued: string[] = [];
            c.stdout!.on('data', (d: Buffer) => {
              buf += d.toString();
              let nl: number;
              while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                const w = waiters.shift();
                if (w) w(line);
                else queued.push(line);
              }
            });
            return (): Promise<string> =>
              queued.length > 0 ? Promise.resolve(queued.shift()!) : new Promise((resolve) => waiters.push(resolve));
          });
          assert.deepEqual(await Promise.all(lines.map((next) => next())), ['ready', 'ready', 'ready']);
          for (const c of children) c.stdin!.write('go\n');
          const results = (await Promise.all(lines.map((next) => next()))).map((l) => JSON.parse(l));
          for (const r of results) {
            assert.deepEqual(r.errors, []);
            assert.equal(r.badRefusals, 0, 'refusals name check 0 and a retryAfterMs within the window');
          }
          return results;
        } finally {
          await Promise.all(children.map((c) => stop(c, 'SIGKILL')));
        }
      }

      test('1 000 concurrent reserve() against max 100: exactly 100 admitted', async () => {
        const prefix = `${RUN_PREFIX}mp-rate:`;
        const results = await race('rate', prefix);
        const ok = results.reduce((n, r) => n + r.ok, 0);
        const refused = results.reduce((n, r) => n + r.refused, 0);
        assert.equal(ok, 100);
        assert.equal(refused, 900);
        const store = await createRedisStore(URL_, { prefix });
        try {
          assert.deepEqual((await store.counters()).map((c) => [c.key, c.used, c.calls]), [[`${prefix}rl:global:*:calls`, 100, 100]]);
        } finally {
          await store.close();
        }
      });

      test('spend cap with random amounts and rollbacks: admitted units never exceed the cap, rollbacks give back', async () => {
        const prefix = `${RUN_PREFIX}mp-spend:`;
        const results = await race('spend', prefix);
        const refused = results.reduce((n, r) => n + r.refused, 0);
        const kept = results.reduce((n, r) => n + r.kept, 0);
        assert.ok(refused > 0, 'the cap was reached');
        // Rollbacks free budget while others still race for it, so what was admitted in total may exceed 500;
        // what stays counted (committed) never may.
        assert.ok(kept > 0 && kept <= 500, `kept ${kept}`);
        const store = await createRedisStore(URL_, { prefix });
        try {
          // Rolled-back amounts were given back exactly: the running sum is what was committed.
          assert.deepEqual((await store.counters()).map((x) => [x.key, x.used]), [[`${prefix}rl:global:*:calls`, kept]]);
        } finally {
          await store.close();
        }
      });
    });
  });
}
