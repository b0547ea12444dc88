// The approvals endpoints of the admin API on a running `policylayer start`, with a v1 SDK client whose call is
// held: list and show what waits, approve or deny it (the client gets the server's real result or [POLICY DENIED]
// with the reason), a second decision refused with who decided first, the token required, and the live stream.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { connectV1, http as httpEndpoint } from '../helpers/clients.js';
import { httpRequest, RECORDER, type HttpReply, type Message } from '../helpers/raw-mcp.js';
import { eventually, receivedArgs, writePolicy } from '../helpers/limits-rig.js';
import { toolText } from '../helpers/cli-run.js';
import { createSqliteApprovalStore } from '../../src/approvals/sqlite.js';
import { approvalRecord } from '../unit/approval-store-contract.js';

const TOKEN = 'approvals-admin-token-0123456789';

interface Rig {
  base: string;
  mcp: string;
  record: string;
  /** The SQLite file of gateway.state (sqlite rigs). */
  state: string;
}

async function rig(t: TestContext, state: 'sqlite' | 'memory' = 'sqlite'): Promise<Rig> {
  const dir = tempDir('pl-approvals-api-');
  const record = path.join(dir, 'record.jsonl');
  const stateFile = path.join(dir, 'state.db');
  const file = writePolicy(
    {
      gateway: { state: state === 'memory' ? 'memory:' : `sqlite:${stateFile}`, admin_token: TOKEN },
      servers: {
        s: {
          command: [process.execPath, RECORDER, 'stdio', '--record', record],
          tools: { pay: { action: 'require_approval', approval_timeout: '30s', reason: 'payments need a person' }, echo: 'allow' },
        },
      },
    },
    dir,
  );
  const gw = await startGateway(file, { POLICYLAYER_ADMIN_TOKEN: undefined });
  t.after(() => gw.stop());
  return { base: gw.url, mcp: `${gw.url}/mcp/s`, record, state: stateFile };
}

const auth = { authorization: `Bearer ${TOKEN}` };
const api = (r: Rig, method: string, route: string, body?: string | object, headers: Record<string, string> = auth): Promise<HttpReply> =>
  httpRequest(method, `${r.base}${route}`, body, headers);
const json = (reply: HttpReply): Message => JSON.parse(reply.text) as Message;
const text = toolText;

/** The pending approval of `tool` with these arguments, once the gateway has asked for it. */
async function pendingFor(r: Rig, tool: string, args: Record<string, unknown>): Promise<Message> {
  let found: Message | undefined;
  await eventually(`a pending approval for ${tool} ${JSON.stringify(args)}`, async () => {
    const list = await api(r, 'GET', '/admin/approvals?status=pending');
    assert.equal(list.status, 200, list.text);
    found = (json(list) as unknown as Message[]).find((x) => x.tool === tool && JSON.stringify(x.args) === JSON.stringify(args));
    return found !== undefined;
  }, 10_000);
  return found!;
}

interface ServerSentEvent {
  event: string;
  data: Message;
}

