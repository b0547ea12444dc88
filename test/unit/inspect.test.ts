// Client frames the gateway must not be fooled by: duplicate keys, escapes, batches, notifications, near-miss
// methods, garbage, and Mcp-Method / Mcp-Name headers that disagree with the body.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.js';
import { compilePolicy, type ServerPolicy } from '../../src/policy/compile.js';
import { decodeMcpHeader } from '../../src/proxy/http-util.js';
import { inspectClientFrame, type StandardHeaders, type Verdict } from '../../src/proxy/inspect.js';
import { createRelay } from '../../src/proxy/relay.js';
import type { MessagePipe } from '../../src/transport/message-pipe.js';
import { methodSpellings } from '../helpers/spellings.js';

const config = ConfigSchema.parse({
  version: 1,
  servers: {
    s: {
      command: ['node', 'x.js'],
      default: 'allow',
      tools: { denied: { action: 'deny', reason: 'not for agents' }, ok: 'allow' },
      hide: ['hidden'],
    },
  },
});
const policy: ServerPolicy = compilePolicy(config).server('s')!;
const inspect = (raw: string, headers?: StandardHeaders): Verdict => inspectClientFrame(raw, 's', policy, headers);

/** Keys that occur twice in one object of `text` (after unescaping), found with a small JSON reader. */
function duplicateKeys(text: string): string[] {
  let i = 0;
  const dups: string[] = [];
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === (c === '{' ? '}' : ']')) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          const key = str();
          if (seen.has(key)) dups.push(key);
          seen.add(key);
          ws();
          i++; // the colon
        }
        value();
        ws();
        if (text[i++] !== ',') return;
      }
    }
    if (c === '"') return void str();
    while (i < text.length && !',]} \t\r\n'.includes(text[i]!)) i++;
  };
  value();
  return dups;
}

/** A forwarded frame must be read the same way by every JSON parser: what we decided is what the server gets. */
function assertForwardedAsDecided(v: Verdict): Extract<Verdict, { kind: 'forward' }> {
  assert.equal(v.kind, 'forward', `expected the frame to be forwarded, got ${JSON.stringify(v)}`);
  if (v.kind !== 'forward') throw new Error('unreachable');
  assert.deepEqual(JSON.parse(v.raw), v.message, 'the bytes sent upstream parse to the object that was decided on');
  assert.deepEqual(duplicateKeys(v.raw), [], `the bytes sent upstream hold duplicate keys: ${v.raw}`);
  if (v.tool) assert.equal((JSON.parse(v.raw) as { params: { name: string } }).params.name, v.tool.name);
  return v;
}

function assertDenied(v: Verdict, id: number | string, tool: string): void {
  assert.equal(v.kind, 'answer', `expected an answer, got ${JSON.stringify(v)}`);
  const reply = (v as { reply: { id: unknown; result?: { isError?: boolean; content?: { text: string }[] } } }).reply;
  assert.equal(reply.id, id);
  assert.equal(reply.result?.isError, true);
  const text = reply.result?.content?.[0]?.text ?? '';
  assert.match(text, /^\[POLICY DENIED\]/);
  assert.ok(text.includes(`"${tool}"`), text);
  assert.ok(text.includes('servers.s.tools.denied'), text);
  assert.ok(text.includes('not for agents'), text);
}

function errorOf(v: Verdict): { id: unknown; error: { code: number; message: string } } {
  assert.equal(v.kind, 'answer', `expected an answer, got ${JSON.stringify(v)}`);
  const reply = (v as { reply: unknown }).reply as { id: unknown; error?: { code: number; message: string } };
  assert.ok(reply && !Array.isArray(reply) && reply.error, `expected one error reply, got ${JSON.stringify(reply)}`);
  return reply as { id: unknown; error: { code: number; message: string } };
}

