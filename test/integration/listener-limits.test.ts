// The listener's caps through a real `policylayer start` (gateway.sessions): sessions up to the cap, then 503 with
// Retry-After and nothing started or forwarded (the recording servers' logs prove it); every way a session ends
// frees its slot (DELETE, legacy SSE stream closed, sessionless request done, server exit, idle timeout); the cap
// per client address; the spawn rate for stdio children.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { startGateway, tempDir, type Running } from '../helpers/gateway.js';
import { eventually, writePolicy } from '../helpers/limits-rig.js';
import { call, initializeRequest, initialized, received, RECORDER, resultText, startRecorderHttp, type HttpReply, type Message } from '../helpers/raw-mcp.js';

interface Rig {
  url: string;
  /** The recording log of a server. */
  record: (server: string) => string;
}

/** A gateway with a per-session stdio recorder (`rec`), a shared one (`shared`) and, if given, a remote one. */
async function rig(t: TestContext, sessions: Record<string, unknown>, remoteUrl?: string): Promise<Rig> {
  const dir = tempDir('pl-caps-');
  const record = (server: string) => path.join(dir, `${server}.jsonl`);
  const stdio = (server: string) => [process.execPath, RECORDER, 'stdio', '--record', record(server)];
  const file = writePolicy(
    {
      gateway: { state: 'memory:', sessions },
      servers: {
        rec: { command: stdio('rec') },
        shared: { command: stdio('shared'), shared: true },
        ...(remoteUrl && { remote: { url: remoteUrl, transport: 'streamable-http' } }),
      },
    },
    dir,
  );
  const gw: Running & { url: string } = await startGateway(file);
  t.after(() => gw.stop());
  return { url: gw.url, record };
}

