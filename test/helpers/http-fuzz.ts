// Seeded generator of hostile HTTP requests for the listener fuzz test, and a raw-socket client that sends them
// byte for byte (node:http would refuse to send most of them). Each request is drawn from its own generator,
// seeded by (seed, index), so one request can be rebuilt from the pair a failure report prints.
import net from 'node:net';

/** mulberry32: small, fast, and the same sequence on every machine for a given seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator of request `index` of a run: independent of every other request's draws. */
export const requestRng = (seed: number, index: number): (() => number) => rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);

export interface FuzzSession {
  id: string;
  endpoint: string;
}

export interface FuzzContext {
  port: number;
  adminToken: string;
  /** Sessions the gateway issued so far, with the endpoint that issued each (the run adds them as answers arrive). */
  sessions: readonly FuzzSession[];
}

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const chance = (r: Rand, p: number): boolean => r() < p;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Path segments that have broken URL handling somewhere: bad and overlong escapes, traversal, raw unicode. */
const NASTY_SEGMENTS = [
  '%', '%z', '%zz', '%c0%af', '%e0%80%af', '%ff%fe', '%00', '%2e%2e', '..', '.', '%2F', '%5c', '\\', '//', ';x',
  'é', '%C3%A9', '\u202e', '\u200b', '😀', '%F0%9F', '%E2%82', '%%', '%25', '?', '?sessionId=%zz', '#frag', '*', '~', '%20',
];
/** The listener's real route prefixes: most requests reach a handler rather than the 404. */
const PREFIXES = [
  '/mcp/shared', '/mcp/shared', '/mcp/shared', '/mcp/remote', '/mcp/remote', '/mcp/rec', '/mcp/shared/sse', '/mcp/shared/messages',
  '/mcp/remote/messages', '/mcp/rec/messages', '/mcp/nope', '/mcp/', '/mcp', '/admin', '/admin/approvals', '/admin/approvals/stream',
  '/admin/approvals/Abc123/approve', '/admin/approvals/Abc123/deny', '/admin/approvals/Abc123', '/admin/audit', '/admin/nope',
  '/approvals/link/', '/approvals/link/eyJpZCI6IngifQ.c2ln', '/metrics', '/healthz', '/', '',
];
const METHODS = ['POST', 'POST', 'POST', 'POST', 'GET', 'GET', 'GET', 'DELETE', 'PUT', 'OPTIONS', 'HEAD', 'PATCH'];
/** Request lines node:http refuses to parse: a few, or the fuzz would mostly test node's parser. */
const BAD_METHODS = ['FOO', 'G E T', 'post', ''];
/** The MCP endpoints a well-formed request goes to; `rec` (a child per session) rarely. */
const TAME_PATHS = ['/mcp/shared', '/mcp/shared', '/mcp/shared', '/mcp/remote', '/mcp/remote', '/mcp/remote', '/mcp/rec'];

function path(r: Rand, ctx: FuzzContext): string {
  if (chance(r, 0.02)) return pick(r, ['*', `http://127.0.0.1:${ctx.port}/mcp/shared`, 'mcp/shared', '/'.repeat(int(r, 2, 50))]);
  let p = pick(r, PREFIXES);
  // Rarely the route that spawns a child per session: the run must not start hundreds of processes.
  if (p.startsWith('/mcp/rec') && !chance(r, 0.25)) p = p.replace('/mcp/rec', '/mcp/shared');
  if (chance(r, 0.35)) {
    for (let i = int(r, 1, 3); i > 0; i--) p += (chance(r, 0.5) ? '/' : '') + pick(r, NASTY_SEGMENTS);
  }
  if (chance(r, 0.1)) p = p.replace(/\/mcp\/[a-z]+/, `/mcp/${pick(r, NASTY_SEGMENTS)}`);
  if (chance(r, 0.01)) p += '/' + 'a'.repeat(int(r, 1000, 70_000));
  if (chance(r, 0.15)) p += `?sessionId=${chance(r, 0.6) && ctx.sessions.length > 0 ? pick(r, ctx.sessions).id : pick(r, NASTY_SEGMENTS)}`;
  if (chance(r, 0.05)) p += `?status=${pick(r, ['pending', '%zz', ''])}&limit=${pick(r, ['5', '-1', '1e9', '%', 'x'])}&format=${pick(r, ['csv', 'jsonl', 'x'])}`;
  return p;
}

