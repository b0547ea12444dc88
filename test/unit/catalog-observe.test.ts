// Tool lists keep the catalogue: new tools are classified and pinned, a changed definition is flagged until accepted,
// an entry of older classifier rules is relabelled. observeDefinitions decides from the entries known (pure);
// observeTools, catalogueListing and acceptTool read and write a store. The gateway's view: catalog-view.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyTool } from '../../src/catalog/classify.js';
import type { CatalogEntry } from '../../src/catalog/entry.js';
import {
  acceptTool,
  catalogueListing,
  CLASSIFIER_REVISION,
  hashedDefinitions,
  MAX_TOOLS_PER_SERVER,
  observeDefinitions,
  observeTools,
  toolDefinition,
} from '../../src/catalog/observe.js';
import { createMemoryCatalog } from '../../src/catalog/store.js';
import { ADD_NOTE, GET_NOTES, hashOf, instrumented, RUG_PULL, RUG_PULL_EXEC, SCHEMA, T0, T1, T2, VAPI_LOGOUT } from './catalog-fixtures.js';

const NOTHING = { added: [], changed: [], restored: [], written: [] };

/** Freezes an object graph, so that a function that edits what it was given throws. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('observeDefinitions (pure)', () => {
  test('decides from the entries known, without editing them, the same way every time', () => {
    const first = observeDefinitions(new Map(), 's', hashedDefinitions([GET_NOTES, ADD_NOTE]), T0);
    assert.deepEqual(first.added, ['get_notes', 'add_note']);
    const known = deepFreeze(new Map(first.written.map((e) => [e.tool, e])));
    const snapshot = structuredClone([...known]);
    const listing = hashedDefinitions([RUG_PULL, ADD_NOTE, VAPI_LOGOUT]);
    const once = observeDefinitions(known, 's', listing, T1);
    assert.deepEqual(observeDefinitions(known, 's', listing, T1), once, 'the same input gives the same answer');
    assert.deepEqual([...known], snapshot, 'the entries known are not edited');
    assert.deepEqual([once.added, once.changed, once.restored], [['vapi_logout'], ['get_notes'], []]);
    assert.deepEqual(once.written.map((e) => [e.tool, e.status]), [['get_notes', 'changed'], ['vapi_logout', 'accepted']]);
    assert.equal(once.written[0]!.acceptedHash, hashOf(GET_NOTES));
    assert.deepEqual(observeDefinitions(known, 's', hashedDefinitions([GET_NOTES, ADD_NOTE]), T1), NOTHING, 'what is known is no news');
  });

  test('counts the tools known against the cap of a server', () => {
    const known = new Map<string, CatalogEntry>();
    for (const e of observeDefinitions(new Map(), 'big', hashedDefinitions([{ name: 'seed' }]), T0).written) known.set(e.tool, e);
    for (let i = 1; i < MAX_TOOLS_PER_SERVER - 1; i++) known.set(`t${i}`, { ...known.get('seed')!, tool: `t${i}` });
    const result = observeDefinitions(known, 'big', hashedDefinitions([{ name: 'fits' }, { name: 'one_too_many' }]), T1);
    assert.deepEqual(result.added, ['fits']);
  });

  test('hashedDefinitions keeps the named tools, hashed once', () => {
    const hashed = hashedDefinitions([GET_NOTES, { description: 'no name' }, null, RUG_PULL]);
    assert.deepEqual(hashed.map((h) => [h.def.name, h.hash]), [['get_notes', hashOf(GET_NOTES)], ['get_notes', hashOf(RUG_PULL)]]);
  });
});

describe('observeTools, catalogueListing and acceptTool', () => {
  test('new tools are classified and pinned as accepted, in one write', async () => {
    const store = createMemoryCatalog();
    const c = instrumented(store);
    const result = await observeTools(c.store, 'vapi', [VAPI_LOGOUT, GET_NOTES], T0);
    assert.deepEqual([result.added, result.changed, result.restored], [['vapi_logout', 'get_notes'], [], []]);
    assert.equal(c.calls.puts, 1);
    const logout = (await store.get('vapi', 'vapi_logout'))!;
    assert.deepEqual(result.written, [logout, await store.get('vapi', 'get_notes')]);
    assert.equal(logout.category, 'Destructive');
    assert.equal(logout.risk, 'Critical');
    assert.ok(logout.evidence.includes('name verb "logout"'), logout.evidence.join(' | '));
    assert.ok(logout.confidence > 0.8 && logout.confidence <= 1);
    assert.deepEqual(logout.definition, VAPI_LOGOUT);
    assert.equal(logout.status, 'accepted');
    assert.equal(logout.hash, hashOf(VAPI_LOGOUT));
    assert.equal(logout.acceptedHash, logout.hash);
    assert.equal(logout.classifier, CLASSIFIER_REVISION);
    assert.equal(logout.firstSeen, T0.toISOString());
    assert.equal(logout.updatedAt, T0.toISOString());
    assert.ok(!('acceptedDefinition' in logout) && !('changedAt' in logout));
    const notes = (await store.get('vapi', 'get_notes'))!;
    assert.deepEqual([notes.category, notes.risk], ['Read', 'Low']);
  });

  test('the same definition with its keys in another order is not a change, and writes nothing', async () => {
    const c = instrumented(createMemoryCatalog());
    await observeTools(c.store, 's', [GET_NOTES], T0);
    const reordered = { inputSchema: { required: ['project'], properties: { project: { type: 'string' } }, type: 'object' }, description: GET_NOTES.description, name: 'get_notes' };
    const result = await observeTools(c.store, 's', [reordered], T1);
    assert.deepEqual(result, NOTHING);
    assert.equal(c.calls.puts, 1);
    assert.equal((await c.store.get('s', 'get_notes'))!.updatedAt, T0.toISOString());
  });

  test('a rewritten description (rug pull) marks the tool changed, keeps the accepted definition and reclassifies', async () => {
    const store = createMemoryCatalog();
    await observeTools(store, 's', [GET_NOTES], T0);
    const result = await observeTools(store, 's', [RUG_PULL], T1);
    assert.deepEqual([result.added, result.changed, result.restored], [[], ['get_notes'], []]);
    const entry = (await store.get('s', 'get_notes'))!;
    assert.deepEqual(result.written, [entry]);
    assert.equal(entry.status, 'changed');
    assert.deepEqual(entry.definition, RUG_PULL);
    assert.deepEqual(entry.acceptedDefinition, GET_NOTES);
    assert.equal(entry.hash, hashOf(RUG_PULL));
    assert.equal(entry.acceptedHash, hashOf(GET_NOTES));
    assert.equal(entry.changedAt, T1.toISOString());
    assert.equal(entry.updatedAt, T1.toISOString());
    assert.equal(entry.firstSeen, T0.toISOString());
    const c = classifyTool(RUG_PULL);
    assert.deepEqual([entry.category, entry.risk, entry.confidence, entry.evidence], [c.category, c.risk, c.confidence, c.evidence]);

    // A second change: the classification follows the new text, the accepted definition stays the ORIGINAL one.
    assert.deepEqual((await observeTools(store, 's', [RUG_PULL_EXEC], T2)).changed, ['get_notes']);
    const again = (await store.get('s', 'get_notes'))!;
    const e = classifyTool(RUG_PULL_EXEC);
    assert.deepEqual([again.status, again.category, again.risk, again.evidence], ['changed', e.category, e.risk, e.evidence]);
    assert.notEqual(again.category, classifyTool(GET_NOTES).category, 'the new definition reads as another category');
    assert.deepEqual(again.definition, RUG_PULL_EXEC);
    assert.deepEqual(again.acceptedDefinition, GET_NOTES);
    assert.equal(again.acceptedHash, hashOf(GET_NOTES));
    assert.ok(again.changedAt);

    // Back to the accepted definition: reported, but not trusted by itself (another replica may still be served
    // the change, a server that flips back may flip again): nothing is written, the tool stays changed.
    const back = await observeTools(store, 's', [GET_NOTES], T2);
    assert.deepEqual([back.added, back.changed, back.restored, back.written], [[], [], ['get_notes'], []]);
    assert.deepEqual(await store.get('s', 'get_notes'), again);
    // Only an accept releases it.
    const accepted = (await acceptTool(store, 's', 'get_notes', T2))!;
    assert.deepEqual([accepted.status, accepted.hash, accepted.acceptedHash], ['accepted', again.hash, again.hash]);
  });

  test('acceptTool pins the definition last seen; the old one is then the change', async () => {
    const store = createMemoryCatalog();
    await observeTools(store, 's', [GET_NOTES], T0);
    await observeTools(store, 's', [RUG_PULL], T1);
    const accepted = (await acceptTool(store, 's', 'get_notes', T2))!;
    assert.deepEqual(await store.get('s', 'get_notes'), accepted);
    assert.equal(accepted.status, 'accepted');
    assert.equal(accepted.acceptedHash, hashOf(RUG_PULL));
    assert.equal(accepted.hash, accepted.acceptedHash);
    assert.deepEqual(accepted.definition, RUG_PULL);
    assert.equal(accepted.updatedAt, T2.toISOString());
    assert.ok(!('acceptedDefinition' in accepted) && !('changedAt' in accepted));

    assert.deepEqual((await observeTools(store, 's', [RUG_PULL], T2)).written, [], 'the accepted definition is no news');
    assert.deepEqual((await observeTools(store, 's', [GET_NOTES], T2)).changed, ['get_notes']);
    assert.deepEqual((await store.get('s', 'get_notes'))!.acceptedDefinition, RUG_PULL);

    const c = instrumented(store);
    assert.equal(await acceptTool(c.store, 's', 'unknown'), undefined);
    assert.equal(await acceptTool(c.store, 'other', 'get_notes'), undefined);
    assert.equal(c.calls.puts, 0);
  });

  test('a store that fails makes observeTools and acceptTool reject, having written nothing', async () => {
    const store = createMemoryCatalog();
    await observeTools(store, 's', [GET_NOTES], T0);
    const c = instrumented(store);
    c.failPuts(2);
    await assert.rejects(observeTools(c.store, 's', [RUG_PULL], T1), /disk full/);
    await assert.rejects(acceptTool(c.store, 's', 'get_notes', T1), /disk full/);
    assert.equal((await store.get('s', 'get_notes'))!.status, 'accepted');
  });

  test('catalogueListing gives the entries of exactly the tools listed', async () => {
    const store = createMemoryCatalog();
    await observeTools(store, 's', [GET_NOTES, ADD_NOTE], T0);
    const { observed, entries } = await catalogueListing(store, 's', [RUG_PULL, VAPI_LOGOUT]);
    assert.deepEqual([observed.added, observed.changed], [['vapi_logout'], ['get_notes']]);
    assert.deepEqual(entries.map((e) => [e.tool, e.status]), [['get_notes', 'changed'], ['vapi_logout', 'accepted']]);
  });

  test('entries without a usable name are ignored', async () => {
    const garbage = [null, undefined, 42, 'get_notes', [], [GET_NOTES], {}, { name: '' }, { name: 7 }, { description: 'no name' }];
    for (const g of garbage) assert.equal(toolDefinition(g), undefined, JSON.stringify(g));
    const store = createMemoryCatalog();
    const result = await observeTools(store, 's', [...garbage, GET_NOTES]);
    assert.deepEqual(result.added, ['get_notes']);
    assert.deepEqual((await store.tools('s')).map((e) => e.tool), ['get_notes']);
    assert.deepEqual(await observeTools(store, 's', garbage), NOTHING);
  });

  test('_meta, icons and unknown fields are not pinned; title, annotations and both schemas are', async () => {
    const base = { ...GET_NOTES, title: 'Notes', annotations: { readOnlyHint: true }, outputSchema: { type: 'object' } };
    const store = createMemoryCatalog();
    await observeTools(store, 's', [base]);
    const decorated = { ...base, _meta: { 'example.com/build': 42 }, icons: [{ src: 'https://example.com/i.png' }], somethingNew: true };
    assert.deepEqual((await observeTools(store, 's', [decorated])).written, []);
    assert.deepEqual(toolDefinition(decorated), base);

    const variants: Record<string, unknown> = {
      title: { ...base, title: 'Notes and keys' },
      annotations: { ...base, annotations: { readOnlyHint: false } },
      'annotations removed': (({ annotations: _, ...rest }) => rest)(base),
      inputSchema: { ...base, inputSchema: { ...SCHEMA, properties: { project: { type: 'string' }, key: { type: 'string' } } } },
      outputSchema: { ...base, outputSchema: { type: 'object', properties: { secret: { type: 'string' } } } },
      description: { ...base, description: `${base.description} ` },
    };
    for (const [what, variant] of Object.entries(variants)) {
      const s = createMemoryCatalog();
      await observeTools(s, 'x', [base]);
      assert.deepEqual((await observeTools(s, 'x', [variant])).changed, ['get_notes'], what);
      assert.equal((await s.get('x', 'get_notes'))!.status, 'changed', what);
    }
  });

  test('servers are kept apart: one tool name on two servers is two entries', async () => {
    const store = createMemoryCatalog();
    await observeTools(store, 'a', [GET_NOTES]);
    assert.deepEqual((await observeTools(store, 'b', [RUG_PULL])).added, ['get_notes']);
    assert.deepEqual((await observeTools(store, 'a', [GET_NOTES])).written, []);
    assert.equal((await store.get('b', 'get_notes'))!.status, 'accepted');
  });

  test(`a server cannot grow the catalogue past ${MAX_TOOLS_PER_SERVER} tools`, async () => {
    const store = createMemoryCatalog();
    const tools = Array.from({ length: MAX_TOOLS_PER_SERVER + 5 }, (_, i) => ({ name: `t${i}` }));
    assert.equal((await observeTools(store, 'big', tools)).added.length, MAX_TOOLS_PER_SERVER);
    assert.deepEqual((await observeTools(store, 'big', [{ name: 'one_more' }])).added, []);
    assert.equal((await store.tools('big')).length, MAX_TOOLS_PER_SERVER);
    // Known tools still change.
    assert.deepEqual((await observeTools(store, 'big', [{ name: 't0', description: 'changed' }])).changed, ['t0']);
    assert.deepEqual((await observeTools(store, 'small', [{ name: 't0' }])).added, ['t0']);
  });
});

test('an entry labelled by older classifier rules is relabelled when listed again; its pin and status stay', async () => {
  const store = createMemoryCatalog();
  await observeTools(store, 's', [VAPI_LOGOUT, RUG_PULL], T0);
  await observeTools(store, 's', [VAPI_LOGOUT, GET_NOTES], T0);
  const current = (await store.get('s', 'vapi_logout'))!;
  const changed = (await store.get('s', 'get_notes'))!;
  assert.equal(changed.status, 'changed');
  // As an earlier release stored them: no revision, another label.
  const older = (e: CatalogEntry): CatalogEntry => {
    const { classifier: _, ...old } = e;
    return { ...old, category: 'Write', risk: 'Medium', evidence: ['old rules'] };
  };
  await store.put([older(current), older(changed)]);
  const result = await observeTools(store, 's', [VAPI_LOGOUT, GET_NOTES], T1);
  assert.deepEqual([result.added, result.changed, result.restored], [[], [], []], 'a relabel is no change');
  assert.equal(result.written.length, 2);
  const relabelled = (await store.get('s', 'vapi_logout'))!;
  assert.deepEqual([relabelled.category, relabelled.risk, relabelled.status], ['Destructive', 'Critical', 'accepted']);
  assert.equal(relabelled.classifier, CLASSIFIER_REVISION);
  assert.equal(relabelled.acceptedHash, current.acceptedHash);
  assert.equal(relabelled.firstSeen, current.firstSeen);
  assert.equal(relabelled.updatedAt, T1.toISOString());
  // A changed tool stays changed, with its accepted definition, under the new label.
  const stillChanged = (await store.get('s', 'get_notes'))!;
  assert.deepEqual([stillChanged.status, stillChanged.acceptedHash, stillChanged.changedAt], ['changed', changed.acceptedHash, changed.changedAt]);
  assert.deepEqual(stillChanged.acceptedDefinition, RUG_PULL);
  assert.deepEqual([stillChanged.category, stillChanged.risk], [classifyTool(GET_NOTES).category, classifyTool(GET_NOTES).risk]);
  // Once relabelled, an identical listing writes nothing.
  const again = instrumented(store);
  await observeTools(again.store, 's', [VAPI_LOGOUT, GET_NOTES], T2);
  assert.equal(again.calls.puts, 0);
});
