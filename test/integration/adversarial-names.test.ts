// Other spellings of tool names and of governed methods, through `policylayer start` (a stdio and a `url:` server)
// and `wrap`, against the lenient spy (the recording fixture with --lenient: it runs any tool name resolved loosely,
// accepts other spellings of methods, and logs a `ran` line for every call it executes). The spy's log proves that
// a limit binds every spelling of its tool and that no near-miss method reaches the server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { isDenied, writePolicy } from '../helpers/limits-rig.js';
import {
  httpRequest,
  openHttpSession,
  openWrap,
  ranCalls,
  received,
  RECORDER,
  replyTo,
  resultText,
  serverSaw,
  startRecorderHttp,
  type HttpReply,
  type Message,
} from '../helpers/raw-mcp.js';
import { methodSpellings, toolSpellings } from '../helpers/spellings.js';

const TOOLS = {
  ratey: { action: 'allow', rate_limit: { max: 2, window: '1h' } },
  pay: { action: 'allow', quota: { max: 100, window: '1h', cost: 'args.amount' } },
};

/** How a test talks to one gateway in front of the spy, whatever the route. */
interface Route {
  record: string;
  /** A request; resolves with its answer. */
  request(msg: Message): Promise<Message>;
  /** A notification (nothing is answered). */
  notify(msg: Message): Promise<void>;
  /** A ping answered through the gateway: every frame sent before it has reached the spy, or never will. */
  flush(): Promise<void>;
  /** HTTP routes: one POST on the session with extra headers. */
  post?(body: string | object, headers: Record<string, string>): Promise<HttpReply>;
}

type Via = 'start → stdio' | 'start → http' | 'wrap';
const VIAS: Via[] = ['start → stdio', 'start → http', 'wrap'];

