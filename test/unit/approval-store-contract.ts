// The ApprovalStore contract, one suite for every driver: call runApprovalStoreContract() from a driver's test file.
//
//   runApprovalStoreContract('redis', (space) => createRedisApprovalStore(URL, `${RUN_PREFIX}${space}:`), { stored });
//
// `open(space)` is called with a fresh `space` per test; every store opened with the same space shares the backing
// data (same file, same Redis prefix) exactly like gateway replicas and the CLI do. A memory driver returns the same
// instance for the same space: its approvals live in one process. Time is passed explicitly (`now`) where the
// contract is about deadlines; watching uses real time (a decision must be heard within 2 s). `stored(space)`, when
// the driver has one, returns everything it wrote for a space as text (files, keys), to prove what it never holds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newApprovalRecord, type HeldCall } from '../../src/approvals/held-call.js';
import { allRecords, cursorOf, type ApprovalDecision, type ApprovalRecord, type ApprovalStore } from '../../src/approvals/store.js';
import { createRedactor } from '../../src/audit/redact.js';

export type OpenApprovalStore = (space: string) => Promise<ApprovalStore>;

export interface ContractOptions {
  cleanup?: () => Promise<void>;
  stored?: (space: string) => Promise<string>;
}

const MINUTE = 60_000;
/** How soon a watcher must hear a decision made elsewhere. */
const HEARD_WITHIN_MS = 2000;

let seq = 0;
/** A pending single-use approval created at `created` (ids sort like creation order within a test). */
export function approvalRecord(over: Partial<ApprovalRecord> = {}): ApprovalRecord {
  const created = over.created ?? Date.now();
  return {
    id: `ap${String(++seq).padStart(4, '0')}${randomBytes(3).toString('hex')}`,
    binding: 'binding-default',
    server: 'payments',
    tool: 'pay',
    args: { amount: 42, to: 'acme' },
    agent: 'agent-1',
    rule: 'servers.payments.tools.pay',
    mode: 'hold',
    created,
    expires: created + MINUTE,
    status: 'pending',
    ...over,
  };
}

const approve = (by = 'alice'): ApprovalDecision => ({ status: 'approved', by, via: 'cli' });
const deny = (reason: string, by = 'bob'): ApprovalDecision => ({ status: 'denied', by, via: 'api', reason });

async function until(what: string, check: () => boolean, ms = HEARD_WITHIN_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(10);
  }
}