/** A JSON-RPC message of the kinds the gateway interprets, or forwards, or should refuse. */
function message(r: Rand, id: unknown): Record<string, unknown> {
  const tool = pick(r, ['echo', 'delete_file', 'secret_tool', 'read_file', 'Echo', 'ech\u200bo', '', 'x'.repeat(300)]);
  return pick(r, [
    () => ({ jsonrpc: '2.0', id, method: 'ping' }),
    () => ({ jsonrpc: '2.0', id, method: 'tools/list', params: chance(r, 0.3) ? { cursor: pick(r, ['page-3', '', 'page-x', 5]) } : {} }),
    () => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: { text: 'fuzz', n: pick(r, [1, -0, 1e308, 'x', null]) } } }),
    () => ({ jsonrpc: '2.0', id, method: 'tools/call', params: pick(r, [null, [], 'x', { name: 5 }, { arguments: [] }, { name: tool, arguments: 'str' }]) }),
    () => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: pick(r, [id, 'x', null, {}]), reason: 'fuzz' } }),
    () => ({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    () => ({ jsonrpc: '2.0', id, result: {} }),
    () => ({ jsonrpc: '2.0', id, error: { code: 1, message: 'x' } }),
    () => ({ jsonrpc: '2.0', id, method: pick(r, ['Tools/Call', 'tools/call\u200b', 'resources/list', '', 'server/discover', '__proto__']) }),
    () => ({ jsonrpc: pick(r, ['1.0', 2, null]), id, method: 'tools/call', params: { name: tool } }),
  ])();
}

const initialize = (id: unknown): Record<string, unknown> => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
});

function body(r: Rand, initRate: number): string {
  const id = pick<unknown>(r, [1, 'a', 0, -1, 1.5, 1e21, 12345678901234567890, null, {}, [], true, '__proto__']);
  switch (int(r, 0, 13)) {
    case 0:
      return '';
    case 1:
      return pick(r, ['garbage', '\u0000\u0001\u0002', '\ufeff{}', '{', '}', 'null', '"x"', '[]', '{}', '1e400', 'true', 'NaN', '\xff\xfe', '{"__proto__":{"x":1}}']);
    case 2: {
      const text = JSON.stringify(message(r, id));
      return text.slice(0, int(r, 0, text.length - 1)); // truncated JSON
    }
    case 3: {
      const depth = int(r, 100, 200_000);
      return pick(r, ['[', '{"a":']).repeat(depth).replace(/$/, '1') + (chance(r, 0.5) ? ']'.repeat(depth) : '');
    }
    case 4:
      return `{"jsonrpc":"2.0","id":${'9'.repeat(int(r, 20, 400))},"method":"tools/call","params":{"name":"echo","arguments":{"n":1e99999}}}`;
    case 5:
      return JSON.stringify(Array.from({ length: int(r, 0, 20) }, (_, i) => message(r, i)));
    case 6:
      return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_file","arguments":{}}}`;
    case 7:
      return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\\ud800\\u0065cho","arguments":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`;
    case 8:
      return 'x'.repeat(int(r, 60_000, 80_000)); // around max_message_bytes
    default:
      return JSON.stringify(chance(r, initRate) ? initialize(id) : message(r, id));
  }
}

