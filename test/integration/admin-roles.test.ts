// Admin roles on a running `policylayer start` with three admin tokens (admin_token, an approver by hash, a viewer by
// env): each refused (403) on what it may not do and allowed on what it may; the audit log says who decided; and
// `policylayer agents add|revoke` recorded as admin actions by the OS user, adding refused when it cannot be audited.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { localIdentity } from '../../src/agents/authenticate.js';
import { createSqliteAgentStore } from '../../src/agents/sqlite.js';
import { tokenSha256 } from '../../src/agents/tokens.js';
import { runCli } from '../helpers/cli-run.js';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { callTool, eventually, openSession, writePolicy } from '../helpers/limits-rig.js';
import { httpRequest, RECORDER, type Message } from '../helpers/raw-mcp.js';

const ADMIN = 'roles-admin-token-0123456789abcdef';
const APPROVER = 'roles-approver-token-0123456789ab';
const VIEWER = 'roles-viewer-token-0123456789abcd';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** GET /admin/approvals/stream: the status once headers arrive (the stream itself never ends, so it is cut). */
function streamStatus(base: string, token: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: hostname, port, path: '/admin/approvals/stream', headers: bearer(token), agent: false }, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', reject);
  });
}

describe('admin roles', { concurrency: false }, () => {
  const dir = tempDir('pl-admin-roles-');
  const state = `sqlite:${path.join(dir, 'state.db')}`;
  const policy = (audit: string) => ({
    gateway: {
      state,
      audit,
      admin_token: ADMIN,
      admin_tokens: { alice: { token_sha256: tokenSha256(APPROVER), role: 'approver' }, vic: { token_env: 'PL_VIEWER_TOKEN', role: 'viewer' } },
    },
    audit: { flush_ms: 20 },
    servers: {
      s: {
        command: [process.execPath, RECORDER, 'stdio', '--record', path.join(dir, 'record.jsonl')],
        tools: { pay: { action: 'require_approval', approval_timeout: '60s' } },
      },
    },
  });
  const file = writePolicy(policy(`sqlite:${path.join(dir, 'audit.db')}`), dir);

  test('each role: refused (403, naming the role needed) on what it may not do, allowed on what it may; the audit says who decided', async (t) => {
    const gw = await startGateway(file, { POLICYLAYER_ADMIN_TOKEN: undefined, PL_VIEWER_TOKEN: VIEWER });
    t.after(() => gw.stop());
    const api = (method: string, route: string, token: string | undefined, body?: object) =>
      httpRequest(method, `${gw.url}${route}`, body, token === undefined ? {} : bearer(token));

    // Reading: every role; no token or an unknown one is 401 as before.
    for (const token of [VIEWER, APPROVER, ADMIN]) {
      for (const route of ['/admin/audit', '/admin/approvals', '/metrics']) {
        const a = await api('GET', route, token);
        assert.equal(a.status, 200, `${route} with ${token}: ${a.text}`);
      }
      assert.equal(await streamStatus(gw.url, token), 200);
    }
    for (const token of [undefined, 'not-a-token-of-this-gateway']) {
      for (const route of ['/admin/audit', '/admin/approvals', '/metrics']) assert.equal((await api('GET', route, token)).status, 401, `${route} with ${token}`);
      assert.equal(await streamStatus(gw.url, token ?? ''), 401);
    }

    // Two held calls to decide.
    const session = await openSession(`${gw.url}/mcp/s`);
    const first = callTool(`${gw.url}/mcp/s`, session, 'pay', { amount: 1 });
    const second = callTool(`${gw.url}/mcp/s`, session, 'pay', { amount: 2 });
    let pending: Message[] = [];
    await eventually('two pending approvals', async () => {
      pending = (await api('GET', '/admin/approvals?status=pending', VIEWER)).messages[0] as unknown as Message[];
      return Array.isArray(pending) && pending.length === 2;
    }, 10_000);
    const byAmount = (n: number) => pending.find((p) => (p.args as { amount?: number }).amount === n)!.id as string;

    // The viewer may not decide: 403 naming the role, and the approval stays pending.
    const refused = await api('POST', `/admin/approvals/${byAmount(1)}/approve`, VIEWER, {});
    assert.equal(refused.status, 403, refused.text);
    assert.match(String(refused.messages[0]?.error), /needs role approver; admin token vic has role viewer/);
    assert.equal((await api('GET', `/admin/approvals/${byAmount(1)}`, VIEWER)).messages[0]?.status, 'pending');

    // The approver decides; `by` is its token's name, whatever the body claims (kept after it).
    const approved = await api('POST', `/admin/approvals/${byAmount(1)}/approve`, APPROVER, { reason: 'invoice 1' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal((approved.messages[0]?.decided as { by?: string }).by, 'alice');
    const denied = await api('POST', `/admin/approvals/${byAmount(2)}/deny`, ADMIN, { by: 'carol', reason: 'over budget' });
    assert.equal(denied.status, 200, denied.text);
    assert.equal((denied.messages[0]?.decided as { by?: string }).by, 'admin:carol');
    await Promise.all([first, second]);

    // Nothing in the API changes configuration or agents yet; what is not in the role table is admin-only.
    const unlisted = await api('GET', '/admin/agents', APPROVER);
    assert.equal(unlisted.status, 403, unlisted.text);
    assert.match(String(unlisted.messages[0]?.error), /needs role admin; admin token alice has role approver/);
    assert.equal((await api('GET', '/admin/agents', ADMIN)).status, 404);

    // The audit log, read by the viewer, says who decided what.
    let rows: Message[] = [];
    await eventually('two admin records', async () => {
      rows = (await api('GET', '/admin/audit?kind=admin', VIEWER)).messages[0] as unknown as Message[];
      return Array.isArray(rows) && rows.length === 2;
    });
    assert.deepEqual(
      rows.map((r) => [r.agent, r.tool, r.approval_id, r.reason]),
      [
        ['alice', 'approvals.approve', byAmount(1), 'invoice 1'],
        ['admin', 'approvals.deny', byAmount(2), 'over budget'],
      ],
    );
    assert.match(String(rows[0]!.detail), new RegExp(`^approval ${byAmount(1)} \\(pay on s for agent anonymous\\) via api$`));
    assert.match(String(rows[1]!.detail), /, by admin:carol\) via api$/);
  });

  test('agents add and revoke are admin records by the OS user; add fails closed without an audit log, revoke goes ahead and warns', async () => {
    const me = localIdentity().agent;
    const added = await runCli('agents', 'add', 'bot', '--servers', 's', '-c', file);
    assert.equal(added.code, 0, added.stderr);
    const revoked = await runCli('agents', 'revoke', 'bot', '-c', file);
    assert.equal(revoked.code, 0, revoked.stderr);
    const query = await runCli('audit', 'query', '--kind', 'admin', '--format', 'json', '-c', file);
    assert.equal(query.code, 0, query.stderr);
    const rows = (JSON.parse(query.stdout) as Message[]).filter((r) => String(r.tool).startsWith('agents.'));
    assert.deepEqual(rows.map((r) => [r.kind, r.agent, r.tool]), [
      ['admin', me, 'agents.add'],
      ['admin', me, 'agents.revoke'],
    ]);
    assert.match(String(rows[0]!.detail), /^agent bot token tok_[0-9a-f]{12} \(servers s\) via cli$/);
    assert.match(String(rows[1]!.detail), /^agent bot token\(s\) tok_[0-9a-f]{12} via cli$/);
    const table = await runCli('audit', 'query', '--kind', 'admin', '-c', file);
    assert.match(table.stdout, /agents\.add .*agent bot token tok_/);

    // An audit log that cannot be opened (its directory is a file): no token is added; revoking still works.
    const blocker = path.join(dir, 'blocker');
    writeFileSync(blocker, 'not a directory');
    const broken = writePolicy(policy(`sqlite:${path.join(blocker, 'audit.db')}`), tempDir('pl-admin-roles-broken-'));
    const store = createSqliteAgentStore(path.join(dir, 'state.db'));
    try {
      const before = (await store.list()).length;
      const refused = await runCli('agents', 'add', 'bot2', '--servers', 's', '-c', broken);
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(refused.stdout, '', 'no token printed');
      assert.match(refused.stderr, /could not be opened: .*no token was added, because adding one is audited/);
      assert.equal((await store.list()).length, before);

      assert.equal((await runCli('agents', 'add', 'bot3', '--servers', 's', '-c', file)).code, 0);
      const revokedAnyway = await runCli('agents', 'revoke', 'bot3', '-c', broken);
      assert.equal(revokedAnyway.code, 0, revokedAnyway.stderr);
      assert.match(revokedAnyway.stderr, /WARNING: .*THIS REVOCATION IS NOT IN THE AUDIT LOG/);
      assert.ok((await store.list()).filter((r) => r.agent === 'bot3').every((r) => r.revoked !== undefined));
    } finally {
      await store.close();
    }
  });
});
