// The gateway's in-memory view of the catalogue: a listing is decided in memory at once and written to the store
// behind (a failed write is retried by the poll, never over a newer write by someone else); the poll and recheck
// bring in what other processes wrote; tool watches turn changes into audit records.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditInput } from '../../src/audit/recorder.js';
import { classifyTool } from '../../src/catalog/classify.js';
import { acceptTool, CLASSIFIER_REVISION, observeTools } from '../../src/catalog/observe.js';
import { createMemoryCatalog, type CatalogStore } from '../../src/catalog/store.js';
import { createToolWatch } from '../../src/catalog/watch.js';
import {
  ADD_NOTE,
  eventually,
  GET_NOTES,
  hashOf,
  instrumented,
  knowingNotes,
  RUG_PULL,
  RUG_PULL_EXEC,
  SCHEMA,
  sqliteConnections,
  status,
  VAPI_LOGOUT,
  viewOf,
} from './catalog-fixtures.js';

describe('createToolWatch and createCatalogView', () => {
  test("a server's first listing, over all its pages, is quiet; later changes and additions are one record", async (t) => {
    const store = createMemoryCatalog();
    const view = await viewOf(t, store);
    const records: AuditInput[] = [];
    const watch = createToolWatch(view, (r) => records.push(r));
    watch('notes', [GET_NOTES], false);
    watch('notes', [ADD_NOTE, VAPI_LOGOUT], true);
    assert.deepEqual(records, [], 'pages of the first listing register tools');
    assert.equal(view.lookup('notes', 'vapi_logout')!.risk, 'Critical');
    await view.settled();
    assert.deepEqual((await store.tools('notes')).map((e) => e.tool), ['add_note', 'get_notes', 'vapi_logout']);

    watch('notes', [GET_NOTES, ADD_NOTE, VAPI_LOGOUT], true);
    assert.deepEqual(records, [], 'an identical listing is no news');

    const changedAdd = { ...ADD_NOTE, inputSchema: { ...SCHEMA, properties: { project: { type: 'string' }, cc: { type: 'string' } } } };
    watch('notes', [RUG_PULL, changedAdd, VAPI_LOGOUT, { name: 'exfiltrate', description: 'Send data out.' }], true);
    assert.deepEqual(records, [{ kind: 'tools_changed', server: 'notes', detail: 'changed: get_notes, add_note; added: exfiltrate' }]);
    assert.equal(status(view, 'notes'), 'changed');
    watch('notes', [RUG_PULL, changedAdd], true);
    assert.equal(records.length, 1, 'reported once');
    await view.settled();
    assert.equal((await store.get('notes', 'get_notes'))!.status, 'changed');

    watch('notes', [GET_NOTES], true);
    assert.deepEqual(records[1], { kind: 'tools_changed', server: 'notes', detail: 'back to the accepted definition, still held until accepted: get_notes' });
    assert.equal(status(view, 'notes'), 'changed', 'a server that flips back is not trusted by itself');
    await view.settled();
    assert.equal((await store.get('notes', 'get_notes'))!.status, 'changed');
  });

  test('a server the catalogue already knows (a previous run) has its new tools recorded from the first listing', async (t) => {
    const store = await knowingNotes();
    const records: AuditInput[] = [];
    const view = await viewOf(t, store);
    assert.ok(view.knows('s') && view.loaded(), 'ready: the store has been read');
    const watch = createToolWatch(view, (r) => records.push(r));
    watch('s', [GET_NOTES, ADD_NOTE], true);
    assert.deepEqual(records, [{ kind: 'tools_changed', server: 's', detail: 'added: add_note' }]);
    // Without a recorder the catalogue is still kept.
    const quiet = await viewOf(t, store);
    createToolWatch(quiet)('s', [RUG_PULL], true);
    await quiet.settled();
    assert.equal((await store.get('s', 'get_notes'))!.status, 'changed');
  });

  test('observe decides in memory at once, before any await, and writes the store behind', async (t) => {
    const memory = await knowingNotes();
    const c = instrumented(memory);
    const view = await viewOf(t, c.store);
    const release = c.holdPuts();
    const result = view.observe('s', [RUG_PULL, ADD_NOTE]);
    assert.ok(result && !(result instanceof Promise), 'the result is there at once');
    assert.deepEqual([result.changed, result.added], [['get_notes'], ['add_note']]);
    assert.equal(status(view), 'changed', 'the rug pull is refused from this moment');
    assert.deepEqual(view.changed('s'), ['get_notes']);
    assert.equal(view.lookup('s', 'add_note')?.status, 'accepted');
    assert.equal((await memory.get('s', 'get_notes'))!.status, 'accepted', 'the write is still on its way');
    let settled = false;
    const settling = view.settled().then(() => (settled = true));
    await sleep(30);
    assert.equal(settled, false, 'settled() waits for the write');
    release();
    await settling;
    assert.deepEqual(await memory.get('s', 'get_notes'), result.written.find((e) => e.tool === 'get_notes'));
    assert.equal((await memory.get('s', 'add_note'))?.status, 'accepted');
    assert.equal(c.calls.puts, 1, 'one write for the listing');
  });

  test('a write that fails is reported, memory stays changed (fails closed), and the poll writes it once the store works', async (t) => {
    const memory = await knowingNotes();
    const c = instrumented(memory);
    const errors: Error[] = [];
    const view = await viewOf(t, c.store, { pollMs: 20, onError: (err) => errors.push(err) });
    const records: AuditInput[] = [];
    const watch = createToolWatch(view, (r) => records.push(r));
    c.failPuts(3);
    watch('s', [RUG_PULL, ADD_NOTE], true);
    // Recorded when seen: the audit log does not wait for the catalogue's store.
    assert.deepEqual(records, [{ kind: 'tools_changed', server: 's', detail: 'changed: get_notes; added: add_note' }]);
    assert.equal(status(view), 'changed');
    assert.equal(view.lookup('s', 'add_note')?.risk, classifyTool(ADD_NOTE).risk, 'a new tool is classified in memory at once');
    await eventually('the poll writes the change once the store takes it', async () => {
      assert.equal(status(view), 'changed', 'memory stays changed while the store fails');
      return (await memory.get('s', 'get_notes'))?.status === 'changed';
    });
    await view.settled();
    assert.deepEqual(errors.map((e) => e.message), ['disk full', 'disk full', 'disk full']);
    assert.equal((await memory.get('s', 'add_note'))?.status, 'accepted', 'the new tool is written too');
    assert.equal(status(view), 'changed');
    watch('s', [RUG_PULL, ADD_NOTE], true);
    assert.equal(records.length, 1, 'the change is recorded once');
    const puts = c.calls.puts;
    await sleep(60);
    assert.equal(c.calls.puts, puts, 'nothing is left to retry');
  });

  test('a retried write loses to a newer accept written meanwhile by another connection', async (t) => {
    const [gatewayFile, cli] = sqliteConnections(t, 2) as [CatalogStore, CatalogStore];
    await observeTools(cli, 's', [GET_NOTES]);
    const c = instrumented(gatewayFile);
    const errors: Error[] = [];
    const view = await viewOf(t, c.store, { pollMs: 20, onError: (err) => errors.push(err) });
    c.failPuts(Number.MAX_SAFE_INTEGER);
    assert.ok(view.observe('s', [RUG_PULL]));
    await eventually('the poll has retried and failed', () => errors.length >= 2);
    assert.equal(status(view), 'changed');
    // Another replica saw the rug pull as well, and a person reviewed and accepted it.
    await observeTools(cli, 's', [RUG_PULL]);
    await sleep(5);
    const accepted = (await acceptTool(cli, 's', 'get_notes'))!;
    c.failPuts(0);
    await eventually('the poll reads the accept', () => status(view) === 'accepted');
    await view.settled();
    assert.deepEqual(await cli.get('s', 'get_notes'), accepted, 'the accept stands: the older change was not written over it');
    assert.equal(view.lookup('s', 'get_notes')!.hash, hashOf(RUG_PULL));
    assert.equal(view.observe('s', [RUG_PULL]), undefined, 'the accepted definition is no news');
  });

  test('views on other connections to the same SQLite file follow each other and `catalog accept` by their poll', async (t) => {
    const [one, two, cli] = sqliteConnections(t, 3) as [CatalogStore, CatalogStore, CatalogStore];
    const writer = await viewOf(t, one, { pollMs: 20 });
    const replica = await viewOf(t, two, { pollMs: 20 });
    writer.observe('s', [GET_NOTES]);
    assert.ok(writer.observe('s', [RUG_PULL]));
    assert.equal(status(writer), 'changed');
    await writer.settled();
    assert.equal((await cli.get('s', 'get_notes'))!.status, 'changed', 'the view wrote through to the file');
    await eventually("the replica's poll picks up the change", () => status(replica) === 'changed');
    assert.deepEqual(replica.changed('s'), ['get_notes']);

    assert.ok(await acceptTool(cli, 's', 'get_notes'));
    await eventually('the poll picks up `catalog accept`', () => status(writer) === 'accepted' && status(replica) === 'accepted');
    assert.equal(writer.lookup('s', 'get_notes')!.hash, hashOf(RUG_PULL));
    assert.deepEqual(replica.changed('s'), []);
    assert.equal(writer.observe('s', [RUG_PULL]), undefined, 'the accepted definition is no news');

    await observeTools(cli, 'other', [ADD_NOTE]);
    await eventually('the poll picks up a new server', () => writer.knows('other') && replica.knows('other'));
    await cli.remove('s');
    await eventually('the poll picks up a removed server', () => !writer.knows('s') && !replica.knows('s'));
    assert.equal(writer.lookup('s', 'get_notes'), undefined);
  });

  test('recheck answers from memory and reads the store behind: the next call sees another process’s accept', async (t) => {
    const [gatewayFile, cli] = sqliteConnections(t, 2) as [CatalogStore, CatalogStore];
    const view = await viewOf(t, gatewayFile, { pollMs: 60_000 });
    view.observe('s', [GET_NOTES]);
    view.observe('s', [RUG_PULL_EXEC]);
    await view.settled();
    await acceptTool(cli, 's', 'get_notes');
    assert.equal(view.recheck('s', 'get_notes')!.status, 'changed', 'the first call is still decided by what memory knew');
    await view.settled();
    assert.equal(status(view), 'accepted', 'the read behind it brought in the accept');
    assert.equal(view.recheck('s', 'get_notes')!.hash, hashOf(RUG_PULL_EXEC));
    assert.deepEqual(view.changed('s'), []);

    // A tool, or a whole server, listed by another process a moment ago.
    await observeTools(cli, 's', [ADD_NOTE]);
    await observeTools(cli, 'other', [VAPI_LOGOUT]);
    assert.equal(view.recheck('s', 'add_note'), undefined);
    assert.equal(view.recheck('other', 'vapi_logout'), undefined);
    await view.settled();
    assert.equal(view.lookup('s', 'add_note')?.status, 'accepted');
    assert.equal(view.lookup('other', 'vapi_logout')?.risk, 'Critical');
    assert.ok(view.knows('other'));
    assert.equal(view.recheck('s', 'never_listed'), undefined);
  });

  test('recheck reads the store at most once per tool every 250 ms', async (t) => {
    const c = instrumented(await knowingNotes());
    const view = await viewOf(t, c.store, { pollMs: 60_000 });
    const before = c.calls.gets;
    for (let i = 0; i < 100; i++) assert.equal(view.recheck('s', 'get_notes')?.status, 'accepted');
    assert.equal(c.calls.gets - before, 1, 'a burst of calls reads once');
    view.recheck('s', 'add_note');
    view.recheck('t', 'get_notes');
    assert.equal(c.calls.gets - before, 3, 'each tool of each server has its own allowance');
    await view.settled();
    for (let i = 0; i < 10; i++) view.recheck('s', 'get_notes');
    assert.equal(c.calls.gets - before, 3, 'a finished read does not reset the allowance');
    await sleep(260);
    view.recheck('s', 'get_notes');
    view.recheck('s', 'get_notes');
    assert.equal(c.calls.gets - before, 4, 'after 250 ms the tool is read again, once');
  });

  test('if the store cannot be read, recheck keeps what the view knows and reports the error', async (t) => {
    const memory = await knowingNotes();
    const c = instrumented(memory);
    const errors: Error[] = [];
    const view = await viewOf(t, c.store, { pollMs: 60_000, onError: (err) => errors.push(err) });
    await observeTools(memory, 's', [RUG_PULL]);
    assert.equal(status(view), 'accepted', 'not polled yet');
    assert.equal(view.recheck('s', 'get_notes')!.status, 'accepted', 'memory answers the first call');
    await view.settled();
    assert.equal(status(view), 'changed', 'recheck updated the view');
    c.failGets(true);
    await sleep(260);
    assert.equal(view.recheck('s', 'get_notes')!.status, 'changed');
    await view.settled();
    assert.equal(status(view), 'changed');
    assert.deepEqual(errors.map((e) => e.message), ['locked']);
  });

  test('ready resolves even when the store cannot be read (the view starts empty); a later poll loads it', async (t) => {
    const memory = await knowingNotes();
    let broken = true;
    const store: CatalogStore = {
      ...memory,
      version: async () => {
        if (broken) throw new Error('connection refused');
        return memory.version();
      },
    };
    const errors: Error[] = [];
    const view = await viewOf(t, store, { pollMs: 20, onError: (err) => errors.push(err) });
    assert.equal(view.knows('s'), false);
    assert.equal(view.loaded(), false);
    assert.equal(errors[0]?.message, 'connection refused');
    // Judged against nothing, every tool would look new and its pin would be overwritten: nothing is decided.
    assert.equal(view.observe('s', [RUG_PULL]), undefined);
    assert.equal(status(view), undefined);
    broken = false;
    await eventually('the poll loads the catalogue once the store answers', () => view.loaded());
    assert.equal(status(view), 'accepted');
    await view.settled();
    assert.equal((await memory.get('s', 'get_notes'))!.hash, hashOf(GET_NOTES), 'the pin was not overwritten');
    assert.deepEqual(view.observe('s', [RUG_PULL])?.changed, ['get_notes'], 'once loaded, the listing is judged');
  });

  test('close() finishes the writes already decided, then no longer polls', async (t) => {
    const memory = await knowingNotes();
    const c = instrumented(memory);
    const view = await viewOf(t, c.store, { pollMs: 20 });
    const release = c.holdPuts();
    view.observe('s', [RUG_PULL]);
    let closed = false;
    const closing = view.close().then(() => (closed = true));
    await sleep(30);
    assert.equal(closed, false, 'close() waits for the write');
    release();
    await closing;
    assert.equal((await memory.get('s', 'get_notes'))!.status, 'changed');
    const reads = c.calls.versions;
    await sleep(80);
    assert.equal(c.calls.versions, reads, 'no poll after close()');
  });

  test('an entry of older classifier rules is relabelled in memory and in the store, and is no news', async (t) => {
    const memory = createMemoryCatalog();
    await observeTools(memory, 's', [VAPI_LOGOUT]);
    const { classifier: _, ...old } = (await memory.get('s', 'vapi_logout'))!;
    await memory.put([{ ...old, category: 'Write', risk: 'Medium', evidence: ['old rules'] }]);
    const view = await viewOf(t, memory);
    assert.equal(view.lookup('s', 'vapi_logout')!.risk, 'Medium');
    const records: AuditInput[] = [];
    createToolWatch(view, (r) => records.push(r))('s', [VAPI_LOGOUT], true);
    assert.deepEqual(records, []);
    const entry = view.lookup('s', 'vapi_logout')!;
    assert.deepEqual([entry.category, entry.risk, entry.status, entry.classifier], ['Destructive', 'Critical', 'accepted', CLASSIFIER_REVISION]);
    await view.settled();
    assert.equal((await memory.get('s', 'vapi_logout'))!.classifier, CLASSIFIER_REVISION);
    assert.equal(view.observe('s', [VAPI_LOGOUT]), undefined);
  });
});
