// gateway.approvals.webhook on a running `policylayer start`, with a local receiver: every new approval is POSTed
// with the record, signed links and an HMAC signature; failures are retried with backoff, a receiver that is down
// changes nothing about the approval; the links show a confirm page on GET and decide once on POST.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { signLink } from '../../src/approvals/webhook.js';
import { freePort, startGateway, tempDir, type Running } from '../helpers/gateway.js';
import { connectV1, http as httpEndpoint, type V1Connection } from '../helpers/clients.js';
import { httpRequest, RECORDER, type Message } from '../helpers/raw-mcp.js';
import { receiver, type Delivery } from '../helpers/approvals.js';
import { eventually, receivedArgs, writePolicy } from '../helpers/limits-rig.js';
import { runCli, toolText } from '../helpers/cli-run.js';

const SECRET = 'webhook-secret-0123456789abcdef';
// The policy file says ${PL_TEST_WEBHOOK_SECRET}; the gateway and the CLI both read it from the environment.
process.env.PL_TEST_WEBHOOK_SECRET = SECRET;

interface Rig {
  file: string;
  record: string;
  /** public_url: the gateway's listen address under another name, as a browser would reach it. */
  publicUrl: string;
  gateway: Running;
  client: V1Connection;
}

async function rig(t: TestContext, webhookUrl: string): Promise<Rig> {
  const dir = tempDir('pl-approvals-webhook-');
  const record = path.join(dir, 'record.jsonl');
  const port = await freePort();
  const publicUrl = `http://localhost:${port}`;
  const file = writePolicy(
    {
      gateway: {
        listen: `127.0.0.1:${port}`,
        state: `sqlite:${path.join(dir, 'state.db')}`,
        approvals: { webhook: { url: webhookUrl, secret: '${PL_TEST_WEBHOOK_SECRET}', public_url: `${publicUrl}/` } },
      },
      servers: {
        s: {
          command: [process.execPath, RECORDER, 'stdio', '--record', record],
          tools: { pay: { action: 'require_approval', approval_timeout: '60s', reason: 'payments need a person' } },
        },
      },
    },
    dir,
  );
  const gateway = await startGateway(file);
  t.after(() => gateway.stop());
  const client = await connectV1(httpEndpoint(`${gateway.url}/mcp/s`));
  t.after(() => client.close());
  return { file, record, publicUrl, gateway, client };
}

const cli = (...args: string[]) => runCli('approvals', ...args);

async function statusOf(file: string, id: string): Promise<string | undefined> {
  const r = await cli('list', '-c', file, '--all', '--json');
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Message[]).find((x) => x.id === id)?.status as string | undefined;
}