/** One request, optionally from another loopback address (Host stays the listen address, as the guard wants). */
function send(url: string, method: string, body?: Message, headers: Record<string, string> = {}, localAddress?: string): Promise<HttpReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const h = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', ...(payload && { 'content-type': 'application/json' }), ...headers };
    const req = http.request(url, { method, headers: h, agent: false, ...(localAddress && { localAddress }) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let messages: Message[] = [];
        try {
          messages = String(res.headers['content-type']).includes('json') ? [JSON.parse(text) as Message] : [];
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, messages });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** initialize (+ initialized); the session id, or the refusal. */
async function open(endpoint: string, localAddress?: string): Promise<{ sid?: string; reply: HttpReply }> {
  const reply = await send(endpoint, 'POST', initializeRequest(0), {}, localAddress);
  const sid = reply.headers['mcp-session-id'];
  if (reply.status !== 200 || typeof sid !== 'string') return { reply };
  const note = await send(endpoint, 'POST', initialized, { 'mcp-session-id': sid }, localAddress);
  assert.equal(note.status, 202, note.text);
  return { sid, reply };
}

async function mustOpen(endpoint: string, localAddress?: string): Promise<string> {
  const { sid, reply } = await open(endpoint, localAddress);
  assert.ok(sid, `initialize was refused: HTTP ${reply.status} ${reply.text}`);
  return sid;
}

/** The 503 of a cap: Retry-After, a JSON-RPC error for the request's id naming the config key. */
function assertRefused(reply: HttpReply, key: string, id: number | null = 0): void {
  assert.equal(reply.status, 503, reply.text);
  assert.match(String(reply.headers['retry-after']), /^[1-9]\d*$/);
  const body = reply.messages[0];
  assert.equal(body?.id, id, reply.text);
  assert.equal(body?.error?.code, -32003, reply.text);
  assert.equal(body?.error?.data?.cap, key, reply.text);
  assert.match(String(body?.error?.message), new RegExp(`raise ${key.replaceAll('.', '\\.')}`));
}

/** Initialize frames a recording server received, and the distinct processes (children) that received them. */
function initializes(recordFile: string): { frames: number; children: number } {
  const frames = received(recordFile).filter((f) => f.raw.includes('"method":"initialize"'));
  return { frames: frames.length, children: new Set(frames.map((f) => f.pid)).size };
}

/** Retries initialize until a slot is free again (a slot is freed just after the answer that ends its session). */
async function openEventually(endpoint: string, what: string): Promise<string> {
  let sid: string | undefined;
  await eventually(what, async () => (sid = (await open(endpoint)).sid) !== undefined, 10_000);
  return sid!;
}

let remote: Running & { url: string };
const remoteRecord = path.join(tempDir('pl-caps-remote-'), 'remote.jsonl');
after(() => remote?.stop());

describe('session caps', () => {
  test('up to gateway.sessions.max sessions, then 503 with nothing started or forwarded; every end frees a slot', async (t) => {
    remote = await startRecorderHttp(remoteRecord);
    const gw = await rig(t, { max: 3 }, remote.url);
    const rec = `${gw.url}/mcp/rec`;
    const remoteEndpoint = `${gw.url}/mcp/remote`;
    const a = await mustOpen(rec);
    await mustOpen(rec);
    const r = await mustOpen(remoteEndpoint);

    assertRefused((await open(rec)).reply, 'gateway.sessions.max');
    assertRefused((await open(remoteEndpoint)).reply, 'gateway.sessions.max');
    assertRefused((await open(`${gw.url}/mcp/shared`)).reply, 'gateway.sessions.max');
    // A sessionless request needs a slot for as long as it runs, and a legacy SSE stream is a session too.
    assertRefused(await send(rec, 'POST', { jsonrpc: '2.0', id: 5, method: 'ping' }), 'gateway.sessions.max', 5);
    assertRefused(await send(`${rec}/sse`, 'GET'), 'gateway.sessions.max', null);
    assert.deepEqual(initializes(gw.record('rec')), { frames: 2, children: 2 }, 'no child started for a refused session');
    assert.equal(initializes(remoteRecord).frames, 1, 'no refused initialize reached the remote server');

    // DELETE of a remote (url:) session frees its slot.
    assert.equal((await send(remoteEndpoint, 'DELETE', undefined, { 'mcp-session-id': r })).status, 200);
    const c = await openEventually(rec, 'a slot freed by DELETE of a remote session');
    assert.deepEqual(initializes(gw.record('rec')), { frames: 3, children: 3 });
    // DELETE of a stdio session.
    assert.equal((await send(rec, 'DELETE', undefined, { 'mcp-session-id': a })).status, 200);
    // A sessionless request, done, leaves its slot free.
    const ping = await send(rec, 'POST', { jsonrpc: '2.0', id: 6, method: 'ping' });
    assert.equal(ping.status, 200, ping.text);
    const d = await openEventually(rec, 'a slot freed by DELETE and by a finished sessionless request');

    // The server process ends: its session ends and frees the slot.
    const who = await send(rec, 'POST', call(9, 'whoami'), { 'mcp-session-id': c });
    const pid = Number(/pid (\d+)/.exec(resultText(who.messages[0]!))?.[1]);
    assert.ok(pid > 0, who.text);
    process.kill(pid, 'SIGTERM');
    await eventually('the session of the ended child to go', async () => (await send(rec, 'POST', call(10, 'echo'), { 'mcp-session-id': c })).status === 404, 10_000);
    await openEventually(rec, 'a slot freed by the server exiting');
    assert.ok(d);
  });

  test('a legacy SSE session holds a slot until its stream closes', async (t) => {
    const gw = await rig(t, { max: 1 });
    const stream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${gw.url}/mcp/shared/sse`, { agent: false }, resolve).on('error', reject);
    });
    assert.equal(stream.statusCode, 200);
    assertRefused((await open(`${gw.url}/mcp/shared`)).reply, 'gateway.sessions.max');
    stream.destroy();
    await openEventually(`${gw.url}/mcp/shared`, 'the slot of the closed SSE stream');
  });

  test('gateway.sessions.max_per_client counts each client address', async (t) => {
    const gw = await rig(t, { max: 10, max_per_client: 2 });
    const rec = `${gw.url}/mcp/rec`;
    await mustOpen(rec, '127.0.0.1');
    await mustOpen(rec, '127.0.0.1');
    const refused = (await open(rec, '127.0.0.1')).reply;
    assertRefused(refused, 'gateway.sessions.max_per_client');
    assert.match(refused.messages[0]?.error?.message, /client 127\.0\.0\.1 has 2 open sessions/);
    await mustOpen(rec, '127.0.0.2');
    assert.equal(initializes(gw.record('rec')).children, 3);
  });

  test('gateway.sessions.spawn_rate: a burst of children, then 503; sessions that start no child still open', async (t) => {
    // One token per 100 s: the bucket cannot refill during the test, however slow the machine.
    const gw = await rig(t, { spawn_rate: 0.01, spawn_burst: 2 });
    const rec = `${gw.url}/mcp/rec`;
    await mustOpen(rec);
    await mustOpen(rec);
    const refused = (await open(rec)).reply;
    assertRefused(refused, 'gateway.sessions.spawn_rate');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assertRefused(await send(`${rec}/sse`, 'GET'), 'gateway.sessions.spawn_rate', null);
    assert.deepEqual(initializes(gw.record('rec')), { frames: 2, children: 2 }, 'no third child');
    await mustOpen(`${gw.url}/mcp/shared`); // one shared child: not a spawn per session
  });
});

describe('idle timeout', () => {
  test('gateway.sessions.idle_timeout closes a session nobody uses, stops its child and frees its slot', async (t) => {
    const gw = await rig(t, { max: 1, idle_timeout: '1s' });
    const rec = `${gw.url}/mcp/rec`;
    const sid = await mustOpen(rec);
    const who = await send(rec, 'POST', call(1, 'whoami'), { 'mcp-session-id': sid });
    const pid = Number(/pid (\d+)/.exec(resultText(who.messages[0]!))?.[1]);
    // Watched through /healthz: a request on the session would be activity and keep it open.
    await eventually('the idle session to be closed', async () => (await send(`${gw.url}/healthz`, 'GET')).messages[0]?.sessions === 0, 20_000);
    await eventually('its child to exit', () => !alive(pid), 10_000);
    assert.equal((await send(rec, 'POST', call(2, 'echo'), { 'mcp-session-id': sid })).status, 404);
    await openEventually(rec, 'the slot of the idle session');
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
