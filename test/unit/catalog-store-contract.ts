// The CatalogStore contract, one suite for every driver: call runCatalogStoreContract() from a driver's test file.
//
//   import { runCatalogStoreContract } from './catalog-store-contract.js';
//   runCatalogStoreContract('sqlite', () => createSqliteCatalog(freshFile()), () => rm(dir, { recursive: true }));
//
// `open()` is called once per test and must return a store on a NEW, empty backing store (a fresh file), so tests
// need not keep apart by their data. Behaviour shared by several connections is the driver's own test (memory has
// only one connection).
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import type { CatalogEntry, ToolDefinition } from '../../src/catalog/entry.js';
import type { CatalogStore } from '../../src/catalog/store.js';

export type OpenCatalog = () => CatalogStore;

/** A complete accepted entry; `extra` overrides any field. */
export function catalogEntry(server: string, tool: string, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  const definition: ToolDefinition = {
    name: tool,
    description: `The ${tool} tool.`,
    inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  };
  return {
    server,
    tool,
    definition,
    hash: `h-${server}-${tool}`,
    acceptedHash: `h-${server}-${tool}`,
    status: 'accepted',
    category: 'Read',
    risk: 'Low',
    confidence: 0.7,
    evidence: ['name verb "get"'],
    firstSeen: '2026-01-02T03:04:05.000Z',
    updatedAt: '2026-01-02T03:04:05.000Z',
    ...extra,
  };
}

/** An entry that no driver can write: reading its description throws (JSON and structured cloning both read it). */
function unwritableEntry(server: string, tool: string): CatalogEntry {
  const definition = { name: tool } as ToolDefinition;
  Object.defineProperty(definition, 'description', {
    enumerable: true,
    get() {
      throw new Error('this entry cannot be serialised');
    },
  });
  return catalogEntry(server, tool, { definition });
}

