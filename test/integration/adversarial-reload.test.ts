// Hot reload under live sessions: a valid edit applies to the next call on the same session (through `start` to a
// stdio and an HTTP server, and through `wrap`), an invalid edit is reported and changes nothing, a fix applies.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, tempDir, writeConfig, type Running } from '../helpers/gateway.js';
import {
  call,
  httpRequest,
  initializeRequest,
  initialized,
  openHttpSession,
  receivedCalls,
  recorderCommand,
  replyTo,
  resultText,
  spawnWrap,
  startRecorderHttp,
  waitFor,
  type LineClient,
  type Message,
} from '../helpers/raw-mcp.js';

const dir = tempDir('pl-adv-reload-');
const records = { rec: path.join(dir, 'stdio.jsonl'), remote: path.join(dir, 'http.jsonl'), wrap: path.join(dir, 'wrap.jsonl') };
let file: string;
let gateway: Running & { url: string };
let remote: Running & { url: string };
let wrap: LineClient;
const sessions: Record<'rec' | 'remote', string> = { rec: '', remote: '' };
const pids: Record<string, string> = {};

/** The policy file: `rules` go under every server (indented by the caller's YAML). */
function policy(rules: string): string {
  const block = (s: string) => s.split('\n').map((l) => `    ${l}`).join('\n');
  return `version: 1
gateway: { listen: 127.0.0.1:0 }
servers:
  rec:
    command: ${recorderCommand(records.rec)}
${block(rules)}
  remote:
    url: ${remote.url}
${block(rules)}
  wrapped:
    command: ${recorderCommand(records.wrap)}
${block(rules)}
`;
}

type Via = 'rec' | 'remote' | 'wrap';
const VIAS: Via[] = ['rec', 'remote', 'wrap'];
let seq = 0;

/** One request on the long-lived session of `via`; resolves with its reply. */
async function ask(via: Via, msg: Message): Promise<Message> {
  if (via === 'wrap') return wrap.request(msg);
  const r = await httpRequest('POST', `${gateway.url}/mcp/${via}`, msg, { 'mcp-session-id': sessions[via], 'mcp-protocol-version': '2025-06-18' });
  assert.equal(r.status, 200, `${via}: the session was dropped? HTTP ${r.status} ${r.text}`);
  const reply = replyTo(r, msg.id);
  assert.ok(reply, `${via}: no reply in ${r.text}`);
  return reply;
}
const echo = (via: Via) => ask(via, call(`echo-${++seq}`, 'echo', { text: via }));
const whoami = async (via: Via) => resultText(await ask(via, call(`who-${++seq}`, 'whoami')));
const calls = (via: Via) => receivedCalls(records[via]).filter((n) => n === 'echo').length;

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;
/** Writes the file and waits until both gateways have logged one more `re` line than before. */
async function edit(text: string, re: RegExp): Promise<void> {
  const before = [count(gateway.stderr(), re), count(wrap.stderr(), re)];
  writeFileSync(file, text);
  await waitFor(`both gateways to log ${re}`, () => count(gateway.stderr(), re) > before[0]! && count(wrap.stderr(), re) > before[1]!, 10_000);
}
const RELOADED = /policy reloaded/g;
const INVALID = /is invalid/g;

before(async () => {
  remote = await startRecorderHttp(records.remote);
  file = writeConfig(policy('default: allow\ntools: { delete_file: deny }'), dir);
  gateway = await startGateway(file);
  wrap = spawnWrap(['-c', file, '--server', 'wrapped']);
  await wrap.request(initializeRequest('init'));
  wrap.send(initialized);
  sessions.rec = await openHttpSession(`${gateway.url}/mcp/rec`);
  sessions.remote = await openHttpSession(`${gateway.url}/mcp/remote`);
});

after(async () => {
  await wrap?.stop();
  await gateway?.stop();
  await remote?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('hot reload keeps sessions and applies to the next call', () => {
  test('before any edit: echo is allowed on every session', async () => {
    for (const via of VIAS) {
      assert.equal(resultText(await echo(via)), `echo: ${via}`);
      pids[via] = await whoami(via);
      assert.match(pids[via]!, /^pid \d+$/);
      assert.equal(calls(via), 1);
    }
  });

  test('a valid edit denying echo applies to the next call on the same session', async () => {
    await edit(policy('default: allow\ntools:\n  delete_file: deny\n  echo: { action: deny, reason: "echo was switched off" }'), RELOADED);
    for (const via of VIAS) {
      const reply = await echo(via);
      assert.equal(reply.result?.isError, true, `${via}: ${JSON.stringify(reply)}`);
      assert.match(resultText(reply), /^\[POLICY DENIED\].*echo was switched off/);
      assert.equal(calls(via), 1, `${via}: the denied echo reached the server`);
    }
    // Same upstream process behind the stdio sessions: nothing was restarted.
    for (const via of ['rec', 'wrap'] as const) assert.equal(await whoami(via), pids[via]);
  });

  test('an invalid edit is logged and the last good policy stays in force, sessions alive', async () => {
    await edit('version: 1\nservers: [this is not\n', INVALID);
    await edit(policy('default: sometimes'), INVALID);
    assert.match(gateway.stderr(), /previous policy stays in force/);
    for (const via of VIAS) {
      const reply = await echo(via);
      assert.equal(reply.result?.isError, true, `${via}: the invalid file changed the decision: ${JSON.stringify(reply)}`);
      assert.match(resultText(reply), /echo was switched off/);
      assert.equal((await ask(via, call(`del-${++seq}`, 'delete_file'))).result?.isError, true);
      assert.equal(calls(via), 1);
    }
    for (const via of ['rec', 'wrap'] as const) assert.equal(await whoami(via), pids[via]);
    assert.equal(wrap.child.exitCode, null, 'wrap is still running');
    assert.equal(gateway.child.exitCode, null, 'start is still running');
  });

  test('fixing the file applies: echo allowed again, a newly hidden tool disappears', async () => {
    await edit(policy('default: allow\ntools: { delete_file: deny }\nhide: [read_file]'), RELOADED);
    for (const via of VIAS) {
      assert.equal(resultText(await echo(via)), `echo: ${via}`);
      assert.equal(calls(via), 2);
      const hidden = await ask(via, call(`rf-${++seq}`, 'read_file'));
      assert.deepEqual(hidden.error, { code: -32602, message: 'Unknown tool: read_file' });
      const list = await ask(via, { jsonrpc: '2.0', id: `list-${++seq}`, method: 'tools/list' });
      assert.deepEqual((list.result.tools as { name: string }[]).map((t) => t.name), ['echo', 'whoami'], `${via}: first page after the reload`);
    }
    assert.equal(receivedCalls(records.rec).includes('read_file'), false);
  });

  test('the HTTP sessions are the same ones opened before the first edit', async () => {
    for (const via of ['rec', 'remote'] as const) {
      const r = await httpRequest('POST', `${gateway.url}/mcp/${via}`, { jsonrpc: '2.0', id: 'last', method: 'ping' }, { 'mcp-session-id': sessions[via] });
      assert.equal(r.status, 200, r.text);
    }
  });
});
