// The benchmark's load generator: MCP clients kept deliberately thin (raw node:http, raw stdio lines) and a timed loop.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

/** One MCP session that can issue `tools/call echo` and resolves when the matching result arrives. */
export interface EchoClient {
  /** Resolves true for a successful CallToolResult, false for anything else (error, isError, HTTP status). */
  call(): Promise<boolean>;
  /** One `tools/call` of any tool; resolves with the raw answer (a JSON line, a JSON body or SSE events). */
  probe(tool: string): Promise<string>;
  close(): Promise<void>;
}

const PROTOCOL = '2025-06-18';
const initializeBody = (id: number): string =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'policylayer-bench', version: '1.0.0' } },
  });
const INITIALIZED = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
/** The `echo` arguments every client sends unless told otherwise (answers are checked for their text). */
export const ECHO_ARGUMENTS = '{"text":"hello bench"}';
// Built by concatenation so the per-call cost of the client is one string join, not a JSON.stringify.
const callBody = (id: number, tool = 'echo', args = ECHO_ARGUMENTS): string =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":${JSON.stringify(tool)},"arguments":${args}}}`;

/** A successful echo answer, JSON or SSE-framed; cheap substring checks, no parse. */
const looksOk = (body: string): boolean => body.includes('"result"') && body.includes('hello bench') && !body.includes('"isError":true');

/**
 * Streamable HTTP session: a real initialize (the server's Mcp-Session-Id is kept), then one POST per call over a
 * keep-alive agent with one socket per concurrent caller. `args` (JSON text) are the arguments of every call; they
 * must keep `"text":"hello bench"`, which the answer is checked for. `extraHeaders` go with every request (e.g. an
 * agent's `Authorization: Bearer …`).
 */
export async function openHttpClient(url: string, maxSockets: number, args = ECHO_ARGUMENTS, extraHeaders: Record<string, string> = {}): Promise<EchoClient> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const base: Record<string, string> = {
    ...extraHeaders,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  let nextId = 1;

  const post = (body: string, headers: Record<string, string>): Promise<{ status: number; session?: string; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const sid = res.headers['mcp-session-id'];
            resolve({ status: res.statusCode ?? 0, body: text, ...(typeof sid === 'string' && { session: sid }) });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const init = await post(initializeBody(nextId++), base);
  if (init.status !== 200 || !init.session) throw new Error(`initialize at ${url} answered HTTP ${init.status} (session ${init.session ?? 'none'}): ${init.body.slice(0, 300)}`);
  const headers = { ...base, 'mcp-session-id': init.session, 'mcp-protocol-version': PROTOCOL };
  const ack = await post(INITIALIZED, headers);
  if (ack.status >= 300) throw new Error(`notifications/initialized at ${url} answered HTTP ${ack.status}: ${ack.body.slice(0, 300)}`);

  return {
    async call() {
      try {
        const r = await post(callBody(nextId++, 'echo', args), headers);
        return r.status === 200 && looksOk(r.body);
      } catch {
        return false;
      }
    },
    async probe(tool) {
      return (await post(callBody(nextId++, tool, args), headers)).body;
    },
    async close() {
      await new Promise<void>((resolve) => {
        const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'DELETE', agent, headers }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        req.end();
      });
      agent.destroy();
    },
  };
}

/** A stdio MCP server (or a stdio gateway) as a child: JSON lines on its stdin, responses matched by id on stdout. */
export async function openStdioClient(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<EchoClient & { child: ChildProcess }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const waiting = new Map<number, (line: string) => void>();
  let nextId = 1;
  let pending = '';
  let exited: string | undefined;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
      // The id is the last member the SDK writes; a scan for it is enough for the echo answers used here.
      const at = line.lastIndexOf('"id":');
      if (at === -1) continue;
      const id = Number.parseInt(line.slice(at + 5), 10);
      const done = waiting.get(id);
      if (done) {
        waiting.delete(id);
        done(line);
      }
    }
  });
  child.stdin!.on('error', () => undefined);
  child.on('exit', (code, signal) => {
    exited = `exited (${signal ?? code})`;
    for (const done of waiting.values()) done('');
    waiting.clear();
  });

  const request = (id: number, body: string): Promise<string> =>
    new Promise((resolve) => {
      if (exited) return resolve('');
      waiting.set(id, resolve);
      child.stdin!.write(body + '\n');
    });

  const init = await Promise.race([
    request(nextId, initializeBody(nextId++)),
    new Promise<string>((_, reject) => setTimeout(() => reject(new Error(`${command} ${args.join(' ')}: no initialize answer in 15 s`)), 15000).unref()),
  ]);
  if (!init.includes('"result"')) throw new Error(`${command} ${args.join(' ')}: initialize failed (${exited ?? init.slice(0, 300)})`);
  child.stdin!.write(INITIALIZED + '\n');

  return {
    child,
    async call() {
      const id = nextId++;
      return looksOk(await request(id, callBody(id)));
    },
    probe(tool) {
      const id = nextId++;
      return request(id, callBody(id, tool));
    },
    close() {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.stdin!.end(); // EOF is the MCP stdio shutdown signal.
      });
    },
  };
}

export interface Sample {
  calls: number;
  failures: number;
  elapsedMs: number;
  /** Per-call latency in ms, in completion order. */
  latencies: number[];
  /** CPU the load generator itself used, ms. */
  loadCpuMs: number;
}

/** Runs `concurrency` callers back to back for `ms` milliseconds and records every call's latency. */
export async function measure(client: EchoClient, concurrency: number, ms: number): Promise<Sample> {
  const latencies: number[] = [];
  let failures = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const ok = await client.call();
      latencies.push(performance.now() - t0);
      if (!ok) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { calls: latencies.length, failures, elapsedMs, latencies, loadCpuMs: (cpu.user + cpu.system) / 1000 };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
