// Shared plumbing of the rate-limit / spend-cap integration tests: policy files, Redis (shared or private), replicas, calls.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { TestContext } from 'node:test';
import type { Redis as RedisClient } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startGateway, stopChild, tempDir, testAuditLog, writeConfig, type Running } from './gateway.js';
import { initializeRequest, initialized, received, resultText, type Message } from './raw-mcp.js';

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const SHARED_REDIS = `redis://${REDIS_HOST}:${REDIS_PORT}`;
const PROTOCOL = '2025-06-18';

/** A policy file from a plain object (JSON is YAML); `gateway.listen` defaults to an ephemeral port. */
export function writePolicy(policy: { gateway?: Record<string, unknown>; servers: Record<string, unknown> }, dir = tempDir()): string {
  const doc = { version: 1, ...policy, gateway: { listen: '127.0.0.1:0', audit: testAuditLog(dir), ...policy.gateway } };
  return writeConfig(JSON.stringify(doc, null, 2), dir);
}

/** A key prefix no other run uses, so parallel runs never share counters and cleanup finds every key. */
export function uniquePrefix(label: string): string {
  return `policylayer-test:${label}:${process.pid}-${randomBytes(4).toString('hex')}:`;
}

/** Sends PING over a plain socket; undefined when Redis answered, else why not. The wait is generous: on a loaded
 * 2-core machine an answer can take over a second, and this tells "there" from "not there", not speed. */
export function pingRedis(port = REDIS_PORT, timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: REDIS_HOST, port });
    const finish = (why: string | undefined): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    let got = '';
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) finish(got.startsWith('+PONG') ? undefined : `answered ${JSON.stringify(got.trim())}`);
    });
    sock.on('error', (err) => finish(err.message));
  });
}

/**
 * True when the test may use the shared Redis. Unreachable: a failure under CI=true (the rule: CI starts
 * one), a skip with the reason otherwise.
 */
export function redisOrSkip(t: TestContext, problem: string | undefined, what = `Redis at ${SHARED_REDIS}`): boolean {
  if (problem === undefined) return true;
  const message = `${what} not reachable: ${problem}`;
  if (process.env.CI === 'true') assert.fail(`${message} (CI=true: a missing Redis is a failure, not a skip)`);
  t.skip(`${message}; start redis-server to run this test`);
  return false;
}

/** Keys starting with `prefix`, sorted, by SCAN (KEYS would block the shared Redis). */
export async function redisKeysUnder(redis: Pick<RedisClient, 'scan'>, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

/** Deletes every key under `prefix` on a Redis (ioredis, loaded only by tests that use Redis). */
export async function deleteRedisKeys(prefix: string, port = REDIS_PORT): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis({ host: REDIS_HOST, port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys = await redisKeysUnder(redis, prefix);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  } catch {
    // Cleanup only; keys expire with their windows anyway.
  } finally {
    redis.disconnect();
  }
}

/** A redis-server of the test's own on `port` (the machine's shared one is never stopped). */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Starts it (again) on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it with SIGKILL (a crash, the harshest case); resolves once it is gone. */
  stop(): Promise<void>;
}

/** Why the tests cannot run their own redis-server, or undefined when they can. */
export async function redisServerMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    probe.once('error', (err) => resolve(`redis-server cannot be started: ${err.message}`));
    probe.once('exit', (code) => resolve(code === 0 ? undefined : `redis-server --version exited with ${code}`));
  });
}

/** A private redis-server on a free port, not started yet. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  return {
    port,
    url: `redis://${REDIS_HOST}:${port}`,
    async start() {
      const c = spawn('redis-server', ['--port', String(port), '--bind', REDIS_HOST, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      child = c;
      const deadline = Date.now() + 10_000;
      while ((await pingRedis(port, 300)) !== undefined) {
        if (c.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${c.exitCode}`);
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
        await sleep(50);
      }
    },
    async stop() {
      if (child) await stopChild(child, 'SIGKILL');
    },
  };
}

/** Starts `n` gateways on one policy file (each on its own ephemeral port). */
export async function startReplicas(n: number, file: string): Promise<(Running & { url: string })[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, () => startGateway(file)));
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((g) => g.stop()));
    throw failed.reason;
  }
  return ok;
}

/** One keep-alive agent per test process: the bursts reuse sockets instead of opening thousands. */
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

