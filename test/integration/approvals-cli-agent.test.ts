// `policylayer approvals … --agent NAME`: a person looks at (and decides) the held calls of one agent only, beside
// the --server / --tool filters; the other agents' calls are neither shown nor decided.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createSqliteApprovalStore } from '../../src/approvals/sqlite.js';
import type { ApprovalRecord, ApprovalStore } from '../../src/approvals/store.js';
import { localIdentity } from '../../src/agents/authenticate.js';
import { approvalsCli, listed } from '../helpers/approvals.js';
import { runCli } from '../helpers/cli-run.js';
import { tempDir } from '../helpers/gateway.js';
import { writePolicy } from '../helpers/limits-rig.js';
import { approvalRecord } from '../unit/approval-store-contract.js';

/** A policy file whose gateway.state is a fresh SQLite store holding, per agent and tool, pending approvals. */
async function seeded(t: { after(fn: () => unknown): void }): Promise<{ file: string; store: ApprovalStore; made: ApprovalRecord[] }> {
  const dir = tempDir('pl-approvals-agent-');
  const state = path.join(dir, 'state.db');
  const file = writePolicy({ gateway: { state: `sqlite:${state}` }, servers: {} }, dir);
  const store = createSqliteApprovalStore(state);
  t.after(() => store.close());
  const now = Date.now();
  const made: ApprovalRecord[] = [];
  let i = 0;
  for (const agent of ['support-bot', 'billing', 'support-bot-2']) {
    for (const tool of ['pay', 'refund']) {
      const r = approvalRecord({ binding: `b${i}`, agent, tool, created: now + i, expires: now + 600_000 });
      i++;
      await store.create(r);
      made.push(r);
    }
  }
  return { file, store, made };
}

const ids = (rs: { id?: unknown }[]): string[] => rs.map((r) => String(r.id)).sort();

describe('approvals CLI: --agent', { concurrency: false }, () => {
  test('`list --agent` shows that agent’s calls only (exact name), in the table and in JSON; with --tool both apply', async (t) => {
    const { file, made } = await seeded(t);
    const of = (agent: string, tool?: string) => made.filter((r) => r.agent === agent && (tool === undefined || r.tool === tool));

    assert.deepEqual(ids(await listed(file, '--agent', 'support-bot')), ids(of('support-bot')), 'not support-bot-2, whose name starts the same');
    assert.deepEqual(ids(await listed(file, '--agent', 'billing', '--tool', 'refund')), ids(of('billing', 'refund')));
    assert.deepEqual(await listed(file, '--agent', 'nobody'), []);

    const table = await approvalsCli('list', '-c', file, '--agent', 'billing');
    assert.equal(table.code, 0, table.stderr);
    for (const r of made) assert.equal(table.stdout.includes(r.id), r.agent === 'billing', `${r.id} (${r.agent}) shown only if billing's`);
    assert.equal((await approvalsCli('list', '-c', file, '--agent', 'nobody')).stdout, 'No approvals waiting.\n');
  });

  test('`list --agent --limit N` counts what is left out among that agent’s calls only', async (t) => {
    const { file, made } = await seeded(t);
    const r = await approvalsCli('list', '-c', file, '--agent', 'support-bot', '--limit', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout) as ApprovalRecord[];
    assert.equal(shown.length, 1);
    assert.equal(shown[0]!.id, made.filter((x) => x.agent === 'support-bot').at(-1)!.id, 'the newest of that agent');
    assert.match(r.stderr, /1 more not shown \(the newest 1 of 2\); use --limit 2/);
  });

  test('`approve|deny --pending --agent` decides that agent’s pending calls and leaves the others pending', async (t) => {
    const { file, store, made } = await seeded(t);
    const approved = await approvalsCli('approve', '--pending', '--agent', 'billing', '--tool', 'pay', '-c', file, '--by', 'alice');
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /approved 1 pending approval/);
    const denied = await approvalsCli('deny', '--pending', '--agent', 'support-bot', '-c', file, '--reason', 'not today');
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /denied 2 pending approval/);

    for (const r of made) {
      const now = await store.get(r.id);
      const expected = r.agent === 'billing' && r.tool === 'pay' ? 'approved' : r.agent === 'support-bot' ? 'denied' : 'pending';
      assert.equal(now?.status, expected, `${r.agent} ${r.tool}`);
    }
    assert.equal((await store.get(made.find((r) => r.agent === 'billing' && r.tool === 'pay')!.id))?.decided?.by, 'alice');
  });

  test('a filter beside one approval id is refused: it is unclear which was meant, and nothing is decided', async (t) => {
    const { file, store, made } = await seeded(t);
    const r = await approvalsCli('approve', made[0]!.id, '--agent', 'billing', '-c', file);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--agent select calls for --pending/);
    assert.equal((await store.get(made[0]!.id))?.status, 'pending');
  });

  test('decisions from the CLI are admin records in the audit log: who (the OS user), what, which approval', async (t) => {
    const { file, made } = await seeded(t);
    const [first, second] = made;
    assert.equal((await approvalsCli('approve', first!.id, '-c', file)).code, 0);
    assert.equal((await approvalsCli('deny', second!.id, '-c', file, '--reason', 'not today')).code, 0);
    const q = await runCli('audit', 'query', '-c', file, '--kind', 'admin', '--format', 'json');
    assert.equal(q.code, 0, q.stderr);
    const rows = JSON.parse(q.stdout) as { agent: string; tool: string; approval_id?: string; reason?: string }[];
    const me = localIdentity().agent;
    const of = (id: string) => rows.find((r) => r.approval_id === id);
    assert.deepEqual([of(first!.id)?.tool, of(first!.id)?.agent], ['approvals.approve', me], q.stdout);
    assert.deepEqual([of(second!.id)?.tool, of(second!.id)?.agent, of(second!.id)?.reason], ['approvals.deny', me, 'not today'], q.stdout);
  });
});
