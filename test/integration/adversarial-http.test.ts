// Adversarial requests through `policylayer start` (raw HTTP, no SDK) to a stdio and a Streamable HTTP recording
// fixture: refusals are answered, nothing refused reaches a server, and the listener keeps serving.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, tempDir, writeConfig, type Running } from '../helpers/gateway.js';
import {
  call,
  httpRequest,
  initializeRequest,
  openHttpSession,
  receivedCalls,
  received,
  recorderCommand,
  replyTo,
  resultText,
  startRecorderHttp,
  waitFor,
  type HttpReply,
  type Message,
} from '../helpers/raw-mcp.js';

const MAX_BYTES = 4096;
const RULES = `    default: allow
    tools:
      delete_file: { action: deny, reason: "files are deleted by humans" }
    hide: [secret_tool, get_secret]`;

const dir = tempDir('pl-adv-http-');
const records = { rec: path.join(dir, 'stdio.jsonl'), remote: path.join(dir, 'http.jsonl') };
let gateway: Running & { url: string };
let remote: Running & { url: string };

before(async () => {
  remote = await startRecorderHttp(records.remote);
  const file = writeConfig(
    `version: 1
gateway: { listen: 127.0.0.1:0, max_message_bytes: ${MAX_BYTES} }
servers:
  rec:
    command: ${recorderCommand(records.rec)}
${RULES}
  remote:
    url: ${remote.url}
${RULES}
`,
    dir,
  );
  gateway = await startGateway(file);
});

