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
  return pathOfFileUrl(url, 'sqlite:', 'gateway.state', FORMS);
}

/** The file of `SCHEME:PATH` (`SCHEME:///abs` is the absolute path); `setting` and `forms` word the error. */
export function pathOfFileUrl(url: string, scheme: string, setting: string, forms: string): string {
  const rest = url.slice(scheme.length);
  if (rest.startsWith('///')) return rest.slice(2);
  if (rest === '' || rest.startsWith('//')) {
    throw new GatewayError(ErrorCode.CONFIG_INVALID, `${setting} "${url}" names no file; use ${forms}`);
  }
  return rest;
}
