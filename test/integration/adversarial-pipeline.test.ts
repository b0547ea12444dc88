// The call pipeline against the lenient spy (it ignores cancels, reads tool lists written with escaped keys, trusts
// Mcp-Param-* and Mcp-Name headers): budget is never given back for a call the server may still run, no tool list
// escapes the filter, headers cannot carry what the body did not, and a held call to a `url:` server gets progress.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, tempDir, type Running } from '../helpers/gateway.js';
import {
  call,
  httpRequest,
  openHttpSession,
  openWrap,
  ranCalls,
  RECORDER,
  replyTo,
  resultText,
  startRecorderHttp,
  waitFor,
  type Message,
} from '../helpers/raw-mcp.js';
import { eventually, isDenied, writePolicy } from '../helpers/limits-rig.js';

const ADMIN = 'adversarial-pipeline-admin-token';
const RULES = {
  default: 'allow',
  tools: {
    pay: { action: 'allow', quota: { max: 100, window: '1h', cost: 'args.amount' } },
    delete_file: { action: 'deny', reason: 'files are deleted by humans' },
    whoami: { action: 'require_approval', approval_timeout: '1m' },
  },
  hide: ['secret_tool', 'get_secret'],
};

const dir = tempDir('pl-adv-pipeline-');
const records = { stdio: path.join(dir, 'stdio.jsonl'), remote: path.join(dir, 'remote.jsonl'), wrap: path.join(dir, 'wrap.jsonl') };
let remote: Running & { url: string };
let gateway: Running & { url: string };
let file: string;

before(async () => {
  remote = await startRecorderHttp(records.remote, true);
  file = writePolicy(
    {
      gateway: { state: 'memory:', admin_token: ADMIN },
      servers: {
        s: { command: spy(records.stdio), ...RULES },
        r: { url: remote.url, ...RULES },
      },
    },
    dir,
  );
  gateway = await startGateway(file);
});
after(async () => {
  await gateway?.stop();
  await remote?.stop();
});

const spy = (record: string) => [process.execPath, RECORDER, 'stdio', '--record', record, '--lenient'];
const endpoint = (server: string) => `${gateway.url}/mcp/${server}`;
const paidAmounts = (record: string) => ranCalls(record).filter((c) => c.ran === 'pay').map((c) => c.args.amount);
const cancel = (id: string) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } });

const approvals = async (status: string): Promise<Message[]> =>
  JSON.parse((await httpRequest('GET', `${gateway.url}/admin/approvals?status=${status}`, undefined, { authorization: `Bearer ${ADMIN}` })).text) as Message[];

/**
 * Sends `body` and destroys the connection once `arrived()` says the server has it (the client walks away);
 * resolves then, or when the gateway answers first (a refusal: nothing arrives).
 */
function postThenHangUp(url: string, body: Message, arrived: () => boolean, headers: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers },
    });
    let done = false;
    const finish = (): void => {
      done = true;
      clearInterval(poll);
      resolve();
    };
    const poll = setInterval(() => {
      if (done || !arrived()) return;
      req.destroy();
      finish();
    }, 10);
    req.on('response', (res) => {
      res.resume();
      res.on('end', finish);
    });
    req.on('error', () => finish());
    req.end(payload);
  });
}