after(async () => {
  await gateway?.stop();
  await remote?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const SERVERS = ['rec', 'remote'] as const;
type Server = (typeof SERVERS)[number];
const endpoint = (server: Server) => `${gateway.url}/mcp/${server}`;
const sessionHeaders = (sid: string) => ({ 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });

/** POSTs one frame on a session. */
const post = (server: Server, sid: string | undefined, body: string | object, headers: Record<string, string> = {}): Promise<HttpReply> =>
  httpRequest('POST', endpoint(server), body, { ...(sid && sessionHeaders(sid)), ...headers });

let seq = 0;
/** A ping answered through the session: every frame posted before it has been handled by the server. */
async function flush(server: Server, sid: string): Promise<void> {
  const id = `flush-${++seq}`;
  const r = await post(server, sid, { jsonrpc: '2.0', id, method: 'ping' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(replyTo(r, id)?.result, {}, `the session still serves: ${r.text}`);
}

/** Calls recorded for this server's fixture since `mark` (the record is shared by every test of the file). */
const callsSince = (server: Server, mark: number) => receivedCalls(records[server]).slice(mark);
const callCount = (server: Server) => receivedCalls(records[server]).length;

for (const server of SERVERS) {
  describe(`start → ${server === 'rec' ? 'stdio' : 'Streamable HTTP'} server`, () => {
    test('a denied call is answered [POLICY DENIED] and not received; an allowed one is', async () => {
      const sid = await openHttpSession(endpoint(server));
      const mark = callCount(server);
      const denied = await post(server, sid, call('d1', 'delete_file', { path: '/' }));
      assert.equal(denied.status, 200);
      const reply = replyTo(denied, 'd1');
      assert.equal(reply?.result?.isError, true, denied.text);
      assert.match(resultText(reply!), /^\[POLICY DENIED\] .*delete_file.*servers\.[a-z]+\.tools\.delete_file.*files are deleted by humans/);
      const echo = await post(server, sid, call('e1', 'echo', { text: 'hi' }));
      assert.equal(resultText(replyTo(echo, 'e1')!), 'echo: hi');
      assert.deepEqual(callsSince(server, mark), ['echo']);
    });

    test('hidden tools are absent from every tools/list page; a call to one is an unknown tool, not received', async () => {
      const sid = await openHttpSession(endpoint(server));
      const mark = callCount(server);
      const names: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 5; page++) {
        const id = `l${page}`;
        const r = await post(server, sid, { jsonrpc: '2.0', id, method: 'tools/list', ...(cursor && { params: { cursor } }) });
        const result = replyTo(r, id)?.result;
        assert.ok(result, r.text);
        names.push(...(result.tools as { name: string }[]).map((t) => t.name));
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      assert.deepEqual(names, ['echo', 'whoami', 'read_file', 'delete_file', 'delete_temp_cache']);
      for (const name of ['secret_tool', 'get_secret', 'Secret_Tool', 'get_secret\u200B']) {
        const r = await post(server, sid, call(`h-${name}`, name));
        assert.deepEqual(replyTo(r, `h-${name}`)?.error, { code: -32602, message: `Unknown tool: ${name}` });
      }
      await flush(server, sid);
      assert.deepEqual(callsSince(server, mark), []);
    });

    test('a batch of [allowed, denied] is refused element by element and nothing reaches the server', async () => {
      const sid = await openHttpSession(endpoint(server));
      const before = received(records[server]).length;
      const r = await post(server, sid, [call('b1', 'echo', { text: 'batched' }), call('b2', 'delete_file')]);
      const replies = r.messages[0] as unknown as Message[];
      assert.ok(Array.isArray(replies), r.text);
      assert.deepEqual(replies.map((m) => [m.id, m.error?.code]), [['b1', -32600], ['b2', -32600]]);
      await flush(server, sid);
      const frames = received(records[server]).slice(before);
      assert.equal(frames.some((f) => f.raw.includes('tools/call')), false, JSON.stringify(frames));
    });

    test('Mcp-Method / Mcp-Name disagreeing with the body → 400 -32020, not received', async () => {
      const sid = await openHttpSession(endpoint(server));
      const mark = callCount(server);
      const b64 = (s: string) => `=?base64?${Buffer.from(s).toString('base64')}?=`;
      const cases: [object, Record<string, string>][] = [
        [call('m1', 'echo'), { 'mcp-method': 'tools/list' }],
        [call('m2', 'delete_file'), { 'mcp-method': 'tools/call', 'mcp-name': 'echo' }],
        [call('m3', 'echo', { text: 'x' }), { 'mcp-method': 'tools/call', 'mcp-name': 'read_file' }],
        [call('m4', 'echo', { text: 'x' }), { 'mcp-method': 'tools/call', 'mcp-name': b64('read_file') }],
        [call('m5', 'echo', { text: 'x' }), { 'mcp-method': 'Tools/Call', 'mcp-name': 'echo' }],
      ];
      for (const [body, headers] of cases) {
        const r = await post(server, sid, body, headers);
        assert.equal(r.status, 400, `${JSON.stringify(headers)}: ${r.text}`);
        assert.equal((r.messages[0] as Message | undefined)?.error?.code, -32020, r.text);
      }
      const ok = await post(server, sid, call('m6', 'echo', { text: 'agreed' }), { 'mcp-method': 'tools/call', 'mcp-name': b64('echo') });
      assert.equal(resultText(replyTo(ok, 'm6')!), 'echo: agreed', 'matching headers, base64 form included, are accepted');
      await flush(server, sid);
      assert.deepEqual(callsSince(server, mark), ['echo']);
    });

    test('an oversized body → 413 with a JSON-RPC error, not received, and the session keeps serving', async () => {
      const sid = await openHttpSession(endpoint(server));
      const mark = callCount(server);
      const r = await post(server, sid, call('o1', 'echo', { text: 'x'.repeat(MAX_BYTES) }));
      assert.equal(r.status, 413, r.text);
      assert.equal((r.messages[0] as Message | undefined)?.error?.code, -32600, r.text);
      const echo = await post(server, sid, call('o2', 'echo', { text: 'after' }));
      assert.equal(resultText(replyTo(echo, 'o2')!), 'echo: after');
      assert.deepEqual(callsSince(server, mark), ['echo']);
    });

    test('garbage bodies get JSON-RPC errors and the session keeps serving', async () => {
      const sid = await openHttpSession(endpoint(server));
      const mark = callCount(server);
      const cases: [string, number][] = [
        ['hello', -32700],
        ['{"jsonrpc":"2.0","id":1,"method":"tools/ca', -32700],
        ['42', -32600],
        ['{}', -32600],
        ['{"id":"g1","method":"tools/call","params":{"name":"echo"}}', -32600],
        ['{"jsonrpc":"2.0","id":"g2","method":"Tools/Call","params":{"name":"echo"}}', -32601],
      ];
      for (const [body, code] of cases) {
        const r = await post(server, sid, body);
        assert.equal((r.messages[0] as Message | undefined)?.error?.code, code, `${body}: HTTP ${r.status} ${r.text}`);
      }
      await flush(server, sid);
      assert.deepEqual(callsSince(server, mark), []);
    });

    test('bodies that are not JSON-RPC requests are refused with HTTP 400 (Streamable HTTP spec)', async () => {
      const sid = await openHttpSession(endpoint(server));
      for (const body of ['hello', '42', '{}']) {
        const r = await post(server, sid, body);
        assert.equal(r.status, 400, `${body}: HTTP ${r.status} ${r.text}`);
      }
    });

    test('duplicate keys: the server receives exactly the call that was decided', async () => {
      const sid = await openHttpSession(endpoint(server));
      const before = received(records[server]).length;
      const smuggle = '{"jsonrpc":"2.0","id":"k1","method":"tools/call","params":{"name":"delete_file"},"p\\u0061rams":{"name":"echo","arguments":{"text":"k"}}}';
      assert.equal(resultText(replyTo(await post(server, sid, smuggle), 'k1')!), 'echo: k');
      const reverse = '{"jsonrpc":"2.0","id":"k2","method":"tools/call","params":{"name":"echo","arguments":{"text":"k"}},"params":{"name":"delete_file"}}';
      assert.equal(replyTo(await post(server, sid, reverse), 'k2')?.result?.isError, true);
      await flush(server, sid);
      const frames = received(records[server]).slice(before);
      assert.equal(frames.some((f) => f.raw.includes('delete_file')), false, JSON.stringify(frames));
    });

    test('an unknown Mcp-Session-Id → 404 on POST, GET and DELETE', async () => {
      const sid = 'no-such-session-' + server;
      for (const method of ['POST', 'GET', 'DELETE']) {
        const r = await httpRequest(method, endpoint(server), method === 'POST' ? call('u1', 'echo') : undefined, sessionHeaders(sid));
        assert.equal(r.status, 404, `${method}: ${r.text}`);
      }
    });
  });
}

describe('start: calls before initialize (no session) are still decided', () => {
  for (const server of SERVERS) {
    test(`${server}: denied and hidden calls never arrive, allowed ones do`, async () => {
      const mark = callCount(server);
      const denied = await post(server, undefined, call('p1', 'delete_file'));
      assert.equal(replyTo(denied, 'p1')?.result?.isError, true, `HTTP ${denied.status} ${denied.text}`);
      const hidden = await post(server, undefined, call('p2', 'secret_tool'));
      assert.equal(replyTo(hidden, 'p2')?.error?.code, -32602, `HTTP ${hidden.status} ${hidden.text}`);
      const batch = await post(server, undefined, [call('p3', 'echo'), call('p4', 'delete_file')]);
      assert.ok(Array.isArray(batch.messages[0]), `HTTP ${batch.status} ${batch.text}`);
      const allowed = await post(server, undefined, call('p5', 'echo', { text: 'early' }));
      assert.equal(resultText(replyTo(allowed, 'p5')!), 'echo: early', `HTTP ${allowed.status} ${allowed.text}`);
      assert.deepEqual(callsSince(server, mark), ['echo']);
    });
  }
});

describe('start: DNS-rebinding guard', () => {
  const port = () => new URL(gateway.url).port;

  test('a foreign Host header → 403, before anything is started or forwarded', async () => {
    const before = received(records.remote).length;
    for (const host of [`evil.example.com:${port()}`, 'evil.example.com', `localhost.evil.example.com:${port()}`]) {
      const r = await httpRequest('POST', endpoint('remote'), initializeRequest(1), { host });
      assert.equal(r.status, 403, `${host}: ${r.text}`);
      assert.equal((r.messages[0] as Message | undefined)?.error?.code, -32600);
      assert.equal((await httpRequest('GET', `${gateway.url}/healthz`, undefined, { host })).status, 403);
    }
    assert.equal(received(records.remote).length, before);
  });

  test('a foreign Origin → 403', async () => {
    for (const origin of ['http://evil.example.com', `http://evil.example.com:${port()}`, 'http://localhost.evil.example.com', 'null', 'https://127.0.0.1.nip.io']) {
      const r = await httpRequest('POST', endpoint('rec'), initializeRequest(1), { origin });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
    }
  });

  test('localhost hosts and origins are accepted', async () => {
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:5173', `http://localhost:${port()}`, 'http://[::1]:8080']) {
      const r = await httpRequest('POST', endpoint('remote'), initializeRequest(1), { origin });
      assert.equal(r.status, 200, `${origin}: ${r.text}`);
    }
    const viaName = await httpRequest('POST', endpoint('remote'), initializeRequest(1), { host: `localhost:${port()}` });
    assert.equal(viaName.status, 200, viaName.text);
    assert.equal((await httpRequest('GET', `${gateway.url}/healthz`)).status, 200);
  });
});

describe('start: legacy SSE endpoint', () => {
  test('denied, hidden and batched calls posted to /messages are answered on the stream and never received', async (t) => {
    const events: Message[] = [];
    let endpointPath = '';
    let buffer = '';
    const req = http.request(`${gateway.url}/mcp/rec/sse`, { method: 'GET', agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      res.on('data', (c: Buffer) => {
        buffer += c.toString();
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          if (block.includes('event: endpoint')) endpointPath = data;
          else if (data) events.push(JSON.parse(data) as Message);
          end = buffer.indexOf('\n\n');
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
    t.after(() => req.destroy());
    await waitFor('the endpoint event', () => endpointPath !== '');
    const send = async (body: object) => assert.equal((await httpRequest('POST', new URL(endpointPath, gateway.url).href, body)).status, 202);
    const mark = callCount('rec');
    await send(initializeRequest('s0'));
    await send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await send(call('s1', 'delete_file'));
    await send(call('s2', 'secret_tool'));
    await send([call('s3', 'echo'), call('s4', 'delete_file')]);
    await send(call('s5', 'echo', { text: 'legacy' }));
    await waitFor('the echo reply on the stream', () => events.some((m) => m.id === 's5'));
    const byId = (id: string) => events.find((m) => m.id === id);
    assert.equal(byId('s1')?.result?.isError, true);
    assert.match(resultText(byId('s1')!), /^\[POLICY DENIED\]/);
    assert.equal(byId('s2')?.error?.code, -32602);
    const batch = events.find((m) => Array.isArray(m)) as unknown as Message[] | undefined;
    assert.deepEqual(batch?.map((m) => m.error?.code), [-32600, -32600]);
    assert.equal(resultText(byId('s5')!), 'echo: legacy');
    assert.deepEqual(callsSince('rec', mark), ['echo']);
  });
});
