// Adversarial frames through `policylayer wrap` (raw JSON lines on stdin) against the recording fixture server,
// which logs every frame it receives: a refused call must be answered and must never show up in that log.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { tempDir, writeConfig } from '../helpers/gateway.js';
import {
  call,
  initializeRequest,
  initialized,
  received,
  receivedCalls,
  recorderCommand,
  resultText,
  serverSaw,
  spawnWrap,
  type LineClient,
  type Message,
} from '../helpers/raw-mcp.js';

const MAX_BYTES = 4096;

/** A wrap gateway over a fresh recording fixture; `flush` proves every earlier frame was handled by the server. */
function setup(t: TestContext, initialize = true) {
  const dir = tempDir('pl-adv-wrap-');
  const record = path.join(dir, 'received.jsonl');
  const file = writeConfig(
    `version: 1
gateway: { listen: 127.0.0.1:0, max_message_bytes: ${MAX_BYTES} }
servers:
  rec:
    command: ${recorderCommand(record)}
    default: allow
    tools:
      delete_file: { action: deny, reason: "files are deleted by humans" }
    hide: [secret_tool, get_secret]
`,
    dir,
  );
  const gw = spawnWrap(['-c', file, '--server', 'rec']);
  t.after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  let flushes = 0;
  const ready = initialize
    ? gw.request(initializeRequest('init')).then(() => gw.send(initialized))
    : Promise.resolve();
  return {
    gw,
    record,
    ready,
    /** A ping answered by the server: frames sent before it have all been received (or not) by now. */
    async flush(): Promise<void> {
      const id = `flush-${++flushes}`;
      const reply = await gw.request({ jsonrpc: '2.0', id, method: 'ping' });
      assert.deepEqual(reply.result, {}, 'the gateway still serves');
    },
  };
}

function assertDenial(reply: Message, tool: string): void {
  assert.equal(reply.result?.isError, true, JSON.stringify(reply));
  const text = resultText(reply);
  assert.match(text, /^\[POLICY DENIED\]/);
  assert.ok(text.includes(tool) && text.includes('servers.rec.tools.delete_file') && text.includes('files are deleted by humans'), text);
}

async function listAll(gw: LineClient): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const reply = await gw.request({ jsonrpc: '2.0', id: `list-${page}`, method: 'tools/list', ...(cursor && { params: { cursor } }) });
    names.push(...(reply.result.tools as { name: string }[]).map((t) => t.name));
    cursor = reply.result.nextCursor;
    if (!cursor) return names;
  }
  throw new Error('tools/list did not end');
}

describe('wrap: denied and hidden calls never reach the server', () => {
  test('a denied call is answered [POLICY DENIED] and not received; an allowed one is', async (t) => {
    const { gw, record, ready } = setup(t);
    await ready;
    assertDenial(await gw.request(call(1, 'delete_file', { path: '/etc' })), 'delete_file');
    const echo = await gw.request(call(2, 'echo', { text: 'hi' }));
    assert.equal(resultText(echo), 'echo: hi');
    assert.deepEqual(receivedCalls(record), ['echo']);
  });

  test('name tricks on the denied tool are denied and never received', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    const tricks = ['Delete_File', 'delete_file ', ' delete_file', 'delete\u200B_file', '\uFEFFdelete_file', '\u202Edelete_file', 'ｄｅｌｅｔｅ_ｆｉｌｅ', 'd\u0435lete_file', 'delete-file'];
    for (const [i, name] of tricks.entries()) assertDenial(await gw.request(call(`trick-${i}`, name)), name);
    await flush();
    assert.deepEqual(receivedCalls(record), []);
    assert.equal(serverSaw(record, 'tools/call'), false, 'no call naming any of the tricks reached the server');
  });

  test('hidden tools are absent from every tools/list page, and calling one is an unknown tool not received', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    const names = await listAll(gw);
    assert.deepEqual(names, ['echo', 'whoami', 'read_file', 'delete_file', 'delete_temp_cache'], 'pages 2 and 3 are filtered too');
    for (const name of ['secret_tool', 'get_secret', 'Secret_Tool']) {
      const reply = await gw.request(call(`h-${name}`, name));
      assert.deepEqual(reply.error, { code: -32602, message: `Unknown tool: ${name}` });
    }
    await flush();
    assert.deepEqual(receivedCalls(record), []);
    assert.equal(serverSaw(record, 'ecret'), false);
  });

  test('calls before initialize are still decided', async (t) => {
    const { gw, record, ready, flush } = setup(t, false);
    await ready;
    assertDenial(await gw.request(call(1, 'delete_file')), 'delete_file');
    assert.equal((await gw.request(call(2, 'secret_tool'))).error?.code, -32602);
    await flush();
    assert.deepEqual(receivedCalls(record), []);
    const init = await gw.request(initializeRequest(3));
    assert.equal(init.result?.serverInfo?.name, 'recording-server', 'the session still initializes afterwards');
  });

  test('a tools/call notification is neither answered nor forwarded', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    gw.send({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo', arguments: { text: 'fire and forget' } } });
    gw.send({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'delete_file' } });
    await flush();
    assert.deepEqual(await gw.unexpected(200), []);
    assert.deepEqual(receivedCalls(record), []);
  });
});