describe('budget is never given back for a call the server may still run', () => {
  for (const server of ['s', 'r'] as const) {
    const record = server === 's' ? records.stdio : records.remote;
    test(`start → ${server === 's' ? 'stdio' : 'remote HTTP'}: a cancel after forwarding keeps the spend (a cap of 100 admits 100, not 5 × 100)`, async () => {
      const url = endpoint(server);
      const sid = await openHttpSession(url);
      const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
      for (let i = 0; i < 5; i++) {
        const id = `cancel-${server}-${i}`;
        const before = paidAmounts(record).length;
        const answer = httpRequest('POST', url, call(id, 'pay', { amount: 100, delayMs: 300 }), h).catch(() => undefined);
        // The first one reaches the server; later ones must be refused at the gateway, so none arrives to wait for.
        if (i === 0) await waitFor('the first 100 to reach the server', () => paidAmounts(record).length > before);
        await httpRequest('POST', url, cancel(id), h);
        await answer;
      }
      await sleep(400);
      assert.deepEqual(paidAmounts(record), [100], 'the spy ran only the first 100: cancelled calls kept their budget');
      const next = replyTo(await httpRequest('POST', url, call('after-cancels', 'pay', { amount: 1 }), h), 'after-cancels');
      assert.ok(next && isDenied(next) && resultText(next).includes('spend cap reached'), JSON.stringify(next));
    });

    test(`start → ${server === 's' ? 'stdio' : 'remote HTTP'}: sessionless requests whose client hangs up after forwarding keep the spend`, async () => {
      // A fresh gateway: the other test spent this one's cap.
      const own = await startGateway(file);
      try {
        const url = `${own.url}/mcp/${server}`;
        const headers = { 'mcp-protocol-version': '2026-07-28' };
        const before = paidAmounts(record).length;
        for (let i = 0; i < 5; i++) {
          const ran = ranCalls(record).length;
          await postThenHangUp(url, call(`hang-${server}-${i}`, 'pay', { amount: 100, delayMs: 300 }), () => ranCalls(record).length > ran, headers);
        }
        await sleep(500);
        const paid = paidAmounts(record).slice(before);
        assert.deepEqual(paid, [100], `the spy ran ${JSON.stringify(paid)}: only one 100 fits the cap`);
      } finally {
        await own.stop();
      }
    });
  }

  test('wrap: a cancel after forwarding keeps the spend', async (t) => {
    const wrapFile = writePolicy({ gateway: { state: 'memory:' }, servers: { w: { command: spy(records.wrap), ...RULES } } }, tempDir('pl-adv-pipeline-wrap-'));
    const gw = await openWrap(t, wrapFile, 'w');
    gw.send(call('w1', 'pay', { amount: 100, delayMs: 300 }));
    await waitFor('the 100 to reach the server', () => paidAmounts(records.wrap).length === 1);
    gw.send(cancel('w1'));
    await gw.next((m) => m.id === 'w1');
    const next = await gw.request(call('w2', 'pay', { amount: 1 }));
    assert.ok(isDenied(next) && resultText(next).includes('spend cap reached'), JSON.stringify(next));
    assert.deepEqual(paidAmounts(records.wrap), [100]);
  });
});

describe('a server cannot hide a tool list from the filter', () => {
  const listAll = async (send: (id: string, cursor?: string) => Promise<Message | undefined>): Promise<string[]> => {
    const names: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const reply = await send(`list-${page}`, cursor);
      assert.ok(Array.isArray(reply?.result?.tools), `page ${page} has no tools array: ${JSON.stringify(reply)}`);
      names.push(...reply!.result.tools.map((t: { name: string }) => t.name));
      cursor = reply!.result.nextCursor;
      if (cursor === undefined) break;
    }
    return names;
  };
  const list = (id: string, cursor?: string): Message => ({ jsonrpc: '2.0', id, method: 'tools/list', params: cursor === undefined ? {} : { cursor } });
  const assertFiltered = (names: string[]): void => {
    assert.ok(names.includes('echo') && names.includes('delete_file'), `the list is there: ${names}`);
    assert.ok(!names.includes('secret_tool') && !names.includes('get_secret'), `hidden tools shown: ${names}`);
  };

  for (const server of ['s', 'r'] as const) {
    test(`start → ${server === 's' ? 'stdio' : 'remote HTTP'}: a list written as "tool\\u0073" is filtered`, async () => {
      const url = endpoint(server);
      const sid = await openHttpSession(url);
      const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
      assertFiltered(await listAll(async (id, cursor) => replyTo(await httpRequest('POST', url, list(id, cursor), h), id)));
    });
  }

  test('wrap: a list written as "tool\\u0073" is filtered', async (t) => {
    const wrapFile = writePolicy({ servers: { w: { command: spy(path.join(dir, 'wrap-list.jsonl')), ...RULES } } }, tempDir('pl-adv-pipeline-wrap-'));
    const gw = await openWrap(t, wrapFile, 'w');
    assertFiltered(await listAll((id, cursor) => gw.request(list(id, cursor))));
  });
});

