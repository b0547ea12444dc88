// `policylayer limits`: the real CLI reading the counters a gateway left in its SQLite state file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { createSqliteStore } from '../../src/state/sqlite.js';
import { CLI, tempDir, writeConfig } from '../helpers/gateway.js';

const dir = tempDir('pl-limits-');
after(() => rmSync(dir, { recursive: true, force: true }));

const limits = (...args: string[]) => spawnSync(process.execPath, [CLI, 'limits', ...args], { encoding: 'utf8', cwd: dir });
const config = (state: string) => writeConfig(`version: 1\ngateway:\n  state: "${state}"\n  state_prefix: "t1:"\nservers: {}\n`, dir);

test('limits prints the counters of the configured SQLite store as a table and as JSON', async () => {
  const db = path.join(dir, 'state/limits.db');
  const store = createSqliteStore(db, { prefix: 't1:' });
  const rate = 't1:rl:session:4f1c-9a:servers.demo.tools.echo.rate_limit[0]';
  const cap = 't1:rl:server:demo:servers.demo.tools.pay.quota';
  for (let i = 0; i < 3; i++) assert.ok((await store.reserve([{ key: rate, cost: 1, max: 10, windowMs: 60_000 }])).ok);
  for (const amount of [0.1, 0.2]) assert.ok((await store.reserve([{ key: cap, cost: amount, max: 500, windowMs: 86_400_000 }])).ok);
  // Another prefix in the same file (another deployment) is not listed.
  assert.ok((await store.reserve([{ key: 'other:rl:global:*:servers.x.tools.y.rate_limit', cost: 1, max: 1, windowMs: 60_000 }])).ok);
  await store.close();
  const file = config(`sqlite:${db}`);

  const shown = limits('-c', file);
  assert.equal(shown.status, 0, shown.stderr);
  const lines = shown.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^SCOPE\s+WHO\s+LIMIT\s+USED\s+CALLS\s+NEXT EXPIRY$/);
  assert.equal(lines.length, 3, shown.stdout);
  assert.match(shown.stdout, /server\s+demo\s+servers\.demo\.tools\.pay\.quota\s+0\.3\s+2\s+in 24\.0 h/);
  assert.match(shown.stdout, /session\s+4f1c-9a\s+servers\.demo\.tools\.echo\.rate_limit\[0\]\s+3\s+3\s+in (59\.\d|60\.0) s/);

  const json = limits('-c', file, '--json');
  assert.equal(json.status, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as { key: string; scope: string; id: string; limit: string; used: number; calls: number }[];
  assert.deepEqual(
    rows.map((r) => [r.key, r.scope, r.id, r.limit, r.calls]),
    [
      [cap, 'server', 'demo', 'servers.demo.tools.pay.quota', 2],
      [rate, 'session', '4f1c-9a', 'servers.demo.tools.echo.rate_limit[0]', 3],
    ],
  );
});

test('limits explains a memory: store and a state file that does not exist yet, without creating it', () => {
  const memory = limits('-c', config('memory:'));
  assert.equal(memory.status, 1);
  assert.match(memory.stderr, /memory:.*inside the running gateway process/);

  const missing = path.join(dir, 'never/state.db');
  const none = limits('-c', config(`sqlite:${missing}`));
  assert.equal(none.status, 0, none.stderr);
  assert.match(none.stdout, /No counters: .*never\/state\.db does not exist yet/);
  assert.equal(existsSync(missing), false);
});
