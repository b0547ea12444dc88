// Agents through `policylayer start`, with real SDK clients (v1 and v2) and raw HTTP: no or bad credentials get 401
// with the discovery header, an ungranted server 403, and neither reaches the server; revoked tokens stop working;
// each agent has its own `scope: agent` budget, audit records and approvals; locally signed JWTs are checked.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { connectV1, connectV2, http } from '../helpers/clients.js';
import { runCli, toolText } from '../helpers/cli-run.js';
import { startGateway, tempDir, testAuditLog, writeConfig, type Running } from '../helpers/gateway.js';
import { eventually } from '../helpers/limits-rig.js';
import { httpRequest, initializeRequest, RECORDER, received, startRecorderHttp } from '../helpers/raw-mcp.js';

const ADMIN = 'agents-gateway-admin-token';
const token = (label: string) => `plg_${Buffer.from(`test-token-${label}`.padEnd(32, '.')).toString('base64url')}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const T1 = token('bot1');
const T2 = token('bot2');
const T3 = token('remote-bot');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

const dir = tempDir('pl-agents-');
const records = { a: path.join(dir, 'a.jsonl'), b: path.join(dir, 'b.jsonl') };
let file: string;
let gateway: Running & { url: string };
let remote: Running & { url: string };

before(async () => {
  remote = await startRecorderHttp(records.b);
  const config = {
    version: 1,
    gateway: { listen: '127.0.0.1:0', state: `sqlite:${path.join(dir, 'state.db')}`, audit: testAuditLog(dir), admin_token: ADMIN },
    agents: { bot1: { token_sha256: sha256(T1), servers: ['a'] }, bot2: { token_sha256: sha256(T2), servers: ['a'] }, 'remote-bot': { token_sha256: sha256(T3), servers: ['b'] } },
    servers: {
      a: {
        command: [process.execPath, RECORDER, 'stdio', '--record', records.a],
        default: 'allow',
        tools: { echo: { action: 'allow', rate_limit: { max: 1, window: '1h', scope: 'agent' } }, whoami: { action: 'require_approval', approval_mode: 'async' } },
      },
      b: { url: remote.url, default: 'allow' },
    },
  };
  file = writeConfig(JSON.stringify(config, null, 2), dir);
  gateway = await startGateway(file);
});
after(async () => {
  await gateway?.stop();
  await remote?.stop();
});

const endpoint = (server: string) => `${gateway.url}/mcp/${server}`;

describe('credentials', () => {
  test('no token: 401 with WWW-Authenticate naming the metadata; a wrong token: 401 invalid_token; nothing is started or forwarded', async () => {
    const none = await httpRequest('POST', endpoint('a'), initializeRequest(1));
    assert.equal(none.status, 401, none.text);
    assert.equal(none.headers['www-authenticate'], `Bearer resource_metadata="${gateway.url}/.well-known/oauth-protected-resource/mcp/a"`);
    const wrong = await httpRequest('POST', endpoint('a'), initializeRequest(2), bearer(token('nobody')));
    assert.equal(wrong.status, 401, wrong.text);
    assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/);
    const malformed = await httpRequest('POST', endpoint('a'), initializeRequest(3), { authorization: 'Basic Ym90MTpzZWNyZXQ=' });
    assert.equal(malformed.status, 401, malformed.text);
    await assert.rejects(connectV1(http(endpoint('a'))), 'an SDK client without a token is refused');
    await assert.rejects(connectV2(http(endpoint('a'), bearer(token('nobody')))), 'an SDK client with a wrong token is refused');
    assert.deepEqual(received(records.a), [], 'the server never saw a frame');
  });

  test('a valid agent on a server it has no grant for: 403, and the server sees nothing', async () => {
    const reply = await httpRequest('POST', endpoint('b'), initializeRequest(4), bearer(T1));
    assert.equal(reply.status, 403, reply.text);
    assert.match(reply.text, /agent \\"bot1\\" has no grant for server \\"b\\"/);
    await assert.rejects(connectV1(http(endpoint('b'), bearer(T2))));
    assert.deepEqual(received(records.b), [], 'the remote server never saw a request');
  });
});

test("the client's Authorization never reaches the server", async () => {
  const conn = await connectV2(http(endpoint('b'), bearer(T3)));
  try {
    assert.equal(toolText(await conn.client.callTool({ name: 'echo', arguments: { text: 'remote' } })), 'echo: remote');
  } finally {
    await conn.close();
  }
  const frames = received(records.b);
  assert.ok(frames.some((f) => f.raw.includes('"echo"')), 'the call reached the remote server');
  assert.ok(frames.every((f) => f.headers?.authorization === undefined), JSON.stringify(frames.map((f) => f.headers)));
});

describe('an agent store that cannot be read', () => {
  test('without gateway.auth.mode, nobody is let in: 503 saying why, never 401, nothing forwarded', async (t) => {
    const down = tempDir('pl-agents-down-');
    const record = path.join(down, 'a.jsonl');
    const config = { version: 1, gateway: { listen: '127.0.0.1:0', state: 'redis://127.0.0.1:1', audit: testAuditLog(down) }, servers: { a: { command: [process.execPath, RECORDER, 'stdio', '--record', record] } } };
    const gw = await startGateway(writeConfig(JSON.stringify(config), down));
    t.after(() => gw.stop());
    const reply = await httpRequest('POST', `${gw.url}/mcp/a`, initializeRequest(1));
    assert.equal(reply.status, 503, reply.text);
    assert.match(reply.text, /agent store \(gateway.state\) cannot be read.*gateway.auth.mode/);
    assert.deepEqual(received(record), []);
  });
});

describe('agents apart', () => {
  test('two agents (SDK v1 and v2) have their own scope: agent budgets, audit records and approvals; a session is not a credential', async () => {
    const one = await connectV1(http(endpoint('a'), bearer(T1)));
    const two = await connectV2(http(endpoint('a'), bearer(T2)));
    try {
      assert.equal(toolText(await one.client.callTool({ name: 'echo', arguments: { text: 'one' } })), 'echo: one');
      const again = await one.client.callTool({ name: 'echo', arguments: { text: 'one again' } });
      assert.match(toolText(again), /POLICY DENIED.*rate limit/, 'bot1 spent its one call');
      assert.equal(toolText(await two.client.callTool({ name: 'echo', arguments: { text: 'two' } })), 'echo: two', 'bot2 counts apart');

      const held = await one.client.callTool({ name: 'whoami', arguments: {} });
      assert.match(toolText(held), /approval \S+ is pending/);
      const pending = JSON.parse((await httpRequest('GET', `${gateway.url}/admin/approvals?status=pending`, undefined, { authorization: `Bearer ${ADMIN}` })).text) as { agent: string; tool: string }[];
      assert.ok(pending.some((p) => p.tool === 'whoami' && p.agent === 'bot1'), JSON.stringify(pending));

      // bot2 cannot ride on bot1's session id.
      const sid = String((await httpRequest('POST', endpoint('a'), initializeRequest(5), bearer(T1))).headers['mcp-session-id']);
      const hijack = await httpRequest('POST', endpoint('a'), { jsonrpc: '2.0', id: 6, method: 'tools/list' }, { ...bearer(T2), 'mcp-session-id': sid });
      assert.equal(hijack.status, 403, hijack.text);
    } finally {
      await one.close();
      await two.close();
    }
    await eventually('the audit records of both agents', async () => {
      const q = await runCli('audit', 'query', '-c', file, '--tool', 'echo', '--format', 'json');
      const agents = (JSON.parse(q.stdout || '[]') as { agent: string }[]).map((r) => r.agent);
      return agents.includes('bot1') && agents.includes('bot2');
    });
    const mine = await runCli('audit', 'query', '-c', file, '--agent', 'bot2', '--format', 'json');
    const rows = JSON.parse(mine.stdout) as { agent: string }[];
    assert.ok(rows.length > 0 && rows.every((r) => r.agent === 'bot2'), mine.stdout);
  });

  test('a token added with the CLI works; revoked, it is refused at the next request', async () => {
    const added = await runCli('agents', 'add', 'bot3', '--servers', 'a', '-c', file);
    assert.equal(added.code, 0, added.stderr);
    const t3 = /plg_[A-Za-z0-9_-]{43}/.exec(added.stdout)?.[0];
    assert.ok(t3, `the token is printed once: ${added.stdout}`);
    const ok = await httpRequest('POST', endpoint('a'), initializeRequest(7), bearer(t3));
    assert.equal(ok.status, 200, ok.text);
    const revoked = await runCli('agents', 'revoke', 'bot3', '-c', file);
    assert.equal(revoked.code, 0, revoked.stderr);
    // Another process revoked it: this gateway learns of it within its short token cache.
    await eventually('the revoked token to be refused', async () => (await httpRequest('POST', endpoint('a'), initializeRequest(8), bearer(t3))).status === 401);
  });
});

describe('JWTs', () => {
  let jwtGateway: Running & { url: string };
  let sign: (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>;
  const ISSUER = 'https://login.example.test/';
  const AUDIENCE = 'policylayer-test';

  before(async () => {
    const keys = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwtDir = tempDir('pl-agents-jwt-');
    writeFileSync(path.join(jwtDir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    sign = (claims, header = {}) =>
      new SignJWT({ iss: ISSUER, aud: AUDIENCE, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header }).setIssuedAt().sign(keys.privateKey);
    const config = {
      version: 1,
      gateway: { listen: '127.0.0.1:0', audit: testAuditLog(jwtDir), auth: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwks_file: 'jwks.json', servers_claim: 'servers' } } },
      servers: { a: { command: [process.execPath, RECORDER, 'stdio', '--record', path.join(jwtDir, 'a.jsonl')], default: 'allow' } },
    };
    jwtGateway = await startGateway(writeConfig(JSON.stringify(config, null, 2), jwtDir));
  });
  after(() => jwtGateway?.stop());

  const initWith = async (jwt: string) => (await httpRequest('POST', `${jwtGateway.url}/mcp/a`, initializeRequest(1), bearer(jwt))).status;
  const now = () => Math.floor(Date.now() / 1000);

  test('a locally signed JWT is accepted (SDK v1); expired, wrong-audience, alg none and ungranted ones are refused', async () => {
    const good = await sign({ sub: 'jwt-bot', servers: ['a'], exp: now() + 600 });
    const conn = await connectV1(http(`${jwtGateway.url}/mcp/a`, bearer(good)));
    assert.equal(toolText(await conn.client.callTool({ name: 'echo', arguments: { text: 'jwt' } })), 'echo: jwt');
    await conn.close();
    assert.equal(await initWith(await sign({ sub: 'jwt-bot', servers: ['a'], exp: now() - 600 })), 401, 'expired');
    const wrongAud = await sign({ sub: 'jwt-bot', servers: ['a'], exp: now() + 600, aud: 'someone-else' });
    assert.equal(await initWith(wrongAud), 401, 'wrong audience');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'jwt-bot', servers: ['a'], iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })).toString('base64url')}.`;
    assert.equal(await initWith(unsigned), 401, 'alg none');
    assert.equal(await initWith(await sign({ sub: 'jwt-bot', servers: ['elsewhere'], exp: now() + 600 })), 403, 'no grant for a');
  });

  test('the protected resource metadata names the resource and the authorization server', async () => {
    const doc = await httpRequest('GET', `${jwtGateway.url}/.well-known/oauth-protected-resource/mcp/a`);
    assert.equal(doc.status, 200, doc.text);
    const body = JSON.parse(doc.text) as { resource: string; authorization_servers: string[] };
    assert.equal(body.resource, `${jwtGateway.url}/mcp/a`);
    assert.deepEqual(body.authorization_servers, [ISSUER]);
    const challenge = (await httpRequest('POST', `${jwtGateway.url}/mcp/a`, initializeRequest(2))).headers['www-authenticate'];
    assert.equal(challenge, `Bearer resource_metadata="${jwtGateway.url}/.well-known/oauth-protected-resource/mcp/a"`);
  });
});
