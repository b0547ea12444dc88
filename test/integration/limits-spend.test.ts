// Spend caps through `policylayer start` (stdio and HTTP servers) and `wrap`: cost read from the arguments (fail
// closed when it cannot be), reservation before forwarding, rollback only when the server answered an error; a call
// cancelled after forwarding keeps its budget.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { call, openWrap, RECORDER, resultText, startRecorderHttp, type Message } from '../helpers/raw-mcp.js';
import { assertLimitDenial, callTool, isDenied, openSession, post, receivedArgs, writePolicy } from '../helpers/limits-rig.js';

const PAY = { action: 'allow', quota: { max: 100, window: '1h', cost: 'args.amount' } };
const RULE = 'servers.s.tools.pay.quota';
const LIMIT = 'a budget of 100 (args.amount) per 1 h per server';
const HOUR = 3_600_000;

/** How a test talks to one gateway in front of a recording fixture, whatever the route. */
interface Route {
  pay(args: Record<string, unknown>): Promise<Message>;
  /** Sends every call at once, then collects the answers (in the order of the list). */
  payAll(list: Record<string, unknown>[]): Promise<Message[]>;
  /** Sends a tools/call without waiting, then notifications/cancelled for it; resolves once both are sent. */
  payThenCancel(args: Record<string, unknown>): Promise<void>;
  record: string;
}

type Via = 'start → stdio' | 'start → http' | 'wrap';
const VIAS: Via[] = ['start → stdio', 'start → http', 'wrap'];

async function route(t: TestContext, via: Via): Promise<Route> {
  const dir = tempDir('pl-limits-spend-');
  const record = path.join(dir, 'record.jsonl');
  let upstream: Record<string, unknown> = { command: [process.execPath, RECORDER, 'stdio', '--record', record] };
  if (via === 'start → http') {
    const rec = await startRecorderHttp(record);
    t.after(() => rec.stop());
    upstream = { url: rec.url };
  }
  const file = writePolicy({ gateway: { state: 'memory:' }, servers: { s: { ...upstream, tools: { pay: PAY } } } }, dir);
  let n = 0;
  if (via === 'wrap') {
    const gw = await openWrap(t, file, 's');
    return {
      record,
      pay: (args) => gw.request(call(`p${++n}`, 'pay', args)),
      async payAll(list) {
        // The line client wakes one waiter at a time: send everything, then read the answers one by one.
        const ids = list.map((args) => {
          const id = `p${++n}`;
          gw.send(call(id, 'pay', args));
          return id;
        });
        const out: Message[] = [];
        for (const id of ids) out.push(await gw.next((m) => m.id === id && ('result' in m || 'error' in m)));
        return out;
      },
      async payThenCancel(args) {
        const id = `p${++n}`;
        gw.send(call(id, 'pay', args));
        await sleep(150);
        gw.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } });
      },
    };
  }
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  const url = `${gw.url}/mcp/s`;
  const sid = await openSession(url);
  return {
    record,
    pay: (args) => callTool(url, sid, 'pay', args),
    payAll: (list) => Promise.all(list.map((args) => callTool(url, sid, 'pay', args))),
    async payThenCancel(args) {
      const id = `p${++n}`;
      // The call's POST stays open until the answer (or forever once cancelled): not awaited.
      void post(url, call(id, 'pay', args), sid).catch(() => undefined);
      await sleep(150);
      await post(url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } }, sid);
    },
  };
}

const paid = (reply: Message, amount: number): void =>
  assert.equal(resultText(reply), `paid ${amount}`, `pay ${amount} was not paid: ${JSON.stringify(reply).slice(0, 400)}`);
const amounts = (r: Route) => receivedArgs(r.record, 'pay').map((a) => a.amount);

