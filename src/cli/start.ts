// `policylayer start`: one HTTP listener for every configured server; prints where to point a client.
import path from 'node:path';
import { openLivePolicy } from '../config/live.js';
import { createLogger } from '../log.js';
import { startHttpGateway } from '../proxy/http-gateway.js';
import { parseVerbArgs } from './args.js';

const USAGE = `usage: policylayer start [-c policylayer.yaml]

Serves each server of the policy file at http://<listen>/mcp/<server> (Streamable HTTP)
and http://<listen>/mcp/<server>/sse (legacy SSE). Edits to the file apply without a restart.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('start', args, { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const log = createLogger();
  const file = path.resolve(values.config ?? 'policylayer.yaml');
  const live = await openLivePolicy(file, log);
  const gateway = await startHttpGateway(live, log);
  // A throw that escaped every request handler (an event callback, a timer) would otherwise end the process and,
  // with it, every session and held approval: it is logged with its stack, and the listener keeps serving.
  process.on('uncaughtException', (err) => log.error(`unexpected error (the gateway keeps serving): ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (reason) => log.error(`unexpected rejection (the gateway keeps serving): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
  const servers = Object.keys(live.current().config.servers);
  log.info(`listening on ${gateway.url}`);
  process.stderr.write(connectHelp(gateway.url, servers));

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info(`${signal}: shutting down`);
      live.close();
      void gateway.close().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function connectHelp(url: string, servers: string[]): string {
  if (servers.length === 0) return '\nNo servers configured yet: add one under `servers:` in the policy file.\n';
  const lines = servers.map((s) => `  ${s.padEnd(16)} ${url}/mcp/${s}`);
  const snippet = JSON.stringify({ mcpServers: Object.fromEntries(servers.map((s) => [s, { type: 'http', url: `${url}/mcp/${s}` }])) }, null, 2);
  return `\nPoint your MCP client at (Streamable HTTP; legacy SSE at <url>/sse):\n${lines.join('\n')}\n\nClaude Desktop / Cursor config (mcpServers):\n${snippet}\n\n`;
}
