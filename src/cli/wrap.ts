// `policylayer wrap`: MCP over this process's stdio, the server as a child process or a remote URL.
import path from 'node:path';
import { openLivePolicy, staticPolicy, type LivePolicy } from '../config/live.js';
import { ConfigSchema, type ServerConfig } from '../config/schema.js';
import { createLogger } from '../log.js';
import { randomUUID } from 'node:crypto';
import { createGatekeeper } from '../approvals/gatekeeper.js';
import { openGatewayAudit } from '../audit/gateway-audit.js';
import { createToolWatch } from '../catalog/watch.js';
import { createLimiter } from '../proxy/admission.js';
import { createRelay } from '../proxy/relay.js';
import { stdioSelf } from '../transport/stdio-self.js';
import { openUpstream, upstreamFrameLimit } from '../transport/upstream.js';
import { parseHeaders, parseVerbArgs, usageError } from './args.js';
import { localIdentity } from '../agents/authenticate.js';

const USAGE = `usage:
  policylayer wrap -c policylayer.yaml --server NAME
  policylayer wrap [-c policylayer.yaml [--server NAME]] -- <command> [args...]
  policylayer wrap [-c policylayer.yaml [--server NAME]] --upstream URL [--header "Name: value"]...

Speaks MCP on stdin/stdout; put this command where your MCP client config names the server.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'wrap',
    args,
    {
      config: { type: 'string', short: 'c' },
      server: { type: 'string', short: 's' },
      upstream: { type: 'string' },
      header: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const log = createLogger();
  const command = positionals;
  if (command.length > 0 && values.upstream) throw usageError('give either -- <command> or --upstream URL, not both', USAGE);

  const { name, policy, server } = await resolveServer(values.config, values.server, log);
  const upstreamConfig: ServerConfig =
    command.length > 0
      ? { ...server, command, url: undefined }
      : values.upstream
        ? { ...server, command: undefined, url: values.upstream, headers: { ...server.headers, ...parseHeaders(values.header, USAGE) } }
        : server;
  if (!upstreamConfig.command && !upstreamConfig.url) throw usageError('nothing to wrap', USAGE);

  const maxBytes = policy.current().config.gateway.max_message_bytes;
  // Before stdin is read: a message arriving while the audit log opens would find no relay to take it.
  const audit = await openGatewayAudit(policy, log, undefined, { stdoutIsMcp: true });
  const client = stdioSelf(maxBytes);
  const upstream = openUpstream(stripUndefined(upstreamConfig), upstreamFrameLimit(maxBytes), log);

  // One wrap process is one MCP session; limits of scope `session` count per process.
  const limiter = createLimiter(() => policy.current().config, log);
  const gatekeeper = createGatekeeper({ state: () => ({ url: policy.current().config.gateway.state, prefix: policy.current().config.gateway.state_prefix }), log, redaction: () => policy.current().config.audit });
  const exit = new Promise<number>((resolve) => {
    let stoppedBy: NodeJS.Signals | undefined;
    const relay = createRelay({
      server: name,
      policy: () => policy.current().server(name) ?? fail(name),
      client,
      upstream,
      limiter,
      observers: { audit, tools: createToolWatch(policy.catalog, audit?.record) },
      gatekeeper,
      // wrap runs for the person who started it: their user name is the agent (audit, approvals, scope: agent).
      identity: { session: randomUUID(), agent: localIdentity().agent },
      onRefreshError: (err) => log.warn(`server "${name}" said its tools changed, but listing them failed: ${err.message}`),
      onEnd(side, reason) {
        policy.close();
        if (stoppedBy) return resolve(stoppedBy === 'SIGINT' ? 130 : 143);
        if (side === 'upstream') {
          log.error(`server "${name}" ended the session: ${reason ?? 'connection closed'}`);
          return resolve(1);
        }
        // Client EOF: the child was asked to close (stdin EOF, then SIGTERM); exit once it has.
        resolve(0);
      },
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        stoppedBy = signal;
        // The child gets the same signal and a moment to exit on its own; the relay ends when it does.
        const finish = () => {
          relay.close();
          resolve(signal === 'SIGINT' ? 130 : 143);
        };
        if ('kill' in upstream && typeof upstream.kill === 'function') {
          upstream.kill(signal);
          setTimeout(finish, 5000).unref();
        } else finish();
      });
    }
  });
  const code = await exit;
  await limiter.close();
  await gatekeeper.close();
  await audit?.close();
  return code;
}

function fail(name: string): never {
  throw new Error(`server "${name}" is no longer in the policy file`);
}

/** Finds the server's rules: named in the file, the file's only server, or allow-all when there is no file. */
async function resolveServer(
  file: string | undefined,
  requested: string | undefined,
  log: ReturnType<typeof createLogger>,
): Promise<{ name: string; policy: LivePolicy; server: ServerConfig }> {
  if (!file) {
    if (requested) throw usageError('--server needs -c FILE', USAGE);
    const name = 'wrapped';
    const config = ConfigSchema.parse({ version: 1, servers: { [name]: { command: ['-'] } } });
    return { name, policy: staticPolicy(config), server: config.servers[name]! };
  }
  const policy = await openLivePolicy(path.resolve(file), log);
  const servers = policy.current().config.servers;
  const names = Object.keys(servers);
  const name = requested ?? (names.length === 1 ? names[0] : undefined);
  if (!name) {
    policy.close();
    throw usageError(`${file} has ${names.length} servers (${names.join(', ') || 'none'}); choose one with --server NAME`, USAGE);
  }
  const server = servers[name];
  if (!server) {
    policy.close();
    throw usageError(`${file} has no server "${name}"; it has: ${names.join(', ') || 'none'}`, USAGE);
  }
  return { name, policy, server };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
