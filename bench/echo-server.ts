// The benchmark's upstream: a cheap MCP server with one `echo` tool, over stdio or Streamable HTTP (the "direct" baseline).
//
//   node dist/bench/echo-server.js stdio
//   node dist/bench/echo-server.js http [--port N] [--json]   prints "echo-server: listening on http://127.0.0.1:N/mcp" on stderr
//
// Built the way typical SDK servers are (v1 `McpServer`, one `StreamableHTTPServerTransport` per session, stateful
// sessions, the SDK's default SSE-framed responses), so that "direct" is what a user's own server would cost.
// `--json` switches the HTTP responses to plain `application/json` for comparison.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function createEchoServer(): McpServer {
  const server = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns its input text unchanged', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

async function serveStdio(): Promise<void> {
  await createEchoServer().connect(new StdioServerTransport());
}

async function serveHttp(port: number, json: boolean): Promise<void> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const t = sessions.get(sid);
      if (!t) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
      return t.handleRequest(req, res);
    }
    if (req.method !== 'POST') return void res.writeHead(400).end();
    // A new session: the transport reads the initialize body itself.
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: json,
      onsessioninitialized: (id) => void sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createEchoServer().connect(transport);
    await transport.handleRequest(req, res);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      process.stderr.write(`echo-server: ${err.stack ?? err.message}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  http.keepAliveTimeout = 65_000;
  http.listen(port, '127.0.0.1', () => {
    const actual = (http.address() as AddressInfo).port;
    process.stderr.write(`echo-server: listening on http://127.0.0.1:${actual}/mcp\n`);
  });
  process.once('SIGTERM', () => {
    http.closeAllConnections();
    http.close(() => process.exit(0));
  });
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'stdio') {
  await serveStdio();
} else if (mode === 'http') {
  const i = rest.indexOf('--port');
  await serveHttp(i >= 0 ? Number(rest[i + 1]) : 0, rest.includes('--json'));
} else {
  process.stderr.write('usage: echo-server.js stdio | http [--port N] [--json]\n');
  process.exitCode = 2;
}
