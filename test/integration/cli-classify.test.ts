// `policylayer classify`: the built CLI reading JSON Lines on stdin and answering line for line, in order.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLI } from '../helpers/gateway.js';

const classify = (input: string) => spawnSync(process.execPath, [CLI, 'classify'], { input, encoding: 'utf8' });

test('classify answers each tool line in order, and a bad line in its place with exit code 1', () => {
  const input = [
    JSON.stringify({ server: 'vapi', name: 'vapi_logout', description: 'Log out of Vapi and clear stored credentials.' }),
    JSON.stringify({ name: 'list_calls', description: 'List recent calls.' }),
    '{ not json',
    JSON.stringify({ description: 'no name' }),
    JSON.stringify({ name: 'refund_payment', inputSchema: { properties: { amount: { type: 'integer' }, currency: { type: 'string' } } } }),
  ].join('\n');
  const run = classify(input + '\n');
  assert.equal(run.status, 1, run.stderr);
  const lines = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 5);
  assert.deepEqual(lines.map((l) => l['name'] ?? `line ${String(l['line'])}`), ['vapi_logout', 'list_calls', 'line 3', 'line 4', 'refund_payment']);
  assert.deepEqual(lines.map((l) => l['category']), ['Destructive', 'Read', undefined, undefined, 'Financial']);
  assert.equal(lines[0]!['risk'], 'Critical');
  assert.ok(Array.isArray(lines[0]!['evidence']));
  assert.equal(typeof lines[1]!['confidence'], 'number');
  assert.match(String(lines[2]!['error']), /not JSON/);
  assert.match(String(lines[3]!['error']), /name/);
  assert.match(run.stderr, /2 of 5 lines/);
});

test('classify exits 0 when every line is a tool, and streams a large catalogue', () => {
  const tools = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ name: i % 2 ? `delete_item_${i}` : `get_item_${i}` }));
  const run = classify(tools.join('\n'));
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { name: string; category: string });
  assert.equal(out.length, 5000);
  assert.equal(out[4999]!.name, 'delete_item_4999');
  assert.equal(out[4999]!.category, 'Destructive');
  assert.equal(out[0]!.category, 'Read');
});
