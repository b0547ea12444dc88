// The AuditSink contract, one suite for every driver: call runAuditSinkContract() from a driver's test file.
//
//   import { runAuditSinkContract } from '../unit/audit-contract.js';
//   runAuditSinkContract('sqlite', async () => createSqliteSink(file), () => rm(dir, { recursive: true }));
//
// Every open() must return a sink on the SAME backing store (one file, one table) and that store must be new for the
// run: the sinks a test opens are like replicas. Tests keep apart by their data: each has its own span of time (far
// from the others'), its own ids, instances, servers, tools, agents and sessions. A query that cannot be bounded by
// those (a filter on `kind` alone) is checked by what it returns: everything matches, and this test's events among
// it are exactly the expected ones. prune() deletes older events of every test, so its test lives below all others.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import type { AuditEvent, AuditFilter, AuditSink } from '../../src/audit/sink.js';

export type OpenSink = () => Promise<AuditSink>;

const RUN = randomBytes(3).toString('hex');
/** Each test's events lie in [t0, t0 + SPAN); spans are far apart and far from today. */
const BASE = Date.UTC(2031, 0, 1);
const SPAN = 1_000_000_000;
const NO_LIMIT = 1_000_000;

/** The contract's own reading of the interface (independent of the drivers'): order by time, instance, seq. */
const byOrder = (a: AuditEvent, b: AuditEvent): number =>
  a.time - b.time || (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0) || a.seq - b.seq;

function matches(e: AuditEvent, f: AuditFilter): boolean {
  for (const k of ['server', 'tool', 'agent', 'session', 'decision', 'kind'] as const) if (f[k] !== undefined && e[k] !== f[k]) return false;
  if (f.call_ids && !f.call_ids.includes(e.id) && !(e.call_id !== undefined && f.call_ids.includes(e.call_id))) return false;
  if (f.since !== undefined && e.time < f.since) return false;
  if (f.until !== undefined && e.time >= f.until) return false;
  return true;
}

/** What a query over `events` must return. */
function expected(events: readonly AuditEvent[], f: AuditFilter): AuditEvent[] {
  const sorted = events.filter((e) => matches(e, f)).sort(byOrder);
  if (f.newest_first) sorted.reverse();
  return sorted.slice(0, f.limit ?? 100);
}

