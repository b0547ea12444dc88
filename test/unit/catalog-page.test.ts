// A tool's catalogue page (`catalog show SERVER TOOL`): what a person needs to decide its rule, for the reference
// tool vapi_logout: label, description, required parameters, what it does and why, the rule as YAML, the evidence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashedDefinitions, observeDefinitions } from '../../src/catalog/observe.js';
import { requiredParameters, toolPage, whatItDoes } from '../../src/catalog/render.js';
import { VAPI_LOGOUT } from './catalog-fixtures.js';

const entryOf = (tool: unknown) => observeDefinitions(new Map(), 'vapi', hashedDefinitions([tool])).written[0]!;

test('the page of vapi_logout says Destructive / Critical, why, that it needs no input, and holds it for approval', () => {
  const page = toolPage(entryOf(VAPI_LOGOUT), 'text');
  assert.match(page, /^vapi_logout {2}\(server vapi\)\n\nDestructive, risk class Critical \(confidence 0\.\d+\)\n/);
  assert.match(page, /Description:\n {2}Log out of Vapi and clear stored credentials\./);
  assert.match(page, /Required parameters:\n {2}none\n/);
  const what = page.slice(page.indexOf('What it does and why it needs a policy:'), page.indexOf('Recommended rule:')).replace(/\s+/g, ' ');
  assert.match(what, /removes data, resources or access, which may not be recoverable/);
  assert.match(what, /Labelled Destructive from name verb "logout"; description: "log out of vapi"; description: "clear stored credentials"\./);
  assert.match(what, /It needs no input/);
  assert.match(page, /Recommended rule:\n.*\n\n {4}tools:\n {6}vapi_logout:\n {8}action: require_approval\n/);
  assert.match(page, /Evidence:\n {2}- name verb "logout"\n/);
});

test('a Read tool\'s page neither warns about missing input nor quotes the "no signal" line as a reason', () => {
  const page = toolPage(entryOf({ name: 'list_calls', description: 'List recent calls.', inputSchema: { type: 'object' } }), 'md');
  assert.match(page, /\*\*Read\*\*, risk class \*\*Low\*\*/);
  assert.doesNotMatch(page, /needs no input/);
  assert.match(page, /Labelled Read from name verb "list"\./);
  assert.match(page, /```yaml\ntools:\n {2}list_calls: allow\n```/);
});

test('the page\'s facts are there for --format json too: required parameters and what it does', () => {
  const entry = entryOf({ name: 'delete_call', description: 'Deletes a call.', inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } });
  assert.deepEqual(requiredParameters(entry), ['id']);
  assert.match(whatItDoes(entry), /^It removes data, resources or access.*Labelled Destructive from name verb "delete"/);
  assert.doesNotMatch(whatItDoes(entry), /needs no input/);
});