export function runCatalogStoreContract(name: string, open: OpenCatalog, cleanup?: () => Promise<void>): void {
  describe(`CatalogStore contract: ${name}`, { concurrency: false }, () => {
    if (cleanup) after(cleanup);

    function setup(t: TestContext): CatalogStore {
      const store = open();
      t.after(() => store.close());
      return store;
    }

    it('starts empty', (t) => {
      const store = setup(t);
      assert.deepEqual(store.servers(), []);
      assert.deepEqual(store.tools('s'), []);
      assert.equal(store.get('s', 'x'), undefined);
    });

    it('gives back exactly what was put, optional fields included', (t) => {
      const store = setup(t);
      const accepted = catalogEntry('github', 'get_issue');
      const changed = catalogEntry('github', 'delete_repo', {
        definition: {
          name: 'delete_repo',
          title: 'Delete repository',
          description: 'Deletes a repository — für immer 🗑️',
          inputSchema: { type: 'object', properties: { repo: { type: 'string', enum: ['a', 'b'] } }, additionalProperties: false },
          outputSchema: { type: 'object', properties: { ok: { type: 'boolean' } } },
          annotations: { destructiveHint: true, readOnlyHint: false },
        },
        hash: 'h-new',
        acceptedHash: 'h-old',
        acceptedDefinition: { name: 'delete_repo', description: 'Archives a repository.' },
        status: 'changed',
        category: 'Destructive',
        risk: 'Critical',
        confidence: 0.94,
        evidence: ['name verb "delete"', 'annotation destructiveHint: true'],
        changedAt: '2026-02-03T04:05:06.000Z',
      });
      store.put([accepted, changed]);
      assert.deepEqual(store.get('github', 'get_issue'), accepted);
      assert.deepEqual(store.get('github', 'delete_repo'), changed);
      assert.deepEqual(store.tools('github'), [changed, accepted], 'sorted by tool name');
    });

    it('lists servers sorted, only those with tools, and each server its own tools sorted by name', (t) => {
      const store = setup(t);
      store.put([catalogEntry('zeta', 'b'), catalogEntry('alpha', 'z_last'), catalogEntry('alpha', 'a_first')]);
      store.put([catalogEntry('alpha', 'm_middle'), catalogEntry('mid', 'only')]);
      assert.deepEqual(store.servers(), ['alpha', 'mid', 'zeta']);
      assert.deepEqual(store.tools('alpha').map((e) => e.tool), ['a_first', 'm_middle', 'z_last']);
      assert.deepEqual(store.tools('zeta').map((e) => e.tool), ['b']);
      assert.deepEqual(store.tools('unknown'), []);
      assert.ok(store.tools('alpha').every((e) => e.server === 'alpha'));
    });

    it('keeps the same tool name on two servers apart', (t) => {
      const store = setup(t);
      store.put([catalogEntry('a', 'run', { risk: 'Low' }), catalogEntry('b', 'run', { risk: 'High' })]);
      assert.equal(store.get('a', 'run')?.risk, 'Low');
      assert.equal(store.get('b', 'run')?.risk, 'High');
      assert.equal(store.get('c', 'run'), undefined);
    });

    it('put() replaces an entry with the same server and tool, whole', (t) => {
      const store = setup(t);
      store.put([catalogEntry('s', 'x', { status: 'changed', acceptedDefinition: { name: 'x' }, changedAt: '2026-03-01T00:00:00.000Z' })]);
      const replacement = catalogEntry('s', 'x', { risk: 'Critical', category: 'Destructive' });
      store.put([replacement]);
      // The optional fields of the old entry do not survive a replacement that lacks them.
      assert.deepEqual(store.get('s', 'x'), replacement);
      assert.equal(store.tools('s').length, 1);
    });

    it('put() is all or nothing', (t) => {
      const store = setup(t);
      const before = catalogEntry('s', 'kept', { risk: 'Low' });
      store.put([before]);
      const version = store.version();
      assert.throws(() => store.put([catalogEntry('s', 'kept', { risk: 'Critical' }), catalogEntry('s', 'fresh'), unwritableEntry('s', 'bad')]));
      assert.deepEqual(store.get('s', 'kept'), before, 'the replacement before the failing entry was not written');
      assert.equal(store.get('s', 'fresh'), undefined, 'the new entry before the failing entry was not written');
      assert.equal(store.get('s', 'bad'), undefined);
      assert.deepEqual(store.tools('s'), [before]);
      // Nothing changed, so a reader that remembered the version has nothing to read again.
      assert.equal(store.version(), version);
    });

    it('remove(server) removes all of its tools and nothing else, and counts them', (t) => {
      const store = setup(t);
      store.put([catalogEntry('a', 'x'), catalogEntry('a', 'y'), catalogEntry('b', 'x')]);
      assert.equal(store.remove('a'), 2);
      assert.deepEqual(store.servers(), ['b']);
      assert.deepEqual(store.tools('a'), []);
      assert.equal(store.get('a', 'x'), undefined);
      assert.ok(store.get('b', 'x'));
      assert.equal(store.remove('a'), 0, 'nothing left to remove');
      assert.equal(store.remove('never-registered'), 0);
    });

    it('remove(server, tool) removes one tool; the server goes with its last tool', (t) => {
      const store = setup(t);
      store.put([catalogEntry('a', 'x'), catalogEntry('a', 'y'), catalogEntry('b', 'x')]);
      assert.equal(store.remove('a', 'x'), 1);
      assert.equal(store.get('a', 'x'), undefined);
      assert.ok(store.get('b', 'x'), 'the same tool name on another server stays');
      assert.deepEqual(store.tools('a').map((e) => e.tool), ['y']);
      assert.equal(store.remove('a', 'x'), 0);
      assert.equal(store.remove('a', 'missing'), 0);
      assert.equal(store.remove('a', 'y'), 1);
      assert.deepEqual(store.servers(), ['b']);
    });

    it('version() changes on every write, and not on reads or removals of nothing', (t) => {
      const store = setup(t);
      const seen = new Set<number>([store.version()]);
      const write = (what: string, fn: () => void) => {
        fn();
        const v = store.version();
        assert.ok(!seen.has(v), `version changed after ${what}`);
        seen.add(v);
      };
      write('a put of a new entry', () => store.put([catalogEntry('s', 'x')]));
      write('a put that replaces it', () => store.put([catalogEntry('s', 'x', { status: 'changed' })]));
      write('a put of several', () => store.put([catalogEntry('s', 'y'), catalogEntry('t', 'y')]));
      write('removing one tool', () => store.remove('s', 'y'));
      write('removing a server', () => store.remove('t'));
      const v = store.version();
      store.servers();
      store.tools('s');
      store.get('s', 'x');
      assert.equal(store.remove('s', 'missing'), 0);
      assert.equal(store.remove('nobody'), 0);
      assert.equal(store.version(), v, 'reads and empty removals leave the version alone');
    });

    it('hands out copies: editing what went in or came out does not edit the store', (t) => {
      const store = setup(t);
      const original = catalogEntry('s', 'x');
      const put = structuredClone(original);
      store.put([put]);
      put.risk = 'Critical';
      put.evidence.push('edited after put');
      (put.definition.inputSchema as { type: string }).type = 'string';
      assert.deepEqual(store.get('s', 'x'), original);

      const got = store.get('s', 'x')!;
      got.status = 'changed';
      got.evidence.length = 0;
      got.definition.description = 'edited after get';
      const listed = store.tools('s')[0]!;
      listed.category = 'Destructive';
      (listed.definition.inputSchema as { required: string[] }).required.push('edited');
      assert.deepEqual(store.get('s', 'x'), original);
      assert.deepEqual(store.tools('s'), [original]);
    });

    it('takes tool and server names as they are: case, spaces and look-alikes are different tools', (t) => {
      const store = setup(t);
      const names = ['delete_file', 'Delete_File', 'delete_file ', 'delete\u200B_file', 'd\u0435lete_file'];
      store.put(names.map((n, i) => catalogEntry('s', n, { confidence: i / 10 })));
      assert.equal(store.tools('s').length, names.length);
      names.forEach((n, i) => assert.equal(store.get('s', n)?.confidence, i / 10, JSON.stringify(n)));
      store.put([catalogEntry('S', 'delete_file')]);
      assert.deepEqual(store.servers(), ['S', 's']);
    });

    it('holds many tools in one put', (t) => {
      const store = setup(t);
      const many = Array.from({ length: 2000 }, (_, i) => catalogEntry('big', `tool_${String(i).padStart(4, '0')}`));
      store.put(many);
      assert.equal(store.tools('big').length, 2000);
      assert.deepEqual(store.get('big', 'tool_1999'), many[1999]);
      assert.equal(store.remove('big'), 2000);
    });
  });
}
