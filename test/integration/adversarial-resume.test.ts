// Hidden tools against a real resumable server (server-everything over Streamable HTTP): filtered in the POST answer,
// and not leaked when the client resumes that stream with GET + Last-Event-ID and the server replays the list.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startEverythingHttp, startGateway, tempDir, writeConfig, type Running } from '../helpers/gateway.js';
import { call, httpRequest, replyTo, type Message } from '../helpers/raw-mcp.js';

const dir = tempDir('pl-adv-resume-');
let everything: Running & { url: string };
let gateway: Running & { url: string };
let endpoint: string;
let headers: Record<string, string>;
// 2025-11-25 makes the SDK server open each SSE answer with a priming event carrying an event id.
const PROTOCOL = '2025-11-25';

before(async () => {
  everything = await startEverythingHttp();
  const file = writeConfig(
    `version: 1
gateway: { listen: 127.0.0.1:0 }
servers:
  ev:
    url: ${everything.url}
    hide: [echo]
`,
    dir,
  );
  gateway = await startGateway(file);
  endpoint = `${gateway.url}/mcp/ev`;
  const init = await httpRequest('POST', endpoint, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'adversarial-resume', version: '1' } },
  });
  assert.equal(init.status, 200, init.text);
  headers = { 'mcp-session-id': String(init.headers['mcp-session-id']), 'mcp-protocol-version': PROTOCOL };
  const note = await httpRequest('POST', endpoint, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  assert.equal(note.status, 202, note.text);
});

after(async () => {
  await gateway?.stop();
  await everything?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const toolNames = (messages: Message[]) =>
  messages.filter((m) => Array.isArray(m.result?.tools)).flatMap((m) => (m.result.tools as { name: string }[]).map((t) => t.name));

/** Opens GET with Last-Event-ID and collects SSE data for `ms` (the stream stays open), then closes it. */
function resume(lastEventId: string, ms = 1500): Promise<{ status: number; messages: Message[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(endpoint, { method: 'GET', agent: false, headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastEventId } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      const done = () => {
        const messages = text
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:') && l.slice(5).trim().length > 0)
          .map((l) => JSON.parse(l.slice(5)) as Message);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, messages });
      };
      const timer = setTimeout(done, ms);
      res.on('end', () => {
        clearTimeout(timer);
        done();
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    req.end();
  });
}

describe('start → server-everything (Streamable HTTP, resumable)', () => {
  test('tools/list answered as SSE has the hidden tool removed; calling it is an unknown tool', async () => {
    const list = await httpRequest('POST', endpoint, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers);
    assert.equal(list.status, 200, list.text);
    const names = toolNames(list.messages);
    assert.ok(names.includes('get-sum'), `server-everything tools: ${names.join(', ')}`);
    assert.equal(names.includes('echo'), false);
    const r = await httpRequest('POST', endpoint, call(2, 'echo', { message: 'x' }), headers);
    assert.deepEqual(replyTo(r, 2)?.error, { code: -32602, message: 'Unknown tool: echo' });
  });

  test('resuming the tools/list stream with Last-Event-ID does not replay the hidden tool', async () => {
    const list = await httpRequest('POST', endpoint, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, headers);
    assert.equal(String(list.headers['content-type']), 'text/event-stream', 'the server answers with a resumable SSE stream');
    const ids = [...list.text.matchAll(/^id: ?(.+)$/gm)].map((m) => m[1]!.trim());
    assert.ok(ids.length >= 2, `expected a priming event before the answer: ${list.text.slice(0, 200)}`);
    const replay = await resume(ids[0]!);
    const replayed = toolNames(replay.messages);
    // Whether the gateway refuses the resume, or passes it and the list is replayed: never with the hidden tool.
    assert.equal(replayed.includes('echo'), false, `the replayed tools/list leaked the hidden tool (HTTP ${replay.status})`);
  });
});
