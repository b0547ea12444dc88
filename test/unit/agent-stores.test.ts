// The memory and SQLite AgentStores against the contract suite (two SQLite stores on one file are replicas).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createMemoryAgentStore } from '../../src/agents/memory.js';
import { createSqliteAgentStore } from '../../src/agents/sqlite.js';
import type { AgentStore } from '../../src/agents/store.js';
import { tempDir } from '../helpers/gateway.js';
import { runAgentStoreContract } from './agent-store-contract.js';

// memory: tokens live in one process, so the "replicas" of a test are its one instance.
const memoryStores = new Map<string, AgentStore>();
runAgentStoreContract('memory', async (space) => {
  let store = memoryStores.get(space);
  if (!store) memoryStores.set(space, (store = createMemoryAgentStore()));
  return store;
});

const dir = tempDir('pl-agent-stores-');
runAgentStoreContract('sqlite', async (space) => createSqliteAgentStore(path.join(dir, `${space}.db`)), async () => rmSync(dir, { recursive: true, force: true }));
