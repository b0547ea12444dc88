// The policy in force: loaded once, swapped atomically on a valid edit, kept on an invalid one.
import type { Logger } from '../log.js';
import { compilePolicy, type Policy, type ServerPolicy } from '../policy/compile.js';
import { loadConfig } from './load.js';
import type { Config } from './schema.js';
import { watchConfig } from './watch.js';

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
  close(): void;
}

export async function openLivePolicy(file: string, log: Logger): Promise<LivePolicy> {
  let policy = compilePolicy(await loadConfig(file));
  const listeners: ReloadListener[] = [];
  const watcher = watchConfig(file, {
    onReload(config) {
      policy = compilePolicy(config);
      log.info(`policy reloaded from ${file}`);
      for (const l of listeners) l.reloaded(config);
    },
    onError(err) {
      log.error(`policy file ${file} was changed but is invalid; the previous policy stays in force:\n${err.message}`);
      for (const l of listeners) l.rejected(err.message);
    },
  });
  return { current: () => policy, file, onReload: (l) => void listeners.push(l), close: () => watcher.close() };
}

/** A fixed policy (no file): used by `wrap -- cmd` without -c. */
export function staticPolicy(config: Config): LivePolicy {
  const policy = compilePolicy(config);
  return { current: () => policy, onReload() {}, close() {} };
}

/** The current rules for one server; a server removed by a reload gets a policy that refuses everything. */
export function serverPolicy(live: LivePolicy, name: string): ServerPolicy {
  return live.current().server(name) ?? removedServerPolicy(name);
}

function removedServerPolicy(server: string): ServerPolicy {
  const decision = { action: 'deny' as const, rule: `servers.${server}`, reason: `server "${server}" is no longer in the policy file` };
  return { server, decide: () => decision, isVisible: () => true };
}
