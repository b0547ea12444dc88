// The policy in force: loaded once, swapped atomically on a valid edit, kept on an invalid one.
import type { Logger } from '../log.js';
import { compilePolicy, type Policy, type ServerPolicy } from '../policy/compile.js';
import { loadConfig } from './load.js';
import type { Config } from './schema.js';
import { watchConfig } from './watch.js';
import { redactUrl } from '../redact-url.js';
import { catalogUrl, openCatalog } from '../catalog/open.js';
import { createMemoryCatalog } from '../catalog/store.js';
import { createCatalogView, type CatalogView } from '../catalog/view.js';

/** Told about every change of the policy file: applied, or refused (the previous policy stays). */
export interface ReloadListener {
  reloaded(config: Config): void;
  rejected(message: string): void;
}

export interface LivePolicy {
  current(): Policy;
  /** The file the policy comes from (undefined for a fixed policy). */
  readonly file?: string;
  onReload(listener: ReloadListener): void;
  /** The risk catalogue the policy reads (by_risk, on_tool_change) and the gateway keeps up to date. */
  readonly catalog: CatalogView;
  close(): void;
}

export async function openLivePolicy(file: string, log: Logger): Promise<LivePolicy> {
  const config = await loadConfig(file);
  const url = catalogUrl(config.gateway);
  const store = await openCatalog(url, config.gateway.state_prefix);
  const catalog = createCatalogView(store, { onError: (err) => log.error(`risk catalogue (${redactUrl(url)}): ${err.message}`) });
  await catalog.ready;
  let policy = compilePolicy(config, catalog);
  const listeners: ReloadListener[] = [];
  const watcher = watchConfig(file, {
    onReload(config) {
      if (catalogUrl(config.gateway) !== url) log.warn(`gateway.catalog changed; the catalogue stays ${url} until a restart`);
      policy = compilePolicy(config, catalog);
      log.info(`policy reloaded from ${file}`);
      for (const l of listeners) l.reloaded(config);
    },
    onError(err) {
      log.error(`policy file ${file} was changed but is invalid; the previous policy stays in force:\n${err.message}`);
      for (const l of listeners) l.rejected(err.message);
    },
  });
  const close = (): void => {
    watcher.close();
    // Writes already decided are finished before the store closes.
    void catalog.close().then(() => store.close()).catch((err: Error) => log.error(`risk catalogue: ${err.message}`));
  };
  return { current: () => policy, file, onReload: (l) => void listeners.push(l), catalog, close };
}

/** A fixed policy (no file): used by `wrap -- cmd` without -c. */
export function staticPolicy(config: Config): LivePolicy {
  const catalog = createCatalogView(createMemoryCatalog());
  const policy = compilePolicy(config, catalog);
  return { current: () => policy, onReload() {}, catalog, close: () => void catalog.close() };
}

/** The current rules for one server; a server removed by a reload gets a policy that refuses everything. */
export function serverPolicy(live: LivePolicy, name: string): ServerPolicy {
  return live.current().server(name) ?? removedServerPolicy(name);
}

function removedServerPolicy(server: string): ServerPolicy {
  const decision = { action: 'deny' as const, rule: `servers.${server}`, reason: `server "${server}" is no longer in the policy file` };
  return { server, decide: () => decision, isVisible: () => true };
}
