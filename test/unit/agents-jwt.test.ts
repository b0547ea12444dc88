// JWT verification (gateway.auth.jwt): a valid token proves its agent; expired, early, foreign, unsigned, confused,
// unknown-key and badly named tokens are refused with a reason; keys from a file or a loopback JWKS server; the cache.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createJwtVerifier, type JwtVerifierOptions } from '../../src/agents/jwt.js';
import type { AuthResult } from '../../src/agents/identity.js';
import { JwtSchema, type JwtConfig } from '../../src/config/auth-schema.js';

const ISSUER = 'https://id.example.com/';
const AUDIENCE = 'https://gw.example.com/mcp';
const now = () => Math.floor(Date.now() / 1000);

let key: { privateKey: CryptoKey; publicKey: CryptoKey };
let other: { privateKey: CryptoKey; publicKey: CryptoKey };
let jwks: { keys: JWK[] };
let dir: string;

async function sign(claims: JWTPayload = {}, opts: { key?: CryptoKey; kid?: string; omitExp?: boolean } = {}): Promise<string> {
  const jwt = new SignJWT({ sub: 'support-bot', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt();
  if (!opts.omitExp && claims.exp === undefined) jwt.setExpirationTime(now() + 600);
  return jwt.sign(opts.key ?? key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function config(over: Record<string, unknown> = {}): JwtConfig {
  return JwtSchema.parse({ issuer: ISSUER, audience: AUDIENCE, jwks_file: 'keys.json', ...over });
}

function fileVerifier(over: Record<string, unknown> = {}, options: JwtVerifierOptions = {}) {
  const jwt = config(over);
  return createJwtVerifier(() => jwt, dir, options);
}

function refused(result: AuthResult, pattern: RegExp): void {
  assert.equal(result.ok, false, 'the token was accepted');
  if (!result.ok) assert.match(result.reason, pattern);
}

/** A loopback JWKS server that counts its fetches; `fail` makes it answer 500. */
async function jwksServer(): Promise<{ url: string; fetches: () => number; fail: (on: boolean) => void; close: () => Promise<void> }> {
  let fetches = 0;
  let failing = false;
  const server: Server = createServer((req, res) => {
    fetches += 1;
    if (failing) {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    fail: (on) => (failing = on),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

before(async () => {
  key = await generateKeyPair('ES256', { extractable: true });
  other = await generateKeyPair('ES256', { extractable: true });
  jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
  dir = await mkdtemp(join(tmpdir(), 'policylayer-jwt-'));
  await writeFile(join(dir, 'keys.json'), JSON.stringify(jwks));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JWT verifier, keys from a file', () => {
  test('a valid token proves the agent named by `sub`, with its jti and expiry, and no server without a grant', async () => {
    const exp = now() + 600;
    const result = await fileVerifier().verify(await sign({ jti: 'tok-1', exp }));
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.deepEqual(result.identity, { agent: 'support-bot', servers: [], via: 'jwt', credential: 'tok-1', expires: exp * 1000 });
  });

  test("the servers come from the agent's policy entry, or from servers_claim when configured", async () => {
    const byEntry = await fileVerifier({}, { serversOf: (agent) => (agent === 'support-bot' ? ['vapi'] : undefined) }).verify(await sign());
    assert.ok(byEntry.ok);
    assert.deepEqual(byEntry.identity.servers, ['vapi']);

    const claimed = fileVerifier({ servers_claim: 'mcp_servers' });
    const list = await claimed.verify(await sign({ mcp_servers: ['fs', 'vapi'] }));
    assert.ok(list.ok);
    assert.deepEqual(list.identity.servers, ['fs', 'vapi']);
    const spaced = await claimed.verify(await sign({ mcp_servers: 'fs vapi' }));
    assert.ok(spaced.ok);
    assert.deepEqual(spaced.identity.servers, ['fs', 'vapi']);
    const all = await claimed.verify(await sign({ mcp_servers: ['*'] }));
    assert.ok(all.ok);
    assert.equal(all.identity.servers, '*');
    refused(await claimed.verify(await sign({ mcp_servers: 42 })), /`mcp_servers` claim is not a list of server names/);
  });

  test('a token expired longer ago than clock_skew is refused', async () => {
    refused(await fileVerifier().verify(await sign({ exp: now() - 120 })), /expired/);
  });

  test('a token expired by less than clock_skew is still accepted', async () => {
    const result = await fileVerifier({ clock_skew: '1m' }).verify(await sign({ exp: now() - 5 }));
    assert.ok(result.ok, result.ok ? '' : result.reason);
  });

  test('a token whose nbf is in the future is refused', async () => {
    refused(await fileVerifier().verify(await sign({ nbf: now() + 300 })), /not valid yet \(nbf\)/);
  });

  test('a token without exp is refused', async () => {
    refused(await fileVerifier().verify(await sign({}, { omitExp: true })), /no expiry \(exp\)/);
  });

  test('the wrong audience and the wrong issuer are refused', async () => {
    refused(await fileVerifier({ audience: 'https://other.example.com' }).verify(await sign()), /another audience \(aud\)/);
    refused(await fileVerifier({ issuer: 'https://evil.example.com/' }).verify(await sign()), /not issued by https:\/\/evil\.example\.com\/ \(iss\)/);
  });

  test('an unsigned token (alg: none) is refused', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'support-bot', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })}.`;
    refused(await fileVerifier().verify(token), /algorithm is not accepted/);
  });

  test('an HS256 token signed with the public key as the secret (algorithm confusion) is refused', async () => {
    const secret = new TextEncoder().encode(await exportSPKI(key.publicKey));
    const token = await new SignJWT({ sub: 'support-bot' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 600)
      .sign(secret);
    refused(await fileVerifier().verify(token), /algorithm is not accepted/);
  });

  test('a token from an unknown key id, and one whose signature does not verify, are refused', async () => {
    refused(await fileVerifier().verify(await sign({}, { key: other.privateKey, kid: 'k2' })), /no signing key .* matches/);
    refused(await fileVerifier().verify(await sign({}, { key: other.privateKey })), /signature does not verify/);
  });

  test('an agent claim that is missing, not a string or not a plain name is refused', async () => {
    for (const sub of [undefined, 7, 'bad name', '-dash', 'x'.repeat(65)]) {
      refused(await fileVerifier().verify(await sign({ sub } as JWTPayload)), /`sub` claim is not an agent name/);
    }
    const custom = await fileVerifier({ agent_claim: 'client_id' }).verify(await sign({ client_id: 'cursor.team-a' }));
    assert.ok(custom.ok);
    assert.equal(custom.identity.agent, 'cursor.team-a');
  });

  test('garbage is refused as malformed, and the reason never echoes the token', async () => {
    const token = 'not-a-jwt-at-all';
    const result = await fileVerifier().verify(token);
    refused(result, /well-formed/);
    if (!result.ok) assert.ok(!result.reason.includes(token));
  });

  test('a missing key file fails closed, and is read again on the next request', async () => {
    const verifier = fileVerifier({ jwks_file: 'later.json' });
    refused(await verifier.verify(await sign()), /signing keys in .*later\.json could not be read/);
    await writeFile(join(dir, 'later.json'), JSON.stringify(jwks));
    assert.ok((await verifier.verify(await sign())).ok);
  });

  test('without JWT settings every token is refused', async () => {
    refused(await createJwtVerifier(() => undefined, dir).verify(await sign()), /no JWT issuer is configured/);
  });
});

describe('JWT verifier, keys from a JWKS URL', () => {
  test('a valid token is accepted, and repeating it is answered from the cache without fetching the keys again', async () => {
    const server = await jwksServer();
    try {
      // jose's own key cache off, so that every signature check fetches the keys: the fetch count shows the checks.
      const jwt = config({ jwks_file: undefined, jwks_url: server.url });
      const verifier = createJwtVerifier(() => jwt, dir, { remote: { cacheMaxAge: 0 } });
      const token = await sign({ jti: 'a' });
      const first = await verifier.verify(token);
      assert.ok(first.ok, first.ok ? '' : first.reason);
      assert.equal(server.fetches(), 1);
      const again = await verifier.verify(token);
      assert.deepEqual(again, first);
      assert.equal(server.fetches(), 1);
      // A different token is checked (and, with jose's cache off, fetches the keys): the cache is per token.
      assert.ok((await verifier.verify(await sign({ jti: 'b' }))).ok);
      assert.equal(server.fetches(), 2);
    } finally {
      await server.close();
    }
  });

  test('a reloaded configuration clears the cache', async () => {
    const server = await jwksServer();
    try {
      let jwt = config({ jwks_file: undefined, jwks_url: server.url });
      const verifier = createJwtVerifier(() => jwt, dir, { remote: { cacheMaxAge: 0 } });
      const token = await sign();
      assert.ok((await verifier.verify(token)).ok);
      jwt = config({ jwks_file: undefined, jwks_url: server.url, audience: 'https://elsewhere.example.com' });
      refused(await verifier.verify(token), /another audience/);
    } finally {
      await server.close();
    }
  });

  test('keys that cannot be fetched fail closed with a reason saying so', async () => {
    const server = await jwksServer();
    server.fail(true);
    try {
      const jwt = config({ jwks_file: undefined, jwks_url: server.url });
      refused(await createJwtVerifier(() => jwt, dir).verify(await sign()), /signing keys could not be fetched from http:\/\/127\.0\.0\.1:\d+\/jwks\.json/);
    } finally {
      await server.close();
    }
    const gone = config({ jwks_file: undefined, jwks_url: server.url });
    refused(await createJwtVerifier(() => gone, dir).verify(await sign()), /signing keys could not be fetched/);
  });

  test('the cache holds at most cacheMax tokens, evicting the oldest', async () => {
    const server = await jwksServer();
    try {
      const jwt = config({ jwks_file: undefined, jwks_url: server.url });
      const verifier = createJwtVerifier(() => jwt, dir, { remote: { cacheMaxAge: 0 }, cacheMax: 2 });
      const [a, b, c] = await Promise.all([sign({ jti: 'a' }), sign({ jti: 'b' }), sign({ jti: 'c' })]);
      for (const t of [a, b, c]) assert.ok((await verifier.verify(t)).ok);
      assert.equal(server.fetches(), 3);
      assert.ok((await verifier.verify(c)).ok); // still cached
      assert.equal(server.fetches(), 3);
      assert.ok((await verifier.verify(a)).ok); // evicted: checked again
      assert.equal(server.fetches(), 4);
    } finally {
      await server.close();
    }
  });
});
