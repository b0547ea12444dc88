// Opens the catalogue named by `gateway.catalog`, by default the SQLite file of `gateway.state`.
import type { GatewayConfig } from '../config/schema.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { pathOfFileUrl } from '../state/open.js';
import { createMemoryCatalog, type CatalogStore } from './store.js';

const FORMS = 'sqlite:PATH (e.g. sqlite:.policylayer/state.db), redis://host:port[/db] or memory:';
const DEFAULT_FILE = 'sqlite:.policylayer/state.db';

/** The catalogue URL in force: `gateway.catalog`, else the state store's (SQLite, Redis or memory). */
export function catalogUrl(gateway: Pick<GatewayConfig, 'catalog' | 'state'>): string {
  return gateway.catalog ?? gateway.state ?? DEFAULT_FILE;
}

/** `prefix`: the state prefix, under which Redis keys are written. */
export async function openCatalog(url: string, prefix = 'policylayer:'): Promise<CatalogStore> {
  if (url === 'memory:') return createMemoryCatalog();
  if (/^rediss?:\/\/./.test(url)) {
    const { createRedisCatalog } = await import('./redis-store.js');
    return createRedisCatalog(url, prefix);
  }
  if (url.startsWith('sqlite:')) {
    const { createSqliteCatalog } = await import('./sqlite-store.js');
    return createSqliteCatalog(pathOfFileUrl(url, 'sqlite:', 'gateway.catalog', FORMS));
  }
  throw new GatewayError(ErrorCode.CONFIG_INVALID, `gateway.catalog "${url}" is not a catalogue URL; use ${FORMS}`);
}
