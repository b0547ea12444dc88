// The CatalogStore contract, one suite for every driver: call runCatalogStoreContract() from a driver's test file.
//
//   runCatalogStoreContract('redis', { open: (space) => createRedisCatalog(URL, `${RUN_PREFIX}${space}:`), drop });
//
// `open(space)` is called with a fresh `space` per test; every store opened with the same space shares the backing
// data (one SQLite file, one Redis prefix), as the gateway, its replicas and the CLI do. The memory driver returns
// the same instance for the same space: its catalogue lives in one process. `drop(space)` deletes what a test left.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import type { CatalogEntry, ToolDefinition } from '../../src/catalog/entry.js';
import type { CatalogStore } from '../../src/catalog/store.js';

export interface CatalogDriver {
  open(space: string): Promise<CatalogStore>;
  drop?(space: string): Promise<void>;
  /** Run once after the whole suite. */
  cleanup?(): Promise<void>;
}

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

export function runCatalogStoreContract(name: string, driver: CatalogDriver): void {
  describe(`CatalogStore contract: ${name}`, { concurrency: false }, () => {
    if (driver.cleanup) after(() => driver.cleanup!());

    /** A store on data of its own, and `replica()` for another connection to the same data; all closed after. */
    async function setup(t: TestContext): Promise<{ store: CatalogStore; replica: () => Promise<CatalogStore> }> {
      const space = `c${randomBytes(5).toString('hex')}`;
      const opened = new Set<CatalogStore>();
      const replica = async (): Promise<CatalogStore> => {
        const s = await driver.open(space);
        opened.add(s);
        return s;
      };
      t.after(async () => {
        for (const s of opened) await s.close();
        await driver.drop?.(space);
      });
      return { store: await replica(), replica };
    }

    it('starts empty', async (t) => {
      const { store } = await setup(t);
      assert.deepEqual(await store.servers(), []);
      assert.deepEqual(await store.tools('s'), []);
      assert.equal(await store.get('s', 'x'), undefined);
      assert.equal(typeof (await store.version()), 'string');
    });

    it('gives back exactly what was put, optional fields included', async (t) => {
      const { store } = await setup(t);
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
        classifier: 2,
        changedAt: '2026-02-03T04:05:06.000Z',
      });
      await store.put([accepted, changed]);
      assert.deepEqual(await store.get('github', 'get_issue'), accepted);
      assert.deepEqual(await store.get('github', 'delete_repo'), changed);
      assert.deepEqual(await store.tools('github'), [changed, accepted], 'sorted by tool name');
    });

    it('lists servers sorted, only those with tools, and each server its own tools sorted by name', async (t) => {
      const { store } = await setup(t);
      await store.put([catalogEntry('zeta', 'b'), catalogEntry('alpha', 'z_last'), catalogEntry('alpha', 'a_first')]);
      await store.put([catalogEntry('alpha', 'm_middle'), catalogEntry('mid', 'only')]);
      assert.deepEqual(await store.servers(), ['alpha', 'mid', 'zeta']);
      assert.deepEqual((await store.tools('alpha')).map((e) => e.tool), ['a_first', 'm_middle', 'z_last']);
      assert.deepEqual((await store.tools('zeta')).map((e) => e.tool), ['b']);
      assert.deepEqual(await store.tools('unknown'), []);
      assert.ok((await store.tools('alpha')).every((e) => e.server === 'alpha'));
    });

    it('keeps the same tool name on two servers apart', async (t) => {
      const { store } = await setup(t);
      await store.put([catalogEntry('a', 'run', { risk: 'Low' }), catalogEntry('b', 'run', { risk: 'High' })]);
      assert.equal((await store.get('a', 'run'))?.risk, 'Low');
      assert.equal((await store.get('b', 'run'))?.risk, 'High');
      assert.equal(await store.get('c', 'run'), undefined);
    });

    it('keeps servers apart whose names hold separators or glob characters', async (t) => {
      const { store } = await setup(t);
      const servers = ['team', 'team:prod', 'team:*', 'team:[a]', 'servers', 'tools:team', 'version'];
      await store.put(servers.map((s, i) => catalogEntry(s, 'run', { confidence: i / 10 })));
      assert.deepEqual(await store.servers(), [...servers].sort());
      for (const [i, s] of servers.entries()) {
        assert.deepEqual((await store.tools(s)).map((e) => [e.server, e.confidence]), [[s, i / 10]], JSON.stringify(s));
      }
      assert.equal(await store.remove('team:*'), 1);
      assert.equal(await store.remove('team'), 1);
      assert.deepEqual(await store.servers(), servers.filter((s) => s !== 'team' && s !== 'team:*').sort());
      assert.equal((await store.get('team:prod', 'run'))?.confidence, 0.1);
    });

    it('put() replaces an entry with the same server and tool, whole', async (t) => {
      const { store } = await setup(t);
      await store.put([catalogEntry('s', 'x', { status: 'changed', acceptedDefinition: { name: 'x' }, changedAt: '2026-03-01T00:00:00.000Z' })]);
      const replacement = catalogEntry('s', 'x', { risk: 'Critical', category: 'Destructive' });
      await store.put([replacement]);
      // The optional fields of the old entry do not survive a replacement that lacks them.
      assert.deepEqual(await store.get('s', 'x'), replacement);
      assert.equal((await store.tools('s')).length, 1);
    });

    it('put() is all or nothing', async (t) => {
      const { store } = await setup(t);
      const before = catalogEntry('s', 'kept', { risk: 'Low' });
      await store.put([before]);
      const version = await store.version();
      await assert.rejects(store.put([catalogEntry('s', 'kept', { risk: 'Critical' }), catalogEntry('s', 'fresh'), unwritableEntry('s', 'bad')]), /cannot be serialised/);
      assert.deepEqual(await store.get('s', 'kept'), before, 'the replacement before the failing entry was not written');
      assert.equal(await store.get('s', 'fresh'), undefined, 'the new entry before the failing entry was not written');
      assert.equal(await store.get('s', 'bad'), undefined);
      assert.deepEqual(await store.tools('s'), [before]);
      // Nothing changed, so a reader that remembered the version has nothing to read again.
      assert.equal(await store.version(), version);
    });

    it('put() of nothing stores nothing', async (t) => {
      const { store } = await setup(t);
      await store.put([]);
      assert.deepEqual(await store.servers(), []);
    });

    it('remove(server) removes all of its tools and nothing else, and counts them', async (t) => {
      const { store } = await setup(t);
      await store.put([catalogEntry('a', 'x'), catalogEntry('a', 'y'), catalogEntry('b', 'x')]);
      assert.equal(await store.remove('a'), 2);
      assert.deepEqual(await store.servers(), ['b']);
      assert.deepEqual(await store.tools('a'), []);
      assert.equal(await store.get('a', 'x'), undefined);
      assert.ok(await store.get('b', 'x'));
      assert.equal(await store.remove('a'), 0, 'nothing left to remove');
      assert.equal(await store.remove('never-registered'), 0);
    });

    it('remove(server, tool) removes one tool; the server goes with its last tool', async (t) => {
      const { store } = await setup(t);
      await store.put([catalogEntry('a', 'x'), catalogEntry('a', 'y'), catalogEntry('b', 'x')]);
      assert.equal(await store.remove('a', 'x'), 1);
      assert.equal(await store.get('a', 'x'), undefined);
      assert.ok(await store.get('b', 'x'), 'the same tool name on another server stays');
      assert.deepEqual((await store.tools('a')).map((e) => e.tool), ['y']);
      assert.equal(await store.remove('a', 'x'), 0);
      assert.equal(await store.remove('a', 'missing'), 0);
      assert.deepEqual(await store.servers(), ['a', 'b'], 'a removal of nothing leaves the server');
      assert.equal(await store.remove('a', 'y'), 1);
      assert.deepEqual(await store.servers(), ['b']);
      assert.equal(await store.remove('nobody', 'x'), 0);
      assert.deepEqual(await store.servers(), ['b']);
    });

    it('version() changes on every write, and not on reads or removals of nothing', async (t) => {
      const { store } = await setup(t);
      const seen = new Set<string>([await store.version()]);
      const write = async (what: string, fn: () => Promise<unknown>) => {
        await fn();
        const v = await store.version();
        assert.ok(!seen.has(v), `version changed after ${what}`);
        seen.add(v);
      };
      await write('a put of a new entry', () => store.put([catalogEntry('s', 'x')]));
      await write('a put that replaces it', () => store.put([catalogEntry('s', 'x', { status: 'changed' })]));
      await write('a put of several', () => store.put([catalogEntry('s', 'y'), catalogEntry('t', 'y')]));
      await write('removing one tool', () => store.remove('s', 'y'));
      await write('removing a server', () => store.remove('t'));
      const v = await store.version();
      await store.servers();
      await store.tools('s');
      await store.get('s', 'x');
      assert.equal(await store.remove('s', 'missing'), 0);
      assert.equal(await store.remove('nobody'), 0);
      assert.equal(await store.version(), v, 'reads and empty removals leave the version alone');
    });

    it('hands out copies: editing what went in or came out does not edit the store', async (t) => {
      const { store } = await setup(t);
      const original = catalogEntry('s', 'x');
      const put = structuredClone(original);
      const putting = store.put([put]);
      // Edited before the promise settles: the store took its copy when put() was called.
      put.risk = 'Critical';
      put.evidence.push('edited after put');
      (put.definition.inputSchema as { type: string }).type = 'string';
      await putting;
      assert.deepEqual(await store.get('s', 'x'), original);

      const got = (await store.get('s', 'x'))!;
      got.status = 'changed';
      got.evidence.length = 0;
      got.definition.description = 'edited after get';
      const listed = (await store.tools('s'))[0]!;
      listed.category = 'Destructive';
      (listed.definition.inputSchema as { required: string[] }).required.push('edited');
      assert.deepEqual(await store.get('s', 'x'), original);
      assert.deepEqual(await store.tools('s'), [original]);
    });

    it('takes tool and server names as they are: case, spaces and look-alikes are different tools', async (t) => {
      const { store } = await setup(t);
      const names = ['delete_file', 'Delete_File', 'delete_file ', 'delete\u200B_file', 'd\u0435lete_file'];
      await store.put(names.map((n, i) => catalogEntry('s', n, { confidence: i / 10 })));
      assert.equal((await store.tools('s')).length, names.length);
      for (const [i, n] of names.entries()) assert.equal((await store.get('s', n))?.confidence, i / 10, JSON.stringify(n));
      await store.put([catalogEntry('S', 'delete_file')]);
      assert.deepEqual(await store.servers(), ['S', 's']);
    });

    it('holds many tools in one put', async (t) => {
      const { store } = await setup(t);
      const many = Array.from({ length: 2000 }, (_, i) => catalogEntry('big', `tool_${String(i).padStart(4, '0')}`));
      await store.put(many);
      assert.equal((await store.tools('big')).length, 2000);
      assert.deepEqual(await store.get('big', 'tool_1999'), many[1999]);
      assert.equal(await store.remove('big'), 2000);
      assert.deepEqual(await store.servers(), []);
    });

    it('loses no write when many are in flight at once, from two connections', async (t) => {
      const { store, replica } = await setup(t);
      const other = await replica();
      const writes = Array.from({ length: 100 }, (_, i) => (i % 2 ? store : other).put([catalogEntry(`srv${i % 5}`, `t${i}`)]));
      await Promise.all(writes);
      assert.deepEqual(await store.servers(), ['srv0', 'srv1', 'srv2', 'srv3', 'srv4']);
      let total = 0;
      for (const s of await other.servers()) total += (await other.tools(s)).length;
      assert.equal(total, 100);
    });

    it('two connections to the same data see what the other wrote and removed', async (t) => {
      const { store: gateway, replica } = await setup(t);
      const cli = await replica();
      const entry = catalogEntry('github', 'delete_repo', { status: 'changed', acceptedDefinition: { name: 'delete_repo' } });
      await gateway.put([entry, catalogEntry('github', 'get_issue')]);
      assert.deepEqual(await cli.get('github', 'delete_repo'), entry);
      assert.deepEqual(await cli.servers(), ['github']);

      const accepted = catalogEntry('github', 'delete_repo');
      await cli.put([accepted]);
      assert.deepEqual(await gateway.get('github', 'delete_repo'), accepted);

      assert.equal(await cli.remove('github', 'get_issue'), 1);
      assert.deepEqual((await gateway.tools('github')).map((e) => e.tool), ['delete_repo']);
      assert.equal(await gateway.remove('github'), 1);
      assert.deepEqual(await cli.servers(), []);
    });

    it("version() moves for a connection when the other one writes, and only then", async (t) => {
      const { store: gateway, replica } = await setup(t);
      const cli = await replica();
      let seen = await gateway.version();
      const moved = async (what: string) => {
        const now = await gateway.version();
        assert.notEqual(now, seen, `the gateway's version moved after the CLI's ${what}`);
        seen = now;
      };
      await cli.put([catalogEntry('s', 'x')]);
      await moved('put');
      assert.equal(await gateway.version(), seen, 'reading the version again without writes gives the same value');
      await cli.put([catalogEntry('s', 'x', { status: 'changed' })]);
      await moved('second put');
      await cli.remove('s', 'x');
      await moved('removal of a tool');
      await cli.put([catalogEntry('s', 'y')]);
      await moved('put');
      await cli.remove('s');
      await moved('removal of a server');
      // Reads and removals of nothing by the other connection are not writes.
      await cli.get('s', 'x');
      await cli.tools('s');
      await cli.servers();
      await cli.remove('s', 'x');
      assert.equal(await gateway.version(), seen);
      // Own writes move the own version as well (the view reloads after them too, harmlessly).
      const before = await cli.version();
      await cli.put([catalogEntry('s', 'y')]);
      assert.notEqual(await cli.version(), before);
    });

    it('a failed put by one connection leaves nothing for the other to see', async (t) => {
      const { store: gateway, replica } = await setup(t);
      const cli = await replica();
      const version = await gateway.version();
      await assert.rejects(cli.put([catalogEntry('s', 'good'), unwritableEntry('s', 'bad')]));
      assert.deepEqual(await gateway.tools('s'), []);
      assert.deepEqual(await gateway.servers(), []);
      assert.equal(await gateway.version(), version);
    });
  });
}
