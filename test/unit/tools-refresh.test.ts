// The gateway's own tools/list after notifications/tools/list_changed: recognising the notice, paging, coalescing
// notices, keeping its answers from the client, and holding requests (not answers) until the listing is seen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { ConfigSchema } from '../../src/config/schema.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { createRelay } from '../../src/proxy/relay.js';
import { announcesToolsChanged, createPipeLister, createToolsRefresher, type ToolsPage } from '../../src/proxy/tools-refresh.js';
import type { MessagePipe } from '../../src/transport/message-pipe.js';

const NOTICE = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });

describe('announcesToolsChanged', () => {
  test('only the notification itself, not a request, a result or text that mentions it', () => {
    assert.equal(announcesToolsChanged(NOTICE), true);
    assert.equal(announcesToolsChanged(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: {} })), true);
    assert.equal(announcesToolsChanged(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'notifications/tools/list_changed' })), false);
    assert.equal(announcesToolsChanged(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'notifications/tools/list_changed' }] } })), false);
    assert.equal(announcesToolsChanged('{"method":"notifications/tools/list_changed"'), false);
    assert.equal(announcesToolsChanged(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/resources/list_changed' })), false);
  });
});

describe('createToolsRefresher', () => {
  test('lists every page, tells the watcher which page is the last, and resolves pending', async () => {
    const pages: Record<string, ToolsPage> = { start: { tools: [{ name: 'a' }], nextCursor: 'c1' }, c1: { tools: [{ name: 'b' }] } };
    const asked: (string | undefined)[] = [];
    const seen: [string[], boolean][] = [];
    const r = createToolsRefresher(
      async (cursor) => {
        asked.push(cursor);
        return pages[cursor ?? 'start']!;
      },
      (tools, last) => seen.push([tools.map((t) => (t as { name: string }).name), last]),
    );
    assert.equal(r.pending, undefined);
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a' } });
    const answer = JSON.stringify({ jsonrpc: '2.0', id: 'srv-1', result: {} });
    assert.equal(r.holds(call), undefined, 'nothing is held while no listing is under way');
    r.refresh();
    assert.ok(r.pending);
    assert.equal(r.holds(call), r.pending, 'a request waits for the listing');
    assert.equal(r.holds(answer), undefined, 'an answer to the server does not');
    await r.pending;
    assert.equal(r.pending, undefined);
    assert.deepEqual(asked, [undefined, 'c1']);
    assert.deepEqual(seen, [
      [['a'], false],
      [['b'], true],
    ]);
  });

  test('notices during a listing make one more listing, not one per notice', async () => {
    let listings = 0;
    let release!: () => void;
    const r = createToolsRefresher(
      () => {
        listings++;
        return listings === 1 ? new Promise<ToolsPage>((resolve) => (release = () => resolve({ tools: [] }))) : Promise.resolve({ tools: [] });
      },
      () => {},
    );
    r.refresh();
    const first = r.pending;
    r.refresh();
    r.refresh();
    r.refresh();
    assert.equal(r.pending, first, 'one listing under way');
    release();
    await first;
    assert.equal(listings, 2);
  });

  test('a failed listing is reported, and pending resolves (callers go on with what is known)', async () => {
    const errors: string[] = [];
    const r = createToolsRefresher(() => Promise.reject(new Error('boom')), () => {}, (err) => errors.push(err.message));
    r.refresh();
    await r.pending;
    assert.deepEqual(errors, ['boom']);
  });
});

