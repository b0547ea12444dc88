// Connects the official MCP SDK clients (v1 and v2) to a server, directly or through the gateway, and records what arrives.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequest,
  type ElicitResult,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableHTTPClientTransportV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioClientTransportV2 } from '@modelcontextprotocol/client/stdio';
import { CLI, EVERYTHING, startEverythingHttp, startGateway, writeGatewayConfig } from './gateway.js';

/** Where a client connects: a stdio command, a Streamable HTTP URL, or a legacy SSE URL. */
export type Endpoint =
  | { kind: 'stdio'; command: string; args: string[] }
  | { kind: 'http'; url: string; headers?: Record<string, string> | undefined }
  | { kind: 'sse'; url: string };

export const stdio = (command: string, args: string[]): Endpoint => ({ kind: 'stdio', command, args });
/** `headers` go with every request (an agent's `Authorization: Bearer …`). */
export const http = (url: string, headers?: Record<string, string>): Endpoint => ({ kind: 'http', url, headers });
export const sse = (url: string): Endpoint => ({ kind: 'sse', url });
/** `policylayer wrap <args…>` as a stdio endpoint, e.g. `wrapped(['--', 'node', server, 'stdio'])`. */
export const wrapped = (args: string[]): Endpoint => stdio(process.execPath, [CLI, 'wrap', ...args]);

/** What the client declares and how it answers the server's requests. */
export interface ClientFeatures {
  sampling?: boolean;
  /** `true`: form elicitation; `'url'`: form and URL elicitation. */
  elicitation?: boolean | 'url';
  /** The roots the client answers `roots/list` with (declaring the capability). */
  roots?: { uri: string; name?: string }[];
}

export interface Notice {
  method: string;
  params?: Record<string, unknown> | undefined;
}

/** Everything the server sent to the client: server→client requests (as handled) and every raw message. */
export interface Seen {
  sampling: CreateMessageRequest['params'][];
  elicitation: ElicitRequest['params'][];
  rootsRequests: number;
  /** Every JSON-RPC message received, in order, as the transport delivered it. */
  messages: JSONRPCMessage[];
  /** stdio only: what the server process (or the gateway in front of it) wrote to stderr. */
  stderr: string;
  /** HTTP only: each POST's status and response body exactly as it came over the wire (SDKs rewrite some results). */
  wire: Promise<{ status: number; request: string; body: string }>[];
  notifications(method: string): Notice[];
  /** Resolves when `count` notifications of `method` have arrived (rejects after `timeoutMs`). */
  waitFor(method: string, count?: number, timeoutMs?: number): Promise<void>;
}

export const SAMPLED_MODEL = 'policylayer-test-model';
/** The form answer of the elicitation handler: fields of server-everything's form that need no format. */
export const ELICITED = { name: 'Ada Lovelace', check: true, integer: 7 };

/** A client that declares everything a server may gate tools on: sampling, URL elicitation and one root. */
export const ALL_FEATURES: ClientFeatures = { sampling: true, elicitation: 'url', roots: [{ uri: 'file:///tmp/policylayer-root', name: 'test root' }] };

export function samplingAnswer(params: CreateMessageRequest['params']): CreateMessageResult {
  const last = params.messages.at(-1)?.content;
  const text = last && !Array.isArray(last) && last.type === 'text' ? last.text : '?';
  return { model: SAMPLED_MODEL, role: 'assistant', content: { type: 'text', text: `sampled(${text})` }, stopReason: 'endTurn' };
}

export function elicitationAnswer(params: ElicitRequest['params']): ElicitResult {
  return 'mode' in params && params.mode === 'url' ? { action: 'accept' } : { action: 'accept', content: ELICITED };
}