const payloadOf = (d: Delivery): Message => JSON.parse(d.body) as Message;
const text = toolText;
/** The text of an HTML page with its character references decoded. */
const htmlText = (html: string): string =>
  html.replace(/&(#\d+|quot|lt|gt|amp|apos);/g, (_, e: string) => (e.startsWith('#') ? String.fromCharCode(Number(e.slice(1))) : { quot: '"', lt: '<', gt: '>', amp: '&', apos: "'" }[e]!));
/** A link POST as the confirm page's form sends it. */
const submit = (url: string, form = '') => httpRequest('POST', url, form, { 'content-type': 'application/x-www-form-urlencoded' });

describe('approval webhook and links', { concurrency: false }, () => {
  test('each new approval is POSTed signed, with the record and links; 500 twice, then delivered on the third attempt with backoff', async (t) => {
    const hook = await receiver(t, [500, 500]);
    const r = await rig(t, hook.url);
    const call = r.client.client.callTool({ name: 'pay', arguments: { amount: 42, to: 'acme' } });
    await eventually('three delivery attempts', () => hook.deliveries.length === 3, 10_000);

    for (const d of hook.deliveries) {
      assert.equal(d.headers['content-type'], 'application/json');
      const timestamp = String(d.headers['x-policylayer-timestamp']);
      assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 60, `timestamp ${timestamp} is now, in seconds`);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${d.body}`).digest('hex')}`;
      assert.equal(d.headers['x-policylayer-signature'], expected, 'the signature verifies with the secret');
      assert.notEqual(d.headers['x-policylayer-signature'], `sha256=${createHmac('sha256', 'another-secret-0123456789').update(`${timestamp}.${d.body}`).digest('hex')}`);
      assert.deepEqual(payloadOf(d), payloadOf(hook.deliveries[0]!), 'every attempt carries the same message');
    }
    const [first, second, third] = hook.deliveries.map((d) => d.at) as [number, number, number];
    assert.ok(second - first >= 400, `first retry after ${second - first} ms (backoff 0.5 s)`);
    assert.ok(third - second >= 900, `second retry after ${third - second} ms (backoff 1 s)`);

    const p = payloadOf(hook.deliveries[0]!);
    assert.equal(p.approval.status, 'pending');
    assert.equal(p.approval.tool, 'pay');
    assert.equal(p.approval.server, 's');
    assert.deepEqual(p.approval.args, { amount: 42, to: 'acme' });
    assert.match(p.approve_url, new RegExp(`^${r.publicUrl}/approvals/link/[\\w-]+\\.[\\w-]+$`), 'links use public_url');
    assert.match(p.deny_url, new RegExp(`^${r.publicUrl}/approvals/link/`));
    assert.notEqual(p.approve_url, p.deny_url);
    assert.match(p.text, /agent anonymous wants pay on s with \{"amount":42,"to":"acme"\}/);
    assert.ok(p.text.includes(`<${p.approve_url}|Approve>`) && p.text.includes(`<${p.deny_url}|Deny>`), p.text);
    assert.ok(!p.text.includes('\n'), 'one line');
    assert.equal(await statusOf(r.file, p.approval.id), 'pending', 'the failed attempts left the approval waiting');

    // A 4xx is the receiver's final word: not retried.
    hook.statuses.push(410);
    const refused = r.client.client.callTool({ name: 'pay', arguments: { amount: 1 } });
    await eventually('the fourth delivery', () => hook.deliveries.length === 4, 10_000);
    await sleep(1500);
    assert.equal(hook.deliveries.length, 4, 'a 410 is not retried');

    const approve = await submit(p.approve_url);
    assert.equal(approve.status, 200, approve.text);
    assert.match(text(await call), /paid 42/);
    const denyOther = await submit(payloadOf(hook.deliveries[3]!).deny_url, 'reason=not+today');
    assert.equal(denyOther.status, 200, denyOther.text);
    const result = await refused;
    assert.equal(result.isError, true);
    assert.match(text(result), /denied by link via webhook: not today/);
  });

  test('approve link: GET shows a confirm page and decides nothing; POST approves once; a second use is 409; tampered or expired links are 403', async (t) => {
    const hook = await receiver(t);
    const r = await rig(t, hook.url);
    const args = { amount: 7, memo: '<script>alert(1)</script>' };
    const call = r.client.client.callTool({ name: 'pay', arguments: args });
    await eventually('the delivery', () => hook.deliveries.length === 1, 10_000);
    const p = payloadOf(hook.deliveries[0]!);
    const id = p.approval.id as string;

    const confirm = await httpRequest('GET', p.approve_url, undefined, { accept: 'text/html' });
    assert.equal(confirm.status, 200, confirm.text);
    assert.match(String(confirm.headers['content-type']), /^text\/html/);
    assert.match(confirm.text, /<form method="post">.*<button[^>]*>Approve<\/button>/s);
    assert.ok(htmlText(confirm.text).includes(JSON.stringify(args, null, 2)), 'the page shows the arguments');
    assert.ok(!confirm.text.includes('<script>'), 'escaped');
    assert.equal(confirm.headers['referrer-policy'], 'no-referrer');
    await sleep(400);
    assert.equal(await statusOf(r.file, id), 'pending', 'a GET (a link preview, a crawler) approves nothing');
    assert.equal(receivedArgs(r.record, 'pay').length, 0);

    // Forgeries: the deny link's claim turned into approve without its signature, a cut signature, a link signed
    // with the right secret but expired, one signed with another secret, garbage.
    const token = p.deny_url.slice(p.deny_url.lastIndexOf('/') + 1) as string;
    const [claim, signature] = token.split('.') as [string, string];
    const turned = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claim, 'base64url').toString()), action: 'approve' })).toString('base64url');
    const link = (t: string) => `${r.publicUrl}/approvals/link/${t}`;
    for (const [forged, problem] of [
      [link(`${turned}.${signature}`), /not valid/],
      [link(`${claim}.${signature.slice(0, -2)}`), /not valid/],
      [link(signLink(SECRET, { id, action: 'approve', exp: Math.floor(Date.now() / 1000) - 1 })), /expired/],
      [link(signLink('some-other-secret-0123456789', { id, action: 'approve', exp: Math.floor(Date.now() / 1000) + 600 })), /not valid/],
      [link('garbage'), /not valid/],
    ] as const) {
      for (const method of ['GET', 'POST']) {
        const a = method === 'GET' ? await httpRequest('GET', forged) : await submit(forged);
        assert.equal(a.status, 403, `${method} ${forged}: ${a.status}`);
        assert.match(a.text, problem);
      }
    }
    assert.equal(await statusOf(r.file, id), 'pending', 'no forged link decided anything');

    const approved = await submit(p.approve_url);
    assert.equal(approved.status, 200, approved.text);
    assert.match(approved.text, /Approved/);
    const result = await call;
    assert.equal(result.isError, undefined, text(result));
    assert.match(text(result), /paid 7/);
    assert.deepEqual(receivedArgs(r.record, 'pay'), [args]);

    const again = await submit(p.approve_url);
    assert.equal(again.status, 409, again.text);
    assert.match(again.text, /already approved \(by link via webhook/);
    assert.equal((await submit(p.deny_url, 'reason=changed+my+mind')).status, 409);
    assert.equal((await httpRequest('GET', p.approve_url)).status, 409, 'the page no longer offers a button');
    assert.equal(receivedArgs(r.record, 'pay').length, 1, 'approved once, forwarded once');
  });

  test('a receiver that is down changes nothing: the call waits, the CLI approves it, the gateway logs that the webhook gave up', async (t) => {
    const down = `http://127.0.0.1:${await freePort()}/hook`;
    const r = await rig(t, down);
    const call = r.client.client.callTool({ name: 'pay', arguments: { amount: 3 } });
    let id: string | undefined;
    await eventually('the pending approval', async () => {
      const list = await cli('list', '-c', r.file, '--json');
      id = (JSON.parse(list.stdout) as Message[])[0]?.id as string | undefined;
      return id !== undefined;
    }, 10_000);
    const approved = await cli('approve', '-c', r.file, '--by', 'erin', '--', id!);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(text(await call), /paid 3/);
    // Five attempts, 0.5 + 1 + 2 + 4 s apart.
    await eventually('the give-up log line', () => r.gateway.stderr().includes(`approval ${id}: the webhook was not delivered`), 15_000);
    assert.equal((r.gateway.stderr().match(new RegExp(`approval ${id}: webhook attempt \\d failed`, 'g')) ?? []).length, 4);
    assert.ok(!r.gateway.stderr().includes('/hook'), 'the webhook URL path (a secret for Slack) is not logged');
  });

  test('validate refuses a short secret and a URL that is not http(s)', async () => {
    const dir = tempDir('pl-approvals-webhook-bad-');
    const file = writePolicy({ gateway: { approvals: { webhook: { url: 'ftp://example.com/x', secret: 'short', public_url: 'https://gw.example.com/?x=1' } } }, servers: {} }, dir);
    const v = await runCli('validate', '-c', file);
    const r = { code: v.code, out: v.stdout + v.stderr };
    assert.notEqual(r.code, 0);
    assert.match(r.out, /`ftp:\/\/example\.com\/x` is not an http:\/\/ or https:\/\/ URL/);
    assert.match(r.out, /`gateway\.approvals\.webhook\.secret` needs at least 16 characters/);
    assert.match(r.out, /`gateway\.approvals\.webhook\.public_url`: a base URL, without \?query/);
  });
});
