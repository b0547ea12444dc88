// Secrets in held calls: the approval record (in the store's file), the webhook body and its text, the admin API, the
// link page and `policylayer approvals list` show [REDACTED] where the audit log would (secret-like keys, secret-
// looking values, audit.redact keys and paths, audit.arguments), while the server receives the real values.
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { approvalsCli, listed, pendingFor, receiver } from '../helpers/approvals.js';
import { startGateway, tempDir, testAuditLog, writeConfig } from '../helpers/gateway.js';
import { eventually, openSession, post, receivedArgs } from '../helpers/limits-rig.js';
import { httpRequest, RECORDER, resultText, type Message } from '../helpers/raw-mcp.js';

const TOKEN = 'approvals-admin-token-0123456789';
const SECRET = 'webhook-secret-0123456789abcdef';

/** The values that must never leave the call: an api_key, an OpenAI-style key in free text, a card number
 * (audit.redact.paths), a pin (audit.redact.keys), a password in another params field. */
const SECRETS = ['live-key-Zq81x', 'sk-proj-abcdefghijklmnop1234', '4111111111111111', 'pin-9731-q', 'hunter2-Xy'];
const ARGS = { amount: 5, api_key: 'live-key-Zq81x', memo: 'use sk-proj-abcdefghijklmnop1234 now', card: { number: '4111111111111111', holder: 'Ada' }, pin: 'pin-9731-q' };
const SHOWN = { amount: 5, api_key: '[REDACTED]', memo: 'use [REDACTED] now', card: { number: '[REDACTED]', holder: 'Ada' }, pin: '[REDACTED]' };
const OTHER = { input: { password: 'hunter2-Xy' } };

interface Rig {
  dir: string;
  file: string;
  record: string;
  base: string;
  mcp: string;
}

async function rig(t: TestContext, audit: Record<string, unknown>, webhook?: string): Promise<Rig> {
  const dir = tempDir('pl-approvals-redaction-');
  const record = path.join(dir, 'record.jsonl');
  const policy = {
    version: 1,
    gateway: {
      listen: '127.0.0.1:0',
      audit: testAuditLog(dir),
      state: `sqlite:${path.join(dir, 'state.db')}`,
      admin_token: TOKEN,
      ...(webhook && { approvals: { webhook: { url: webhook, secret: SECRET } } }),
    },
    audit,
    servers: { s: { command: [process.execPath, RECORDER, 'stdio', '--record', record], tools: { pay: { action: 'require_approval', approval_timeout: '60s' } } } },
  };
  const file = writeConfig(JSON.stringify(policy, null, 2), dir);
  const gw = await startGateway(file, { POLICYLAYER_ADMIN_TOKEN: undefined });
  t.after(() => gw.stop());
  return { dir, file, record, base: gw.url, mcp: `${gw.url}/mcp/s` };
}

/** Holds a pay call with the secrets (arguments and another params field); resolves with its answer once decided. */
async function holdSecretCall(r: Rig): Promise<{ answer: Promise<Message | undefined> }> {
  const session = await openSession(r.mcp);
  const answer = post(r.mcp, { jsonrpc: '2.0', id: 'secret-call', method: 'tools/call', params: { name: 'pay', arguments: ARGS, ...OTHER } }, session);
  return { answer: answer.then((x) => x.message) };
}

function assertNoSecret(where: string, text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} shows the secret ${s}:\n${text.slice(0, 2000)}`);
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('secrets in held calls are redacted for approvers, not for the server', { concurrency: false }, () => {
  test('store, webhook body and text, admin API, link page and CLI show [REDACTED]; the server gets the real values', async (t) => {
    const hook = await receiver(t);
    const r = await rig(t, { redact: { keys: ['pin'], paths: ['card.number'] } }, hook.url);
    const { answer } = await holdSecretCall(r);
    const pending = await pendingFor(r.file, 'pay');
    await eventually('the webhook delivery', () => hook.deliveries.length === 1, 10_000);

    // The record as the CLI reads it from the store, and the store's own bytes (database and write-ahead log).
    assert.deepEqual(pending.args, SHOWN);
    assert.deepEqual(pending.otherParams, { input: { password: '[REDACTED]' } });
    for (const f of ['state.db', 'state.db-wal']) {
      const file = path.join(r.dir, f);
      if (existsSync(file)) assertNoSecret(`the approvals store (${f})`, readFileSync(file, 'latin1'));
    }

    const body = hook.deliveries[0]!.body;
    assertNoSecret('the webhook body', body);
    const payload = JSON.parse(body) as Message;
    assert.deepEqual(payload.approval.args, SHOWN);
    assert.deepEqual(payload.approval.otherParams, pending.otherParams);
    assert.match(payload.text, /"api_key":"\[REDACTED\]"/);
    assert.match(payload.text, /"password":"\[REDACTED\]"/, 'the text shows the other params field too');

    for (const route of ['/admin/approvals?status=pending', `/admin/approvals/${pending.id}`]) {
      const a = await httpRequest('GET', `${r.base}${route}`, undefined, auth);
      assert.equal(a.status, 200, a.text);
      assertNoSecret(`GET ${route}`, a.text);
    }
    const page = await httpRequest('GET', payload.approve_url, undefined, { accept: 'text/html' });
    assert.equal(page.status, 200, page.text);
    assert.match(page.text, /\[REDACTED\]/);
    assertNoSecret('the link page', page.text);

    const table = await approvalsCli('list', '-c', r.file);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /\[REDACTED\]/);
    assertNoSecret('approvals list', table.stdout);
    assertNoSecret('approvals list --json', JSON.stringify(await listed(r.file, '--all')));

    const approved = await httpRequest('POST', `${r.base}/admin/approvals/${pending.id}/approve`, { by: 'alice' }, auth);
    assert.equal(approved.status, 200, approved.text);
    assertNoSecret('the approve answer', approved.text);
    const result = await answer;
    assert.match(resultText(result ?? {}), /paid 5/);
    assert.deepEqual(receivedArgs(r.record, 'pay'), [ARGS], 'the server received the real values');
  });

  test('audit.arguments: keys — approvers see only keys and value types, as the audit log keeps them', async (t) => {
    const r = await rig(t, { arguments: 'keys' });
    const { answer } = await holdSecretCall(r);
    const pending = await pendingFor(r.file, 'pay');
    assert.deepEqual(pending.args, { amount: 'number', api_key: 'string', memo: 'string', card: { number: 'string', holder: 'string' }, pin: 'string' });
    assert.deepEqual(pending.otherParams, { input: { password: 'string' } });
    assert.equal((await approvalsCli('approve', pending.id, '-c', r.file)).code, 0);
    assert.match(resultText((await answer) ?? {}), /paid 5/);
    assert.deepEqual(receivedArgs(r.record, 'pay'), [ARGS]);
  });
});
