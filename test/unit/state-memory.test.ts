// The memory StateStore against the contract suite, plus its own bound on memory use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryStore } from '../../src/state/memory.js';
import { runStateStoreContract } from './state-contract.js';

runStateStoreContract('memory', async (opts) => createMemoryStore(opts));

test('memory store: keys leave memory once their admissions expire or are rolled back, idle ones by the sweep', async (t) => {
  const store = createMemoryStore({ prefix: 'p:' }, { sweepIntervalMs: 50 });
  t.after(() => store.close());
  const tokens = [];
  for (let i = 0; i < 1000; i++) {
    const r = await store.reserve([{ key: `p:rl:session:${i}:x`, cost: 1, max: 5, windowMs: 100 }]);
    assert.ok(r.ok);
    tokens.push(r.token);
  }
  assert.equal(store.keyCount(), 1000);
  for (const token of tokens.slice(0, 500)) await store.rollback(token);
  assert.equal(store.keyCount(), 500, 'a key whose last admission is rolled back is deleted');
  // Nobody checks these keys again: only the periodic sweep can drop them.
  await sleep(250);
  assert.equal(store.keyCount(), 0);
});