function mcpName(r: Rand): string {
  return pick(r, [
    'echo',
    'delete_file',
    `=?base64?${Buffer.from(pick(r, ['echo', 'delete_file', 'é'])).toString('base64')}?=`,
    '=?base64?!!!notbase64?=',
    '=?base64?',
    '=?base64??=',
    '=?utf-8?q?echo?=',
    '\u00e9cho',
  ]);
}

/** One request as bytes: request line, headers (some malformed), body (some framed wrong). */
export function fuzzRequest(seed: number, index: number, ctx: FuzzContext): Buffer {
  const r = requestRng(seed, index);
  // Some requests are well formed (a real endpoint, a known session, a valid message, right framing), so that the
  // run also reaches the code behind the guards, with sessions opened, used and ended along the way.
  if (chance(r, 0.4)) return tameRequest(r, ctx);
  const method = chance(r, 0.04) ? pick(r, BAD_METHODS) : pick(r, METHODS);
  const target = path(r, ctx);
  const payload = Buffer.from(method === 'GET' && chance(r, 0.8) ? '' : body(r, 0.02));
  const headers: string[] = [];
  const add = (name: string, value: string): void => void headers.push(`${name}: ${value}`);
  const host = `127.0.0.1:${ctx.port}`;
  const hostChoice = int(r, 0, 19);
  if (hostChoice < 15) add('Host', host);
  else if (hostChoice === 15) add('Host', `localhost:${ctx.port}`);
  else if (hostChoice === 16) add('Host', pick(r, ['evil.example', '', '[::1', `${host}:${ctx.port}`, '%zz', 'a'.repeat(5000)]));
  else if (hostChoice === 17) (add('Host', host), add('Host', 'evil.example'));
  // 18, 19: no Host at all
  if (chance(r, 0.85)) add('Accept', pick(r, ['application/json, text/event-stream', 'text/event-stream', 'application/json', '*/*', '', 'text/event-stream;q=0, application/json']));
  if (chance(r, 0.7)) add('Content-Type', pick(r, ['application/json', 'text/plain', 'application/json; charset=latin1', '']));
  if (chance(r, 0.5)) {
    const sid = ctx.sessions.length > 0 && chance(r, 0.7) ? pick(r, ctx.sessions).id : pick(r, ['', 'x', '00000000-0000-0000-0000-000000000000', '%zz', 'a'.repeat(10_000)]);
    add('Mcp-Session-Id', sid);
    if (chance(r, 0.05)) add('Mcp-Session-Id', 'second');
  }
  if (chance(r, 0.4)) add('Mcp-Protocol-Version', pick(r, ['2025-06-18', '2025-03-26', '2024-11-05', '2026-07-28', 'x', '']));
  if (chance(r, 0.2)) add('Mcp-Method', pick(r, ['tools/call', 'tools/list', 'ping', 'Tools/Call', '', '=?base64?dG9vbHMvY2FsbA==?=']));
  if (chance(r, 0.2)) add('Mcp-Name', mcpName(r));
  if (chance(r, 0.05)) add('Mcp-Param-Amount', pick(r, ['1', '-1', 'x']));
  if (chance(r, 0.1)) add('Traceparent', pick(r, ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'garbage', '00-zz-zz-zz']));
  if (chance(r, target.startsWith('/admin') || target.startsWith('/metrics') ? 0.8 : 0.1)) {
    add('Authorization', pick(r, [`Bearer ${ctx.adminToken}`, `Bearer ${ctx.adminToken}`, `Bearer ${ctx.adminToken}`, 'Bearer wrong', 'Basic x', 'Bearer', '']));
  }
  if (chance(r, 0.05)) add('Origin', pick(r, ['http://evil.example', 'http://localhost:3000', 'null', '%zz', '']));
  if (chance(r, 0.03)) add('Last-Event-Id', pick(r, ['1', 'x', '']));
  if (chance(r, 0.02)) add('X-Huge', 'h'.repeat(int(r, 10_000, 90_000)));
  if (chance(r, 0.02)) headers.push(pick(r, ['Bad Header: x', 'NoColon', ': empty-name', ' Folded: x', 'X-Ctl: a\u0001b', 'X-Utf8: é']));
  // Framing: right, missing, short, long, duplicated, not a number, or chunked (sometimes broken).
  let framed = payload;
  const framing = int(r, 0, 11);
  if (framing <= 5) add('Content-Length', String(payload.length));
  else if (framing === 6) add('Content-Length', String(Math.max(0, payload.length - int(r, 1, 10))));
  else if (framing === 7) add('Content-Length', String(payload.length + int(r, 1, 1000)));
  else if (framing === 8) (add('Content-Length', String(payload.length)), add('Content-Length', String(payload.length + 1)));
  else if (framing === 9) add('Content-Length', pick(r, ['-1', 'abc', '1e3', '99999999999999999999', '']));
  else if (framing === 10) {
    add('Transfer-Encoding', 'chunked');
    framed = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from(chance(r, 0.8) ? '\r\n0\r\n\r\n' : '\r\nzz\r\n')]);
  }
  // 11: no framing at all
  if (chance(r, 0.9)) add('Connection', 'close');
  const head = `${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), framed]);
}

/** A request as a client would send it, on a route of `TAME_PATHS`, with a session of the run when there is one. */
function tameRequest(r: Rand, ctx: FuzzContext): Buffer {
  const method = pick(r, ['POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'DELETE']);
  const session = ctx.sessions.length > 0 && chance(r, 0.8) ? pick(r, ctx.sessions) : undefined;
  const sid = session?.id;
  let target = session?.endpoint ?? pick(r, TAME_PATHS);
  if (method === 'GET' && sid === undefined && chance(r, 0.5)) target += '/sse';
  const headers = [`Host: 127.0.0.1:${ctx.port}`, 'Accept: application/json, text/event-stream', 'Mcp-Protocol-Version: 2025-06-18', 'Connection: close'];
  if (sid !== undefined) headers.push(`Mcp-Session-Id: ${sid}`);
  const payload = Buffer.from(method === 'POST' ? JSON.stringify(chance(r, sid === undefined ? 0.3 : 0.02) ? initialize(int(r, 0, 9)) : message(r, int(r, 0, 99))) : '');
  if (method === 'POST') headers.push('Content-Type: application/json', `Content-Length: ${payload.length}`);
  return Buffer.concat([Buffer.from(`${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`), payload]);
}

export interface RawAnswer {
  /** The HTTP status, when a status line came back. */
  status?: number;
  headers: string;
  body: string;
  /** What ended the exchange: the server closed, the answer was complete, a stream was cut by us, or the time ran out. */
  end: 'closed' | 'complete' | 'stream' | 'timeout' | 'error';
  error?: string;
}

/**
 * Sends raw bytes on a fresh connection and reads the answer: until the server closes, the answer's declared
 * length arrives, an event stream has shown its head (then it is cut), or `timeoutMs` passes. After `quietMs`
 * the connection is half-closed, so that a request whose framing promises more bytes ends instead of waiting.
 */
export function rawExchange(port: number, bytes: Buffer, timeoutMs: number, quietMs = 200): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (end: RawAnswer['end'], error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ ...(m && { status: Number(m[1]) }), headers: head, body: split === -1 ? '' : text.slice(split + 4), end, ...(error !== undefined && { error }) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const quiet = setTimeout(() => socket.end(), quietMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split === -1) return;
      const head = text.slice(0, split).toLowerCase();
      if (head.includes('content-type: text/event-stream')) return void setTimeout(() => finish('stream'), 30);
      const length = /\r\ncontent-length: (\d+)/.exec(head);
      if (length && Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length[1])) finish('complete');
      else if (!length && head.includes('transfer-encoding: chunked') && text.endsWith('0\r\n\r\n')) finish('complete');
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', (err: NodeJS.ErrnoException) => finish('error', err.code ?? err.message));
    socket.write(bytes);
  });
}
