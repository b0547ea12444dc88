// Opens the StateStore named by `gateway.state`; heavy drivers (SQLite, Redis) are loaded only when configured.
import { ErrorCode, GatewayError } from '../errors.js';
import { createMemoryStore } from './memory.js';
import type { StateStore, StoreOptions } from './store.js';

const FORMS = 'memory:, sqlite:PATH (e.g. sqlite:.policylayer/state.db, relative to the working directory; sqlite:///abs/path.db) or redis://host:port[/db] (rediss:// for TLS)';

export async function openStateStore(url: string, opts: StoreOptions): Promise<StateStore> {
  if (url === 'memory:') return createMemoryStore(opts);
  if (url.startsWith('sqlite:')) {
    const { createSqliteStore } = await import('./sqlite.js');
    return createSqliteStore(sqlitePath(url), opts);
  }
  if (/^rediss?:\/\/./.test(url)) {
    const { createRedisStore } = await import('./redis.js');
    return createRedisStore(url, opts);
  }
  throw new GatewayError(ErrorCode.CONFIG_INVALID, `gateway.state "${url}" is not a state store URL; use ${FORMS}`);
}

/** `sqlite:PATH`; `sqlite:///abs` is read as the absolute path, as URLs write it. */
export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  if (rest.startsWith('///')) return rest.slice(2);
  if (rest === '' || rest.startsWith('//')) {
    throw new GatewayError(ErrorCode.CONFIG_INVALID, `gateway.state "${url}" names no SQLite file; use ${FORMS}`);
  }
  return rest;
}
