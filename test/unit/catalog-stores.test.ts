// The memory and SQLite catalogue stores against the contract suite; SQLite connections on one file (the gateway and
// the CLI) see each other's writes, and their version() moves when the other one writes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { catalogUrl, openCatalog } from '../../src/catalog/open.js';
import { createSqliteCatalog } from '../../src/catalog/sqlite-store.js';
import { createMemoryCatalog, type CatalogStore } from '../../src/catalog/store.js';
import { GatewayError } from '../../src/errors.js';
import { catalogEntry, runCatalogStoreContract } from './catalog-store-contract.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pl-catalog-stores-'));
let files = 0;
const freshFile = () => path.join(dir, `catalog-${files++}.db`);
after(() => rmSync(dir, { recursive: true, force: true }));

runCatalogStoreContract('memory', () => createMemoryCatalog());
runCatalogStoreContract('sqlite', () => createSqliteCatalog(freshFile()));

describe('SQLite catalogue: two connections on one file', () => {
  /** Two connections on a new file, closed after the test. */
  function pair(t: TestContext): [CatalogStore, CatalogStore] {
    const file = freshFile();
    const a = createSqliteCatalog(file);
    const b = createSqliteCatalog(file);
    t.after(() => {
      a.close();
      b.close();
    });
    return [a, b];
  }

  it('each sees what the other wrote and removed', (t) => {
    const [gateway, cli] = pair(t);
    const entry = catalogEntry('github', 'delete_repo', { status: 'changed', acceptedDefinition: { name: 'delete_repo' } });
    gateway.put([entry, catalogEntry('github', 'get_issue')]);
    assert.deepEqual(cli.get('github', 'delete_repo'), entry);
    assert.deepEqual(cli.servers(), ['github']);

    const accepted = catalogEntry('github', 'delete_repo');
    cli.put([accepted]);
    assert.deepEqual(gateway.get('github', 'delete_repo'), accepted);

    assert.equal(cli.remove('github', 'get_issue'), 1);
    assert.deepEqual(gateway.tools('github').map((e) => e.tool), ['delete_repo']);
    assert.equal(gateway.remove('github'), 1);
    assert.deepEqual(cli.servers(), []);
  });

  it("version() moves for a connection when the other one writes, and only then", (t) => {
    const [gateway, cli] = pair(t);
    let seen = gateway.version();
    const moved = (what: string) => {
      const now = gateway.version();
      assert.notEqual(now, seen, `the gateway's version moved after the CLI's ${what}`);
      seen = now;
    };
    cli.put([catalogEntry('s', 'x')]);
    moved('put');
    assert.equal(gateway.version(), seen, 'reading the version again without writes gives the same number');
    cli.put([catalogEntry('s', 'x', { status: 'changed' })]);
    moved('second put');
    cli.remove('s', 'x');
    moved('removal');
    // Reads by the other connection are not writes.
    cli.get('s', 'x');
    cli.tools('s');
    assert.equal(gateway.version(), seen);
    // Own writes move the own version as well (the view reloads after them too, harmlessly).
    const before = cli.version();
    cli.put([catalogEntry('s', 'y')]);
    assert.notEqual(cli.version(), before);
  });

  it('a failed put by one connection leaves nothing for the other to see', (t) => {
    const [gateway, cli] = pair(t);
    const version = gateway.version();
    const poisoned = catalogEntry('s', 'bad');
    (poisoned as unknown as { confidence: bigint }).confidence = 1n;
    assert.throws(() => cli.put([catalogEntry('s', 'good'), poisoned]), /BigInt/);
    assert.deepEqual(gateway.tools('s'), []);
    assert.equal(gateway.version(), version);
  });

  it('creates the directory of the file', (t) => {
    const file = path.join(dir, 'nested', 'deeper', 'state.db');
    const store = createSqliteCatalog(file);
    t.after(() => store.close());
    store.put([catalogEntry('s', 'x')]);
    assert.equal(store.tools('s').length, 1);
  });
});

describe('openCatalog and catalogUrl', () => {
  it('opens memory: and sqlite:PATH, and refuses anything else with a hint', async (t) => {
    const memory = await openCatalog('memory:');
    const file = freshFile();
    const sqlite = await openCatalog(`sqlite:${file}`);
    t.after(() => {
      memory.close();
      sqlite.close();
    });
    sqlite.put([catalogEntry('s', 'x')]);
    const again = createSqliteCatalog(file);
    t.after(() => again.close());
    assert.equal(again.get('s', 'x')?.tool, 'x', 'sqlite:PATH is that file');
    assert.deepEqual(memory.servers(), []);
    await assert.rejects(openCatalog('redis://localhost:6379'), (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.match(err.message, /gateway\.catalog "redis:\/\/localhost:6379".*sqlite:PATH/);
      return true;
    });
  });

  it('defaults to the state file when state is SQLite or memory, else to the default file', () => {
    assert.equal(catalogUrl({ state: 'sqlite:/var/pl/state.db' }), 'sqlite:/var/pl/state.db');
    assert.equal(catalogUrl({ state: 'memory:' }), 'memory:');
    assert.equal(catalogUrl({ state: 'redis://r:6379' }), 'sqlite:.policylayer/state.db');
    assert.equal(catalogUrl({ state: 'redis://r:6379', catalog: 'sqlite:/x.db' }), 'sqlite:/x.db');
    assert.equal(catalogUrl({ state: 'sqlite:/a.db', catalog: 'memory:' }), 'memory:');
  });
});
