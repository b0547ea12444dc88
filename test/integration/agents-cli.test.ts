// `policylayer agents add | list | revoke` against a real SQLite state file, and a gateway-side authenticator reading
// the same file: the printed token works, rotation keeps the other token, revocation is seen by the other process.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createSqliteAgentStore } from '../../src/agents/sqlite.js';
import { createTokenAuthenticator, tokenSha256 } from '../../src/agents/tokens.js';
import { loadConfig } from '../../src/config/load.js';
import { runCli } from '../helpers/cli-run.js';
import { tempDir, testAuditLog, writeConfig } from '../helpers/gateway.js';

const dir = tempDir('pl-agents-cli-');
const stateFile = path.join(dir, 'state.db');
const declared = 'b'.repeat(64);
const file = writeConfig(
  JSON.stringify({
    version: 1,
    gateway: { listen: '127.0.0.1:0', audit: testAuditLog(dir), state: `sqlite:${stateFile}` },
    servers: { fs: { command: ['fs'] }, vapi: { url: 'http://127.0.0.1:1/mcp' } },
    agents: { gitops: { token_sha256: declared, servers: ['vapi'] } },
  }),
  dir,
);
const agents = (...args: string[]) => runCli('agents', ...args, '-c', file);

describe('agents CLI on a SQLite state file', { concurrency: false }, async () => {
  const config = await loadConfig(file);
  const store = createSqliteAgentStore(stateFile);
  after(() => store.close());
  // The gateway's side, with no cache so that each check reads what the CLI wrote.
  const auth = createTokenAuthenticator({ config: () => config, store: async () => store, cacheMs: 0 });
  let first = '';
  let second = '';

  test('add refuses without --servers or --all-servers, an unknown server, a bad name or duration; nothing is stored', async () => {
    const cases: [string[], RegExp][] = [
      [['add', 'bot'], /which servers may bot use\? give --servers a,b \(or --all-servers/],
      [['add', 'bot', '--servers', 'fs,nope'], /no server "nope" in the policy file; configured: fs, vapi/],
      [['add', 'bad name', '--servers', 'fs'], /invalid agent name "bad name"/],
      [['add', 'bot', '--servers', 'fs', '--expires', '90'], /--expires "90" is not a duration; write e\.g\. 90d/],
      [['add', 'bot', '--servers', 'fs', '--all-servers'], /not both/],
    ];
    for (const [args, message] of cases) {
      const r = await agents(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.deepEqual(await store.list(), []);
  });

  test('add prints the token once on stdout and how to use it; only its SHA-256 is stored', async () => {
    const r = await agents('add', 'support-bot', '--servers', 'fs,vapi', '--expires', '90d');
    assert.equal(r.code, 0, r.stderr);
    first = r.stdout.trim();
    assert.match(first, /^plg_[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /Added token tok_[0-9a-f]{12} for agent support-bot: servers fs,vapi, expires \d{4}-/);
    assert.match(r.stderr, new RegExp(`Authorization: Bearer ${first}`));
    const [record] = await store.list();
    assert.equal(record?.sha256, tokenSha256(first));
    const ninetyDays = record!.expires! - record!.created;
    assert.equal(ninetyDays, 90 * 86_400_000);
    const bytes = ['', '-wal'].map((s) => { try { return readFileSync(stateFile + s, 'latin1'); } catch { return ''; } }).join('');
    assert.ok(!bytes.includes(first) && !bytes.includes(first.slice(4)), 'the token is nowhere in the state file');
    const ok = await auth.authenticate(first);
    assert.ok(ok.ok && ok.identity.agent === 'support-bot' && ok.identity.credential === record!.id);
  });

  test('add of an existing agent adds a token (rotation); list shows both and the file agent', async () => {
    const r = await agents('add', 'support-bot', '--all-servers');
    assert.equal(r.code, 0, r.stderr);
    second = r.stdout.trim();
    assert.match(r.stderr, /the agent has 1 other active token/);
    const table = await agents('list');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^AGENT\s+TOKEN\s+SERVERS\s+CREATED\s+EXPIRES\s+STATUS/);
    assert.match(table.stdout, /gitops\s+\(policy file\)\s+vapi/);
    assert.match(table.stdout, /support-bot\s+tok_\w+\s+fs,vapi\s+\S+\s+\d{4}-\S+\s+active/);
    assert.match(table.stdout, /support-bot\s+tok_\w+\s+\* \(all\)\s+\S+\s+never\s+active/);
    const json = JSON.parse((await agents('list', '--json')).stdout) as Record<string, unknown>[];
    assert.equal(json.length, 3);
    assert.ok(json.every((a) => !('sha256' in a) && !('token_sha256' in a)), 'list keeps hashes out');
    for (const t of [first, second]) assert.equal((await auth.authenticate(t)).ok, true);
  });

  test('revoke TOKEN-ID revokes that token only; the other keeps working', async () => {
    const id = (await store.findByHash(tokenSha256(first)))!.id;
    const r = await agents('revoke', id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`revoked 1 token\\(s\\) of agent support-bot: ${id}; running gateways refuse them within 2 s`));
    const refused = await auth.authenticate(first);
    assert.match(refused.ok ? 'accepted' : refused.reason, /was revoked/);
    assert.equal((await auth.authenticate(second)).ok, true);
    assert.match((await agents('list')).stdout, /revoked \d{4}-/);
    assert.match((await agents('revoke', id)).stdout, /nothing to revoke \(already revoked\)/);
  });

  test('revoke NAME revokes every remaining token of the agent and says how many', async () => {
    await agents('add', 'support-bot', '--servers', 'fs');
    const r = await agents('revoke', 'support-bot');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /revoked 2 token\(s\) of agent support-bot: tok_\w+, tok_\w+/);
    assert.equal((await auth.authenticate(second)).ok, false);
  });

  test('revoke of an unknown name fails; of a file agent, says to edit the file', async () => {
    const unknown = await agents('revoke', 'nobody');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no agent or token "nobody" in the store/);
    const file = await agents('revoke', 'gitops');
    assert.equal(file.code, 1);
    assert.match(file.stderr, /declared in the policy file; remove or change agents\.gitops there/);
  });
});

test('agents refuses a memory: state store: no other process could see the tokens', async () => {
  const d = tempDir('pl-agents-mem-');
  const f = writeConfig(JSON.stringify({ version: 1, gateway: { audit: testAuditLog(d), state: 'memory:' }, servers: { fs: { command: ['fs'] } } }), d);
  const r = await runCli('agents', 'add', 'bot', '--servers', 'fs', '-c', f);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /gateway\.state is memory:/);
});