async function route(t: TestContext, via: Via): Promise<Route> {
  const dir = tempDir('pl-adv-names-');
  const record = path.join(dir, 'record.jsonl');
  let upstream: Record<string, unknown> = { command: [process.execPath, RECORDER, 'stdio', '--record', record, '--lenient'] };
  if (via === 'start → http') {
    const spy = await startRecorderHttp(record, true);
    t.after(() => spy.stop());
    upstream = { url: spy.url };
  }
  const file = writePolicy({ gateway: { state: 'memory:' }, servers: { s: { ...upstream, default: 'allow', tools: TOOLS } } }, dir);
  let n = 0;
  if (via === 'wrap') {
    const gw = await openWrap(t, file, 's');
    const r: Route = {
      record,
      request: (msg) => gw.request(msg),
      notify: async (msg) => gw.send(msg),
      async flush() {
        assert.deepEqual((await gw.request({ jsonrpc: '2.0', id: `flush-${++n}`, method: 'ping' })).result, {});
        assert.deepEqual(await gw.unexpected(50), [], 'nothing answered a notification');
      },
    };
    return r;
  }
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  const url = `${gw.url}/mcp/s`;
  const sid = await openHttpSession(url);
  const post = (body: string | object, headers: Record<string, string> = {}) =>
    httpRequest('POST', url, body, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18', ...headers });
  return {
    record,
    post,
    async request(msg) {
      const r = await post(msg);
      const reply = replyTo(r, msg.id as string);
      assert.ok(reply, `no answer to ${JSON.stringify(msg).slice(0, 200)}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
      return reply;
    },
    async notify(msg) {
      const r = await post(msg);
      assert.deepEqual(r.messages, [], `a notification was answered: ${r.text}`);
    },
    async flush() {
      const id = `flush-${++n}`;
      assert.deepEqual(replyTo(await post({ jsonrpc: '2.0', id, method: 'ping' }), id)?.result, {});
    },
  };
}

let seq = 0;
const callOf = (name: string, args: Record<string, unknown> = {}): Message => ({ jsonrpc: '2.0', id: `c${++seq}`, method: 'tools/call', params: { name, arguments: args } });

for (const via of VIAS) {
  describe(`${via}: another spelling of a tool name does not escape its limits`, () => {
    test('a rate limit of 2 on ratey admits at most 2 runs in total across all its spellings', async (t) => {
      const r = await route(t, via);
      // The exact name last: the spellings must have used up its budget.
      const names = [...toolSpellings('ratey'), 'ratey'];
      let admitted = 0;
      for (const name of names) {
        const reply = await r.request(callOf(name));
        if (!isDenied(reply)) {
          admitted++;
          continue;
        }
        assert.ok(resultText(reply).includes('servers.s.tools.ratey.rate_limit'), `${JSON.stringify(name)} was refused by something else: ${resultText(reply)}`);
      }
      await r.flush();
      const runs = ranCalls(r.record);
      assert.ok(runs.length <= 2, `${runs.length} runs of ${names.length} spellings under a limit of 2: ${JSON.stringify(runs.map((c) => c.ran))}`);
      assert.equal(admitted, runs.length, 'every admitted call ran, and nothing else did');
    });

    test('a spend cap of 100 on pay is not skipped by PAY, pаy or any other spelling', async (t) => {
      const r = await route(t, via);
      const names = ['PAY', 'p\u0430y', ...toolSpellings('pay'), 'pay'];
      for (const name of names) {
        const reply = await r.request(callOf(name, { amount: 30 }));
        if (isDenied(reply)) assert.ok(resultText(reply).includes('servers.s.tools.pay.quota'), `${JSON.stringify(name)}: ${resultText(reply)}`);
      }
      await r.flush();
      const spent = ranCalls(r.record).reduce((sum, c) => sum + Number(c.args.amount), 0);
      assert.ok(spent <= 100, `the spy paid ${spent} under a cap of 100: ${JSON.stringify(ranCalls(r.record).map((c) => c.ran))}`);
      assert.equal(spent, 90, 'three calls of 30 fit in the cap');
    });
  });

  describe(`${via}: near-miss spellings of governed methods never reach the server`, () => {
    test('requests are refused with -32601, notifications dropped, and the spy sees neither', async (t) => {
      const r = await route(t, via);
      const marker = `near-miss-${via.replace(/\W/g, '')}`;
      const methods = [...methodSpellings('tools/call'), ...methodSpellings('tools/list')];
      for (const [i, method] of methods.entries()) {
        const params = { name: 'ratey', arguments: { marker } };
        const reply = await r.request({ jsonrpc: '2.0', id: `m${i}`, method, params });
        assert.equal(reply.error?.code, -32601, `${JSON.stringify(method)}: ${JSON.stringify(reply)}`);
        await r.notify({ jsonrpc: '2.0', method, params });
      }
      await r.flush();
      assert.deepEqual(ranCalls(r.record), [], 'the spy ran nothing');
      assert.equal(serverSaw(r.record, marker), false, 'no near-miss frame reached the spy');
    });

    if (via !== 'wrap') {
      const headerCall = (id: string, method: string, marker: string) => ({ jsonrpc: '2.0', id, method, params: { name: 'ratey', arguments: { marker } } });

      test('Mcp-Method cannot vouch for a near miss: agreeing, it is refused as one; naming tools/call, a mismatch', async (t) => {
        const r = await route(t, via);
        const marker = `hdr-${via.replace(/\W/g, '')}`;
        const agreeing = await r.post!(headerCall('h1', 'tools.call', marker), { 'mcp-method': 'tools.call' });
        assert.equal(replyTo(agreeing, 'h1')?.error?.code, -32601, agreeing.text);
        const lying = await r.post!(headerCall('h2', 'call_tool', marker), { 'mcp-method': 'tools/call', 'mcp-name': 'ratey' });
        assert.equal(lying.status, 400, lying.text);
        await r.flush();
        assert.equal(serverSaw(r.record, marker), false, 'neither reached the spy');
        assert.deepEqual(ranCalls(r.record), []);
      });

      test('a response (no method) carrying Mcp-Method / Mcp-Name is refused, never forwarded with them', async (t) => {
        const r = await route(t, via);
        const marker = `ride-${via.replace(/\W/g, '')}`;
        const riding = await r.post!({ jsonrpc: '2.0', id: 'srv-1', result: { marker } }, { 'mcp-method': 'tools/call', 'mcp-name': 'ratey' });
        assert.equal(riding.status, 400, riding.text);
        await r.flush();
        assert.equal(serverSaw(r.record, marker), false, 'the response did not reach the spy');
        assert.equal(received(r.record).some((f) => f.headers?.['mcp-method'] === 'tools/call' && !f.raw.includes('"tools/call"')), false);
      });
    }
  });
}
