// The memory and SQLite ApprovalStores against the contract suite (two SQLite stores on one file are replicas).
import { rmSync } from 'node:fs';
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
runApprovalStoreContract(
  'sqlite',
  async (space) => createSqliteApprovalStore(path.join(dir, `${space}.db`)),
  async () => rmSync(dir, { recursive: true, force: true }),
);
