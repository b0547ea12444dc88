// Hand-made MCP traffic for adversarial tests: raw JSON lines into `wrap`, raw HTTP into `start`, and the
// recording fixture's log to prove what reached the server. No SDK: the tests craft frames an SDK would never send.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CLI, ROOT, spawnUntil, stopChild, type Running } from './gateway.js';

export const RECORDER = path.join(ROOT, 'dist/test/fixtures/recording-server.js');

/** YAML flow sequence for `command:` that starts the recording fixture over stdio (`lenient`: the spy). */
export function recorderCommand(recordFile: string, lenient = false): string {
  return `[${JSON.stringify(process.execPath)}, ${JSON.stringify(RECORDER)}, stdio, --record, ${JSON.stringify(recordFile)}${lenient ? ', --lenient' : ''}]`;
}

/** The recording fixture over Streamable HTTP; resolves with its /mcp URL. */
export async function startRecorderHttp(recordFile: string, lenient = false): Promise<Running & { url: string }> {
  const args = [RECORDER, 'http', '--record', recordFile, ...(lenient ? ['--lenient'] : [])];
  const r = await spawnUntil(process.execPath, args, /listening on (http:\/\/[^\s"]+)/);
  return { ...r, url: r.match };
}

/** What the lenient spy ran: each tool call it executed, with the arguments it read (body, other fields, headers). */
export function ranCalls(recordFile: string): { ran: string; args: Record<string, unknown> }[] {
  return received(recordFile)
    .filter((f) => f.transport === 'ran')
    .map((f) => f as unknown as { ran: string; args: Record<string, unknown> });
}

export interface Frame {
  pid: number;
  transport: string;
  raw: string;
  headers?: Record<string, string | undefined>;
}

/** Every frame the fixture received so far. */
export function received(recordFile: string): Frame[] {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Frame);
}

/** Names of every tools/call the fixture received, batches and odd frames included. */
export function receivedCalls(recordFile: string): string[] {
  const names: string[] = [];
  const visit = (m: unknown): void => {
    if (Array.isArray(m)) return m.forEach(visit);
    const msg = m as { method?: unknown; params?: { name?: unknown } } | null;
    if (msg && msg.method === 'tools/call') names.push(String(msg.params?.name));
  };
  for (const f of received(recordFile)) {
    try {
      visit(JSON.parse(f.raw));
    } catch {
      /* not JSON: not a call */
    }
  }
  return names;
}

/** True when any received frame contains `text` anywhere (a smuggled name shows up even in a frame we cannot parse). */
export function serverSaw(recordFile: string, text: string): boolean {
  return received(recordFile).some((f) => f.raw.includes(text));
}

export type Message = Record<string, any>;

/** `policylayer wrap …` driven through its stdin/stdout, one JSON line per frame. */
export interface LineClient {
  child: ChildProcess;
  send(frame: string | object): void;
  /** The next stdout message matching `pred` (removed from the queue), or a failure after `ms`. */
  next(pred: (m: Message) => boolean, ms?: number): Promise<Message>;
  /** Sends a request and resolves with the reply carrying its id. */
  request(msg: Message, ms?: number): Promise<Message>;
  /** Asserts no stdout message arrives for `ms`; returns what arrived instead (empty when quiet). */
  unexpected(ms: number): Promise<Message[]>;
  stderr(): string;
  stop(): Promise<void>;
}

export function spawnWrap(args: string[]): LineClient {
  const child = spawn(process.execPath, [CLI, 'wrap', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const queue: Message[] = [];
  let wake: (() => void) | undefined;
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    let nl = out.indexOf('\n');
    while (nl !== -1) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        queue.push(JSON.parse(line) as Message);
      } catch {
        queue.push({ unparsable: line });
      }
      nl = out.indexOf('\n');
    }
    wake?.();
  });
  child.stdin!.on('error', () => {
    /* the gateway exited; the test sees it through missing replies */
  });
  const next = async (pred: (m: Message) => boolean, ms = 8000): Promise<Message> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = queue.findIndex(pred);
      if (i !== -1) return queue.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) {
        const queued = queue.map((m) => JSON.stringify(m).slice(0, 300)).join('\n  ');
        throw new Error(`no matching message within ${ms} ms; queued:\n  ${queued}\nstderr:\n${err.slice(-2000)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  };
  const client: LineClient = {
    child,
    send(frame) {
      child.stdin!.write((typeof frame === 'string' ? frame : JSON.stringify(frame)) + '\n');
    },
    next,
    request(msg, ms) {
      client.send(msg);
      return next((m) => m.id === msg.id && ('result' in m || 'error' in m), ms);
    },
    async unexpected(ms) {
      await new Promise((r) => setTimeout(r, ms));
      return queue.splice(0);
    },
    stderr: () => err,
    stop: () => stopChild(child),
  };
  return client;
}

/** `policylayer wrap -c FILE --server NAME`, initialized, stopped when the test ends. */
export async function openWrap(t: { after(fn: () => Promise<void>): void }, file: string, server: string): Promise<LineClient> {
  const gw = spawnWrap(['-c', file, '--server', server]);
  t.after(() => gw.stop());
  const init = await gw.request(initializeRequest('init'));
  if (!init.result) throw new Error(`wrap did not initialize: ${JSON.stringify(init)}\n${gw.stderr().slice(-2000)}`);
  gw.send(initialized);
  return gw;
}

export const initializeRequest = (id: number | string = 0): Message => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'adversarial-test', version: '1' } },
});
export const initialized: Message = { jsonrpc: '2.0', method: 'notifications/initialized' };
export const call = (id: number | string, name: string, args: Record<string, unknown> = {}): Message => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** The text of a CallToolResult reply (first content item). */
export function resultText(reply: Message): string {
  return String(reply.result?.content?.[0]?.text ?? '');
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** JSON body, or the data of every SSE event. */
  messages: Message[];
}

/** One raw HTTP request (node:http, so Host and any header can be set exactly). */
export function httpRequest(method: string, url: string, body?: string | object, headers: Record<string, string> = {}): Promise<HttpReply> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const h: Record<string, string> = {
    accept: 'application/json, text/event-stream',
    ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
    ...headers,
  };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, messages: parseBody(text, String(res.headers['content-type'] ?? '')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function parseBody(text: string, contentType: string): Message[] {
  if (text.trim().length === 0) return [];
  if (contentType.includes('text/event-stream')) {
    return text
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim())
      .filter((d) => d.length > 0)
      .map((d) => JSON.parse(d) as Message);
  }
  try {
    // A batch reply stays one element (an array), so a test can tell it apart from a single reply.
    return [JSON.parse(text) as Message];
  } catch {
    return [];
  }
}

/** The reply to request `id` in an HTTP answer (JSON or SSE). */
export function replyTo(reply: HttpReply, id: number | string): Message | undefined {
  return reply.messages.find((m) => !Array.isArray(m) && m.id === id && ('result' in m || 'error' in m));
}

/** initialize + notifications/initialized over Streamable HTTP; returns the gateway's Mcp-Session-Id. */
export async function openHttpSession(endpoint: string): Promise<string> {
  const init = await httpRequest('POST', endpoint, initializeRequest(0));
  const sid = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof sid !== 'string') throw new Error(`initialize failed: HTTP ${init.status} ${init.text}`);
  const note = await httpRequest('POST', endpoint, initialized, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
  if (note.status !== 202) throw new Error(`notifications/initialized: HTTP ${note.status} ${note.text}`);
  return sid;
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function waitFor(what: string, check: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
