// tools/list filtering: hidden and nameless tools are removed from every page; other replies pass byte for byte.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.js';
import { compilePolicy, type ServerPolicy } from '../../src/policy/compile.js';
import { createRelay } from '../../src/proxy/relay.js';
import { filterToolsInFrame, filterToolsListResponse } from '../../src/proxy/tools-filter.js';
import type { MessagePipe } from '../../src/transport/message-pipe.js';

function policyOf(server: Record<string, unknown>): ServerPolicy {
  const config = ConfigSchema.parse({ version: 1, servers: { s: { command: ['node', 'x.js'], ...server } } });
  return compilePolicy(config).server('s')!;
}

const policy = policyOf({ default: 'allow', tools: { drop_db: 'deny' }, hide: ['secret_tool', 'debug_*'] });
const tool = (name: unknown) => ({ name, description: `d ${String(name)}`, inputSchema: { type: 'object' } });
const page = (id: number | string, names: unknown[], nextCursor?: string) => ({
  jsonrpc: '2.0',
  id,
  result: { tools: names.map(tool), ...(nextCursor !== undefined && { nextCursor }) },
});
const namesOf = (m: unknown) => ((m as { result: { tools: { name: unknown }[] } }).result.tools).map((t) => t.name);

describe('filterToolsListResponse', () => {
  test('removes hidden tools, keeps denied ones, and keeps every other field of the result', () => {
    const msg = { ...page(1, ['echo', 'secret_tool', 'drop_db', 'debug_dump']), extra: 1 };
    (msg.result as Record<string, unknown>)._meta = { k: 'v' };
    const out = filterToolsListResponse(msg, policy, 'anonymous');
    assert.ok(out);
    assert.deepEqual(namesOf(out), ['echo', 'drop_db']);
    assert.deepEqual((out.result as Record<string, unknown>)._meta, { k: 'v' });
    assert.equal(out.extra, 1);
    assert.equal(out.id, 1);
  });

  test('a page with nextCursor is filtered too, and the cursor is kept', () => {
    const out = filterToolsListResponse(page(2, ['a', 'secret_tool'], 'page-3'), policy, 'anonymous');
    assert.ok(out);
    assert.deepEqual(namesOf(out), ['a']);
    assert.equal((out.result as { nextCursor?: string }).nextCursor, 'page-3');
  });

  test('a look-alike of a hidden name declared by the server is hidden as well', () => {
    const out = filterToolsListResponse(page(1, ['Secret_Tool', 'secret_\u200Btool', 'ok']), policy, 'anonymous');
    assert.deepEqual(namesOf(out), ['ok']);
  });

  test('a tool without a name string is dropped', () => {
    const out = filterToolsListResponse({ jsonrpc: '2.0', id: 1, result: { tools: [tool('ok'), tool(42), tool(null), {}, null, 'echo', tool(['x'])] } }, policy, 'anonymous');
    assert.deepEqual(namesOf(out), ['ok']);
  });

  test('returns null when nothing changes, so the original bytes are forwarded', () => {
    assert.equal(filterToolsListResponse(page(1, ['echo', 'drop_db']), policy, 'anonymous'), null);
    assert.equal(filterToolsListResponse({ jsonrpc: '2.0', id: 1, result: {} }, policy, 'anonymous'), null);
    assert.equal(filterToolsListResponse({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x' } }, policy, 'anonymous'), null);
  });

  test('an empty page stays an empty page', () => {
    const out = filterToolsListResponse(page(1, ['secret_tool'], 'next'), policy, 'anonymous');
    assert.deepEqual(namesOf(out), []);
    assert.equal((out!.result as { nextCursor?: string }).nextCursor, 'next');
  });
});

/** A relay between two in-memory pipes; frames the upstream and the client received are collected. */
function relayHarness(p: ServerPolicy = policy) {
  const toUpstream: string[] = [];
  const toClient: string[] = [];
  const client: MessagePipe = { send: (raw) => toClient.push(raw), close() {} };
  const upstream: MessagePipe = { send: (raw) => toUpstream.push(raw), close() {} };
  createRelay({ server: 's', policy: () => p, client, upstream });
  return {
    toUpstream,
    toClient,
    fromClient: (m: unknown) => client.onmessage!(typeof m === 'string' ? m : JSON.stringify(m)),
    fromServer: (m: unknown) => upstream.onmessage!(typeof m === 'string' ? m : JSON.stringify(m)),
  };
}

describe('relay: tools/list through the pipeline', () => {
  test('every page of a paginated list is filtered', () => {
    const h = relayHarness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    h.fromServer(page(1, ['echo', 'debug_a'], 'c1'));
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { cursor: 'c1' } });
    h.fromServer(page(2, ['secret_tool', 'b'], 'c2'));
    h.fromClient({ jsonrpc: '2.0', id: 'three', method: 'tools/list', params: { cursor: 'c2' } });
    h.fromServer(page('three', ['c', 'debug_b']));
    const replies = h.toClient.map((r) => JSON.parse(r));
    assert.deepEqual(replies.map(namesOf), [['echo'], ['b'], ['c']]);
    assert.deepEqual(replies.map((r) => r.result.nextCursor), ['c1', 'c2', undefined]);
    assert.equal(h.toUpstream.length, 3);
  });

  test('replies to other requests pass byte for byte, even when they carry a tools array', () => {
    const h = relayHarness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const unrelated = '{"jsonrpc":"2.0","id":9,  "result":{"tools":[{"name":"x"}]}}';
    h.fromServer(unrelated);
    const listed = '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]}}';
    h.fromServer(listed);
    assert.deepEqual(h.toClient, [unrelated, listed]);
  });

  test('a client that reuses an in-flight id cannot get an unfiltered list', () => {
    // ping id 7, then tools/list id 7: the ping's reply comes first and must not use up the list's filter.
    const h = relayHarness();
    h.fromClient({ jsonrpc: '2.0', id: 7, method: 'ping' });
    h.fromClient({ jsonrpc: '2.0', id: 7, method: 'tools/list' });
    h.fromServer({ jsonrpc: '2.0', id: 7, result: {} });
    h.fromServer(page(7, ['echo', 'secret_tool']));
    const lists = h.toClient.map((r) => JSON.parse(r)).filter((m) => Array.isArray(m.result?.tools));
    assert.equal(lists.length, 1);
    assert.deepEqual(namesOf(lists[0]), ['echo'], 'the hidden tool reached the client');
  });

  test('the list is filtered with the policy in force when the reply arrives', () => {
    let current = policyOf({});
    const toClient: string[] = [];
    const client: MessagePipe = { send: (raw) => toClient.push(raw), close() {} };
    const upstream: MessagePipe = { send() {}, close() {} };
    createRelay({ server: 's', policy: () => current, client, upstream });
    client.onmessage!(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    current = policyOf({ hide: ['echo'] });
    upstream.onmessage!(JSON.stringify(page(1, ['echo', 'b'])));
    assert.deepEqual(namesOf(JSON.parse(toClient[0]!)), ['b']);
  });
});

describe('filterToolsInFrame: no tool list escapes the filter, whatever its bytes', () => {
  const escapedKey = (names: string[]) => JSON.stringify(page(7, names)).replace('"tools":', '"tool\\u0073":');

  test('a list whose key is written with an escape is read, filtered, and seen by the catalogue', () => {
    const seen: unknown[][] = [];
    const out = filterToolsInFrame(escapedKey(['echo', 'secret_tool']), policy, 'anonymous', (tools) => void seen.push([...tools]));
    assert.ok(out !== null);
    assert.deepEqual(namesOf(JSON.parse(out)), ['echo']);
    assert.deepEqual(seen.map((tools) => tools.map((t) => (t as { name: string }).name)), [['echo', 'secret_tool']]);
  });

  test('a list with nothing to hide but bytes a client could read another way is re-serialised', () => {
    const twice = '{"jsonrpc":"2.0","id":8,"result":{"tools":[{"name":"secret_tool"}],"tools":[{"name":"echo"}]}}';
    const out = filterToolsInFrame(twice, policy, 'anonymous');
    assert.equal(out, JSON.stringify(JSON.parse(twice)), 'the client reads the one list the gateway read');
    const escaped = escapedKey(['echo']);
    assert.equal(filterToolsInFrame(escaped, policy, 'anonymous'), JSON.stringify(JSON.parse(escaped)));
  });

  test('frames that cannot hold a list pass as they are; one that might but is not JSON is dropped', () => {
    const plain = '{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"hi"}]}}';
    assert.equal(filterToolsInFrame(plain, policy, 'anonymous'), plain);
    assert.equal(filterToolsInFrame('{"result":{"tool\\u0073":[{"name":"secret_tool"}],}}', policy, 'anonymous'), null);
  });
});
