// Hot reload of the policy file: valid edits are applied, invalid ones reported, editors' rename-replace handled.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ConfigError } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { watchConfig } from '../../src/config/watch.js';

type Event = { kind: 'reload'; config: Config } | { kind: 'error'; err: Error };

const policy = (action: string) => `version: 1\nservers:\n  demo:\n    command: [node, s.js]\n    default: ${action}\n`;

/** A watched policy file in a fresh directory, with the watcher's callbacks as a queue of events. */
async function setup(t: TestContext, initial = policy('allow')) {
  const dir = await mkdtemp(join(tmpdir(), 'pl-watch-'));
  const file = join(dir, 'policylayer.yaml');
  await writeFile(file, initial);
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  const push = (e: Event) => {
    events.push(e);
    wake?.();
  };
  const watcher = watchConfig(file, {
    onReload: (config) => push({ kind: 'reload', config }),
    onError: (err) => push({ kind: 'error', err }),
  }, {});
  t.after(async () => {
    watcher.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The next event, or a failure after `ms`. */
  async function next(ms = 3000): Promise<Event> {
    const deadline = Date.now() + ms;
    while (events.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no watch event within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return events.shift()!;
  }

  /** Asserts that nothing is reported for `ms` (longer than the 100 ms debounce plus a read). */
  async function quiet(ms = 400): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    assert.deepEqual(events, []);
  }
  return { dir, file, next, quiet, watcher };
}

test('a valid edit is handed over as the new config', async (t) => {
  const w = await setup(t);
  await writeFile(w.file, policy('deny'));
  const e = await w.next();
  assert.equal(e.kind, 'reload');
  assert.equal(e.kind === 'reload' && e.config.servers['demo']!.default, 'deny');
  await w.quiet();
});

test('an invalid edit is reported with its location and not applied; fixing it reloads', async (t) => {
  const w = await setup(t);
  await writeFile(w.file, policy('dney'));
  const e = await w.next();
  assert.equal(e.kind, 'error');
  assert.ok(e.kind === 'error' && e.err instanceof ConfigError);
  assert.equal(e.err.problems[0]!.line, 5);
  assert.match(e.err.message, /policylayer\.yaml:5:14: `dney` is not a valid value/);
  await w.quiet();

  await writeFile(w.file, policy('hide'));
  const fixed = await w.next();
  assert.equal(fixed.kind === 'reload' && fixed.config.servers['demo']!.default, 'hide');
});

test('rename-replace saves (write a temp file, rename it over) are seen, again and again', async (t) => {
  const w = await setup(t);
  for (const action of ['deny', 'hide', 'allow']) {
    const tmp = join(w.dir, `.policylayer.yaml.${action}.tmp`);
    await writeFile(tmp, policy(action));
    await rename(tmp, w.file);
    const e = await w.next();
    assert.equal(e.kind, 'reload', `after renaming in ${action}`);
    assert.equal(e.kind === 'reload' && e.config.servers['demo']!.default, action);
  }
});

test('a delete-then-write save is one reload, not an error', async (t) => {
  const w = await setup(t);
  await unlink(w.file);
  await writeFile(w.file, policy('deny'));
  const e = await w.next();
  assert.equal(e.kind, 'reload');
  await w.quiet();
});

test('touching or rewriting the same bytes reloads nothing; a burst of writes reloads once', async (t) => {
  const w = await setup(t);
  await writeFile(w.file, policy('allow'));
  const now = new Date();
  await utimes(w.file, now, now);
  await w.quiet();

  await writeFile(w.file, policy('deny'));
  await writeFile(w.file, policy('hide'));
  await writeFile(w.file, policy('deny'));
  const e = await w.next();
  assert.equal(e.kind === 'reload' && e.config.servers['demo']!.default, 'deny');
  await w.quiet();
});

test('close() stops reporting', async (t) => {
  const w = await setup(t);
  w.watcher.close();
  await writeFile(w.file, policy('deny'));
  await w.quiet();
});

test('a file that stays deleted is reported once; the old policy stays', async (t) => {
  const w = await setup(t);
  await unlink(w.file);
  const e = await w.next();
  assert.ok(e.kind === 'error' && e.err instanceof ConfigError);
  assert.equal(e.err.code, 'CONFIG_NOT_FOUND');
  await w.quiet();
  await writeFile(w.file, policy('allow'));
  // Same text as before the deletion: the policy in force is already this one.
  await w.quiet();
});