describe('wrap: smuggling attempts', () => {
  test('a batch of [allowed, denied] is refused element by element and nothing reaches the server', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    gw.send([call(1, 'echo', { text: 'batched' }), call(2, 'delete_file')]);
    const reply = await gw.next((m) => Array.isArray(m));
    assert.deepEqual((reply as unknown as Message[]).map((r) => [r.id, r.error?.code]), [[1, -32600], [2, -32600]]);
    await flush();
    assert.deepEqual(receivedCalls(record), []);
    assert.equal(received(record).some((f) => f.raw.trimStart().startsWith('[')), false, 'no batch frame was forwarded');
  });

  test('duplicate keys: the server receives exactly the call that was decided', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    gw.send('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}},"params":{"name":"delete_file"}}');
    assertDenial(await gw.next((m) => m.id === 1), 'delete_file');
    gw.send('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_file"},"p\\u0061rams":{"name":"echo","arguments":{"text":"b"}}}');
    assert.equal(resultText(await gw.next((m) => m.id === 2)), 'echo: b');
    gw.send('{"jsonrpc":"2.0","id":3,"method":"tools/call","method":"ping","params":{"name":"delete_file"}}');
    await gw.next((m) => m.id === 3);
    await flush();
    assert.deepEqual(receivedCalls(record), ['echo']);
    // Frame 3 reaches the server as a ping; no frame a first-wins parser could read as a delete_file call does.
    const risky = received(record).filter((f) => f.raw.includes('delete_file') && f.raw.includes('tools/call'));
    assert.deepEqual(risky, []);
  });

  test('near-miss methods are refused with -32601 and not received', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    for (const [i, method] of ['Tools/Call', 'tools/call ', 'tools/call\u200B', 'TOOLS/LIST'].entries()) {
      const reply = await gw.request({ jsonrpc: '2.0', id: `nm-${i}`, method, params: { name: 'delete_file' } });
      assert.equal(reply.error?.code, -32601, method);
    }
    await flush();
    assert.equal(received(record).some((f) => f.raw.toLowerCase().includes('tools/')), false);
  });

  test('a client reusing an in-flight id cannot get an unfiltered tools/list', async (t) => {
    const { gw, ready } = setup(t);
    await ready;
    // The fixture answers in order: the ping's reply arrives first with the same id as the list.
    gw.send({ jsonrpc: '2.0', id: 7, method: 'ping' });
    gw.send({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: { cursor: 'page-3' } });
    const list = await gw.next((m) => Array.isArray(m.result?.tools));
    // Page 3 holds delete_file (denied, so still listed), secret_tool (hidden) and delete_temp_cache.
    assert.deepEqual((list.result.tools as { name: string }[]).map((x) => x.name), ['delete_file', 'delete_temp_cache'], 'secret_tool reached the client');
  });
});

describe('wrap: oversized and garbage frames', () => {
  test('an oversized frame gets a JSON-RPC error, is not received, and the next frame is served', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    // Just over the limit, written at once with its newline (the usual way a client writes a frame).
    gw.send(call(1, 'echo', { text: 'x'.repeat(MAX_BYTES + 100) }));
    const err = await gw.next((m) => m.id === 1 || m.error !== undefined);
    assert.equal(err.error?.code, -32600, `the ${MAX_BYTES + 100}+ byte frame was not refused: ${JSON.stringify(err).slice(0, 200)}`);
    assert.match(err.error.message, /limit/);
    const echo = await gw.request(call(2, 'echo', { text: 'after' }));
    assert.equal(resultText(echo), 'echo: after');
    await flush();
    assert.deepEqual(receivedCalls(record), ['echo']);
  });

  test('a frame many times the limit, written in pieces, is refused and the stream resyncs on its newline', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    const big = JSON.stringify(call(3, 'echo', { text: 'y'.repeat(MAX_BYTES * 5) })) + '\n';
    // Paced so that the pieces arrive as separate reads: the gateway must drop them as they come, not buffer them.
    for (let i = 0; i < big.length; i += 1000) {
      gw.child.stdin!.write(big.slice(i, i + 1000));
      await new Promise((r) => setTimeout(r, 5));
    }
    const err = await gw.next((m) => m.id === 3 || m.error !== undefined);
    assert.equal(err.error?.code, -32600);
    assert.equal(resultText(await gw.request(call(4, 'echo', { text: 'after' }))), 'echo: after');
    await flush();
    assert.deepEqual(receivedCalls(record), ['echo']);
  });

  test('the limit counts bytes, not characters', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    // 1500 × '€' is 1500 UTF-16 units but 4500 bytes of UTF-8: above the 4096-byte limit.
    gw.send(call(1, 'echo', { text: '€'.repeat(1500) }));
    const reply = await gw.next((m) => m.id === 1 || (m.id === null && m.error !== undefined));
    assert.equal(reply.error?.code, -32600, `a ${Buffer.byteLength(JSON.stringify(call(1, 'echo', { text: '€'.repeat(1500) })))}-byte frame was accepted`);
    await flush();
    assert.deepEqual(receivedCalls(record), []);
  });

  test('garbage frames get JSON-RPC errors and the gateway keeps serving', async (t) => {
    const { gw, record, ready, flush } = setup(t);
    await ready;
    const cases: [string, number][] = [
      ['hello', -32700],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/ca', -32700],
      ['42', -32600],
      ['null', -32600],
      ['{}', -32600],
      ['{"id":"g1","method":"tools/call","params":{"name":"echo"}}', -32600],
      ['{"jsonrpc":"2.0","id":"g2","method":"tools/call","params":{"name":7}}', -32602],
    ];
    for (const [frame, code] of cases) {
      gw.send(frame);
      const reply = await gw.next((m) => m.error !== undefined);
      assert.equal(reply.error.code, code, frame);
      assert.equal(reply.jsonrpc, '2.0');
    }
    await flush();
    assert.deepEqual(receivedCalls(record), []);
    assert.equal(resultText(await gw.request(call(9, 'echo', { text: 'still here' }))), 'echo: still here');
  });
});