describe('createPipeLister', () => {
  test('its own answers are taken (and parsed into pages); anything else is left for the client', async () => {
    const sent: string[] = [];
    const lister = createPipeLister({ send: (raw) => sent.push(raw), close() {} });
    const page = lister.list('c1');
    const request = JSON.parse(sent[0]!) as { id: string; method: string; params: unknown };
    assert.equal(request.method, 'tools/list');
    assert.deepEqual(request.params, { cursor: 'c1' });
    assert.match(request.id, /^policylayer-tools-[0-9a-f]{12}-0$/);
    assert.equal(lister.take(JSON.stringify({ jsonrpc: '2.0', id: 7, result: { tools: [] } })), false);
    assert.equal(lister.take(JSON.stringify({ jsonrpc: '2.0', id: `${request.id}x`, result: { tools: [] } })), false);
    assert.equal(lister.take(JSON.stringify({ jsonrpc: '2.0', id: request.id, method: 'ping' })), false, 'a request is not an answer');
    assert.equal(lister.take(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { tools: [{ name: 'x' }], nextCursor: 'c2' } })), true);
    assert.deepEqual(await page, { tools: [{ name: 'x' }], nextCursor: 'c2' });
    assert.equal(lister.take(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { tools: [] } })), false, 'answered once');
  });

  test('an error answer, an answer without tools and the end of the session reject the page', async () => {
    const sent: string[] = [];
    const lister = createPipeLister({ send: (raw) => sent.push(raw), close() {} });
    const idOf = (i: number) => (JSON.parse(sent[i]!) as { id: string }).id;
    const refused = lister.list(undefined);
    lister.take(JSON.stringify({ jsonrpc: '2.0', id: idOf(0), error: { code: -32601, message: 'Method not found' } }));
    await assert.rejects(refused, /refused tools\/list: Method not found/);
    const empty = lister.list(undefined);
    lister.take(JSON.stringify({ jsonrpc: '2.0', id: idOf(1), result: {} }));
    await assert.rejects(empty, /without a `tools` array/);
    const open = lister.list(undefined);
    lister.close();
    await assert.rejects(open, /session ended/);
  });
});

function relayHarness() {
  const config = ConfigSchema.parse({ version: 1, servers: { s: { command: ['node', 'x.js'], tools: { drop: 'deny' } } } });
  const policy = compilePolicy(config).server('s')!;
  const toUpstream: string[] = [];
  const toClient: string[] = [];
  const seen: string[][] = [];
  const client: MessagePipe = { send: (raw) => toClient.push(raw), close() {} };
  const upstream: MessagePipe = { send: (raw) => toUpstream.push(raw), close() {} };
  const observers = { tools: (_server: string, tools: readonly unknown[]) => void seen.push(tools.map((t) => (t as { name: string }).name)) };
  createRelay({ server: 's', policy: () => policy, client, upstream, observers });
  return {
    toUpstream,
    toClient,
    seen,
    fromClient: (m: unknown) => client.onmessage!(JSON.stringify(m)),
    fromServer: (m: unknown) => upstream.onmessage!(typeof m === 'string' ? m : JSON.stringify(m)),
  };
}

describe('relay: the notice', () => {
  test('is passed to the client, the gateway lists the tools itself, and its answer stays in the gateway', async () => {
    const h = relayHarness();
    h.fromServer(NOTICE);
    assert.deepEqual(h.toClient, [NOTICE]);
    const request = JSON.parse(h.toUpstream[0]!) as { id: string; method: string };
    assert.equal(request.method, 'tools/list');
    h.fromServer({ jsonrpc: '2.0', id: request.id, result: { tools: [{ name: 'echo' }, { name: 'drop' }] } });
    await tick();
    assert.deepEqual(h.seen, [['echo', 'drop']]);
    assert.deepEqual(h.toClient, [NOTICE], 'nothing else reached the client');
  });

  test('requests wait for the listing; answers to the server and the listing itself do not', async () => {
    const h = relayHarness();
    h.fromServer(NOTICE);
    const listing = JSON.parse(h.toUpstream[0]!) as { id: string };
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } });
    h.fromClient({ jsonrpc: '2.0', id: 'srv-1', result: {} }); // the client answering a server request
    await tick();
    assert.deepEqual(
      h.toUpstream.slice(1).map((r) => JSON.parse(r) as Record<string, unknown>),
      [{ jsonrpc: '2.0', id: 'srv-1', result: {} }],
      'only the answer went on while the listing was under way',
    );
    h.fromServer({ jsonrpc: '2.0', id: listing.id, result: { tools: [{ name: 'echo' }] } });
    await tick();
    await tick();
    assert.equal((JSON.parse(h.toUpstream.at(-1)!) as { method?: string }).method, 'tools/call', 'the call went on after the listing');
  });
});
