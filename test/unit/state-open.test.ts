// openStateStore: the gateway.state URL forms, a clear error for anything else, heavy drivers loaded only when named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openStateStore, sqlitePath } from '../../src/state/open.js';
import { ROOT, tempDir } from '../helpers/gateway.js';

test('memory: opens the in-process store', async () => {
  const store = await openStateStore('memory:', { prefix: 'x:' });
  assert.equal(store.kind, 'memory');
  await store.close();
});

test('sqlite:PATH is relative to the working directory; sqlite:///abs is absolute', () => {
  assert.equal(sqlitePath('sqlite:.policylayer/state.db'), '.policylayer/state.db');
  assert.equal(sqlitePath('sqlite:/var/lib/pl.db'), '/var/lib/pl.db');
  assert.equal(sqlitePath('sqlite:///var/lib/pl.db'), '/var/lib/pl.db');
  assert.throws(() => sqlitePath('sqlite:'), /gateway.state "sqlite:" names no file/);
});

test('anything else is refused, naming what was given and the accepted forms', async () => {
  for (const url of ['postgres://db/x', 'memory', 'redis:/x', '']) {
    await assert.rejects(openStateStore(url, { prefix: 'x:' }), (err: Error) => {
      assert.ok(err.message.includes(`"${url}"`), err.message);
      assert.match(err.message, /memory:, sqlite:PATH .* redis:\/\/host:port/);
      return true;
    });
  }
});

test('the memory store does not load better-sqlite3; a sqlite: store does', () => {
  const dir = tempDir('pl-open-');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const open = pathToFileURL(path.join(ROOT, 'dist/src/state/open.js')).href;
  const probe = (url: string) => {
    const code = `
      import { createRequire } from 'node:module';
      const { openStateStore } = await import(${JSON.stringify(open)});
      const store = await openStateStore(${JSON.stringify(url)}, { prefix: 'x:' });
      await store.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('better-sqlite3'));
      process.stdout.write(String(loaded));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(probe('memory:'), 'false');
  assert.equal(probe('sqlite:state.db'), 'true');
});