describe('headers cannot carry what the body did not (remote HTTP)', () => {
  const post = async (body: Message, headers: Record<string, string>) => {
    const url = endpoint('r');
    const sid = await openHttpSession(url);
    return httpRequest('POST', url, body, { 'mcp-session-id': sid, 'mcp-protocol-version': '2026-07-28', ...headers });
  };
  const refusedAsMismatch = (reply: Awaited<ReturnType<typeof post>>, what: string): void => {
    assert.equal(reply.status, 400, `${what}: HTTP ${reply.status} ${reply.text}`);
    assert.equal(reply.messages[0]?.error?.code, -32020, `${what}: ${reply.text}`);
  };

  test('an Mcp-Param header that differs from the argument, names none, or rides on another method is refused and never reaches the server', async () => {
    const ranBefore = ranCalls(records.remote).length;
    refusedAsMismatch(await post(call('p1', 'pay', { amount: 1 }), { 'mcp-param-amount': '1000' }), 'a larger amount in the header');
    refusedAsMismatch(await post(call('p2', 'pay', { amount: 1 }), { 'Mcp-Param-AMOUNT': '=?base64?MTAwMA==?=' }), 'a base64 header in odd case');
    refusedAsMismatch(await post(call('p3', 'echo', { text: 'hi' }), { 'mcp-param-amount': '5' }), 'a header naming no argument');
    refusedAsMismatch(await post({ jsonrpc: '2.0', id: 'p4', method: 'tools/list', params: {} }, { 'mcp-param-text': 'x' }), 'a header on tools/list');
    refusedAsMismatch(await post(call('p5', 'echo', { text: 'hi', TEXT: 'ho' }), { 'mcp-param-text': 'hi' }), 'a header matching two arguments');
    assert.equal(ranCalls(records.remote).length, ranBefore, 'nothing ran');
    const ok = await post(call('p6', 'echo', { text: 'same' }), { 'mcp-param-text': 'same' });
    assert.equal(resultText(replyTo(ok, 'p6')!), 'echo: same', ok.text);
  });

  test('an Mcp-Name base64 marker in another case is decoded before comparing', async () => {
    const hidden = `=?BASE64?${Buffer.from('delete_file').toString('base64')}?=`;
    // The body names the marker itself: a gateway that takes it literally decides an unknown (allowed) tool, while a
    // careless server decodes the header and runs delete_file.
    const reply = await post({ jsonrpc: '2.0', id: 'n1', method: 'tools/call', params: { name: hidden, arguments: {} } }, { 'mcp-name': hidden, 'mcp-method': 'tools/call' });
    refusedAsMismatch(reply, 'a name hidden in an upper-case marker');
    assert.ok(!ranCalls(records.remote).some((c) => c.ran === 'delete_file'), 'delete_file never ran');
  });
});

describe('a held call to a url: server', () => {
  test('is withdrawn by a cancel sent on another POST of its session, and never runs', async () => {
    const url = endpoint('r');
    const sid = await openHttpSession(url);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
    const pendingBefore = await approvals('pending');
    const held = httpRequest('POST', url, call('held-cancel', 'whoami'), h);
    let record: Message | undefined;
    await eventually('an approval to be pending', async () => {
      record = (await approvals('pending')).find((r) => !pendingBefore.some((p) => p.id === r.id));
      return record !== undefined;
    });
    await httpRequest('POST', url, cancel('held-cancel'), h);
    const answer = await held;
    assert.equal(replyTo(answer, 'held-cancel'), undefined, `a withdrawn call gets no result: ${answer.text}`);
    const after = await httpRequest('GET', `${gateway.url}/admin/approvals/${record!.id}`, undefined, { authorization: `Bearer ${ADMIN}` });
    assert.equal(JSON.parse(after.text).status, 'withdrawn', after.text);
    assert.ok(!ranCalls(records.remote).some((c) => c.ran === 'whoami'), 'whoami never ran');
  });

  test('gets progress on its POST while it waits, then the server\'s result in the same stream', async () => {
    const url = endpoint('r');
    const sid = await openHttpSession(url);
    const events: Message[] = [];
    let ended = false;
    const payload = JSON.stringify({ jsonrpc: '2.0', id: 'held-1', method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: { progressToken: 'tok-1' } } });
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
    });
    req.on('response', (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf('\n\n'); i !== -1; i = buffer.indexOf('\n\n')) {
          const data = buffer.slice(0, i).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('');
          buffer = buffer.slice(i + 2);
          if (data) events.push(JSON.parse(data) as Message);
        }
      });
      res.on('end', () => (ended = true));
    });
    req.end(payload);
    await waitFor('a progress notification', () => events.some((e) => e.method === 'notifications/progress'), 15_000);
    const progress = events.find((e) => e.method === 'notifications/progress')!;
    assert.equal(progress.params.progressToken, 'tok-1');
    const approvalId = /approval (\S+),/.exec(String(progress.params.message))?.[1];
    assert.ok(approvalId, `the progress names the approval: ${progress.params.message}`);
    assert.ok(!ranCalls(records.remote).some((c) => c.ran === 'whoami'), 'nothing ran while held');
    const decided = await httpRequest('POST', `${gateway.url}/admin/approvals/${approvalId}/approve`, { by: 'test' }, { authorization: `Bearer ${ADMIN}` });
    assert.equal(decided.status, 200, decided.text);
    await waitFor('the end of the stream', () => ended, 10_000);
    const result = events.find((e) => e.id === 'held-1');
    assert.ok(result && /^pid \d+$/.test(resultText(result)), `the server's result: ${JSON.stringify(events)}`);
  });
});
