// The StateStore contract, one suite for every driver: call runStateStoreContract() from a driver's test file.
//
//   import { runStateStoreContract } from '../unit/state-contract.js';
//   runStateStoreContract('redis', (opts) => createRedisStore('redis://127.0.0.1:6379', opts));
//
// `open(opts)` is called once per test with a fresh, unique `opts.prefix`; several stores opened by one test share
// the backing state (same file, same Redis) exactly like replicas. Every key a test uses starts with that prefix,
// as the gateway's limiter builds them (`<prefix>rl:<scope>:<id>:<limit path>`): the store keeps keys verbatim,
// counters() without an argument lists the keys under `opts.prefix`, counters(p) those starting with `p`.
// Costs are decimal amounts: 0.1 + 0.2 fits under 0.3 (see src/state/window.ts for the tolerance).
// Time is real (short windows and real sleeps, no fake clocks): every driver keeps its own clock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LimitCheck, Reservation, StateStore, StoreOptions } from '../../src/state/store.js';

export type OpenStore = (opts: StoreOptions) => Promise<StateStore>;

const MINUTE = 60_000;

export function runStateStoreContract(name: string, open: OpenStore, cleanup?: () => Promise<void>): void {
  describe(`StateStore contract: ${name}`, { concurrency: false }, () => {
    if (cleanup) after(cleanup);

    /** A store under a prefix of its own, closed after the test; `prefix` is for building keys. */
    async function setup(t: TestContext) {
      const prefix = `pltest:${randomBytes(5).toString('hex')}:`;
      const stores: StateStore[] = [];
      const another = async (p = prefix) => {
        const s = await open({ prefix: p });
        stores.push(s);
        return s;
      };
      t.after(async () => {
        for (const s of stores) await s.close();
      });
      const store = await another();
      const key = (k: string) => `${prefix}rl:global:*:${k}`;
      return { store, prefix, key, another };
    }

    const check = (key: string, max: number, windowMs = MINUTE, cost = 1): LimitCheck => ({ key, cost, max, windowMs });
    const refused = (r: Reservation) => {
      assert.equal(r.ok, false, 'expected a refusal');
      return r as Extract<Reservation, { ok: false }>;
    };
    const admitted = (r: Reservation) => {
      assert.equal(r.ok, true, `expected an admission, got ${JSON.stringify(r)}`);
      return (r as Extract<Reservation, { ok: true }>).token;
    };
    const used = async (store: StateStore, key: string) => (await store.counters(key)).find((c) => c.key === key)?.used ?? 0;

    it('admits up to max, then refuses naming the check and when it will fit', async (t) => {
      const { store, key } = await setup(t);
      const checks = [check(key('wide'), 10), check(key('narrow'), 3)];
      for (let i = 0; i < 3; i++) admitted(await store.reserve(checks));
      const r = refused(await store.reserve(checks));
      assert.equal(r.index, 1, 'the second check refused');
      assert.equal(r.used, 3);
      assert.ok(r.retryAfterMs > MINUTE - 2000 && r.retryAfterMs <= MINUTE, `retryAfterMs ${r.retryAfterMs} ≈ one window`);
      // The first check refusing is reported as index 0.
      const first = refused(await store.reserve([check(key('narrow'), 3), check(key('other'), 5)]));
      assert.equal(first.index, 0);
    });

    it('is an exact sliding window: a slot frees exactly when its admission leaves the window', async (t) => {
      const { store, key } = await setup(t);
      const k = key('slide');
      const W = 500;
      const t0 = Date.now();
      admitted(await store.reserve([check(k, 3, W)]));
      await sleep(200);
      const t1 = Date.now();
      admitted(await store.reserve([check(k, 3, W)]));
      admitted(await store.reserve([check(k, 3, W)]));
      const full = refused(await store.reserve([check(k, 3, W)]));
      assert.equal(full.used, 3);
      // Only the first admission (t0) has to leave: ~300 ms from now, not a whole window.
      const expected = t0 + W - Date.now();
      assert.ok(Math.abs(full.retryAfterMs - expected) <= 30, `retryAfterMs ${full.retryAfterMs}, expected ≈ ${expected}`);
      const due = Date.now() + full.retryAfterMs;
      await sleep(full.retryAfterMs - 150);
      // (Skipped only if this machine stalled the timer by more than 130 ms.)
      if (Date.now() < due - 20) refused(await store.reserve([check(k, 3, W)]));
      await sleep(due + 10 - Date.now());
      // One slot came back (the t0 admission left); the two from t1 are still in the window.
      admitted(await store.reserve([check(k, 3, W)]));
      const again = refused(await store.reserve([check(k, 3, W)]));
      const next = t1 + W - Date.now();
      assert.ok(Math.abs(again.retryAfterMs - next) <= 30, `next slot when the t1 admissions leave: ${again.retryAfterMs} ms, expected ≈ ${next}`);
      await sleep(again.retryAfterMs + 10);
      admitted(await store.reserve([check(k, 3, W)]));
      admitted(await store.reserve([check(k, 3, W)]));
      refused(await store.reserve([check(k, 3, W)]));
    });

    it('never admits more than max in any window, across what would be a bucket boundary', async (t) => {
      const { store, key } = await setup(t);
      const k = key('burst');
      const W = 300;
      const max = 5;
      const times: number[] = [];
      const end = Date.now() + 2.5 * W;
      // Ask constantly, as an impatient agent would; a calendar-bucket counter admits 2×max around a boundary.
      while (Date.now() < end) {
        const before = Date.now();
        if ((await store.reserve([check(k, max, W)])).ok) times.push(before);
        await sleep(3);
      }
      assert.ok(times.length >= 2 * max, `admissions resume as the window slides (${times.length})`);
      // Times are taken before each call, so an admission happened at or after them: a few ms of slack.
      for (const t1 of times) {
        const inWindow = times.filter((t2) => t2 <= t1 && t2 > t1 - (W - 15)).length;
        assert.ok(inWindow <= max, `${inWindow} admissions within ${W} ms ending at +${t1 - times[0]!} ms`);
      }
    });

    it('counts costs: fractional amounts, exact sums, a cost above max never fits', async (t) => {
      const { store, key } = await setup(t);
      const cap = key('spend');
      for (const cost of [0.25, 0.25, 0.5]) admitted(await store.reserve([check(cap, 1, MINUTE, cost)]));
      const r = refused(await store.reserve([check(cap, 1, MINUTE, 0.01)]));
      assert.ok(Math.abs(r.used - 1) < 1e-9, `used ${r.used}`);

      // Decimal amounts as people write them: 0.1 + 0.2 is a spend of 0.3.
      const dec = key('decimal');
      admitted(await store.reserve([check(dec, 0.3, MINUTE, 0.1)]));
      admitted(await store.reserve([check(dec, 0.3, MINUTE, 0.2)]));
      refused(await store.reserve([check(dec, 0.3, MINUTE, 0.001)]));

      // More than the whole budget: refused even on an empty key, retryAfterMs is the window (documented).
      const big = refused(await store.reserve([check(key('empty'), 100, MINUTE, 100.5)]));
      assert.equal(big.index, 0);
      assert.equal(big.retryAfterMs, MINUTE);
      assert.equal(await used(store, key('empty')), 0);
    });

    it('computes retryAfterMs from the admissions that must leave for this cost', async (t) => {
      const { store, key } = await setup(t);
      const k = key('retry');
      const t0 = Date.now();
      admitted(await store.reserve([check(k, 1, MINUTE, 0.6)]));
      await sleep(120);
      const t1 = Date.now();
      admitted(await store.reserve([check(k, 1, MINUTE, 0.3)]));
      // 0.5 fits once the 0.6 (t0) leaves; 0.95 needs the 0.3 (t1) gone as well.
      const small = refused(await store.reserve([check(k, 1, MINUTE, 0.5)]));
      const large = refused(await store.reserve([check(k, 1, MINUTE, 0.95)]));
      const now = Date.now();
      assert.ok(Math.abs(small.retryAfterMs - (t0 + MINUTE - now)) <= 30, `0.5 waits for the first admission (${small.retryAfterMs})`);
      assert.ok(Math.abs(large.retryAfterMs - (t1 + MINUTE - now)) <= 30, `0.95 waits for both (${large.retryAfterMs})`);
      assert.ok(Math.abs(small.used - 0.9) < 1e-9);
    });

    it('is all-or-nothing over the checks of one reserve()', async (t) => {
      const { store, key } = await setup(t);
      const [a, b] = [key('a'), key('b')];
      admitted(await store.reserve([check(a, 5), check(b, 1)]));
      for (let i = 0; i < 3; i++) assert.equal(refused(await store.reserve([check(a, 5), check(b, 1)])).index, 1);
      // The refused calls did not consume `a`: it still has 4 of 5.
      assert.equal(await used(store, a), 1);
      for (let i = 0; i < 4; i++) admitted(await store.reserve([check(a, 5)]));
      assert.equal(refused(await store.reserve([check(a, 5)])).used, 5);
    });

    it('rollback gives the units back at once, on every key of the reservation, once', async (t) => {
      const { store, key } = await setup(t);
      const [calls, spend] = [key('calls'), key('spend')];
      const both = (cost: number) => store.reserve([check(calls, 2), check(spend, 10, MINUTE, cost)]);
      const first = admitted(await both(4));
      admitted(await both(3));
      assert.equal(refused(await both(1)).index, 0);
      await store.rollback(first);
      assert.equal(await used(store, calls), 1);
      assert.equal(await used(store, spend), 3);
      // Rolling the same reservation back again gives nothing more.
      await store.rollback(first);
      assert.equal(await used(store, spend), 3);
      admitted(await both(7));
      assert.equal(refused(await both(1)).index, 0);
      assert.equal(await used(store, spend), 10);
    });

    it('commit keeps the units counted until they leave the window', async (t) => {
      const { store, key } = await setup(t);
      const k = key('commit');
      const token = admitted(await store.reserve([check(k, 2, 300)]));
      await store.commit(token);
      admitted(await store.reserve([check(k, 2, 300)]));
      refused(await store.reserve([check(k, 2, 300)]));
      assert.equal(await used(store, k), 2);
      await sleep(320);
      admitted(await store.reserve([check(k, 2, 300)]));
    });

    it('keeps keys independent, and stores under different prefixes apart', async (t) => {
      const { store, key, another } = await setup(t);
      admitted(await store.reserve([check(key('x'), 1)]));
      admitted(await store.reserve([check(key('y'), 1)]));
      refused(await store.reserve([check(key('x'), 1)]));
      // A second store on the same backing state under another prefix sees none of these keys.
      const otherPrefix = `pltest2:${randomBytes(5).toString('hex')}:`;
      const other = await another(otherPrefix);
      const otherKey = `${otherPrefix}rl:global:*:x`;
      admitted(await other.reserve([check(otherKey, 1)]));
      assert.deepEqual((await other.counters()).map((c) => c.key), [otherKey]);
      assert.deepEqual((await store.counters()).map((c) => c.key), [key('x'), key('y')]);
      // The same prefix, opened again (another replica), shares the counters; memory: stores are per instance.
      if (store.kind !== 'memory') {
        const replica = await another();
        refused(await replica.reserve([check(key('y'), 1)]));
      }
    });

    it('counters() lists used, calls and next expiry per key, under a prefix, without expired entries', async (t) => {
      const { store, key, prefix } = await setup(t);
      admitted(await store.reserve([check(key('q'), 10, MINUTE, 2.5)]));
      admitted(await store.reserve([check(key('q'), 10, MINUTE, 1.5)]));
      admitted(await store.reserve([check(key('r'), 10, 250)]));
      const all = await store.counters();
      assert.deepEqual(all.map((c) => [c.key, c.used, c.calls]), [[key('q'), 4, 2], [key('r'), 1, 1]]);
      const q = all[0]!;
      assert.ok(q.nextExpiryMs !== undefined && q.nextExpiryMs > MINUTE - 2000 && q.nextExpiryMs <= MINUTE, `nextExpiryMs ${q.nextExpiryMs}`);
      assert.deepEqual((await store.counters(key('r'))).map((c) => c.key), [key('r')]);
      assert.deepEqual(await store.counters(`${prefix}rl:session:`), []);
      await sleep(280);
      assert.deepEqual((await store.counters()).map((c) => c.key), [key('q')], 'the expired key is gone');
    });

    it('admits exactly max of 1 000 concurrent reservations in one process', async (t) => {
      const { store, key } = await setup(t);
      const k = key('storm');
      const results = await Promise.all(Array.from({ length: 1000 }, () => store.reserve([check(k, 100)])));
      assert.equal(results.filter((r) => r.ok).length, 100);
      assert.equal(await used(store, k), 100);
      // Spend cap with random amounts: the admitted sum never exceeds the cap.
      const cap = key('cap');
      const amounts = Array.from({ length: 300 }, () => (1 + Math.floor(Math.random() * 1000)) / 100);
      const spent = await Promise.all(amounts.map((a) => store.reserve([check(cap, 250, MINUTE, a)]).then((r) => (r.ok ? a : 0))));
      const total = spent.reduce((x, y) => x + y, 0);
      assert.ok(total <= 250 + 1e-6 && total > 200, `admitted ${total} of 250`);
      assert.ok(Math.abs((await used(store, cap)) - total) < 1e-6);
    });

    it('decides calls made together in the order they were made, each over all of its keys', async (t) => {
      const { store, key } = await setup(t);
      const [a, b] = [key('order-a'), key('order-b')];
      // Made in one turn of the event loop (a driver may send them in one round trip): decided one after another.
      const results = await Promise.all([
        store.reserve([check(a, 2)]),
        store.reserve([check(a, 2), check(b, 1)]),
        store.reserve([check(b, 1)]),
        store.reserve([check(a, 2), check(b, 5, MINUTE, 0.5)]),
        store.reserve([check(a, 2)]),
      ]);
      assert.deepEqual(
        results.map((r) => (r.ok ? 'ok' : `refused ${r.index}`)),
        ['ok', 'ok', 'refused 0', 'refused 0', 'refused 0'],
      );
      assert.equal(await used(store, a), 2);
      assert.equal(await used(store, b), 1, 'the refused calls took nothing from b');
    });

    it('health() reports a working store', async (t) => {
      const { store } = await setup(t);
      const h = store.health();
      assert.equal(h.ok, true, h.detail);
      assert.ok(h.detail.length > 0);
    });
  });
}