describe('decisions on ordinary calls', () => {
  test('allowed call: forwarded as the decided object, with the decision attached', () => {
    const v = assertForwardedAsDecided(inspect('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","arguments":{"a":[1,{"b":null}]}}}'));
    assert.deepEqual(v.tool?.decision.action, 'allow');
  });

  test('denied call: a CallToolResult with isError naming tool, rule and reason', () => {
    assertDenied(inspect('{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"denied"}}'), 'x1', 'denied');
  });

  test('hidden tool and its look-alikes: -32602 Unknown tool, as if absent', () => {
    for (const name of ['hidden', 'Hidden', 'hid\u200Bden']) {
      const e = errorOf(inspect(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name } })));
      assert.deepEqual([e.id, e.error.code, e.error.message], [4, -32602, `Unknown tool: ${name}`]);
    }
  });

  test('notifications and responses the gateway does not act on pass byte for byte', () => {
    for (const raw of ['{"jsonrpc":"2.0",  "method":"notifications/initialized"}', '{"jsonrpc":"2.0","id":3,"result":{"x":"é"}}']) {
      const v = inspect(raw);
      assert.equal(v.kind, 'forward');
      assert.equal((v as { raw: string }).raw, raw);
    }
  });

  test('requests are forwarded as the exact object that was read (re-serialised, same content)', () => {
    const raw = '{"jsonrpc":"2.0",  "id":1,"method":"ping","params":{"_meta":{"k":"é"}}}';
    const v = inspect(raw);
    assert.equal(v.kind, 'forward');
    assert.deepEqual(JSON.parse((v as { raw: string }).raw), JSON.parse(raw));
  });
});

describe('duplicate keys and escapes: the upstream receives exactly what was decided', () => {
  test('two params objects, denied one last: denied', () => {
    assertDenied(inspect('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok"},"params":{"name":"denied"}}'), 1, 'denied');
  });

  test('two params objects, denied one first: the server gets only the allowed one', () => {
    const v = assertForwardedAsDecided(inspect('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"denied"},"params":{"name":"ok"}}'));
    assert.equal(v.tool?.name, 'ok');
    assert.ok(!v.raw.includes('denied'), v.raw);
  });

  test('two name keys inside params, both orders', () => {
    assertDenied(inspect('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ok","name":"denied"}}'), 2, 'denied');
    const v = assertForwardedAsDecided(inspect('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"denied","name":"ok"}}'));
    assert.ok(!v.raw.includes('denied'), v.raw);
  });

  test('\\u-escaped keys hiding a duplicate, both orders', () => {
    assertDenied(inspect('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ok","n\\u0061me":"denied"}}'), 3, 'denied');
    const v = assertForwardedAsDecided(inspect('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"n\\u0061me":"denied","name":"ok"}}'));
    assert.ok(!v.raw.includes('denied'), v.raw);
    assertDenied(inspect('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ok"},"p\\u0061rams":{"name":"denied"}}'), 3, 'denied');
  });

  test('escaped values are decided as decoded', () => {
    assertDenied(inspect('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"d\\u0065nied"}}'), 4, 'denied');
    assertDenied(inspect('{"jsonrpc":"2.0","id":4,"method":"tools\\/call","params":{"name":"denied"}}'), 4, 'denied');
    assertDenied(inspect('{"jsonrpc":"2.0","id":4,"method":"tools\\u002fcall","params":{"name":"denied"}}'), 4, 'denied');
  });

  test('duplicate "method" keys: a tools/call is never smuggled past as another method', () => {
    assertDenied(inspect('{"jsonrpc":"2.0","id":5,"method":"ping","method":"tools/call","params":{"name":"denied"}}'), 5, 'denied');
    assertDenied(inspect('{"jsonrpc":"2.0","id":5,"m\\u0065thod":"ping","method":"tools/call","params":{"name":"denied"}}'), 5, 'denied');
    for (const raw of [
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","method":"ping","params":{"name":"denied"}}',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","m\\u0065thod":"ping","params":{"name":"denied"}}',
      '{"jsonrpc":"2.0","method":"tools/call","method":"notifications/progress","params":{"name":"denied"}}',
    ]) {
      const v = assertForwardedAsDecided(inspect(raw));
      assert.notEqual((JSON.parse(v.raw) as { method: string }).method, 'tools/call');
      assert.ok(!v.raw.includes('tools/call'), `a first-wins server would run tools/call: ${v.raw}`);
    }
  });

  test('duplicate ids on tools/list: the server answers the id whose reply gets filtered', () => {
    const v = assertForwardedAsDecided(inspect('{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/list"}'));
    assert.equal(v.listId, (JSON.parse(v.raw) as { id: number }).id);
  });

  test('duplicate params on a method checked against Mcp-Name: the server sees the checked value', () => {
    const raw = '{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"file:///etc/passwd"},"params":{"uri":"file:///ok"}}';
    assertForwardedAsDecided(inspect(raw, { method: 'resources/read', name: 'file:///ok' }));
  });
});

