// Connects to one MCP server as a client (stdio child or remote URL), lists every tool over all pages, disconnects.
// Used by `scan` and `servers add`: nothing here goes through the policy.
import type { ServerConfig } from '../config/schema.js';
import { ErrorCode, GatewayError, RpcCode } from '../errors.js';
import type { Logger } from '../log.js';
import { createHttpUpstream } from '../transport/http-upstream.js';
import type { MessagePipe } from '../transport/message-pipe.js';
import { spawnChild } from '../transport/stdio-child.js';

export interface ListToolsOptions {
  /** Per request; default 30 s (servers started with npx may first download themselves). */
  timeoutMs?: number;
  log: Logger;
}

export interface ListedServer {
  tools: unknown[];
  /** What the server said about itself in its initialize result. */
  serverInfo?: { name?: string; version?: string };
  protocolVersion?: string;
}

const PROTOCOL_VERSION = '2025-06-18';
const MAX_PAGES = 1000;
const STDERR_KEPT = 4096;

type ServerTarget = Pick<ServerConfig, 'command' | 'env' | 'cwd' | 'url' | 'headers' | 'transport'>;

interface Rpc {
  request(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  notify(method: string): void;
  close(): void;
}

export async function listServerTools(server: ServerTarget, opts: ListToolsOptions): Promise<ListedServer> {
  const rpc = connect(server, opts);
  try {
    const init = await rpc.request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'policylayer-scan', version: '0.1.0' },
    });
    rpc.notify('notifications/initialized');
    const tools: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await rpc.request('tools/list', cursor === undefined ? {} : { cursor });
      if (!Array.isArray(result['tools'])) throw new GatewayError(ErrorCode.UPSTREAM_FAILED, 'the server answered tools/list without a `tools` array');
      tools.push(...result['tools']);
      cursor = typeof result['nextCursor'] === 'string' ? result['nextCursor'] : undefined;
      if (cursor === undefined) break;
    }
    const info = init['serverInfo'] as ListedServer['serverInfo'];
    return { tools, ...(info && { serverInfo: info }), ...(typeof init['protocolVersion'] === 'string' && { protocolVersion: init['protocolVersion'] }) };
  } finally {
    rpc.close();
  }
}

function connect(server: ServerTarget, opts: ListToolsOptions): Rpc {
  let stderr = '';
  let pipe: MessagePipe;
  if (server.command) {
    const child = spawnChild({ command: server.command, stderr: 'pipe', ...(server.env && { env: server.env }), ...(server.cwd && { cwd: server.cwd }) }, 64 * 1024 * 1024);
    // Kept for the error message: a server that fails to start says why on stderr.
    child.child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    pipe = child;
  } else if (server.url) {
    pipe = createHttpUpstream({ url: server.url, headers: server.headers ?? {}, mode: server.transport ?? 'auto', log: opts.log });
  } else {
    throw new GatewayError(ErrorCode.USAGE, 'a server needs a command or a url');
  }
  const where = server.command ? `\`${server.command.join(' ')}\`` : server.url!;
  const pending = new Map<number, { resolve(r: Record<string, unknown>): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let ended: string | undefined;
  const fail = (why: string): GatewayError => {
    const said = stderr.trim() ? `\nits stderr ended with:\n${stderr.trim().split('\n').slice(-15).join('\n')}` : '';
    return new GatewayError(ErrorCode.UPSTREAM_FAILED, `could not list the tools of ${where}: ${why}${said}`);
  };

  pipe.onmessage = (raw) => {
    let msg: { id?: unknown; method?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if (typeof msg.method === 'string') {
      // A request from the server (roots, sampling …): this client offers none of them.
      if (msg.id !== undefined) pipe.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: RpcCode.METHOD_NOT_FOUND, message: 'policylayer scan offers no client features' } }));
      return;
    }
    const waiter = typeof msg.id === 'number' ? pending.get(msg.id) : undefined;
    if (!waiter) return;
    pending.delete(msg.id as number);
    clearTimeout(waiter.timer);
    if (msg.error) waiter.reject(fail(`the server answered with error ${String(msg.error.code)}: ${String(msg.error.message)}`));
    else if (typeof msg.result === 'object' && msg.result !== null) waiter.resolve(msg.result as Record<string, unknown>);
    else waiter.reject(fail('the server answered without a result'));
  };
  pipe.onclose = (reason) => {
    ended = reason ?? 'connection closed';
    // Give stderr a moment to arrive before saying why the server went away.
    setTimeout(() => {
      for (const [id, waiter] of pending) {
        pending.delete(id);
        clearTimeout(waiter.timer);
        waiter.reject(fail(ended!));
      }
    }, 50);
  };

  const timeoutMs = opts.timeoutMs ?? 30_000;
  return {
    request(method, params) {
      if (ended) return Promise.reject(fail(ended));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(fail(`no answer to ${method} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        pipe.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params && { params }) }));
      });
    },
    notify(method) {
      pipe.send(JSON.stringify({ jsonrpc: '2.0', method }));
    },
    close() {
      pipe.onclose = () => {};
      for (const waiter of pending.values()) clearTimeout(waiter.timer);
      pipe.close();
    },
  };
}