export function runApprovalStoreContract(name: string, open: OpenApprovalStore, { cleanup, stored }: ContractOptions = {}): void {
  describe(`ApprovalStore contract: ${name}`, { concurrency: false }, () => {
    if (cleanup) after(cleanup);

    /** A store on data of its own; `replica()` opens another store on the same data. All closed after the test. */
    async function setup(t: TestContext) {
      const space = `s${randomBytes(5).toString('hex')}`;
      const stores: ApprovalStore[] = [];
      const replica = async (): Promise<ApprovalStore> => {
        const s = await open(space);
        stores.push(s);
        return s;
      };
      t.after(async () => {
        for (const s of stores) await s.close();
      });
      return { space, store: await replica(), replica };
    }

    it('create/get returns the record exactly as created, the arguments byte for byte; unknown ids are undefined', async (t) => {
      const { store, replica } = await setup(t);
      // What the approver must see unchanged: key order, empty arrays and objects, nulls, fractions, big numbers, text.
      const args = { to: 'acme', amount: 0.1 + 0.2, items: [], meta: {}, nested: { z: [1, 'two', null, { y: true }], a: -1.5e-7 }, big: 12345678901234567, note: 'é ✓ "quoted" \\ / \n\t' };
      const full = approvalRecord({ args, session: 'sess-1', reason: 'payments need a person', ttlMs: 90_000, mode: 'async' });
      const bare = approvalRecord({ args: null });
      await store.create(full);
      await store.create(bare);
      const got = await store.get(full.id);
      assert.deepStrictEqual(got, full);
      assert.equal(JSON.stringify(got?.args), JSON.stringify(args), 'the arguments keep their key order');
      assert.deepStrictEqual(await store.get(bare.id), bare, 'no optional field appears that was not given');
      assert.deepStrictEqual(await (await replica()).get(full.id), full, 'another replica reads the same record');
      assert.equal(await store.get('no-such-id'), undefined);
    });

    it('list is newest first, filters by status and honours limit', async (t) => {
      const { store } = await setup(t);
      const t0 = Date.now();
      const made = [0, 1, 2, 3, 4].map((i) => approvalRecord({ created: t0 + i * 1000, binding: `b${i}` }));
      for (const r of made) await store.create(r);
      const [r0, r1, r2, r3, r4] = made as [ApprovalRecord, ApprovalRecord, ApprovalRecord, ApprovalRecord, ApprovalRecord];
      assert.equal((await store.decide(r1.id, approve(), t0 + 5000)).ok, true);
      assert.equal((await store.decide(r3.id, deny('no'), t0 + 5000)).ok, true);
      const ids = (rs: ApprovalRecord[]) => rs.map((r) => r.id);
      assert.deepEqual(ids(await store.list()), [r4.id, r3.id, r2.id, r1.id, r0.id]);
      assert.deepEqual(ids(await store.list({ status: 'pending' })), [r4.id, r2.id, r0.id]);
      assert.deepEqual(ids(await store.list({ status: 'approved' })), [r1.id]);
      assert.deepEqual(ids(await store.list({ status: 'expired' })), []);
      assert.deepEqual(ids(await store.list({ limit: 2 })), [r4.id, r3.id]);
      assert.deepEqual(ids(await store.list({ status: 'pending', limit: 2 })), [r4.id, r2.id]);
      const listed = (await store.list({ status: 'denied' }))[0];
      assert.equal(listed?.decided?.reason, 'no', 'listed records are whole');
    });

    it('list pages from a cursor: every record exactly once, newest first, ties by id, records decided meanwhile included', async (t) => {
      const { store, replica } = await setup(t);
      const t0 = Date.now();
      // 250 records, pairs created in the same millisecond (ties are ordered by id), every third one decided.
      const made = Array.from({ length: 250 }, (_, i) => approvalRecord({ created: t0 + Math.floor(i / 2), binding: `b${i}` }));
      for (const [i, r] of made.entries()) {
        await store.create(r);
        if (i % 3 === 0) await store.decide(r.id, deny('no'), t0 + 1000);
      }
      const order = [...made].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1)).map((r) => r.id);
      const other = await replica();
      const firstPage = await other.list();
      assert.deepEqual(firstPage.map((r) => r.id), order.slice(0, 100), 'the default limit is 100');
      assert.deepEqual((await other.list({ after: cursorOf(firstPage.at(-1)!), limit: 7 })).map((r) => r.id), order.slice(100, 107));
      const all: string[] = [];
      for await (const r of allRecords(other, undefined, 30)) all.push(r.id);
      assert.deepEqual(all, order);
      // Deciding records while paging through the pending ones skips none of the rest.
      const pendingOrder = order.filter((id) => made.findIndex((r) => r.id === id) % 3 !== 0);
      const seen: string[] = [];
      for await (const r of allRecords(other, 'pending', 40)) {
        seen.push(r.id);
        await store.decide(r.id, approve());
      }
      assert.deepEqual(seen, pendingOrder);
      assert.deepEqual(await other.list({ status: 'pending' }), []);
    });

    it('a record made from a held call keeps no secret: approvers see [REDACTED]; the binding is over the real values', async (t) => {
      const { space, store, replica } = await setup(t);
      const key = `k-${randomBytes(8).toString('hex')}`;
      const held = (secret: string): HeldCall => ({
        server: 'payments',
        tool: 'pay',
        params: { name: 'pay', arguments: { amount: 5, api_key: secret, memo: `use sk-${secret}abcdefghij now` }, input: { password: secret } },
        agent: 'agent-1',
        rule: 'servers.payments.tools.pay',
        approval: { mode: 'async', timeoutMs: MINUTE },
      });
      const redact = createRedactor();
      const r = newApprovalRecord(held(key), redact, Date.now());
      await store.create(r);
      const got = await (await replica()).get(r.id);
      assert.deepEqual(got?.args, { amount: 5, api_key: '[REDACTED]', memo: 'use [REDACTED] now' });
      assert.deepEqual(got?.otherParams, { input: { password: '[REDACTED]' } });
      assert.notEqual(newApprovalRecord(held(`${key}x`), redact, Date.now()).binding, r.binding, 'another secret is another call');
      if (stored) assert.ok(!(await stored(space)).includes(key), `the ${name} store holds the secret`);
    });

    it('list with a status filter finds the matching records however many others are newer', async (t) => {
      const { store } = await setup(t);
      const t0 = Date.now();
      const old = approvalRecord({ created: t0, binding: 'old' });
      await store.create(old);
      // More decided records than any driver looks at in one step (Redis walks its index in bounded scripts).
      for (let i = 1; i <= 5100; i++) {
        await store.create(approvalRecord({ created: t0 + i, binding: `n${i}`, status: 'denied', decided: { at: t0 + i, by: 'bob', via: 'api', reason: 'no' } }));
      }
      assert.deepEqual((await store.list({ status: 'pending' })).map((r) => r.id), [old.id]);
      assert.equal((await store.list({ status: 'denied', limit: 1000 })).length, 1000);
    });

    it('decide applies exactly one decision when replicas decide the same approval at the same moment', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const now = Date.now();
      for (let i = 0; i < 15; i++) {
        const r = approvalRecord({ created: now });
        await store.create(r);
        const results = await Promise.all([
          store.decide(r.id, approve('alice'), now + 1),
          other.decide(r.id, deny('over budget', 'bob'), now + 2),
          other.decide(r.id, { status: 'withdrawn', by: 'gateway', via: 'cancel' }, now + 3),
          store.decide(r.id, approve('carol'), now + 4),
        ]);
        const winners = results.filter((x) => x.ok);
        assert.equal(winners.length, 1, `exactly one decision applied: ${JSON.stringify(results.map((x) => x.ok))}`);
        const final = await other.get(r.id);
        assert.ok(final && final.status !== 'pending');
        for (const x of results) assert.deepStrictEqual(x.record, final, 'every caller gets the record as decided');
        assert.deepStrictEqual(await store.get(r.id), final);
      }
      // The decision is recorded as given: when, by whom, via what, a reason only when one was given.
      const a = approvalRecord({ created: now });
      const d = approvalRecord({ created: now });
      await store.create(a);
      await store.create(d);
      const approved = await other.decide(a.id, approve('alice'), now + 10);
      assert.deepStrictEqual(approved, { ok: true, record: { ...a, status: 'approved', decided: { at: now + 10, by: 'alice', via: 'cli' } } });
      const denied = await store.decide(d.id, deny('not this month'), now + 20);
      assert.deepStrictEqual(denied.record?.decided, { at: now + 20, by: 'bob', via: 'api', reason: 'not this month' });
      // Refused: the record as it is.
      assert.deepStrictEqual(await store.decide(a.id, deny('late'), now + 30), { ok: false, record: approved.record });
      assert.deepStrictEqual(await store.decide('no-such-id', approve()), { ok: false });
    });

    it('approving from the deadline on is refused; denying, expiring and withdrawing still decide', async (t) => {
      const { store } = await setup(t);
      const created = Date.now();
      const [late, justInTime, expiring, denied] = [1, 2, 3, 4].map(() => approvalRecord({ created, expires: created + 1000 })) as ApprovalRecord[];
      for (const r of [late!, justInTime!, expiring!, denied!]) await store.create(r);
      const refused = await store.decide(late!.id, approve(), created + 1000);
      assert.equal(refused.ok, false, 'approved at the deadline');
      assert.equal(refused.record?.status, 'pending');
      assert.equal((await store.decide(late!.id, approve(), created + 5000)).ok, false, 'approved after the deadline');
      assert.equal((await store.get(late!.id))?.status, 'pending');
      assert.equal((await store.decide(justInTime!.id, approve(), created + 999)).ok, true, 'approved 1 ms before the deadline');
      const expired = await store.decide(expiring!.id, { status: 'expired', by: 'gateway', via: 'timeout', reason: 'no decision in time' }, created + 1000);
      assert.equal(expired.ok, true);
      assert.equal(expired.record?.status, 'expired');
      assert.equal((await store.decide(denied!.id, deny('too late anyway'), created + 5000)).ok, true);
      assert.equal((await store.decide(late!.id, { status: 'withdrawn', by: 'gateway', via: 'cancel' }, created + 6000)).ok, true);
    });

    it('consume admits a single-use approval exactly once, even with replicas racing for it', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const now = Date.now();
      const r = approvalRecord({ created: now });
      await store.create(r);
      assert.equal(await store.consume(r.id, now + 1), false, 'a pending approval admits nothing');
      await store.decide(r.id, approve(), now + 2);
      const wins = await Promise.all([1, 2, 3].flatMap((i) => [store.consume(r.id, now + 10 + i), other.consume(r.id, now + 10 + i)]));
      assert.equal(wins.filter(Boolean).length, 1, `one call admitted: ${JSON.stringify(wins)}`);
      const used = await other.get(r.id);
      assert.ok(used?.usedAt !== undefined && used.usedAt >= now + 11 && used.usedAt <= now + 13, `usedAt ${used?.usedAt}`);
      assert.equal(await store.consume(r.id, now + 100), false, 'and never again');

      const refused = approvalRecord({ created: now });
      await store.create(refused);
      await store.decide(refused.id, deny('no'), now + 1);
      assert.equal(await store.consume(refused.id, now + 2), false, 'a denied approval admits nothing');
      assert.equal(await store.consume('no-such-id', now), false);
    });

    it('a remembered approval (ttlMs) admits identical calls within its ttl and none after', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const now = Date.now();
      const r = approvalRecord({ created: now, ttlMs: 1000 });
      await store.create(r);
      await store.decide(r.id, approve(), now + 100);
      assert.deepEqual(await Promise.all([store.consume(r.id, now + 101), other.consume(r.id, now + 101), store.consume(r.id, now + 1099)]), [true, true, true]);
      assert.equal(await other.consume(r.id, now + 1100), false, 'the ttl ends at decided.at + ttlMs');
      assert.equal(await store.consume(r.id, now + 5000), false);
      assert.equal((await store.get(r.id))?.usedAt, undefined, 'a remembered approval is not marked used');
    });

    it('findUsable and findPending find the newest matching approval of exactly this binding', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const now = Date.now();
      const at = (i: number, over: Partial<ApprovalRecord>) => approvalRecord({ created: now + i, ...over });
      const olderPending = at(0, { binding: 'call-a' });
      const newerPending = at(1, { binding: 'call-a' });
      const single = at(2, { binding: 'call-a' });
      const remembered = at(3, { binding: 'call-b', ttlMs: 1000 });
      const elsewhere = at(4, { binding: 'call-c' });
      for (const r of [olderPending, newerPending, single, remembered, elsewhere]) await store.create(r);
      assert.equal((await other.findPending('call-a'))?.id, single.id, 'the newest pending one');
      assert.equal(await other.findUsable('call-a', now + 10), undefined, 'nothing approved yet');

      await store.decide(single.id, approve(), now + 10);
      assert.equal((await other.findPending('call-a'))?.id, newerPending.id, 'the newest still pending');
      await store.decide(remembered.id, approve(), now + 10);
      await store.decide(elsewhere.id, deny('no'), now + 10);
      assert.deepStrictEqual(await other.findUsable('call-a', now + 20), await store.get(single.id));
      assert.equal((await other.findUsable('call-b', now + 20))?.id, remembered.id);
      assert.equal(await other.findUsable('call-c', now + 20), undefined, 'a denied approval is not usable');
      assert.equal(await other.findPending('call-c'), undefined);
      assert.equal(await store.findUsable('call-unknown', now), undefined);
      assert.equal(await store.findPending('call-unknown'), undefined);

      assert.equal(await store.consume(single.id, now + 30), true);
      assert.equal(await other.findUsable('call-a', now + 40), undefined, 'a used approval is not usable');
      assert.equal((await other.findUsable('call-b', now + 1009))?.id, remembered.id);
      assert.equal(await other.findUsable('call-b', now + 1010), undefined, 'a remembered approval after its ttl');

      await other.decide(newerPending.id, deny('no'), now + 50);
      assert.equal((await store.findPending('call-a'))?.id, olderPending.id);
      await other.decide(olderPending.id, { status: 'expired', by: 'gateway', via: 'timeout' }, now + 60);
      assert.equal(await store.findPending('call-a'), undefined);
    });

    it('watch hears decisions made by a replica and by itself, each once; unwatch stops only that watcher', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const made = [1, 2, 3, 4].map(() => approvalRecord());
      for (const r of made) await store.create(r);
      const [r1, r2, r3, r4] = made as [ApprovalRecord, ApprovalRecord, ApprovalRecord, ApprovalRecord];
      const first: ApprovalRecord[] = [];
      const second: ApprovalRecord[] = [];
      const unwatchFirst = store.watch((r) => first.push(r));
      const unwatchSecond = store.watch((r) => second.push(r));
      // Decided right after watch() returned, as a gatekeeper's get() could just miss it: still heard.
      const d1 = await other.decide(r1.id, approve());
      await until('the replica\'s decision', () => first.some((r) => r.id === r1.id));
      assert.deepStrictEqual(first.find((r) => r.id === r1.id), d1.record);
      await store.decide(r2.id, deny('no'));
      await until('its own decision', () => first.some((r) => r.id === r2.id));
      // A refused decision is not news.
      assert.equal((await other.decide(r1.id, deny('late'))).ok, false);
      await sleep(600);
      const count = (rs: ApprovalRecord[], id: string) => rs.filter((r) => r.id === id).length;
      assert.deepEqual([count(first, r1.id), count(first, r2.id), first.length], [1, 1, 2], 'each decision heard once');

      unwatchFirst();
      await other.decide(r3.id, { status: 'withdrawn', by: 'gateway', via: 'cancel' });
      await until('the remaining watcher', () => second.some((r) => r.id === r3.id));
      await sleep(300);
      assert.equal(count(first, r3.id), 0, 'the unwatched one heard nothing more');

      // With no watcher left and a new one: still told.
      unwatchSecond();
      const third: ApprovalRecord[] = [];
      const unwatchThird = store.watch((r) => third.push(r));
      t.after(unwatchThird);
      await other.decide(r4.id, approve());
      await until('a watcher started again', () => third.some((r) => r.id === r4.id));
      assert.equal(count(second, r4.id), 0);
    });

    it('watch hears a decision stamped earlier than one already heard (a replica that waited for the lock)', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const [late, early] = [approvalRecord(), approvalRecord()] as [ApprovalRecord, ApprovalRecord];
      await store.create(late);
      await store.create(early);
      const heard: string[] = [];
      const unwatch = store.watch((r) => heard.push(r.id));
      t.after(unwatch);
      const now = Date.now();
      await other.decide(late.id, deny('first committed'), now + 5);
      await until('the first decision', () => heard.includes(late.id));
      // Committed after the first, but its clock read happened before (e.g. it waited for the write lock).
      await other.decide(early.id, deny('committed second'), now);
      await until('the decision stamped earlier', () => heard.includes(early.id));
    });

    it('close stops telling watchers and may be called twice', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const r = approvalRecord();
      await other.create(r);
      const heard: ApprovalRecord[] = [];
      store.watch((x) => heard.push(x));
      await store.close();
      await store.close();
      if (other !== store) {
        assert.equal((await other.decide(r.id, approve())).ok, true);
        await sleep(600);
        assert.deepEqual(heard, [], 'a closed store tells no one');
      } else {
        // memory: the replica is the closed instance itself; its watchers are gone.
        await store.decide(r.id, approve());
        assert.deepEqual(heard, []);
      }
    });
  });
}