describe('batches are refused element by element, never forwarded', () => {
  test('[allowed, denied]: one -32600 error per element, with its id', () => {
    const v = inspect(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ok' } },
        { jsonrpc: '2.0', id: 'two', method: 'tools/call', params: { name: 'denied' } },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        42,
      ]),
    );
    assert.equal(v.kind, 'answer');
    const replies = (v as { reply: { id: unknown; error: { code: number } }[] }).reply;
    assert.ok(Array.isArray(replies));
    assert.deepEqual(replies.map((r) => [r.id, r.error.code]), [[1, -32600], ['two', -32600], [null, -32600], [null, -32600]]);
  });

  test('an empty batch is one -32600 error', () => {
    const e = errorOf(inspect('[]'));
    assert.deepEqual([e.id, e.error.code], [null, -32600]);
  });
});

describe('tools/call notifications and near-miss methods', () => {
  test('a tools/call without id is never forwarded and gets no reply', () => {
    for (const name of ['ok', 'denied', 'hidden']) {
      const v = inspect(JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name } }));
      assert.deepEqual(v, { kind: 'answer', reply: null });
    }
  });

  const NEAR_MISSES = ['Tools/Call', 'TOOLS/CALL', 'tools/call ', ' tools/call', 'tools/call\t', 'tools/call\u200B', '\uFEFFtools/call', 'tools/\u200Dcall', 'ｔｏｏｌｓ/ｃａｌｌ', 'tools\uFF0Fcall', 'Tools/List', 'tools/list\u200B'];
  for (const method of NEAR_MISSES) {
    test(`${JSON.stringify(method)} is refused with -32601, not forwarded`, () => {
      const e = errorOf(inspect(JSON.stringify({ jsonrpc: '2.0', id: 9, method, params: { name: 'denied' } })));
      assert.deepEqual([e.id, e.error.code], [9, -32601]);
      const n = inspect(JSON.stringify({ jsonrpc: '2.0', method, params: { name: 'denied' } }));
      assert.deepEqual(n, { kind: 'answer', reply: null }, 'as a notification: dropped');
    });
  }

  test('every generated spelling of tools/call and tools/list (separators, word order, singular, look-alikes, …) is refused', () => {
    for (const governed of ['tools/call', 'tools/list']) {
      const spellings = methodSpellings(governed);
      assert.ok(spellings.length > 200, `only ${spellings.length} spellings of ${governed}`);
      for (const method of spellings) {
        const v = inspect(JSON.stringify({ jsonrpc: '2.0', id: 11, method, params: { name: 'ok' } }));
        assert.equal(v.kind, 'answer', `${JSON.stringify(method)} was forwarded`);
        const e = errorOf(v);
        assert.deepEqual([e.id, e.error.code], [11, -32601], JSON.stringify(method));
        assert.deepEqual(inspect(JSON.stringify({ jsonrpc: '2.0', method, params: { name: 'ok' } })), { kind: 'answer', reply: null }, `notification ${JSON.stringify(method)}`);
      }
    }
  });

  test('the spellings the README names are refused', () => {
    for (const method of ['tools.call', 'tools_call', 'toolscall', 'call_tool', 'tools\\call', 'tools//call', 't\u043E\u043Els/call', 'tools\uFF0Fcall', 'toolCall', 'listTools', 'tool/list']) {
      assert.equal(errorOf(inspect(JSON.stringify({ jsonrpc: '2.0', id: 12, method }))).error.code, -32601, JSON.stringify(method));
    }
  });

  test('methods that merely contain the words are forwarded', () => {
    const methods = [
      'initialize', 'ping', 'notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/message',
      'notifications/tools/list_changed', 'notifications/resources/list_changed', 'notifications/prompts/list_changed', 'notifications/roots/list_changed',
      'resources/list', 'resources/templates/list', 'resources/read', 'resources/subscribe', 'prompts/list', 'prompts/get', 'completion/complete',
      'logging/setLevel', 'sampling/createMessage', 'elicitation/create', 'roots/list', 'tasks/get', 'tasks/list', 'tasks/cancel', 'server/discover',
      'tools/callback', 'mytools/call', 'tools/call/v2', 'tools/listing', 'x-vendor/tools', 'tool', 'call', 'list',
    ];
    for (const method of methods) {
      assert.equal(inspect(JSON.stringify({ jsonrpc: '2.0', id: 13, method, params: {} })).kind, 'forward', method);
    }
  });

  test('padding a near miss past 64 characters does not get it through', () => {
    for (const method of ['tools/call' + ' '.repeat(60), 'tools/call' + '\u200B'.repeat(60), 'Tools/Call' + '\t'.repeat(100)]) {
      const v = inspect(JSON.stringify({ jsonrpc: '2.0', id: 10, method, params: { name: 'denied' } }));
      assert.equal(v.kind, 'answer', `forwarded a ${method.length}-character near miss of tools/call`);
    }
  });
});

