// Fuzzes the `policylayer start` listener over real sockets: 10 000 seeded hostile requests (broken escapes and
// framing, malformed headers, garbage and pathological bodies, every route prefix) against a real gateway with
// stdio, shared-child and remote recording servers behind it. No request may crash the process or meet an
// internal error (HTTP 500); afterwards /healthz answers and an ordinary session still works.
// Replay: POLICYLAYER_FUZZ_SEED=<seed> [POLICYLAYER_FUZZ_ONLY=<index>] [POLICYLAYER_FUZZ_COUNT=<n>].
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startGateway, tempDir, testAuditLog, writeConfig, type Running } from '../helpers/gateway.js';
import { fuzzRequest, rawExchange, type FuzzSession, type RawAnswer } from '../helpers/http-fuzz.js';
import { call, httpRequest, openHttpSession, recorderCommand, replyTo, resultText, startRecorderHttp } from '../helpers/raw-mcp.js';

const SEED = Number(process.env['POLICYLAYER_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env['POLICYLAYER_FUZZ_COUNT'] ?? 10_000);
const ONLY = process.env['POLICYLAYER_FUZZ_ONLY'];
const CONCURRENCY = 12;
const TOKEN = 'fuzz-admin-token-0123456789';

const dir = tempDir('pl-fuzz-');
let gateway: Running & { url: string };
let remote: Running & { url: string };

before(async () => {
  remote = await startRecorderHttp(path.join(dir, 'remote.jsonl'));
  const rules = `    default: allow
    tools:
      delete_file: { action: deny, reason: "files are deleted by humans" }
    hide: [secret_tool]`;
  const file = writeConfig(
    `version: 1
gateway:
  listen: 127.0.0.1:0
  state: "memory:"
  audit: ${testAuditLog(dir)}
  max_message_bytes: 65536
  # Sessions the run opens and forgets go idle and are swept while it runs (the sweep races the traffic too).
  sessions: { idle_timeout: 2s }
  admin_token: ${TOKEN}
  approvals: { webhook: { url: "http://127.0.0.1:9/hook", secret: "fuzz-webhook-secret-0123456789" } }
servers:
  rec:
    command: ${recorderCommand(path.join(dir, 'rec.jsonl'))}
${rules}
  shared:
    command: ${recorderCommand(path.join(dir, 'shared.jsonl'))}
    shared: true
${rules}
  remote:
    url: ${remote.url}
${rules}
`,
    dir,
  );
  gateway = await startGateway(file);
});

after(async () => {
  await gateway?.stop();
  await remote?.stop();
});

const show = (bytes: Buffer): string => JSON.stringify(bytes.toString('latin1').slice(0, 600));

test(`${COUNT} hostile requests (seed ${SEED}) never stop the gateway nor meet an internal error`, { timeout: 600_000 }, async () => {
  process.stderr.write(`fuzz: seed ${SEED}, ${ONLY !== undefined ? `request ${ONLY} only` : `${COUNT} requests`} (replay with POLICYLAYER_FUZZ_SEED=${SEED})\n`);
  const port = Number(new URL(gateway.url).port);
  const sessions: FuzzSession[] = [];
  const ctx = { port, adminToken: TOKEN, sessions };
  const failures: string[] = [];
  const statuses = new Map<string, number>();
  // The requests started last: one of them is what killed the gateway, if it dies (its exit is seen a little later).
  const recent = new Map<number, Buffer>();
  let died: string | undefined;
  gateway.child.once('exit', (code, signal) => {
    died = `the gateway exited (code ${code}, signal ${signal}); the last requests sent were ${[...recent.keys()].join(', ')}`;
  });
  const started = Date.now();
  const indices = ONLY !== undefined ? [Number(ONLY)] : Array.from({ length: COUNT }, (_, i) => i);
  let next = 0;

  const one = async (index: number): Promise<void> => {
    const bytes = fuzzRequest(SEED, index, ctx);
    recent.set(index, bytes);
    if (recent.size > 3 * CONCURRENCY) recent.delete(recent.keys().next().value!);
    const answer: RawAnswer = await rawExchange(port, bytes, 5000);
    const key = answer.status !== undefined ? String(answer.status) : answer.end;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    // Sessions the run opened are used by later requests (their endpoint: the path the answer came from).
    const id = /\r\nmcp-session-id: ([^\r\n]+)/i.exec(answer.headers)?.[1];
    const endpoint = /^\S+ (\/mcp\/[a-z]+)[ /?]/.exec(bytes.toString('latin1'))?.[1];
    if (id && endpoint && !sessions.some((s) => s.id === id)) sessions.push({ id, endpoint });
    if (sessions.length > 50) sessions.shift();
    const broken = answer.status !== undefined && answer.status >= 500 && answer.status !== 503 ? `HTTP ${answer.status}` : answer.error === 'ECONNREFUSED' ? 'connection refused' : undefined;
    if (broken) {
      failures.push(`request ${index} (seed ${SEED}): ${broken}: ${answer.body.slice(0, 300)}\n  sent ${show(bytes)}`);
    }
  };
  const worker = async (): Promise<void> => {
    while (died === undefined && next < indices.length && failures.length < 20) await one(indices[next++]!);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(`fuzz: ${next} requests in ${seconds.toFixed(1)} s; answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`);

  if (died !== undefined) {
    const suspects = [...recent].map(([i, b]) => `  request ${i}: ${show(b)}`).join('\n');
    assert.fail(`${died} (seed ${SEED}; replay one with POLICYLAYER_FUZZ_ONLY=<index>):\n${suspects}\nstderr:\n${gateway.stderr().slice(-3000)}`);
  }
  assert.deepEqual(failures, [], `requests met internal errors (replay with POLICYLAYER_FUZZ_SEED=${SEED} POLICYLAYER_FUZZ_ONLY=<index>)`);
  assert.equal(gateway.child.exitCode, null, 'the gateway is still running');
  // The last-resort handlers keep the process alive; a throw that reached them is still a bug the run must show.
  const stray = gateway.stderr().split('\n').filter((l) => /internal error on|unexpected (error|rejection)/.test(l));
  assert.deepEqual(stray, [], 'errors escaped the request handlers');

  const health = await httpRequest('GET', `${gateway.url}/healthz`);
  assert.equal(health.status, 200, health.text);
  assert.equal(health.messages[0]?.status, 'ok', health.text);
  // An ordinary session on a per-session child, as a client would open it after the storm.
  const endpoint = `${gateway.url}/mcp/rec`;
  const sid = await openHttpSession(endpoint);
  const reply = await httpRequest('POST', endpoint, call(7, 'echo', { text: 'still here' }), { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
  assert.equal(reply.status, 200, reply.text);
  assert.equal(resultText(replyTo(reply, 7)!), 'echo: still here');
});

test('the bad inputs the fuzz found are answered 400 (431 for oversized headers), by route', async () => {
  const port = Number(new URL(gateway.url).port);
  const raw = async (head: string, body = ''): Promise<RawAnswer> => rawExchange(port, Buffer.from(`${head}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n${body}`), 5000);
  for (const name of ['%', '%zz', '%c0%af', '%E2%82']) {
    const a = await raw(`POST /mcp/${name} HTTP/1.1`);
    assert.equal(a.status, 400, `${name}: ${a.body}`);
    assert.match(a.body, /not valid percent-encoding/);
  }
  // Nested deeper than any tool's arguments: refused before recursive code (re-serialising, hashing) runs out of stack.
  const deep = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }).replace('{}', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`);
  for (const server of ['shared', 'remote']) {
    const a = await raw(`POST /mcp/${server} HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${deep.length}`, deep);
    assert.equal(a.status, 400, `${server}: ${a.body}`);
    assert.match(a.body, /nested more than 128 levels/);
  }
  const garbled = await raw('GET /mcp/shared HTTP/1.1\r\nBad Header: x');
  assert.equal(garbled.status, 400, garbled.body);
  assert.match(garbled.body, /not valid HTTP\/1\.1/);
  const huge = await raw(`GET /healthz HTTP/1.1\r\nX-Huge: ${'h'.repeat(20_000)}`);
  assert.equal(huge.status, 431, huge.body);
  assert.equal(gateway.child.exitCode, null);
});
