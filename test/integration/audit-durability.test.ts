// What a crash costs the audit log: a gateway under load is killed with SIGKILL. With `durability: strict` no call
// the server received is missing from the log; with the default (batched) only calls from the last flush interval
// before the kill may be missing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openAuditSink } from '../../src/audit/open.js';
import { AuditSettingsSchema } from '../../src/config/audit-schema.js';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { RECORDER } from '../helpers/raw-mcp.js';
import { openSession, post, receivedArgs, writePolicy } from '../helpers/limits-rig.js';

const FLUSH_MS = 200;
const CALLERS = 16;
const LOAD_MS = 1500;

interface Outcome {
  /** Calls the server received: their `n` and the time the client sent them. */
  received: { n: number; t: number }[];
  recorded: Set<number>;
  killedAt: number;
}

async function loadAndKill(t: TestContext, durability: 'strict' | 'batched'): Promise<Outcome> {
  const dir = tempDir('pl-audit-kill-');
  const record = path.join(dir, 'record.jsonl');
  const db = path.join(dir, 'audit.db');
  const file = writePolicy(
    {
      gateway: { state: 'memory:', audit: `sqlite:${db}` },
      servers: { s: { command: [process.execPath, RECORDER, 'stdio', '--record', record], tools: { echo: 'allow' } } },
      ...{ audit: { durability, flush_ms: FLUSH_MS } },
    } as Parameters<typeof writePolicy>[0],
    dir,
  );
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  const url = `${gw.url}/mcp/s`;
  const session = await openSession(url);

  let n = 0;
  let stop = false;
  const caller = async (): Promise<void> => {
    while (!stop) {
      const id = ++n;
      await post(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { n: id, t: Date.now() } } }, session).catch(() => undefined);
    }
  };
  const callers = Array.from({ length: CALLERS }, caller);
  await sleep(LOAD_MS);
  const killedAt = Date.now();
  gw.child.kill('SIGKILL');
  stop = true;
  await Promise.all(callers);
  await new Promise((resolve) => (gw.child.exitCode !== null || gw.child.signalCode !== null ? resolve(null) : gw.child.once('exit', resolve)));

  const received = receivedArgs(record, 'echo').map((a) => ({ n: Number(a.n), t: Number(a.t) }));
  const sink = (await openAuditSink(`sqlite:${db}`, AuditSettingsSchema.parse({})))!;
  try {
    const calls = await sink.query({ kind: 'call', limit: 1_000_000 });
    const recorded = new Set(calls.map((c) => Number((c.args as { n?: unknown } | undefined)?.n)));
    return { received, recorded, killedAt };
  } finally {
    await sink.close();
  }
}

describe('audit durability under SIGKILL', { concurrency: false }, () => {
  test('strict: every call the server received is in the log', async (t) => {
    const { received, recorded } = await loadAndKill(t, 'strict');
    assert.ok(received.length > 50, `the load reached the server (${received.length} calls)`);
    const missing = received.filter((r) => !recorded.has(r.n));
    t.diagnostic(`strict: ${received.length} calls received by the server, ${recorded.size} recorded, ${missing.length} missing`);
    assert.deepEqual(missing, [], 'calls the server received without an audit record');
  });

  test(`batched (default): only calls of the last flush interval (${FLUSH_MS} ms) before the kill may be missing`, async (t) => {
    const { received, recorded, killedAt } = await loadAndKill(t, 'batched');
    assert.ok(received.length > 50, `the load reached the server (${received.length} calls)`);
    const missing = received.filter((r) => !recorded.has(r.n));
    const oldest = missing.length > 0 ? killedAt - Math.min(...missing.map((m) => m.t)) : 0;
    t.diagnostic(`batched: ${received.length} calls received, ${recorded.size} recorded, ${missing.length} missing, the oldest sent ${oldest} ms before the kill`);
    // The documented bound: flush_ms plus the time of one write; a generous margin for a loaded CI machine.
    const bound = FLUSH_MS + 800;
    assert.ok(oldest <= bound, `a call sent ${oldest} ms before the kill is missing (bound ${bound} ms)`);
  });
});