describe('garbage gets JSON-RPC errors', () => {
  const cases: [string, string, unknown, number][] = [
    ['not JSON', 'hello', null, -32700],
    ['truncated JSON', '{"jsonrpc":"2.0","id":1,"method":"tools/ca', null, -32700],
    ['empty', '', null, -32700],
    ['number', '42', null, -32600],
    ['string', '"tools/call"', null, -32600],
    ['null', 'null', null, -32600],
    ['empty object', '{}', null, -32600],
    ['missing jsonrpc', '{"id":5,"method":"tools/call","params":{"name":"ok"}}', 5, -32600],
    ['wrong jsonrpc', '{"jsonrpc":"1.0","id":5,"method":"tools/call","params":{"name":"ok"}}', 5, -32600],
    ['object id', '{"jsonrpc":"2.0","id":{"a":1},"method":"tools/call","params":{"name":"ok"}}', null, -32600],
    ['method not a string', '{"jsonrpc":"2.0","id":7,"method":["tools/call"],"params":{"name":"ok"}}', 7, -32600],
    ['tools/call without params', '{"jsonrpc":"2.0","id":8,"method":"tools/call"}', 8, -32602],
    ['tools/call with a numeric name', '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":5}}', 8, -32602],
    ['tools/call with params as an array', '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":["ok"]}', 8, -32602],
  ];
  for (const [label, raw, id, code] of cases) {
    test(`${label} → ${code}`, () => {
      const e = errorOf(inspect(raw));
      assert.deepEqual([e.id, e.error.code], [id, code]);
      assert.ok(e.error.message.length > 0);
    });
  }
});

