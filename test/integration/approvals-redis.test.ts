// Approvals on Redis: the ApprovalStore contract on a real Redis, the driver's keys, expiries and pub/sub, and two
// gateway processes sharing one Redis where an approval decided elsewhere releases a held call exactly once.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createRedisApprovalStore } from '../../src/approvals/redis.js';
import type { ApprovalRecord, ApprovalStore } from '../../src/approvals/store.js';
import { connectV1, http } from '../helpers/clients.js';
import { tempDir } from '../helpers/gateway.js';
import {
  deleteRedisKeys,
  pingRedis,
  privateRedis,
  receivedArgs,
  redisKeysUnder,
  redisOrSkip,
  redisServerMissing,
  SHARED_REDIS,
  startReplicas,
  uniquePrefix,
  writePolicy,
} from '../helpers/limits-rig.js';
import { RECORDER } from '../helpers/raw-mcp.js';
import { approvalRecord, runApprovalStoreContract } from '../unit/approval-store-contract.js';
import { runCli, toolText } from '../helpers/cli-run.js';

const DAY = 24 * 60 * 60 * 1000;
const RUN_PREFIX = uniquePrefix('approvals');
const problem = await pingRedis();

/** Polls `check` (sync or async) until it holds. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}


const text = toolText;

if (problem !== undefined) {
  test('approvals on Redis', (t) => void redisOrSkip(t, problem));
} else {
  after(() => deleteRedisKeys(RUN_PREFIX));
  const dump = new Redis(SHARED_REDIS, { lazyConnect: true });
  dump.on('error', () => undefined);
  after(() => dump.quit());
  runApprovalStoreContract('redis', (space) => createRedisApprovalStore(SHARED_REDIS, `${RUN_PREFIX}${space}:`), {
    // Every hash field and index member under the space's prefix.
    stored: async (space) => {
      const out: string[] = [];
      for (const key of await redisKeysUnder(dump, `${RUN_PREFIX}${space}:`)) {
        const type = await dump.type(key);
        if (type === 'hash') out.push(JSON.stringify(await dump.hgetall(key)));
        else if (type === 'zset') out.push(JSON.stringify(await dump.zrange(key, 0, -1)));
        else out.push(`${key}: ${type}`);
      }
      return out.join('\n');
    },
  });

  describe('redis approval store', { concurrency: false }, () => {
    const admin = new Redis(SHARED_REDIS, { lazyConnect: true });
    admin.on('error', () => undefined);
    after(() => admin.quit());

    test('every key lives under the prefix and expires: a day past the deadline, or past the ttl once approved', async (t) => {
      const prefix = `${RUN_PREFIX}keys:`;
      const store = await createRedisApprovalStore(SHARED_REDIS, prefix);
      t.after(() => store.close());
      const now = Date.now();
      const single = approvalRecord({ created: now, expires: now + 60_000, binding: 'bind-1' });
      const remembered = approvalRecord({ created: now, expires: now + 60_000, binding: 'bind-2', ttlMs: 3 * DAY });
      await store.create(single);
      await store.create(remembered);
      await store.decide(single.id, { status: 'denied', by: 'bob', via: 'cli', reason: 'no' });
      await store.decide(remembered.id, { status: 'approved', by: 'alice', via: 'cli' }, now);
      assert.equal(await store.consume(remembered.id, now + 1), true);

      const keys = await redisKeysUnder(admin, prefix);
      const ap = (k: string) => `${prefix}ap:${k}`;
      assert.deepEqual(keys, [ap('bind:bind-1'), ap('bind:bind-2'), ap('created'), ap('decisions'), ap('expiry'), ap(`rec:${remembered.id}`), ap(`rec:${single.id}`)].sort());
      const ttl: Record<string, number> = {};
      for (const k of keys) {
        ttl[k] = await admin.pttl(k);
        assert.ok(ttl[k]! > 0, `${k} has an expiry (PTTL ${ttl[k]})`);
      }
      const near = (k: string, expected: number) =>
        assert.ok(Math.abs(ttl[k]! - (expected - Date.now())) < 5000, `${k}: PTTL ${ttl[k]}, expected ≈ ${expected - Date.now()}`);
      near(ap(`rec:${single.id}`), single.expires + DAY);
      near(ap(`rec:${remembered.id}`), now + 3 * DAY + DAY);
      near(ap('bind:bind-1'), single.expires + DAY);
      for (const index of ['created', 'expiry']) near(ap(index), now + 4 * DAY);
      assert.ok(ttl[ap('decisions')]! <= 10 * 60_000, 'the decisions log keeps 10 minutes');
    });

    test('ids whose record expired are neither listed nor found, and leave the indexes', async (t) => {
      const prefix = `${RUN_PREFIX}prune:`;
      const store = await createRedisApprovalStore(SHARED_REDIS, prefix);
      t.after(() => store.close());
      const old = approvalRecord({ binding: 'same' });
      const listedGone = approvalRecord({ binding: 'same' });
      await store.create(old);
      await store.create(listedGone);
      // What Redis does when their time is up: the hash goes (and the expiry index says so).
      await admin.del(`${prefix}ap:rec:${old.id}`, `${prefix}ap:rec:${listedGone.id}`);
      await admin.zadd(`${prefix}ap:expiry`, 1, old.id);
      assert.deepEqual(await store.list(), []);
      assert.equal(await store.findPending('same'), undefined);
      assert.equal(await admin.zscore(`${prefix}ap:created`, listedGone.id), null, 'list() dropped it');
      assert.equal(await admin.zcard(`${prefix}ap:bind:same`), 0, 'findPending() dropped both');
      await admin.zadd(`${prefix}ap:created`, old.created, old.id);
      await store.create(approvalRecord());
      assert.equal(await admin.zscore(`${prefix}ap:created`, old.id), null, 'create() pruned the expired id');
      assert.equal(await admin.zscore(`${prefix}ap:expiry`, old.id), null);
    });

    test('each decision is published once, as the record JSON, on <prefix>ap:decided', async (t) => {
      const prefix = `${RUN_PREFIX}pub:`;
      const store = await createRedisApprovalStore(SHARED_REDIS, prefix);
      const sub = new Redis(SHARED_REDIS);
      t.after(async () => {
        await store.close();
        await sub.quit();
      });
      const messages: string[] = [];
      sub.on('message', (_ch: string, m: string) => messages.push(m));
      await sub.subscribe(`${prefix}ap:decided`);
      const r = approvalRecord({ args: { b: [], a: 'x' } });
      await store.create(r);
      const d = await store.decide(r.id, { status: 'approved', by: 'alice', via: 'api' });
      assert.equal((await store.decide(r.id, { status: 'denied', by: 'bob', via: 'api', reason: 'late' })).ok, false);
      await until('the published decision', () => messages.length >= 1);
      await sleep(200);
      assert.equal(messages.length, 1, 'a refused decision publishes nothing');
      assert.deepStrictEqual(JSON.parse(messages[0]!), d.record);
      assert.match(messages[0]!, /"args":\{"b":\[\],"a":"x"\}/, 'the arguments exactly as sent');
    });

    test('an unreachable Redis: calls fail at once naming the store, never its password', async () => {
      const started = performance.now();
      const store = await createRedisApprovalStore('redis://policy:s3cret@127.0.0.1:1', `${RUN_PREFIX}dead:`);
      try {
        assert.ok(performance.now() - started < 1500, 'opening does not hang');
        const unwatch = store.watch(() => undefined);
        for (const call of [() => store.get('a1'), () => store.decide('a1', { status: 'approved', by: 'x', via: 'cli' }), () => store.list()]) {
          const t0 = performance.now();
          await assert.rejects(call(), (err: Error) => {
            assert.match(err.message, /^approval store redis:\/\/policy:\*\*\*@127\.0\.0\.1:1 unreachable: cannot (read approval a1|decide approval a1|list approvals)/);
            assert.doesNotMatch(err.message, /s3cret/);
            return true;
          });
          assert.ok(performance.now() - t0 < 200, 'rejected at once');
        }
        unwatch();
      } finally {
        await store.close();
      }
      await assert.rejects(store.get('a1'), /is closed: cannot read approval a1/);
    });

    test('a watcher whose connection dropped subscribes again and hears what was decided meanwhile', async (t) => {
      if (!redisOrSkip(t, await redisServerMissing(), 'a private redis-server')) return;
      const redis = await privateRedis();
      t.after(() => redis.stop());
      await redis.start();
      const control = new Redis(redis.url);
      const holder = await createRedisApprovalStore(redis.url, 'pl:');
      const decider = await createRedisApprovalStore(redis.url, 'pl:');
      t.after(async () => {
        await holder.close();
        await decider.close();
        control.disconnect();
      });
      const heard: ApprovalRecord[] = [];
      holder.watch((r) => heard.push(r));
      const subscribers = async () => ((await control.pubsub('NUMSUB', 'pl:ap:decided')) as [string, number])[1];
      await until('the subscription', async () => (await subscribers()) === 1);
      const missed = approvalRecord();
      await decider.create(missed);
      await control.client('KILL', 'TYPE', 'pubsub');
      assert.equal(await subscribers(), 0);
      // Published to no one: only the catch-up after resubscribing can tell the holder.
      await decider.decide(missed.id, { status: 'approved', by: 'alice', via: 'cli' });
      await until('the decision made while disconnected', () => heard.some((r) => r.id === missed.id));
      const later = approvalRecord();
      await decider.create(later);
      await decider.decide(later.id, { status: 'denied', by: 'bob', via: 'cli', reason: 'no' });
      await until('a decision after resubscribing', () => heard.some((r) => r.id === later.id));
      assert.deepEqual(heard.map((r) => r.id), [missed.id, later.id]);
    });
  });

  describe('two gateways sharing one Redis', () => {
    const cli = (...args: string[]) => runCli('approvals', ...args);
    const pendingFor = async (store: ApprovalStore, args: Record<string, unknown>): Promise<ApprovalRecord> => {
      let found: ApprovalRecord | undefined;
      await until(`a pending approval for pay ${JSON.stringify(args)}`, async () => {
        found = (await store.list({ status: 'pending' })).find((r) => JSON.stringify(r.args) === JSON.stringify(args));
        return found !== undefined;
      }, 10_000);
      return found!;
    };

    const TOKEN = 'approvals-redis-admin-token-0123456789';

    test('a call held by one gateway is released exactly once by an approval decided elsewhere; approving again is refused', async (t) => {
      const dir = tempDir('pl-approvals-redis-');
      const record = path.join(dir, 'record.jsonl');
      const prefix = `${RUN_PREFIX}gw:`;
      const file = writePolicy(
        {
          gateway: { state: SHARED_REDIS, state_prefix: prefix, admin_token: TOKEN },
          servers: {
            s: {
              command: [process.execPath, RECORDER, 'stdio', '--record', record],
              tools: { pay: { action: 'require_approval', approval_timeout: '30s' } },
            },
          },
        },
        dir,
      );
      const [a, b] = await startReplicas(2, file);
      t.after(() => Promise.all([a!.stop(), b!.stop()]));
      // Another replica's view of the same approvals.
      const replica = await createRedisApprovalStore(SHARED_REDIS, prefix);
      t.after(() => replica.close());
      const onA = await connectV1(http(`${a!.url}/mcp/s`));
      const onB = await connectV1(http(`${b!.url}/mcp/s`));
      t.after(async () => {
        await onA.close();
        await onB.close();
      });

      const callA = onA.client.callTool({ name: 'pay', arguments: { amount: 42, to: 'acme' } });
      const callB = onB.client.callTool({ name: 'pay', arguments: { amount: 7 } });
      const heldByA = await pendingFor(replica, { amount: 42, to: 'acme' });
      const heldByB = await pendingFor(replica, { amount: 7 });
      assert.equal(heldByA.rule, 'servers.s.tools.pay');
      assert.equal(receivedArgs(record, 'pay').length, 0, 'nothing reaches the server while held');

      // Decided by the CLI, a process of its own on the same Redis.
      const approved = await cli('approve', heldByA.id, '-c', file, '--by', 'alice');
      assert.equal(approved.code, 0, approved.stderr);
      const resultA = await callA;
      assert.equal(resultA.isError, undefined, text(resultA));
      assert.match(text(resultA), /paid 42/);
      await sleep(300);
      assert.deepEqual(receivedArgs(record, 'pay'), [{ amount: 42, to: 'acme' }], 'B still holds its own call');
      const again = await cli('approve', heldByA.id, '-c', file);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already approved \(by alice via cli/);

      // Held on B, approved through A's admin API: B releases it.
      const viaA = (by: string) =>
        fetch(`${a!.url}/admin/approvals/${heldByB.id}/approve`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ by }),
        });
      assert.equal((await viaA('bob')).status, 200);
      const resultB = await callB;
      assert.equal(resultB.isError, undefined, text(resultB));
      assert.equal((await viaA('carol')).status, 409, 'decided once');
      assert.equal((await replica.decide(heldByB.id, { status: 'approved', by: 'dave', via: 'api' })).ok, false);
      await sleep(500);
      assert.deepEqual(receivedArgs(record, 'pay'), [{ amount: 42, to: 'acme' }, { amount: 7 }], 'each call reached the server once');
      for (const id of [heldByA.id, heldByB.id]) {
        const used = await replica.get(id);
        assert.ok(used?.usedAt !== undefined, `${id} was used`);
        assert.equal(await replica.consume(id), false, `${id} admits nothing more`);
      }
    });
  });
}