export function runAuditSinkContract(name: string, open: OpenSink, cleanup?: () => Promise<void>): void {
  describe(`AuditSink contract: ${name}`, { concurrency: false }, () => {
    if (cleanup) after(cleanup);
    let spans = 0;

    /** A sink (closed after the test), this test's span and a maker of its events; `lowest` for the prune test. */
    async function setup(t: TestContext, lowest = false) {
      const index = lowest ? -1 : spans++;
      const tag = `${RUN}-${index < 0 ? 'low' : index}`;
      const t0 = BASE + index * SPAN;
      const sinks: AuditSink[] = [];
      const another = async () => {
        const s = await open();
        sinks.push(s);
        return s;
      };
      t.after(async () => {
        for (const s of sinks) await s.close();
      });
      const sink = await another();
      /** Event `i` of this test: time t0 + i, instance `<tag>-a`, seq i + 1, unless `fields` say otherwise. */
      const event = (i: number, fields: Partial<AuditEvent> = {}): AuditEvent => ({
        id: `${tag}-${i}`,
        time: t0 + i,
        kind: 'call',
        instance: `${tag}-a`,
        seq: i + 1,
        ...fields,
      });
      const mine = (e: AuditEvent) => e.id.startsWith(`${tag}-`);
      const window: AuditFilter = { since: t0, until: t0 + SPAN };
      return { sink, another, event, mine, tag, t0, window };
    }

    /** 60 events over two servers, tools, agents and sessions; calls with decisions, results pointing at calls. */
    function dataset(ctx: Awaited<ReturnType<typeof setup>>): AuditEvent[] {
      const decisions = ['allowed', 'denied', 'rate_limited'] as const;
      return Array.from({ length: 60 }, (_, i) => {
        const fields: Partial<AuditEvent> = {
          time: ctx.t0 + i * 10,
          server: `${ctx.tag}-${i % 2 ? 'pay' : 'fs'}`,
          tool: `${ctx.tag}-${i % 3 ? 'list' : 'create'}`,
          agent: `${ctx.tag}-${i % 4 < 2 ? 'bot' : 'ops'}`,
          session: `${ctx.tag}-s${i % 5 === 0 ? 1 : 2}`,
        };
        if (i % 3 === 2) return ctx.event(i, { ...fields, kind: 'result', call_id: `${ctx.tag}-${i - 1}`, outcome: 'ok' });
        if (i % 10 === 9) return ctx.event(i, { ...fields, kind: 'reload', detail: 'policy reloaded' });
        return ctx.event(i, { ...fields, kind: 'call', decision: decisions[Math.floor(i / 3) % 3]! });
      });
    }

    it('round-trips every field exactly; absent fields stay absent, not null', async (t) => {
      const { sink, event, window } = await setup(t);
      const full = event(0, {
        kind: 'call',
        seq: 2 ** 40,
        server: 'pay-ü',
        tool: 'create_payment',
        agent: 'support-bot',
        session: 'sess-1',
        protocol: '2025-06-18',
        args: {
          amount: 12.5,
          numbers: [0, -42, 0.1, 1e21, 1e-7, 2 ** 53 - 1, 1.7976931348623157e308, 5e-324],
          nothing: null,
          flags: [true, false],
          text: 'Grüße 日本語 😀 עברית e\u0301 \u200b "quoted" back\\slash new\nline tab\t \u2028',
          'ключ 🔑': { nested: [[], {}, [1, [2, [3]]], ''] },
        },
        args_hash: 'a'.repeat(64),
        decision: 'denied_by_human',
        rule: 'servers.pay.tools.create_payment',
        reason: 'A human said no\nsecond line',
        approval_id: 'appr-1',
        call_id: 'call-x',
        outcome: 'tool_error',
        decision_ms: 0.25,
        upstream_ms: 1234.5,
        detail: 'tools: a, b',
        prev_hash: 'b'.repeat(64),
        hash: 'c'.repeat(64),
      });
      const minimal = event(1, { kind: 'tools_changed' });
      const argsNull = event(2, { args: null });
      const argsArray = event(3, { args: ['x', 1, null] });
      const argsText = event(4, { args: 'just a string' });
      const written = [full, minimal, argsNull, argsArray, argsText];
      await sink.write(written);
      const got = await sink.query(window);
      assert.deepEqual(got, written);
      assert.deepEqual(Object.keys(got[1]!).sort(), ['id', 'instance', 'kind', 'seq', 'time']);
      assert.equal(got[2]!.args, null, 'args: null is kept as a value');
      assert.ok('args' in got[2]!);
    });

    it('orders by time, then instance, then seq (as numbers), whatever the write order', async (t) => {
      const { sink, event, tag, t0, window } = await setup(t);
      const a = `${tag}-a`;
      const b = `${tag}-b`;
      const events = [
        event(0, { time: t0 + 2, instance: a, seq: 1 }),
        event(1, { time: t0 + 1, instance: b, seq: 1 }),
        event(2, { time: t0 + 1, instance: a, seq: 10 }),
        event(3, { time: t0 + 1, instance: a, seq: 9 }),
        event(4, { time: t0, instance: b, seq: 100 }),
        event(5, { time: t0 + 1000, instance: a, seq: 2 }),
      ];
      await sink.write(events);
      const order = (got: AuditEvent[]) => got.map((e) => e.id.slice(tag.length + 1));
      assert.deepEqual(order(await sink.query(window)), ['4', '3', '2', '1', '0', '5']);
      assert.deepEqual(order(await sink.query({ ...window, newest_first: true })), ['5', '0', '1', '2', '3', '4']);
    });

    it('keeps the order of several batches from several instances', async (t) => {
      const { sink, event, tag, t0, window } = await setup(t);
      const batches = Array.from({ length: 5 }, (_, b) =>
        Array.from({ length: 20 }, (_, j) => event(b * 20 + j, { time: t0, instance: `${tag}-${j % 2 ? 'x' : 'y'}`, seq: b * 10 + (j >> 1) + 1 })),
      );
      for (const batch of batches) await sink.write(batch);
      assert.deepEqual(await sink.query({ ...window, limit: 1000 }), expected(batches.flat(), { limit: 1000 }));
    });

    it('each filter alone selects exactly the matching events', async (t) => {
      const ctx = await setup(t);
      const events = dataset(ctx);
      await ctx.sink.write(events);
      const filters: AuditFilter[] = [
        { server: `${ctx.tag}-pay` },
        { tool: `${ctx.tag}-create` },
        { agent: `${ctx.tag}-ops` },
        { session: `${ctx.tag}-s1` },
        { decision: 'denied' },
        { kind: 'result' },
        { call_ids: [`${ctx.tag}-1`, `${ctx.tag}-7`] },
        { since: ctx.t0 + 300 },
        { until: ctx.t0 + 300 },
      ];
      for (const f of filters) {
        const want = expected(events, { ...f, limit: NO_LIMIT });
        assert.ok(want.length > 0 && want.length < events.length, `the data exercises ${JSON.stringify(f)}`);
        const got = await ctx.sink.query({ ...f, limit: NO_LIMIT });
        assert.ok(got.every((e) => matches(e, f)), `only matching events for ${JSON.stringify(f)}`);
        assert.deepEqual(got.filter(ctx.mine), want, `this test's events for ${JSON.stringify(f)}`);
        assert.deepEqual(got, [...got].sort(byOrder), `ordered for ${JSON.stringify(f)}`);
      }
      // call_ids finds a call by its own id and its result by call_id.
      assert.deepEqual((await ctx.sink.query({ call_ids: [`${ctx.tag}-1`] })).map((e) => [e.id, e.kind]), [
        [`${ctx.tag}-1`, 'call'],
        [`${ctx.tag}-2`, 'result'],
      ]);
      assert.deepEqual(await ctx.sink.query({ call_ids: [] }), [], 'no call ids, no events');
    });

    it('filters combine: every given field must match; since is inclusive, until exclusive; limit and newest_first', async (t) => {
      const ctx = await setup(t);
      const events = dataset(ctx);
      await ctx.sink.write(events);
      const w = ctx.window;
      const filters: AuditFilter[] = [
        { server: `${ctx.tag}-fs`, tool: `${ctx.tag}-list`, since: ctx.t0 + 40, until: ctx.t0 + 400 },
        { agent: `${ctx.tag}-bot`, session: `${ctx.tag}-s2`, kind: 'call', decision: 'allowed' },
        { call_ids: [`${ctx.tag}-4`, `${ctx.tag}-10`, `${ctx.tag}-30`], kind: 'result' },
        { server: `${ctx.tag}-pay`, newest_first: true, limit: 3 },
        { ...w, limit: 5 },
        { ...w, newest_first: true, limit: 5 },
        { ...w, kind: 'call', decision: 'rate_limited', agent: `${ctx.tag}-ops`, tool: `${ctx.tag}-create`, server: `${ctx.tag}-fs` },
      ];
      for (const f of filters) {
        const want = expected(events, f);
        assert.ok(want.length > 0, `the data exercises ${JSON.stringify(f)}`);
        assert.deepEqual(await ctx.sink.query(f), want, JSON.stringify(f));
      }
      // The bounds themselves: an event at `since` is in, one at `until` is out.
      const bounded = await ctx.sink.query({ since: ctx.t0 + 100, until: ctx.t0 + 200 });
      assert.equal(bounded[0]?.time, ctx.t0 + 100);
      assert.equal(bounded.at(-1)?.time, ctx.t0 + 190);
      assert.deepEqual(await ctx.sink.query({ since: ctx.t0 + 100, until: ctx.t0 + 100 }), []);
      assert.deepEqual(await ctx.sink.query({ ...w, server: `${ctx.tag}-fs`, agent: 'nobody' }), []);
    });

    it('returns at most 100 events unless a limit is given', async (t) => {
      const { sink, event, window } = await setup(t);
      const events = Array.from({ length: 150 }, (_, i) => event(i));
      await sink.write(events);
      assert.deepEqual(await sink.query(window), events.slice(0, 100));
      assert.deepEqual(await sink.query({ ...window, limit: 150 }), events);
      assert.deepEqual(await sink.query({ ...window, limit: 0 }), []);
      await assert.rejects(sink.query({ ...window, limit: -1 }), /limit/);
    });

    it('keeps all of 10 000 events written in batches of 500, in order', async (t) => {
      const { sink, event, window } = await setup(t);
      const events = Array.from({ length: 10_000 }, (_, i) =>
        event(i, { time: window.since! + Math.floor(i / 3), server: 'bulk', args: { i, note: 'x'.repeat(i % 50) } }),
      );
      for (let i = 0; i < events.length; i += 500) await sink.write(events.slice(i, i + 500));
      const got = await sink.query({ ...window, limit: 20_000 });
      assert.equal(got.length, 10_000);
      assert.deepEqual(got, events);
    });

    it('prune(before) deletes exactly the events older than `before` and returns how many', async (t) => {
      // The lowest span: no other test has events older than this test's `before`.
      const { sink, event, t0, window } = await setup(t, true);
      const events = Array.from({ length: 30 }, (_, i) => event(i, { time: t0 + Math.floor(i / 2) }));
      await sink.write(events.slice(0, 15));
      await sink.write(events.slice(15));
      assert.equal(await sink.prune(t0 + 6), 12);
      // Events at `before` itself are not older: they stay.
      assert.deepEqual(await sink.query(window), events.slice(12));
      assert.equal(await sink.prune(t0 + 6), 0, 'nothing left to prune');
      assert.equal(await sink.prune(t0 + 15), 18);
      assert.deepEqual(await sink.query(window), []);
    });

    it('sinks opened on the same store (replicas) see each other’s events', async (t) => {
      const { sink: a, another, event, tag, window } = await setup(t);
      if (a.kind === 'stdout') return t.skip('the stdout sink keeps nothing');
      const b = await another();
      const fromA = Array.from({ length: 10 }, (_, i) => event(2 * i, { instance: `${tag}-a`, seq: i + 1 }));
      const fromB = Array.from({ length: 10 }, (_, i) => event(2 * i + 1, { instance: `${tag}-b`, seq: i + 1 }));
      for (let i = 0; i < 10; i += 5) {
        await a.write(fromA.slice(i, i + 5));
        await b.write(fromB.slice(i, i + 5));
      }
      const all = expected([...fromA, ...fromB], {});
      assert.deepEqual(await a.query(window), all);
      assert.deepEqual(await b.query(window), all);
    });

    it('keeps its events when closed and reopened; a closed sink refuses to write', async (t) => {
      const { sink, another, event, window } = await setup(t);
      const first = [event(0), event(1, { args: { k: 'v' } })];
      await sink.write(first);
      await sink.write([]);
      await sink.close();
      await sink.close();
      await assert.rejects(sink.write([event(9)]), /closed/);
      const reopened = await another();
      assert.deepEqual(await reopened.query(window), first);
      await reopened.write([event(2)]);
      assert.deepEqual(await reopened.query(window), [...first, event(2)]);
    });
  });
}
