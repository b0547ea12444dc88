// The SQLite StateStore: the contract suite on one shared file, several processes on one file, restarts, bounded size.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { createSqliteStore } from '../../src/state/sqlite.js';
import { ROOT, tempDir } from '../helpers/gateway.js';
import { runStateStoreContract } from '../unit/state-contract.js';

const dir = tempDir('pl-sqlite-');
after(() => rmSync(dir, { recursive: true, force: true }));
// One file for the whole suite: the tests' stores are like replicas sharing it; a subdirectory the store creates.
runStateStoreContract('sqlite', async (opts) => createSqliteStore(path.join(dir, 'nested/state.db'), opts));

const MODULE = pathToFileURL(path.join(ROOT, 'dist/src/state/sqlite.js')).href;

/**
 * A child process that opens `file` and, from `at` (epoch ms) on, tries `n` calls against a limit of 2000 calls
 * (giving every 5th admission back, as a failed upstream call would) and then `n` payments of 1..9 against a
 * spend cap of 5000. Prints what it kept.
 */
function hammer(file: string, n: number, at: number): Promise<{ kept: number; spent: number }> {
  const code = `
    const { createSqliteStore } = await import(${JSON.stringify(MODULE)});
    const store = createSqliteStore(${JSON.stringify(file)}, { prefix: 'mp:' });
    await new Promise((r) => setTimeout(r, ${at} - Date.now()));
    let kept = 0, spent = 0;
    for (let i = 0; i < ${n}; i++) {
      const r = await store.reserve([{ key: 'mp:rl:global:*:calls', cost: 1, max: 2000, windowMs: 60000 }]);
      if (!r.ok) continue;
      if (i % 5 === 0) await store.rollback(r.token);
      else kept++;
    }
    for (let i = 0; i < ${n}; i++) {
      const cost = 1 + Math.floor(Math.random() * 9);
      const r = await store.reserve([{ key: 'mp:rl:global:*:spend', cost, max: 5000, windowMs: 60000 }]);
      if (r.ok) spent += cost;
    }
    await store.close();
    process.stdout.write(JSON.stringify({ kept, spent }));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  after(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) =>
    child.once('exit', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${status}: ${err}`)))),
  );
}

test('4 processes hammering one file admit exactly max in total, rollbacks included', async () => {
  const file = path.join(dir, 'shared.db');
  const at = Date.now() + 1500; // all children open the file first, then start together
  const results = await Promise.all([0, 1, 2, 3].map(() => hammer(file, 1500, at)));
  const kept = results.reduce((a, r) => a + r.kept, 0);
  const spent = results.reduce((a, r) => a + r.spent, 0);
  assert.equal(kept, 2000, `calls kept per process: ${results.map((r) => r.kept).join(', ')}`);
  assert.ok(results.filter((r) => r.kept > 0).length >= 2, 'the processes really competed');
  assert.ok(spent <= 5000 && spent > 4990, `spent ${spent} of 5000`);
  const store = createSqliteStore(file, { prefix: 'mp:' });
  try {
    const counters = await store.counters();
    assert.deepEqual(counters.map((c) => [c.key, c.used]), [['mp:rl:global:*:calls', 2000], ['mp:rl:global:*:spend', spent]]);
  } finally {
    await store.close();
  }
});

test('counters survive a restart of the gateway (the file is reopened)', async () => {
  const file = path.join(dir, 'restart.db');
  const check = { key: 'rs:rl:global:*:x', cost: 1, max: 3, windowMs: 60_000 };
  const first = createSqliteStore(file, { prefix: 'rs:' });
  for (let i = 0; i < 3; i++) assert.ok((await first.reserve([check])).ok);
  await first.close();
  const second = createSqliteStore(file, { prefix: 'rs:' });
  try {
    const r = await second.reserve([check]);
    assert.equal(r.ok, false, 'the reopened store remembers the 3 admissions');
    assert.deepEqual((await second.counters()).map((c) => [c.key, c.used, c.calls]), [[check.key, 3, 3]]);
  } finally {
    await second.close();
  }
});

test('expired admissions are deleted from the file, of checked and of idle keys', async () => {
  const file = path.join(dir, 'bounded.db');
  const store = createSqliteStore(file, { prefix: 'b:' }, { sweepIntervalMs: 100 });
  const reader = new Database(file, { readonly: true });
  try {
    for (let i = 0; i < 200; i++) assert.ok((await store.reserve([{ key: `b:rl:session:${i}:x`, cost: 1, max: 5, windowMs: 50 }])).ok);
    for (let i = 0; i < 50; i++) assert.ok((await store.reserve([{ key: 'b:rl:global:*:busy', cost: 1, max: 50, windowMs: 50 }])).ok);
    const rows = () => reader.prepare('SELECT (SELECT count(*) FROM entries) AS entries, (SELECT count(*) FROM sums) AS sums').get();
    assert.deepEqual(rows(), { entries: 250, sums: 201 });
    await sleep(60);
    // Checking a key drops its expired admissions at once.
    assert.ok((await store.reserve([{ key: 'b:rl:global:*:busy', cost: 1, max: 50, windowMs: 50 }])).ok);
    const afterCheck = rows() as { entries: number };
    assert.ok(afterCheck.entries <= 201, `${afterCheck.entries} rows after the check`);
    await sleep(250);
    assert.deepEqual(rows(), { entries: 0, sums: 0 });
  } finally {
    reader.close();
    await store.close();
  }
});