/** A fresh record, and the function that adds a received message to it (waking waitFor). */
function newSeen(): { seen: Seen; record(message: JSONRPCMessage): void } {
  const waiters = new Set<() => void>();
  const seen: Seen = {
    sampling: [],
    elicitation: [],
    rootsRequests: 0,
    messages: [],
    stderr: '',
    wire: [],
    notifications: (method) =>
      seen.messages.filter((m) => 'method' in m && !('id' in m) && m.method === method) as Notice[],
    waitFor: (method, count = 1, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (seen.notifications(method).length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${count}× ${method}; got ${seen.notifications(method).length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  const record = (message: JSONRPCMessage) => {
    seen.messages.push(message);
    for (const w of [...waiters]) w();
  };
  return { seen, record };
}

/**
 * Records every message the transport delivers, initialize result included (the SDKs chain an onmessage set before
 * connect), and a stdio child's stderr (read, so that a chatty child never blocks on a full pipe).
 */
function tap(transport: unknown, seen: Seen, record: (message: JSONRPCMessage) => void): void {
  const t = transport as { onmessage?: (message: JSONRPCMessage) => void; stderr?: NodeJS.ReadableStream | null };
  t.onmessage = record;
  t.stderr?.on('data', (chunk: Buffer) => (seen.stderr += chunk.toString()));
}

/** The `initialize` result the server (or the gateway) answered with, as received. */
export function initializeResult(seen: Seen): Record<string, unknown> | undefined {
  for (const m of seen.messages) {
    if ('result' in m && m.result && 'protocolVersion' in m.result) return m.result;
  }
  return undefined;
}

function capabilities(f: ClientFeatures): Record<string, unknown> {
  const caps: Record<string, unknown> = {};
  if (f.sampling) caps.sampling = {};
  if (f.elicitation) caps.elicitation = f.elicitation === 'url' ? { form: {}, url: {} } : {};
  if (f.roots) caps.roots = { listChanged: true };
  return caps;
}

/** The client's answers to server→client requests, for the capabilities it declares; each records the request. */
function handlers(features: ClientFeatures, seen: Seen) {
  const all = [
    features.sampling && {
      method: 'sampling/createMessage' as const,
      schema: CreateMessageRequestSchema,
      answer: (params: CreateMessageRequest['params']) => (seen.sampling.push(params), samplingAnswer(params)),
    },
    features.elicitation && {
      method: 'elicitation/create' as const,
      schema: ElicitRequestSchema,
      answer: (params: ElicitRequest['params']) => (seen.elicitation.push(params), elicitationAnswer(params)),
    },
    features.roots && {
      method: 'roots/list' as const,
      schema: ListRootsRequestSchema,
      answer: () => (seen.rootsRequests++, { roots: features.roots }),
    },
  ];
  return all.filter((h) => !!h);
}

export interface V1Connection {
  client: Client;
  transport: Transport;
  seen: Seen;
  close(): Promise<void>;
}

/**
 * A fetch that records each POST exchange as it was on the wire, and reports when the client's standalone GET
 * stream (server→client messages outside a request) opens.
 */
function watchedFetch(seen: Seen): { fetch: typeof fetch; streamOpen: Promise<void> } {
  let opened!: () => void;
  const streamOpen = new Promise<void>((resolve) => (opened = resolve));
  const watched: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const method = init?.method ?? 'GET';
    if (method === 'GET') opened();
    if (method === 'POST') {
      const request = typeof init?.body === 'string' ? init.body : '';
      const exchange = (body: string) => ({ status: res.status, request, body });
      seen.wire.push(res.clone().text().then(exchange, () => exchange('')));
    }
    return res;
  };
  return { fetch: watched, streamOpen };
}

function v1Transport(endpoint: Endpoint, seen: Seen): { transport: Transport; ready: Promise<void> } {
  switch (endpoint.kind) {
    case 'stdio':
      // The full environment, so that a server started directly and one started by the gateway see the same one
      // (the SDK otherwise passes only a handful of variables).
      return {
        transport: new StdioClientTransport({
          command: endpoint.command,
          args: endpoint.args,
          env: process.env as Record<string, string>,
          stderr: 'pipe',
        }),
        ready: Promise.resolve(),
      };
    case 'http': {
      const { fetch, streamOpen } = watchedFetch(seen);
      const requestInit = endpoint.headers && { headers: endpoint.headers };
      return { transport: new StreamableHTTPClientTransport(new URL(endpoint.url), { fetch, ...(requestInit && { requestInit }) }), ready: streamOpen };
    }
    case 'sse':
      return { transport: new SSEClientTransport(new URL(endpoint.url)), ready: Promise.resolve() };
  }
}

/**
 * Closes a client; a stdio server gets SIGTERM first, because the SDK waits 2 s for a child that does not exit on
 * stdin EOF (server-everything does not) and that would make every test slow.
 */
async function closeClient(client: { close(): Promise<void> }, transport: unknown): Promise<void> {
  const pid = (transport as { pid?: number | null }).pid;
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  await closeQuietly(client);
}

/** Waits for `ready`, but not longer than `ms` (a server without a GET stream answers 405 and never opens one). */
const settle = (ready: Promise<void>, ms = 2000) => Promise.race([ready, new Promise<void>((r) => setTimeout(r, ms).unref())]);

/** A v1 `@modelcontextprotocol/sdk` Client connected to `endpoint` with the given features. */
export async function connectV1(endpoint: Endpoint, features: ClientFeatures = {}): Promise<V1Connection> {
  const { seen, record } = newSeen();
  const client = new Client({ name: 'policylayer-test', version: '1.0.0' }, { capabilities: capabilities(features) });
  for (const h of handlers(features, seen)) client.setRequestHandler(h.schema, async (req) => h.answer(req.params as never) as never);
  const { transport, ready } = v1Transport(endpoint, seen);
  tap(transport, seen, record);
  await client.connect(transport);
  // Resolve only once notifications outside a request (logging, list_changed, updates) can arrive: the server drops
  // those that it sends before the client's GET stream is open.
  await settle(ready);
  return { client, transport, seen, close: () => closeClient(client, transport) };
}

export interface V2Connection {
  client: ClientV2;
  seen: Seen;
  close(): Promise<void>;
}

/** A v2 `@modelcontextprotocol/client` Client; `negotiation: 'auto'` probes for the 2026-07-28 revision first. */
export async function connectV2(
  endpoint: Endpoint,
  options: { negotiation?: 'legacy' | 'auto'; features?: ClientFeatures } = {},
): Promise<V2Connection> {
  const { seen, record } = newSeen();
  const features = options.features ?? {};
  const client = new ClientV2(
    { name: 'policylayer-test-v2', version: '1.0.0' },
    { capabilities: capabilities(features), versionNegotiation: { mode: options.negotiation ?? 'legacy' } },
  );
  for (const h of handlers(features, seen)) client.setRequestHandler(h.method, async (req) => h.answer(req.params as never) as never);
  let transport;
  let ready = Promise.resolve();
  if (endpoint.kind === 'stdio') {
    transport = new StdioClientTransportV2({
      command: endpoint.command,
      args: endpoint.args,
      env: process.env as Record<string, string>,
      stderr: 'pipe',
    });
  } else if (endpoint.kind === 'http') {
    const watched = watchedFetch(seen);
    const requestInit = endpoint.headers && { headers: endpoint.headers };
    transport = new StreamableHTTPClientTransportV2(new URL(endpoint.url), { fetch: watched.fetch, ...(requestInit && { requestInit }) });
    // A 2026-07-28 session has no GET stream: only wait for it on a legacy one.
    ready = watched.streamOpen;
  } else {
    throw new Error('the v2 client has no legacy SSE transport in these tests');
  }
  tap(transport, seen, record);
  await client.connect(transport);
  if (client.getProtocolEra() !== 'modern') await settle(ready);
  return { client, seen, close: () => closeClient(client, transport) };
}

async function closeQuietly(client: { close(): Promise<void> }): Promise<void> {
  try {
    await client.close();
  } catch {
    // Closing a session whose server is already gone is not what these tests are about.
  }
}

const HEX_ID = /\b[0-9a-f]{32}\b/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;
const CLOCK_TIME = /\b\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?/g;

function normaliseText(s: string): string {
  return s.replace(UUID, '<uuid>').replace(HEX_ID, '<hex-id>').replace(ISO_TIME, '<iso-time>').replace(CLOCK_TIME, '<clock>');
}

/**
 * A copy of an MCP result with the genuinely variable parts replaced, so that a result obtained directly and one
 * obtained through the gateway compare equal when the gateway is transparent. Replaced: UUIDs (HTTP session ids in
 * server-everything's texts, elicitation ids it generates per call), 32-hex task ids, ISO timestamps (task
 * createdAt / lastUpdatedAt) and wall-clock times (`toLocaleTimeString()` in server-everything's dynamic resources,
 * file times of server-filesystem), also inside base64 `blob`s that encode text (server-everything's blob
 * resources embed their creation time). Nothing else is touched.
 */
export function normalise<T>(value: T): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      if (key === 'blob') {
        const text = Buffer.from(v, 'base64').toString('utf8');
        const normalised = normaliseText(text);
        return normalised === text ? v : `<base64 of: ${normalised}>`;
      }
      return normaliseText(v);
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(value) as T;
}

/** Runs `fn` and returns its result, or the error it threw as `{ error: { code, message, data } }`, for comparison. */
export async function outcome<T>(fn: () => Promise<T>): Promise<T | { error: { code?: unknown; message: string; data?: unknown } }> {
  try {
    return await fn();
  } catch (e) {
    const err = e as { code?: unknown; message?: string; data?: unknown };
    return { error: { code: err.code, message: String(err.message), data: err.data } };
  }
}

/** server-everything over Streamable HTTP and `policylayer start` serving it; see startEverythingRig. */
export interface EverythingRig {
  gatewayUrl: string;
  everythingUrl: string;
  stop(): Promise<void>;
}

/** One way to reach server-everything: directly, and through the gateway. */
export interface Route {
  name: string;
  direct(rig: EverythingRig): Endpoint;
  gateway(rig: EverythingRig): Endpoint;
}

/**
 * server-everything over Streamable HTTP plus `policylayer start` (allow-all) serving it twice: `everything` as a
 * command (stdio) server and `remote` as a url server.
 */
export async function startEverythingRig(): Promise<EverythingRig> {
  const everything = await startEverythingHttp();
  try {
    const gateway = await startGateway(
      writeGatewayConfig({ everything: { command: [process.execPath, EVERYTHING, 'stdio'] }, remote: { url: everything.url } }),
    );
    return {
      gatewayUrl: gateway.url.replace(/\/$/, ''),
      everythingUrl: everything.url,
      stop: async () => {
        await Promise.all([gateway.stop(), everything.stop()]);
      },
    };
  } catch (e) {
    await everything.stop();
    throw e;
  }
}

/**
 * Each gateway path to server-everything paired with its direct twin: wrap and start in front of the stdio server,
 * start in front of the HTTP server, and (with `legacySse`) the legacy SSE client through start to both.
 */
export function everythingRoutes(options: { legacySse?: boolean } = {}): Route[] {
  const direct = () => stdio(process.execPath, [EVERYTHING, 'stdio']);
  const routes: Route[] = [
    { name: 'stdio server through wrap', direct, gateway: () => wrapped(['--', process.execPath, EVERYTHING, 'stdio']) },
    { name: 'stdio server through start', direct, gateway: (rig) => http(`${rig.gatewayUrl}/mcp/everything`) },
    { name: 'HTTP server through start', direct: (rig) => http(rig.everythingUrl), gateway: (rig) => http(`${rig.gatewayUrl}/mcp/remote`) },
  ];
  if (options.legacySse) {
    routes.push(
      { name: 'stdio server through start, legacy SSE client', direct, gateway: (rig) => sse(`${rig.gatewayUrl}/mcp/everything/sse`) },
      {
        name: 'HTTP server through start, legacy SSE client',
        direct: (rig) => http(rig.everythingUrl),
        gateway: (rig) => sse(`${rig.gatewayUrl}/mcp/remote/sse`),
      },
    );
  }
  return routes;
}