for (const via of VIAS) {
  describe(`${via}: spend caps`, () => {
    test('a missing or non-numeric cost is refused, fail-closed, and never forwarded', async (t) => {
      const r = await route(t, via);
      const bad: [Record<string, unknown>, string][] = [
        [{}, 'it is missing'],
        [{ amount: '10' }, 'got "10"'],
        [{ amount: null }, 'got null'],
        [{ amount: -5 }, 'got -5'],
        [{ amount: true }, 'got true'],
        [{ amount: [10] }, 'got [10]'],
        [{ amount: { value: 10 } }, 'got {"value":10}'],
        [{ total: 10 }, 'it is missing'],
      ];
      for (const [args, why] of bad) {
        const reply = await r.pay(args);
        const text = resultText(reply);
        assert.ok(isDenied(reply), `${JSON.stringify(args)} was not refused: ${JSON.stringify(reply).slice(0, 300)}`);
        assert.ok(text.includes(RULE) && text.includes('args.amount') && text.includes(why), `${JSON.stringify(args)}: ${text}`);
      }
      assert.deepEqual(amounts(r), [], 'a call whose cost could not be read reached the server');
      paid(await r.pay({ amount: 100 }), 100);
    });

    test('the cap of 100 admits 60 + 40 and refuses what would go over, naming the cap and the amount used', async (t) => {
      const r = await route(t, via);
      paid(await r.pay({ amount: 60 }), 60);
      const over = await r.pay({ amount: 50 });
      const retry = assertLimitDenial(over, RULE, LIMIT, HOUR);
      assert.ok(resultText(over).includes('spend cap reached') && resultText(over).includes('60 already used'), resultText(over));
      assert.ok(retry > HOUR - 60_000, `the 60 leave the 1 h window in about an hour, not ${retry} ms`);
      paid(await r.pay({ amount: 40 }), 40);
      assertLimitDenial(await r.pay({ amount: 0.5 }), RULE, LIMIT, HOUR);
      const never = await r.pay({ amount: 101 });
      assert.ok(isDenied(never) && resultText(never).includes(RULE), resultText(never));
      assert.deepEqual(amounts(r), [60, 40]);
    });

    test('calls the server failed (JSON-RPC error, isError) are rolled back: the whole budget stays usable', async (t) => {
      const r = await route(t, via);
      // Each failure is bigger than half the cap: had any of them stayed counted, the next would be refused.
      const rpc = await r.pay({ amount: 80, fail: 'rpc' });
      assert.equal(rpc.error?.message, 'pay failed on demand', JSON.stringify(rpc));
      await sleep(100);
      const tool = await r.pay({ amount: 90, fail: 'tool' });
      assert.equal(tool.result?.isError, true);
      assert.equal(resultText(tool), 'pay failed on demand');
      await sleep(100);
      paid(await r.pay({ amount: 70 }), 70);
      paid(await r.pay({ amount: 30 }), 30);
      assertLimitDenial(await r.pay({ amount: 1 }), RULE, LIMIT, HOUR);
      assert.deepEqual(amounts(r), [80, 90, 70, 30], 'both failures reached the server and were given back');
    });

    test('budget is reserved before forwarding: of two concurrent 60s only one is forwarded', async (t) => {
      const r = await route(t, via);
      const replies = await r.payAll([
        { amount: 60, delayMs: 400 },
        { amount: 60, delayMs: 400 },
      ]);
      assert.equal(replies.filter((x) => resultText(x) === 'paid 60').length, 1, JSON.stringify(replies).slice(0, 600));
      assert.equal(replies.filter(isDenied).length, 1);
      assert.deepEqual(amounts(r), [60]);
    });

    test('a call cancelled after it was forwarded keeps its budget: the server may still run it', async (t) => {
      const r = await route(t, via);
      // The fixture holds the answer 1 s and drops it when the request is cancelled; a careless server would run it
      // all the same, and the gateway cannot tell the two apart.
      await r.payThenCancel({ amount: 80, delayMs: 1000 });
      await sleep(100);
      assert.deepEqual(amounts(r), [80], 'the call was forwarded before it was cancelled');
      assertLimitDenial(await r.pay({ amount: 90 }), RULE, LIMIT, HOUR);
      // Also once the held call would have been answered: the cancelled 80 stay spent.
      await sleep(1000);
      paid(await r.pay({ amount: 20 }), 20);
      assertLimitDenial(await r.pay({ amount: 1 }), RULE, LIMIT, HOUR);
      assert.deepEqual(amounts(r), [80, 20]);
    });
  });
}
