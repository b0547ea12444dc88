// What the gateway's view decided from a listing must not be undone by what it reads from the store: a poll that
// read just before the listing, or another writer (a replica whose session still runs the honest server) putting
// the old definition back while this gateway's server still sends the new one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptTool, definitionHash, observeTools, toolDefinition } from '../../src/catalog/observe.js';
import type { CatalogView } from '../../src/catalog/view.js';
import type { CatalogStore } from '../../src/catalog/store.js';
import { ADD_NOTE, eventually, GET_NOTES, instrumented, knowingNotes, RUG_PULL, RUG_PULL_EXEC, sqliteConnections, status, viewOf } from './catalog-fixtures.js';

test('a poll that read the store just before a listing does not undo what the listing decided', async (t) => {
  const memory = await knowingNotes();
  const c = instrumented(memory);
  const view = await viewOf(t, c.store, { pollMs: 200 });
  // Another process writes: the next poll reads everything again, server "s" first.
  await observeTools(memory, 'zzz', [ADD_NOTE]);
  const before = c.calls.tools;
  const release = c.holdReads();
  await eventually('the poll has read server "s"', () => c.calls.tools > before);
  const result = view.observe('s', [RUG_PULL]);
  assert.deepEqual(result?.changed, ['get_notes']);
  release();
  await eventually('the poll has read every server', () => c.calls.tools >= before + 2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(view.knows('zzz'), 'the poll has ended');
  assert.equal(status(view), 'changed', "the poll's older read does not bring the accepted definition back");
});

/** A view on one connection that saw GET_NOTES and then RUG_PULL (changed), and a second writer on the same file. */
async function changedOnThisGateway(t: Parameters<typeof viewOf>[0], pollMs: number) {
  const [mine, theirs] = sqliteConnections(t, 2) as [CatalogStore, CatalogStore];
  const view = await viewOf(t, mine, { pollMs });
  view.observe('s', [GET_NOTES]);
  view.observe('s', [RUG_PULL]);
  await view.settled();
  assert.equal(status(view), 'changed');
  // A replica whose session still runs the honest server lists it: the catalogue is back to the accepted definition.
  await observeTools(theirs, 's', [GET_NOTES]);
  return { view, theirs };
}

const storedStatus = async (store: CatalogStore): Promise<string | undefined> => (await store.get('s', 'get_notes'))?.status;

test("another writer's honest listing neither releases the tool in the store nor in this gateway's view", async (t) => {
  const { view, theirs } = await changedOnThisGateway(t, 20);
  assert.equal(await storedStatus(theirs), 'changed', 'a listing back at the accepted definition writes nothing');
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(status(view), 'changed');
  view.observe('s', [RUG_PULL]);
  assert.equal(status(view), 'changed');
});

test('accepting the definition this gateway saw releases the tool here; accepting another definition does not', async (t) => {
  const { view, theirs } = await changedOnThisGateway(t, 20);
  // Another writer lists a third definition and someone accepts that one: it is not what this server lists.
  await observeTools(theirs, 's', [RUG_PULL_EXEC]);
  await acceptTool(theirs, 's', 'get_notes');
  await eventually('the poll reads the accept', () => view.lookup('s', 'get_notes')?.hash === definitionHash(toolDefinition(RUG_PULL_EXEC)!));
  assert.equal(status(view), 'changed', 'the accepted definition is not the one this server lists');
  // This server's definition is accepted: released here.
  await observeTools(theirs, 's', [RUG_PULL]);
  await acceptTool(theirs, 's', 'get_notes');
  await eventually('the poll reads the second accept', () => status(view) === 'accepted');
});

test('a changed tool is released by an accept read through recheck, for the next call', async (t) => {
  const { view, theirs } = await changedOnThisGateway(t, 60_000);
  await acceptTool(theirs, 's', 'get_notes');
  assert.equal(view.recheck('s', 'get_notes')?.status, 'changed', 'the call that asks is answered from memory');
  await view.settled();
  assert.equal(status(view), 'accepted', 'the next call sees the accept');
});
