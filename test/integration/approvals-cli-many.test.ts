// `policylayer approvals` with more records than any one page of the store: `list` never drops records silently
// (it shows them or says how many more there are and how to see them), and `approve|deny --pending` decides every
// pending approval whatever stands before it (stale pending records of a gateway that died, other tools).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createSqliteApprovalStore } from '../../src/approvals/sqlite.js';
import type { ApprovalRecord, ApprovalStore } from '../../src/approvals/store.js';
import { approvalsCli } from '../helpers/approvals.js';
import { tempDir } from '../helpers/gateway.js';
import { writePolicy } from '../helpers/limits-rig.js';
import { approvalRecord } from '../unit/approval-store-contract.js';

/** A policy file whose gateway.state is a fresh SQLite store, and that store (seeded by the test). */
function seededStore(): { file: string; store: ApprovalStore } {
  const dir = tempDir('pl-approvals-many-');
  const state = path.join(dir, 'state.db');
  return { file: writePolicy({ gateway: { state: `sqlite:${state}` }, servers: {} }, dir), store: createSqliteApprovalStore(state) };
}

async function seed(store: ApprovalStore, n: number, over: (i: number) => Partial<ApprovalRecord>): Promise<ApprovalRecord[]> {
  const made: ApprovalRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = approvalRecord({ binding: `b${i}`, ...over(i) });
    await store.create(r);
    made.push(r);
  }
  return made;
}

/** How many of `ids` the output shows, and how many more it says there are. */
function accounted(stdout: string, stderr: string, ids: string[]): { shown: number; more: number } {
  const more = /(\d+) more/.exec(stderr);
  if (more) assert.match(stderr, /--limit \d+/, 'it says how to see them');
  return { shown: ids.filter((id) => stdout.includes(id)).length, more: more ? Number(more[1]) : 0 };
}

describe('approvals CLI with many records', { concurrency: false }, () => {
  test('`approvals list` accounts for every record: shown, or counted with the --limit that shows them', async (t) => {
    const { file, store } = seededStore();
    t.after(() => store.close());
    const now = Date.now();
    const ids = (await seed(store, 250, (i) => ({ created: now + i, expires: now + 600_000 + i }))).map((r) => r.id);

    const table = await approvalsCli('list', '-c', file);
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(accounted(table.stdout, table.stderr, ids), { shown: 200, more: 50 });
    assert.ok(table.stdout.includes(ids[249]!) && !table.stdout.includes(ids[0]!), 'the newest are shown');

    const json = await approvalsCli('list', '-c', file, '--json');
    assert.equal(json.code, 0, json.stderr);
    const listedIds = (JSON.parse(json.stdout) as ApprovalRecord[]).map((r) => r.id);
    assert.deepEqual(accounted(JSON.stringify(listedIds), json.stderr, ids), { shown: 200, more: 50 }, 'stdout stays JSON; the note goes to stderr');

    const all = await approvalsCli('list', '-c', file, '--limit', '250');
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(accounted(all.stdout, all.stderr, ids), { shown: 250, more: 0 });
    assert.equal(all.stderr, '');
    assert.match((await approvalsCli('list', '-c', file, '--limit', 'lots')).stderr, /--limit/);
  });

  test('`approve --pending --tool T` and `deny --pending` decide every pending approval behind thousands of others', async (t) => {
    const { file, store } = seededStore();
    t.after(() => store.close());
    const base = Date.now() - 3_600_000;
    const open = base + 7_200_000;
    // Oldest: the calls to approve; then other tools' calls; newest: records a dead gateway left pending long ago.
    const pay = await seed(store, 150, (i) => ({ tool: 'pay', created: base + i, expires: open }));
    const other = await seed(store, 1100, (i) => ({ tool: 'refund', created: base + 1000 + i, expires: open }));
    await seed(store, 1100, (i) => ({ tool: 'pay', created: base + 5000 + i, expires: base + 6000 + i }));

    const approved = await approvalsCli('approve', '--pending', '--tool', 'pay', '-c', file, '--by', 'alice');
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /approved 150 pending approval/);
    const denied = await approvalsCli('deny', '--pending', '-c', file, '--reason', 'cleanup');
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /denied 1100 pending approval/);

    const statuses = async (rs: ApprovalRecord[]) => new Set(await Promise.all(rs.map(async (r) => (await store.get(r.id))?.status)));
    assert.deepEqual(await statuses(pay), new Set(['approved']));
    assert.deepEqual(await statuses(other), new Set(['denied']));
  });
});
