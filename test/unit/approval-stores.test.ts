// The memory and SQLite ApprovalStores against the contract suite (two SQLite stores on one file are replicas).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createMemoryApprovalStore } from '../../src/approvals/memory.js';
import { createSqliteApprovalStore } from '../../src/approvals/sqlite.js';
import type { ApprovalStore } from '../../src/approvals/store.js';
import { tempDir } from '../helpers/gateway.js';
import { runApprovalStoreContract } from './approval-store-contract.js';

// memory: approvals live in one process, so the "replicas" of a test are its one instance.
const memoryStores = new Map<string, ApprovalStore>();
runApprovalStoreContract('memory', async (space) => {
  let store = memoryStores.get(space);
  if (!store) memoryStores.set(space, (store = createMemoryApprovalStore()));
  return store;
});

const dir = tempDir('pl-approval-stores-');
runApprovalStoreContract('sqlite', async (space) => createSqliteApprovalStore(path.join(dir, `${space}.db`)), {
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  // The database and its write-ahead log, as bytes: a value written once stays in one of them.
  stored: async (space) =>
    ['', '-wal']
      .map((suffix) => path.join(dir, `${space}.db${suffix}`))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file, 'latin1'))
      .join('\n'),
});
