// `policylayer wrap` as an MCP client config runs it: stdio framing, child lifecycle, signals, remote upstreams.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, EVERYTHING, freePort, spawnUntil, stopChild, tempDir, type Running } from '../helpers/gateway.js';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

const spawned: ChildProcess[] = [];
after(async () => {
  // Each test ends its own processes; this keeps a failing one from leaving a child behind.
  await Promise.all(spawned.map((c) => stopChild(c)));
});

/** A wrap process spoken to with raw JSON lines, so every frame is under the test's control. */
function rawWrap(args: string[]): { child: ChildProcess; send(m: unknown): void; next(): Promise<Record<string, any>>; stderr(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'wrap', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  spawned.push(child);
  let buffer = '';
  let err = '';
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    buffer += c.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    send: (m) => child.stdin!.write((typeof m === 'string' ? m : JSON.stringify(m)) + '\n'),
    next: () =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line from wrap; stderr:\n${err}`)), 10000);
        const take = (l: string) => {
          clearTimeout(t);
          resolve(JSON.parse(l));
        };
        const l = lines.shift();
        if (l !== undefined) take(l);
        else waiters.push(take);
      }),
    stderr: () => err,
    exited,
  };
}

const SLEEPY_SERVER = `
process.stdin.on('data', (c) => {
  for (const line of c.toString().split('\\n').filter(Boolean)) {
    const m = JSON.parse(line);
    if (m.method === 'initialize') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }) + '\\n');
    if (m.method === 'exit-now') process.exit(3);
  }
});
process.stderr.write('server stderr line\\n');
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { require('fs').writeFileSync(process.env.SIGNAL_FILE, s); process.exit(0); });
`;

describe('wrap: process lifecycle', () => {
  const dir = tempDir();
  const server = path.join(dir, 'sleepy.cjs');
  writeFileSync(server, SLEEPY_SERVER);

  it('passes the child stderr through and ends with a clear message and exit code 1 when the child exits', async () => {
    const w = rawWrap(['--', process.execPath, server]);
    w.send(INIT);
    assert.equal((await w.next()).result.serverInfo.name, 's');
    w.send({ jsonrpc: '2.0', method: 'exit-now' });
    assert.equal(await w.exited, 1);
    assert.match(w.stderr(), /server stderr line/);
    assert.match(w.stderr(), /ended the session: server process exited with code 3/);
  });

  it('forwards SIGTERM to the child', async () => {
    const signalFile = path.join(dir, 'signal.txt');
    const child = spawn(process.execPath, [CLI, 'wrap', '--', process.execPath, server], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SIGNAL_FILE: signalFile } });
    spawned.push(child);
    child.stdin!.write(JSON.stringify(INIT) + '\n');
    await new Promise((r) => child.stdout!.once('data', r));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    assert.equal(readFileSync(signalFile, 'utf8'), 'SIGTERM');
  });

  it('shuts down cleanly (exit 0, child gone) when the client closes stdin', async () => {
    const w = rawWrap(['--', process.execPath, EVERYTHING, 'stdio']);
    w.send(INIT);
    await w.next();
    w.child.stdin!.end();
    assert.equal(await w.exited, 0);
  });

  it('answers garbage and oversized frames with JSON-RPC errors and keeps serving', async () => {
    const config = path.join(dir, 'small.yaml');
    writeFileSync(config, `version: 1\ngateway: { max_message_bytes: 1000 }\nservers:\n  ev: { command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EVERYTHING)}, stdio] }\n`);
    const w = rawWrap(['-c', config]);
    w.send('this is not json');
    assert.equal((await w.next()).error.code, -32700);
    w.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping', params: { pad: 'x'.repeat(5000) } }));
    const big = await w.next();
    assert.equal(big.error.code, -32600);
    assert.match(big.error.message, /limit/);
    w.send(INIT);
    assert.equal((await w.next()).id, 1);
    w.child.stdin!.end();
    await w.exited;
  });
});

describe('wrap --upstream: stdio to a remote server', () => {
  const running: Running[] = [];
  after(async () => {
    for (const r of running) await r.stop();
  });

  async function callThroughWrap(args: string[]): Promise<{ tools: string[]; echo: unknown; denied: unknown }> {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'wrap', ...args], stderr: 'pipe' });
    const client = new Client({ name: 't', version: '1' });
    await client.connect(transport);
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'over http' } });
      const denied = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
      return { tools, echo, denied };
    } finally {
      await client.close();
    }
  }

  for (const mode of ['streamableHttp', 'sse'] as const) {
    it(`reaches server-everything over ${mode === 'sse' ? 'legacy SSE (auto fallback)' : 'Streamable HTTP'} and applies the policy`, async () => {
      const port = await freePort();
      const server = await spawnUntil(process.execPath, [EVERYTHING, mode], /(listening|running) on port (\d+)/, { PORT: String(port) });
      running.push(server);
      const url = `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`;
      const dir = tempDir();
      const config = path.join(dir, 'p.yaml');
      writeFileSync(config, `version: 1\nservers:\n  remote:\n    url: ${url}\n    tools:\n      get-sum: { action: deny, reason: no sums }\n`);
      const r = await callThroughWrap(['-c', config]);
      assert.ok(r.tools.includes('echo'));
      assert.deepEqual(r.echo, { content: [{ type: 'text', text: 'Echo: over http' }] });
      assert.match(JSON.stringify(r.denied), /\[POLICY DENIED\] Tool \\"get-sum\\" on server \\"remote\\" was blocked by rule servers.remote.tools.get-sum: no sums/);
    });
  }

  it('takes --upstream and --header from the command line', async () => {
    const port = await freePort();
    const server = await spawnUntil(process.execPath, [EVERYTHING, 'streamableHttp'], /listening on port (\d+)/, { PORT: String(port) });
    running.push(server);
    const r = await callThroughWrap(['--upstream', `http://127.0.0.1:${port}/mcp`, '--header', 'X-Test: 1']);
    assert.deepEqual(r.echo, { content: [{ type: 'text', text: 'Echo: over http' }] });
    // No policy file: nothing is denied.
    assert.doesNotMatch(JSON.stringify(r.denied), /POLICY DENIED/);
  });
});
