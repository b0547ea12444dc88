// Hot reload: watches the policy file and hands over each valid new version; an invalid one is reported, not applied.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { ErrorCode } from '../errors.js';
import type { Env } from './env.js';
import { ConfigError, parseConfig } from './load.js';
import type { Config } from './schema.js';

export interface WatchHandlers {
  onReload(config: Config): void;
  onError(err: ConfigError | Error): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before the file is read; editors write in several steps. */
  debounceMs?: number;
}

const DEFAULT_DEBOUNCE_MS = 100;

function readSyncOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Watches the directory rather than the file: editors and config managers often write a new file and rename it
 * over the old one, which ends a watch on the file itself. Events for other names are ignored, except `..`-prefixed
 * ones (Kubernetes swaps a `..data` symlink when a mounted ConfigMap changes). Reads are compared with the last
 * text seen, so touches, repeated events and rewrites with the same bytes cause no reload.
 */
export function watchConfig(
  file: string,
  handlers: WatchHandlers,
  env: Env = process.env,
  options: WatchOptions = {},
): { close(): void } {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const path = resolve(file);
  const name = basename(path);
  let lastText = readSyncOrUndefined(path);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let generation = 0;
  // A rename-replace can leave the name missing for a moment: only a second miss in a row is reported.
  let missingChecks = 0;
  let missingReported = false;

  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void check().catch((err: unknown) => {
        if (!closed) handlers.onError(err instanceof Error ? err : new Error(String(err)));
      });
    }, debounceMs);
  };

  const check = async () => {
    const mine = ++generation;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (closed || mine !== generation) return;
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && ++missingChecks < 2) {
        schedule();
        return;
      }
      if (missingReported) return;
      missingReported = true;
      handlers.onError(
        new ConfigError(
          ErrorCode.CONFIG_NOT_FOUND,
          [{ file, line: 0, column: 0, path: '', message: `config file disappeared: ${(err as Error).message}`, hint: 'the previous policy stays in force until the file is back' }],
          { cause: err },
        ),
      );
      return;
    }
    // A newer check started while this one was reading: that one has the fresher text.
    if (closed || mine !== generation) return;
    missingChecks = 0;
    missingReported = false;
    if (text === lastText) return;
    lastText = text;
    let config: Config;
    try {
      config = parseConfig(text, file, env);
    } catch (err) {
      handlers.onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    handlers.onReload(config);
  };

  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: true }, (_event, changed) => {
      const n = changed?.toString();
      if (!n || n === name || n.startsWith('..')) schedule();
    });
  } catch (err) {
    throw new ConfigError(
      ErrorCode.CONFIG_NOT_FOUND,
      [{ file, line: 0, column: 0, path: '', message: `cannot watch the config directory: ${(err as Error).message}` }],
      { cause: err },
    );
  }
  watcher.on('error', (err) => {
    if (!closed) handlers.onError(err);
  });

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
