#!/usr/bin/env node
// Entry point: `policylayer <verb> …` dispatches to one module per verb.
import { GatewayError } from '../errors.js';

const VERBS: Record<string, { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> }> = {
  start: { summary: 'serve every configured server over HTTP at /mcp/<server>', load: () => import('./start.js') },
  wrap: { summary: 'stdio gateway for one server (child process or --upstream URL)', load: () => import('./wrap.js') },
  validate: { summary: 'check a policy file and report every problem with file:line:column', load: () => import('./validate.js') },
  schema: { summary: 'print the policy file JSON Schema (for editor completion)', load: () => import('./schema.js') },
  limits: { summary: 'show the current rate-limit and spend-cap counters per scope key', load: () => import('./limits.js') },
  audit: { summary: 'query, tail and verify the audit log of every decision', load: () => import('./audit.js') },
  approvals: { summary: 'list the calls waiting for approval; approve or deny them', load: () => import('./approvals.js') },
  agents: { summary: 'add agent tokens (granted servers, expiry), list them, revoke them', load: () => import('./agents.js') },
  servers: { summary: 'add, list or remove MCP servers in the policy file (add lists and classifies their tools)', load: () => import('./servers.js') },
  catalog: { summary: 'show the risk catalogue (a server, a tool page); accept changed tool definitions', load: () => import('./catalog.js') },
  scan: { summary: 'list and classify the tools of a server (or every configured one); write a recommended policy', load: () => import('./scan.js') },
  classify: { summary: 'classify MCP tools (JSON Lines on stdin) as Read/Write/Execute/Destructive/Financial', load: () => import('./classify.js') },
};

function usage(): string {
  const lines = Object.entries(VERBS).map(([verb, v]) => `  ${verb.padEnd(10)} ${v.summary}`);
  return `usage: policylayer <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun policylayer <command> --help for its options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage());
    return verb ? 0 : 2;
  }
  const entry = Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined;
  if (!entry) {
    process.stderr.write(`policylayer: unknown command "${verb}"\n\n${usage()}`);
    return 2;
  }
  return (await entry.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof GatewayError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`policylayer: ${message}\n`);
    process.exitCode = err instanceof GatewayError && err.code === 'USAGE' ? 2 : 1;
  },
);
