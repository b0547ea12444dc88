// Three `policylayer start` replicas sharing one state store (Redis, and separately one SQLite file) in front of one
// HTTP recording server: a global rate limit is exact under 1 000 concurrent calls, and a spend cap with random
// amounts is never exceeded while calls the server failed are rolled back — everything counted at the server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../helpers/gateway.js';
import { resultText, startRecorderHttp, type Message } from '../helpers/raw-mcp.js';
import {
  SHARED_REDIS,
  assertLimitDenial,
  callTool,
  deleteRedisKeys,
  isDenied,
  openSession,
  pingRedis,
  receivedArgs,
  redisOrSkip,
  startReplicas,
  uniquePrefix,
  writePolicy,
} from '../helpers/limits-rig.js';

type Store = 'redis' | 'sqlite';
const REPLICAS = 3;
const SESSIONS_PER_REPLICA = 2;
const RATE_RULE = 'servers.s.tools.echo.rate_limit';
const PAY_RULE = 'servers.s.tools.pay.quota';
const CAP = 500;

const redisProblem = await pingRedis();

interface Rig {
  /** Every (endpoint, session) pair, replicas interleaved: call i goes to targets[i % length]. */
  targets: { url: string; sid: string }[];
  record: string;
}

/** The recorder, three replicas on one policy (global limits), two sessions on each; undefined when skipped. */
async function replicas(t: TestContext, store: Store): Promise<Rig | undefined> {
  if (store === 'redis' && !redisOrSkip(t, redisProblem)) return undefined;
  const dir = tempDir(`pl-limits-replicas-${store}-`);
  const record = path.join(dir, 'record.jsonl');
  const rec = await startRecorderHttp(record);
  t.after(() => rec.stop());
  const prefix = uniquePrefix(`replicas-${store}`);
  if (store === 'redis') t.after(() => deleteRedisKeys(prefix));
  const state = store === 'redis' ? SHARED_REDIS : `sqlite:${path.join(dir, 'state.db')}`;
  const file = writePolicy(
    {
      gateway: { state, state_prefix: prefix },
      servers: {
        s: {
          url: rec.url,
          tools: {
            echo: { action: 'allow', rate_limit: { max: 100, window: 60, scope: 'global' } },
            pay: { action: 'allow', quota: { max: CAP, window: '1h', cost: 'args.amount', scope: 'global' } },
          },
        },
      },
    },
    dir,
  );
  const gateways = await startReplicas(REPLICAS, file);
  t.after(() => Promise.all(gateways.map((g) => g.stop())));
  const targets: Rig['targets'] = [];
  for (let s = 0; s < SESSIONS_PER_REPLICA; s++) {
    for (const g of gateways) targets.push({ url: `${g.url}/mcp/s`, sid: await openSession(`${g.url}/mcp/s`) });
  }
  return { targets, record };
}

/** A small deterministic generator, so that a failing run can be replayed (the seed is in the messages). */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

