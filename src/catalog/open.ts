// Opens the catalogue named by `gateway.catalog`, by default the SQLite file of `gateway.state`.
import type { GatewayConfig } from '../config/schema.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { pathOfFileUrl } from '../state/open.js';
import { createMemoryCatalog, type CatalogStore } from './store.js';

const FORMS = 'sqlite:PATH (e.g. sqlite:.policylayer/state.db) or memory:';
const DEFAULT_FILE = 'sqlite:.policylayer/state.db';

/** The catalogue URL in force: `gateway.catalog`, else the state file when state is SQLite, else the default file. */
export function catalogUrl(gateway: Pick<GatewayConfig, 'catalog' | 'state'>): string {
  if (gateway.catalog) return gateway.catalog;
  if (gateway.state.startsWith('sqlite:') || gateway.state === 'memory:') return gateway.state;
  return DEFAULT_FILE;
}

export async function openCatalog(url: string): Promise<CatalogStore> {
  if (url === 'memory:') return createMemoryCatalog();
  if (url.startsWith('sqlite:')) {
    const { createSqliteCatalog } = await import('./sqlite-store.js');
    return createSqliteCatalog(pathOfFileUrl(url, 'sqlite:', 'gateway.catalog', FORMS));
  }
  throw new GatewayError(ErrorCode.CONFIG_INVALID, `gateway.catalog "${url}" is not a catalogue URL; use ${FORMS}`);
}