describe('Mcp-Method / Mcp-Name headers that disagree with the body', () => {
  const body = (method: string, params: object, id: number | null = 1) =>
    JSON.stringify(id === null ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', id, method, params });
  const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

  const mismatches: [string, string, StandardHeaders][] = [
    ['method header of another method', body('tools/call', { name: 'ok' }), { method: 'tools/list' }],
    ['method header differing in case', body('tools/call', { name: 'ok' }), { method: 'Tools/Call', name: 'ok' }],
    ['name header of an allowed tool, body calls another', body('tools/call', { name: 'other' }), { method: 'tools/call', name: 'ok' }],
    ['name header of an allowed tool, body calls a denied one', body('tools/call', { name: 'denied' }), { method: 'tools/call', name: 'ok' }],
    ['name header with a trailing space', body('tools/call', { name: 'ok' }), { method: 'tools/call', name: 'ok ' }],
    ['name header on a method without a name', body('ping', {}), { method: 'ping', name: 'ok' }],
    ['name header vs resources/read uri', body('resources/read', { uri: 'file:///a' }), { method: 'resources/read', name: 'file:///b' }],
    ['name header vs prompts/get name', body('prompts/get', { name: 'p1' }), { method: 'prompts/get', name: 'p2' }],
    ['base64 sentinel of another name', body('tools/call', { name: 'café' }), { method: 'tools/call', name: decodeMcpHeader(b64('cafe')) }],
    ['on a notification', body('notifications/cancelled', {}, null), { method: 'notifications/progress' }],
  ];
  for (const [label, raw, headers] of mismatches) {
    test(`${label} → -32020, not forwarded`, () => {
      const v = inspect(raw, headers);
      const e = errorOf(v);
      assert.equal(e.error.code, -32020);
      assert.equal((v as { malformed?: boolean }).malformed, true, 'HTTP answers it with 400');
    });
  }

  test('a near-miss method is refused even when Mcp-Method agrees with it', () => {
    for (const method of ['tools.call', 'call_tool', 'Tools/List']) {
      const v = inspect(body(method, { name: 'ok' }), { method });
      assert.equal(errorOf(v).error.code, -32601, method);
    }
  });

  test('Mcp-Method or Mcp-Name on a frame without a method (a response) is refused, never forwarded with it', () => {
    const response = '{"jsonrpc":"2.0","id":1,"result":{}}';
    for (const headers of [{ method: 'tools/call' }, { name: 'denied' }, { method: 'tools/call', name: 'denied' }]) {
      const v = inspect(response, headers);
      assert.equal(errorOf(v).error.code, -32020, JSON.stringify(headers));
      assert.equal((v as { malformed?: boolean }).malformed, true);
    }
    assert.equal(inspect(response, { trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }).kind, 'forward');
  });

  test('headers that agree with the body are accepted, base64 form included', () => {
    assertForwardedAsDecided(inspect(body('tools/call', { name: 'ok' }), { method: 'tools/call', name: 'ok' }));
    assertForwardedAsDecided(inspect(body('tools/call', { name: 'ok' }), { method: 'tools/call' }));
    const v = inspect(body('tools/call', { name: 'café' }), { method: 'tools/call', name: decodeMcpHeader(b64('café')) });
    assert.equal(v.kind, 'forward');
    assert.equal(inspect(body('tools/list', {}), { method: 'tools/list' }).kind, 'forward');
  });

  test('matching headers do not override the policy', () => {
    assertDenied(inspect(body('tools/call', { name: 'denied' }), { method: 'tools/call', name: 'denied' }), 1, 'denied');
  });

  test('decodeMcpHeader decodes only the whole =?base64?…?= form', () => {
    assert.equal(decodeMcpHeader(undefined), undefined);
    assert.equal(decodeMcpHeader('echo'), 'echo');
    assert.equal(decodeMcpHeader(b64('naïve/工具')), 'naïve/工具');
    assert.equal(decodeMcpHeader('x=?base64?ZWNobw==?='), 'x=?base64?ZWNobw==?=');
  });
});

describe('relay: what reaches the upstream pipe', () => {
  function harness() {
    const toUpstream: string[] = [];
    const toClient: string[] = [];
    const client: MessagePipe = { send: (r) => toClient.push(r), close() {} };
    const upstream: MessagePipe = { send: (r) => toUpstream.push(r), close() {} };
    createRelay({ server: 's', policy: () => policy, client, upstream });
    return { toUpstream, toClient, client };
  }

  test('denied, hidden, batched, notified and garbage calls never reach the upstream; each request is answered', () => {
    const h = harness();
    const frames = [
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"denied"}}',
      '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hidden"}}',
      '[{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ok"}}]',
      '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"ok"}}',
      '{"jsonrpc":"2.0","id":4,"method":"Tools/Call","params":{"name":"ok"}}',
      'garbage',
    ];
    for (const f of frames) h.client.onmessage!(f);
    assert.deepEqual(h.toUpstream, []);
    assert.equal(h.toClient.length, 5, 'one reply per frame except the notification');
    h.client.onframeerror!('a 9999-byte frame');
    const last = JSON.parse(h.toClient.at(-1)!) as { error: { code: number; message: string } };
    assert.equal(last.error.code, -32600);
    h.client.onmessage!('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ok"}}');
    assert.equal(h.toUpstream.length, 1, 'the pipe keeps working after refusals');
  });
});