export interface Reply {
  status: number;
  /** The JSON-RPC answer (JSON body or the SSE event carrying the id), undefined when none came. */
  message: Message | undefined;
  body: string;
  /** The Mcp-Session-Id header of the answer, if any. */
  session?: string;
}

/** POSTs one JSON-RPC message to a gateway endpoint; `session` goes in Mcp-Session-Id. */
export function post(url: string, message: Message, session?: string): Promise<Reply> {
  const body = JSON.stringify(message);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'content-length': String(Buffer.byteLength(body)),
    ...(session !== undefined && { 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL }),
  };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const sid = res.headers['mcp-session-id'];
        resolve({ status: res.statusCode ?? 0, message: findReply(text, message.id), body: text, ...(typeof sid === 'string' && { session: sid }) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function findReply(text: string, id: unknown): Message | undefined {
  const candidates = text.trimStart().startsWith('{')
    ? [text]
    : text
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim());
  for (const c of candidates) {
    try {
      const m = JSON.parse(c) as Message;
      if (m.id === id && ('result' in m || 'error' in m)) return m;
    } catch {
      // Not JSON: not the answer.
    }
  }
  return undefined;
}

/** initialize + notifications/initialized; returns the gateway's Mcp-Session-Id. */
export async function openSession(url: string): Promise<string> {
  const init = await post(url, initializeRequest('init'));
  if (init.status !== 200 || init.session === undefined) throw new Error(`initialize at ${url} failed: HTTP ${init.status} ${init.body.slice(0, 300)}`);
  const note = await post(url, initialized, init.session);
  if (note.status !== 202) throw new Error(`notifications/initialized at ${url}: HTTP ${note.status} ${note.body}`);
  return init.session;
}

let seq = 0;
/** A tools/call on a session; resolves with the JSON-RPC answer (fails the test when none came). */
export async function callTool(url: string, session: string | undefined, name: string, args: Record<string, unknown> = {}): Promise<Message> {
  const id = `c${++seq}`;
  const r = await post(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, session);
  assert.ok(r.message, `no answer to tools/call ${name} (HTTP ${r.status}): ${r.body.slice(0, 400)}`);
  return r.message;
}

/** True for a [POLICY DENIED] result. */
export const isDenied = (reply: Message): boolean => reply.result?.isError === true && resultText(reply).startsWith('[POLICY DENIED]');

/** Asserts a refusal by a limit: [POLICY DENIED], the rule path, the limit's description, a sane retryAfterMs. */
export function assertLimitDenial(reply: Message, rule: string, limit: string, maxRetryMs?: number): number {
  const text = resultText(reply);
  assert.ok(isDenied(reply), `expected [POLICY DENIED], got ${JSON.stringify(reply).slice(0, 400)}`);
  assert.ok(text.includes(rule), `the denial does not name the rule ${rule}: ${text}`);
  assert.ok(text.includes(limit), `the denial does not name the limit "${limit}": ${text}`);
  const retry = reply.result?._meta?.retryAfterMs;
  assert.equal(typeof retry, 'number', `_meta.retryAfterMs missing: ${JSON.stringify(reply.result)}`);
  assert.ok(Number.isFinite(retry) && retry >= 0, `retryAfterMs is ${retry}`);
  if (maxRetryMs !== undefined) assert.ok(retry <= maxRetryMs, `retryAfterMs ${retry} is longer than the window (${maxRetryMs} ms)`);
  const said = /admitted in (\d+(?:\.\d+)?) s/.exec(text);
  assert.ok(said, `the denial does not say when the next call is admitted: ${text}`);
  assert.ok(Math.abs(Number(said[1]) * 1000 - retry) <= 100, `the text says ${said[1]} s but retryAfterMs is ${retry}`);
  return retry as number;
}

/** Arguments of every tools/call of `tool` the recording fixture received, in order. */
export function receivedArgs(recordFile: string, tool: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const f of received(recordFile)) {
    try {
      const m = JSON.parse(f.raw) as Message;
      if (m.method === 'tools/call' && m.params?.name === tool) out.push((m.params.arguments ?? {}) as Record<string, unknown>);
    } catch {
      // Not JSON: not a call.
    }
  }
  return out;
}

/** Polls until `check` holds (for answers that settle just after the reply, e.g. the record file). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}
