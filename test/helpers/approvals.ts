// The approver's side in integration tests: `policylayer approvals …` as a real process, waiting for the record of
// a held call, and a webhook receiver.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, type CliRun } from './cli-run.js';
import type { Message } from './raw-mcp.js';

/** `policylayer approvals ARGS…`. */
export const approvalsCli = (...args: string[]): Promise<CliRun> => runCli('approvals', ...args);

/** `approvals list --json` of the policy file (`--all` etc. in `flags`). */
export async function listed(file: string, ...flags: string[]): Promise<Message[]> {
  const r = await approvalsCli('list', '-c', file, '--json', ...flags);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Message[];
}

/**
 * The pending approval of `tool` once the gateway has asked for it; `args` (compared as JSON) or a predicate picks
 * one of several.
 */
export async function pendingFor(file: string, tool: string, which?: Record<string, unknown> | ((r: Message) => boolean)): Promise<Message> {
  const matches = (r: Message): boolean =>
    r.tool === tool && (which === undefined || (typeof which === 'function' ? which(r) : JSON.stringify(r.args) === JSON.stringify(which)));
  const end = Date.now() + 10_000;
  for (;;) {
    const found = (await listed(file)).find(matches);
    if (found) return found;
    if (Date.now() > end) assert.fail(`no pending approval for ${tool}${which && typeof which !== 'function' ? ` with ${JSON.stringify(which)}` : ''}`);
    await sleep(100);
  }
}

/** The approval id an async-mode answer ([POLICY DENIED] … approval ID is pending …) names. */
export function pendingId(answerText: string): string {
  const id = /approval (\S+) is pending/.exec(answerText)?.[1];
  assert.ok(id, `not a pending-approval answer: ${answerText}`);
  return id;
}

export interface Delivery {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on a free port: records every delivery, answers the queued statuses first, then 200. */
export async function receiver(t: TestContext, statuses: number[] = []): Promise<{ url: string; deliveries: Delivery[]; statuses: number[] }> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      deliveries.push({ at: Date.now(), headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/approvals`, deliveries, statuses };
}