/** GET /admin/approvals/stream: collects events; resolves once the gateway says the stream is open. */
function openStream(r: Rig): Promise<{ events: ServerSentEvent[]; close(): void }> {
  const { hostname, port } = new URL(r.base);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: hostname, port, path: '/admin/approvals/stream', headers: auth, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: HTTP ${res.statusCode}`));
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      const events: ServerSentEvent[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(': approvals stream open')) resolve({ events, close: () => req.destroy() });
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) as Message });
        }
      });
    });
    req.on('error', reject);
  });
}

describe('approvals through the admin API', { concurrency: false }, () => {
  test('list, show and approve a held call: the client gets the real result; the stream shows requested then decided; a second decision is 409', async (t) => {
    const r = await rig(t);
    const stream = await openStream(r);
    t.after(() => stream.close());
    const c = await connectV1(httpEndpoint(r.mcp));
    t.after(() => c.close());

    const call = c.client.callTool({ name: 'pay', arguments: { amount: 42, to: 'acme' } });
    const pending = await pendingFor(r, 'pay', { amount: 42, to: 'acme' });
    assert.equal(pending.status, 'pending');
    assert.equal(pending.rule, 'servers.s.tools.pay');
    assert.equal(pending.reason, 'payments need a person');
    const shown = await api(r, 'GET', `/admin/approvals/${pending.id}`);
    assert.equal(shown.status, 200, shown.text);
    assert.deepEqual(json(shown), pending);
    assert.equal(receivedArgs(r.record, 'pay').length, 0, 'nothing reached the server while held');

    // A second held call: the list is newest first, and the status filter and limit apply.
    const second = c.client.callTool({ name: 'pay', arguments: { amount: 7 } });
    const later = await pendingFor(r, 'pay', { amount: 7 });
    assert.deepEqual((json(await api(r, 'GET', '/admin/approvals')) as unknown as Message[]).map((x) => x.id), [later.id, pending.id]);
    assert.deepEqual((json(await api(r, 'GET', '/admin/approvals?limit=1')) as unknown as Message[]).map((x) => x.id), [later.id]);
    assert.deepEqual(json(await api(r, 'GET', '/admin/approvals?status=approved')), []);

    const approved = await api(r, 'POST', `/admin/approvals/${pending.id}/approve`, { by: 'alice', reason: 'invoice 7' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(json(approved).status, 'approved');
    assert.deepEqual({ ...json(approved).decided, at: 0 }, { at: 0, by: 'admin:alice', via: 'api', reason: 'invoice 7' });
    const result = await call;
    assert.equal(result.isError, undefined, text(result));
    assert.match(text(result), /paid 42/);
    assert.deepEqual(receivedArgs(r.record, 'pay'), [{ amount: 42, to: 'acme' }]);

    const again = await api(r, 'POST', `/admin/approvals/${pending.id}/deny`, { by: 'bob', reason: 'too late' });
    assert.equal(again.status, 409, again.text);
    assert.match(String(json(again).error), /already approved \(by admin:alice via api at \d{4}-.*: invoice 7\)/);
    assert.equal(json(again).record.status, 'approved');
    assert.equal((await api(r, 'POST', `/admin/approvals/${pending.id}/approve`, {})).status, 409);

    await eventually('requested and decided events on the stream', () => stream.events.some((e) => e.event === 'decided' && e.data.id === pending.id));
    const mine = stream.events.filter((e) => e.data.id === pending.id).map((e) => [e.event, e.data.status, e.data.decided?.by]);
    assert.deepEqual(mine, [
      ['requested', 'pending', undefined],
      ['decided', 'approved', 'admin:alice'],
    ]);
    assert.deepEqual(stream.events.find((e) => e.data.id === pending.id)?.data.args, { amount: 42, to: 'acme' });

    assert.equal((await api(r, 'POST', `/admin/approvals/${later.id}/deny`, { reason: 'cleanup' })).status, 200);
    assert.equal((await second).isError, true);
  });

  test('deny: the client gets [POLICY DENIED] with the reason; bad decisions are refused and change nothing', async (t) => {
    const r = await rig(t);
    const c = await connectV1(httpEndpoint(r.mcp));
    t.after(() => c.close());
    const call = c.client.callTool({ name: 'pay', arguments: { amount: 9000 } });
    const pending = await pendingFor(r, 'pay', { amount: 9000 });
    const route = `/admin/approvals/${pending.id}`;

    for (const [body, status, problem] of [
      [{ by: 'bob' }, 400, /deny needs a "reason"/],
      ['{"reason": "no",', 400, /not JSON/],
      ['["no"]', 400, /JSON object/],
      [{ reason: 42 }, 400, /"reason" is a non-empty string/],
      [{ reason: '' }, 400, /"reason" is a non-empty string/],
      [{ reason: 'x'.repeat(70 * 1024) }, 413, /larger than 65536 bytes/],
    ] as const) {
      const a = await api(r, 'POST', `${route}/deny`, body);
      assert.equal(a.status, status, `${JSON.stringify(body).slice(0, 60)}: ${a.text}`);
      assert.match(String(json(a).error), problem);
    }
    assert.equal((await api(r, 'POST', '/admin/approvals/nosuchid/approve', {})).status, 404);
    assert.equal((await api(r, 'GET', '/admin/approvals/nosuchid')).status, 404);
    assert.equal((await api(r, 'GET', `${route}/approve`)).status, 405, 'a GET never decides');
    assert.equal((await api(r, 'GET', '/admin/approvals?status=maybe')).status, 400);
    assert.equal((await api(r, 'GET', '/admin/approvals?limit=0')).status, 400);
    assert.equal(json(await api(r, 'GET', route)).status, 'pending', 'none of the refused requests decided anything');

    const denied = await api(r, 'POST', `${route}/deny`, { by: 'bob', reason: 'over the monthly budget' });
    assert.equal(denied.status, 200, denied.text);
    const result = await call;
    assert.equal(result.isError, true);
    assert.match(text(result), /^\[POLICY DENIED\]/);
    assert.match(text(result), /denied by admin:bob via api: over the monthly budget/);
    const late = await api(r, 'POST', `${route}/approve`, { by: 'carol' });
    assert.equal(late.status, 409);
    assert.match(String(json(late).error), /already denied \(by admin:bob via api/);
    assert.equal(receivedArgs(r.record, 'pay').length, 0);
  });

  test('every approvals endpoint needs the admin token; without it nothing is listed or decided', async (t) => {
    const r = await rig(t);
    const c = await connectV1(httpEndpoint(r.mcp));
    t.after(() => c.close());
    const call = c.client.callTool({ name: 'pay', arguments: { amount: 3 } });
    const pending = await pendingFor(r, 'pay', { amount: 3 });
    for (const headers of [{}, { authorization: 'Bearer not-the-admin-token-at-all' }, { authorization: TOKEN }]) {
      for (const [method, route] of [
        ['GET', '/admin/approvals'],
        ['GET', '/admin/approvals/stream'],
        ['GET', `/admin/approvals/${pending.id}`],
        ['POST', `/admin/approvals/${pending.id}/approve`],
        ['POST', `/admin/approvals/${pending.id}/deny`],
      ] as const) {
        const a = await api(r, method, route, method === 'POST' ? { by: 'mallory', reason: 'r' } : undefined, headers);
        assert.equal(a.status, 401, `${method} ${route} with ${JSON.stringify(headers)}: ${a.status}`);
        assert.ok(!a.text.includes('"amount"'), `${method} ${route} leaked the arguments`);
      }
    }
    assert.equal(json(await api(r, 'GET', `/admin/approvals/${pending.id}`)).status, 'pending');
    assert.equal((await api(r, 'POST', `/admin/approvals/${pending.id}/approve`, {})).status, 200);
    assert.equal((await call).isError, undefined);
  });

  test('the list pages: at most `limit` records, and a Link header to the next page while there are more', async (t) => {
    const r = await rig(t);
    // Records the gateway shares through its state file, written beside it as another gateway would.
    const store = createSqliteApprovalStore(r.state);
    t.after(() => store.close());
    const now = Date.now();
    const made: string[] = [];
    for (let i = 0; i < 150; i++) {
      const rec = approvalRecord({ created: now + i, binding: `b${i}` });
      await store.create(rec);
      made.push(rec.id);
    }
    const seen: string[] = [];
    let route: string | undefined = '/admin/approvals?status=pending';
    let pages = 0;
    while (route !== undefined) {
      const a = await api(r, 'GET', route);
      assert.equal(a.status, 200, a.text);
      seen.push(...(json(a) as unknown as Message[]).map((x) => x.id as string));
      pages++;
      const next = /^<([^>]+)>; rel="next"$/.exec(String(a.headers.link ?? ''))?.[1];
      route = next;
    }
    assert.equal(pages, 2, 'the default limit of 100, then the last 50');
    assert.deepEqual(seen, [...made].reverse(), 'every record once, newest first');
    assert.equal((await api(r, 'GET', '/admin/approvals?after=garbage')).status, 400);
  });

  test('with memory: state the API decides what no other process can reach', async (t) => {
    const r = await rig(t, 'memory');
    const stream = await openStream(r);
    t.after(() => stream.close());
    const c = await connectV1(httpEndpoint(r.mcp));
    t.after(() => c.close());
    const call = c.client.callTool({ name: 'pay', arguments: { amount: 5 } });
    const pending = await pendingFor(r, 'pay', { amount: 5 });
    assert.equal((await api(r, 'POST', `/admin/approvals/${pending.id}/approve`, { by: 'dana' })).status, 200);
    assert.match(text(await call), /paid 5/);
    await eventually('the decision on the stream', () => stream.events.some((e) => e.event === 'decided' && e.data.id === pending.id));
    assert.deepEqual(stream.events.map((e) => e.event), ['requested', 'decided']);
  });
});
