// Opens the upstream side for a configured server: a child over stdio, or a remote Streamable HTTP / SSE server.
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { createHttpUpstream } from './http-upstream.js';
import type { MessagePipe } from './message-pipe.js';
import { spawnChild } from './stdio-child.js';

/** Servers answer with large resources and images; their frames get more room than client frames. */
export function upstreamFrameLimit(clientLimit: number): number {
  return Math.max(clientLimit, 64 * 1024 * 1024);
}

export function openUpstream(server: ServerConfig, maxBytes: number, log: Logger): MessagePipe & { kill?: (s: NodeJS.Signals) => void } {
  if (server.command) {
    const spec = { command: server.command, stderr: 'inherit' as const, ...(server.env && { env: server.env }), ...(server.cwd && { cwd: server.cwd }) };
    const pipe = spawnChild(spec, maxBytes);
    pipe.onframeerror = (problem) => log.error(problem);
    return pipe;
  }
  if (server.url) return createHttpUpstream({ url: server.url, headers: server.headers ?? {}, mode: server.transport, log });
  throw new Error('server has neither command nor url');
}