for (const store of ['redis', 'sqlite'] as const) {
  describe(`3 replicas sharing ${store === 'redis' ? `Redis (${SHARED_REDIS})` : 'one SQLite file'}`, () => {
    test('1 000 concurrent calls against a global max of 100: exactly 100 reach the server, 900 are refused naming the limit', async (t) => {
      const rig = await replicas(t, store);
      if (!rig) return;
      const replies = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => {
          const { url, sid } = rig.targets[i % rig.targets.length]!;
          return callTool(url, sid, 'echo', { text: `burst-${i}` });
        }),
      );
      const admitted = replies.filter((r) => !isDenied(r));
      const refused = replies.filter(isDenied);
      for (const r of admitted) assert.match(resultText(r), /^echo: burst-\d+$/, JSON.stringify(r).slice(0, 300));
      for (const r of refused) assertLimitDenial(r, RATE_RULE, 'rate limit reached: 100 calls per 1 min per global', 60_000);
      const atServer = receivedArgs(rig.record, 'echo').map((a) => String(a.text));
      assert.equal(atServer.length, 100, `the server received ${atServer.length} calls`);
      // Each replica got a third of the calls: unshared counters would have let up to 3 × 100 through.
      assert.equal(refused.length, 900);
      // The server received exactly the calls the gateways answered as admitted.
      assert.deepEqual(atServer.sort(), admitted.map((r) => resultText(r).slice('echo: '.length)).sort());
    });

    test('spend cap of 500 with random amounts across 3 replicas: never exceeded, and failed calls are rolled back', async (t) => {
      const rig = await replicas(t, store);
      if (!rig) return;
      const seed = Date.now() % 1_000_000;
      const why = `(seed ${seed})`;
      const pay = (i: number, args: Record<string, unknown>) => {
        const { url, sid } = rig.targets[i % rig.targets.length]!;
        return callTool(url, sid, 'pay', args);
      };

      // A: three failures of 300, one after the other on different replicas. Each must reach the server: with
      // the 300 of an earlier one still counted, the next would be refused (300 + 300 > 500).
      for (const [i, fail] of (['rpc', 'tool', 'rpc'] as const).entries()) {
        const reply = await pay(i, { amount: 300, fail, n: `A${i}` });
        assert.ok(!isDenied(reply), `failure ${i} (${fail}) was refused: the previous failure was not rolled back: ${resultText(reply)}`);
        if (fail === 'rpc') assert.equal(reply.error?.message, 'pay failed on demand');
        else assert.equal(resultText(reply), 'pay failed on demand');
        // Settling follows the answer (off its path); give it time to reach the store.
        await sleep(150);
      }

      // B: 200 concurrent calls of 0.5–25 (halves: exact in binary), about 30 % failed by the server on demand.
      const random = prng(seed);
      const burst = Array.from({ length: 200 }, (_, i) => {
        const r = random();
        const fail = r < 0.15 ? 'rpc' : r < 0.3 ? 'tool' : undefined;
        return { amount: Math.ceil(random() * 50) / 2, n: `B${i}`, delayMs: Math.floor(random() * 40), ...(fail && { fail }) };
      });
      const replies = await Promise.all(burst.map((args, i) => pay(i, args)));
      const kinds = { paid: 0, failed: 0, refused: 0 };
      replies.forEach((reply: Message, i) => {
        const args = burst[i]!;
        if (isDenied(reply)) {
          kinds.refused++;
          const text = resultText(reply);
          assert.ok(text.includes(PAY_RULE) && text.includes(`spend cap reached: a budget of ${CAP} (args.amount) per 1 h per global`), `${why} ${text}`);
        } else if (args.fail === undefined) {
          kinds.paid++;
          assert.equal(resultText(reply), `paid ${args.amount}`, `${why} ${JSON.stringify(reply).slice(0, 300)}`);
        } else {
          kinds.failed++;
          const message = args.fail === 'rpc' ? reply.error?.message : resultText(reply);
          assert.equal(message, 'pay failed on demand', `${why} ${JSON.stringify(reply).slice(0, 300)}`);
        }
      });
      const received = receivedArgs(rig.record, 'pay').filter((a) => String(a.n).startsWith('B'));
      assert.equal(received.length, kinds.paid + kinds.failed, `${why} a refused call reached the server, or an admitted one did not`);
      const succeeded = sum(received.filter((a) => a.fail === undefined).map((a) => Number(a.amount)));
      const failedSum = sum(received.filter((a) => a.fail !== undefined).map((a) => Number(a.amount)));
      assert.ok(succeeded <= CAP, `${why} the server was paid ${succeeded} in total, over the cap of ${CAP}`);
      assert.ok(kinds.refused > 0 && kinds.paid > 0, `${why} ${JSON.stringify(kinds)}`);

      // C: the store's count is exactly what the server was paid: every failed call given back, every paid one kept.
      // The probe asks for half a unit more than is left (it fits the cap itself, so the refusal reports the use).
      await sleep(300);
      const probe = await pay(0, { amount: CAP - succeeded + 0.5, n: 'C-probe' });
      const used = /; (\d+(?:\.\d+)?) already used/.exec(resultText(probe));
      assert.ok(isDenied(probe) && used, `${why} ${resultText(probe)}`);
      assert.equal(
        Number(used[1]),
        succeeded,
        `${why} the store counts ${used[1]} but the server was paid ${succeeded} (failed calls worth ${failedSum} reached it and should have been given back)`,
      );
      const left = CAP - succeeded;
      if (left > 0) assert.equal(resultText(await pay(1, { amount: left, n: 'C-rest' })), `paid ${left}`, `${why} the last ${left} of the cap`);
      const full = await pay(2, { amount: 0.5, n: 'C-over' });
      assert.ok(isDenied(full) && resultText(full).includes(`${CAP} already used`), `${why} ${resultText(full)}`);
      assert.equal(sum(receivedArgs(rig.record, 'pay').filter((a) => a.fail === undefined).map((a) => Number(a.amount))), CAP);
    });

    test('a call costing more than the whole cap is refused without a false promise, and the store keeps counting', async (t) => {
      const rig = await replicas(t, store);
      if (!rig) return;
      const { url, sid } = rig.targets[0]!;
      assert.equal(resultText(await callTool(url, sid, 'pay', { amount: 100 })), 'paid 100');
      const huge = await callTool(url, sid, 'pay', { amount: CAP + 1 });
      const text = resultText(huge);
      assert.ok(isDenied(huge) && text.includes(PAY_RULE) && text.includes('spend cap'), text);
      assert.ok(!/unreachable|busy/.test(text), `the refusal blames the store: ${text}`);
      // The same replica still counts: 400 fit, 0.5 more does not.
      const rest = await callTool(url, sid, 'pay', { amount: 400 });
      assert.equal(resultText(rest), 'paid 400', 'after the oversized call the replica no longer admits calls');
      const over = await callTool(url, sid, 'pay', { amount: 0.5 });
      assert.ok(isDenied(over) && resultText(over).includes(`${CAP} already used`), resultText(over));
      assert.deepEqual(receivedArgs(rig.record, 'pay').map((a) => a.amount), [100, 400]);
      // Waiting never lets 501 fit under 500: the refusal must not promise a time (only once the rest is known good).
      assert.ok(!/will be admitted in/.test(text), `a call that can never fit is told it will be admitted later: ${text}`);
    });
  });
}
