// Opens the AgentStore beside the state store of `gateway.state`: the same file or server, so that every replica and
// the CLI see the same tokens. Drivers load only when configured.
import { redactUrl } from '../redact-url.js';
import { sqlitePath } from '../state/open.js';
import { createMemoryAgentStore } from './memory.js';
import type { AgentStore } from './store.js';

/** `prefix`: gateway.state_prefix, the namespace of every key a shared server store writes. */
export async function openAgentStore(stateUrl: string, prefix: string): Promise<AgentStore> {
  if (stateUrl === 'memory:') return createMemoryAgentStore();
  if (stateUrl.startsWith('sqlite:')) {
    const { createSqliteAgentStore } = await import('./sqlite.js');
    return createSqliteAgentStore(sqlitePath(stateUrl));
  }
  if (/^rediss?:\/\/./.test(stateUrl)) {
    const { createRedisAgentStore } = await import('./redis.js');
    return createRedisAgentStore(stateUrl, prefix);
  }
  throw new Error(`gateway.state ${redactUrl(stateUrl)} is not a store agent tokens can use; use memory:, sqlite:PATH or redis://host:port`);
}
