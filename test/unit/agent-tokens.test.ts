// Agent tokens: minting and hashing, the token authenticator (file agents, stored agents, rotation, revocation,
// expiry, the cache bound), and the policy file's `agents:` checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryAgentStore } from '../../src/agents/memory.js';
import type { AgentStore } from '../../src/agents/store.js';
import { createTokenAuthenticator, DEFAULT_CACHE_MS, mintToken, newTokenId, tokenSha256, type TokenAuthenticatorOptions } from '../../src/agents/tokens.js';
import { ConfigError, parseConfig, type ConfigProblem } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

const F = 'policy.yaml';
const SERVERS = 'servers:\n  fs: { command: [fs] }\n  vapi: { url: "http://127.0.0.1:1/mcp" }\n';
const policy = (agents = ''): Config => parseConfig(`version: 1\n${SERVERS}${agents}`, F, {});

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, F, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

/** An authenticator on a memory store with a clock the test moves. */
function rig(config: Config = policy(), over: Partial<TokenAuthenticatorOptions> = {}) {
  const store = createMemoryAgentStore();
  const clock = { t: 1_700_000_000_000 };
  const auth = createTokenAuthenticator({ config: () => config, store: async () => store, now: () => clock.t, ...over });
  /** Adds a stored token for `agent` and returns it. */
  const add = async (agent: string, extra: { servers?: string[] | '*'; expires?: number; on?: AgentStore } = {}) => {
    const token = mintToken();
    const id = newTokenId();
    await (extra.on ?? store).add({ id, agent, sha256: tokenSha256(token), servers: extra.servers ?? ['fs'], created: clock.t, ...(extra.expires !== undefined && { expires: extra.expires }) });
    return { token, id };
  };
  return { store, clock, auth, add };
}

const reasonOf = (r: { ok: boolean; reason?: string }): string => (r.ok ? assert.fail('authenticated') : r.reason!);

describe('tokens', () => {
  test('a token is plg_ and 32 random bytes in base64url; its SHA-256 is 64 hex digits', () => {
    const token = mintToken();
    assert.match(token, /^plg_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token.slice(4), 'base64url').length, 32);
    assert.notEqual(mintToken(), token);
    assert.match(tokenSha256(token), /^[0-9a-f]{64}$/);
    assert.match(newTokenId(), /^tok_[0-9a-f]{12}$/);
  });
});

describe('token authenticator', () => {
  test('a stored token proves its agent and grant; the identity carries the token id and expiry', async () => {
    const { auth, add, clock } = rig();
    const { token, id } = await add('support-bot', { servers: ['fs', 'vapi'], expires: clock.t + 60_000 });
    assert.deepEqual(await auth.authenticate(token), {
      ok: true,
      identity: { agent: 'support-bot', servers: ['fs', 'vapi'], via: 'token', credential: id, expires: clock.t + 60_000 },
    });
  });

  test('an unknown or empty token is refused, and the reason never echoes it', async () => {
    const { auth } = rig();
    const token = mintToken();
    const reason = reasonOf(await auth.authenticate(token));
    assert.equal(reason, 'unknown token');
    assert.equal(reasonOf(await auth.authenticate('')), 'no token');
  });

  test('rotation: two tokens of one agent both work; revoking one leaves the other', async () => {
    const { auth, add } = rig();
    const old = await add('bot');
    const fresh = await add('bot');
    assert.equal((await auth.authenticate(old.token)).ok, true);
    assert.equal((await auth.authenticate(fresh.token)).ok, true);
    assert.deepEqual((await auth.revoke({ id: old.id })).map((r) => r.id), [old.id]);
    // Revoked through this authenticator: refused at once, though the token was cached a moment ago.
    assert.match(reasonOf(await auth.authenticate(old.token)), new RegExp(`^token ${old.id} of agent bot was revoked at `));
    assert.equal((await auth.authenticate(fresh.token)).ok, true);
  });

  test('revoking by agent name refuses all its tokens', async () => {
    const { auth, add } = rig();
    const a = await add('bot');
    const b = await add('bot');
    const other = await add('other');
    assert.equal((await auth.revoke({ agent: 'bot' })).length, 2);
    for (const t of [a, b]) assert.match(reasonOf(await auth.authenticate(t.token)), /was revoked/);
    assert.equal((await auth.authenticate(other.token)).ok, true);
  });

  test('an expired token is refused saying so, checked on every request (the cache does not extend it)', async () => {
    const { auth, add, clock } = rig();
    const { token, id } = await add('bot', { expires: clock.t + 1000 });
    assert.equal((await auth.authenticate(token)).ok, true);
    clock.t += 1000;
    assert.match(reasonOf(await auth.authenticate(token)), new RegExp(`^token ${id} of agent bot expired at `));
  });

  test('a revocation by another process takes effect once the cache bound has passed, not before a store trip', async () => {
    const { auth, add, store, clock } = rig();
    const { token, id } = await add('bot');
    assert.equal((await auth.authenticate(token)).ok, true);
    await store.revoke({ id }); // as the CLI does: past this authenticator
    assert.equal((await auth.authenticate(token)).ok, true, 'within the bound the cached verification stands');
    clock.t += DEFAULT_CACHE_MS;
    assert.match(reasonOf(await auth.authenticate(token)), /was revoked/);
  });

  test('a token added by another process works at its first request (unknown tokens are not cached)', async () => {
    const { auth, store } = rig();
    const token = mintToken();
    assert.equal(reasonOf(await auth.authenticate(token)), 'unknown token');
    await store.add({ id: newTokenId(), agent: 'late', sha256: tokenSha256(token), servers: '*', created: 1 });
    assert.equal((await auth.authenticate(token)).ok, true);
  });

  test('concurrent first requests with one token make one store trip', async () => {
    const { auth, add, store } = rig();
    const { token } = await add('bot');
    let trips = 0;
    const find = store.findByHash.bind(store);
    store.findByHash = async (h) => (trips++, find(h));
    const results = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(token)));
    assert.ok(results.every((r) => r.ok));
    assert.equal(trips, 1);
  });

  test('an unreachable store refuses (fails closed), saying why, and is opened again on the next request', async () => {
    let attempts = 0;
    const store = createMemoryAgentStore();
    const auth = createTokenAuthenticator({
      config: () => policy(),
      store: async () => {
        if (++attempts === 1) throw new Error('agent store redis://127.0.0.1:1 unreachable');
        return store;
      },
    });
    const token = mintToken();
    await store.add({ id: newTokenId(), agent: 'bot', sha256: tokenSha256(token), servers: ['fs'], created: 1 });
    assert.match(reasonOf(await auth.authenticate(token)), /^cannot check the token: agent store .* unreachable/);
    assert.equal((await auth.authenticate(token)).ok, true);
  });

  test('policy-file agents: token_sha256 (any case) and token_env prove the agent, without the store', async () => {
    const bot = mintToken();
    const ci = 'a-token-of-my-own-making';
    process.env.PL_TEST_CI_TOKEN = ci;
    const config = policy(`agents:\n  support-bot: { token_sha256: ${tokenSha256(bot).toUpperCase()}, servers: [vapi] }\n  ci: { token_env: PL_TEST_CI_TOKEN, servers: "*" }\n`);
    const auth = createTokenAuthenticator({ config: () => config, store: () => assert.fail('the store is not needed for file agents') });
    assert.deepEqual(await auth.authenticate(bot), { ok: true, identity: { agent: 'support-bot', servers: ['vapi'], via: 'token', credential: 'agents.support-bot' } });
    assert.deepEqual(await auth.authenticate(ci), { ok: true, identity: { agent: 'ci', servers: '*', via: 'token', credential: 'agents.ci' } });
    assert.equal(await auth.anyAgent(), true);
    delete process.env.PL_TEST_CI_TOKEN;
  });

  test('an agent whose token_env is unset cannot authenticate, and a warning says why', async () => {
    delete process.env.PL_TEST_UNSET_TOKEN;
    const warnings: string[] = [];
    const { auth } = rig(policy('agents:\n  ghost: { token_env: PL_TEST_UNSET_TOKEN, servers: [fs] }\n'), { warn: (m) => warnings.push(m) });
    assert.equal(reasonOf(await auth.authenticate('')), 'no token');
    assert.equal(reasonOf(await auth.authenticate(mintToken())), 'unknown token');
    assert.deepEqual(warnings, ['agents.ghost.token_env: environment variable PL_TEST_UNSET_TOKEN is not set, so agent ghost cannot authenticate']);
  });

  test('a reloaded policy applies to the next request: a removed file agent is refused', async () => {
    const token = mintToken();
    let config = policy(`agents:\n  bot: { token_sha256: ${tokenSha256(token)}, servers: [fs] }\n`);
    const store = createMemoryAgentStore();
    const auth = createTokenAuthenticator({ config: () => config, store: async () => store });
    assert.equal((await auth.authenticate(token)).ok, true);
    config = policy();
    assert.equal(reasonOf(await auth.authenticate(token)), 'unknown token');
  });

  test('anyAgent: false with no agents, or only revoked and expired tokens; true with an active one', async () => {
    const { auth, add, clock } = rig();
    assert.equal(await auth.anyAgent(), false);
    const { id } = await add('bot');
    await add('old', { expires: clock.t });
    assert.equal(await auth.anyAgent(), true);
    await auth.revoke({ id });
    assert.equal(await auth.anyAgent(), false);
  });
});

describe('policy file agents:', () => {
  const HASH = 'ab'.repeat(32);
  test('a granted server that is not configured, a bad hash, a bad name and a missing token, each at its line', () => {
    const problems = problemsOf(
      `version: 1\n${SERVERS}agents:\n  bot:\n    token_sha256: ${HASH}\n    servers: [fs, nope]\n  short: { token_sha256: abc, servers: [fs] }\n  "bad name": { token_sha256: ${HASH.replace(/a/g, 'c')}, servers: [fs] }\n  none: { servers: [vapi] }\n`,
    );
    const find = (re: RegExp) => problems.find((p) => re.test(p.message)) ?? assert.fail(`no problem matching ${re}: ${JSON.stringify(problems)}`);
    const unknown = find(/granted server `nope`/);
    assert.deepEqual([unknown.line, unknown.path], [8, 'agents.bot.servers[1]']);
    assert.match(unknown.hint!, /fs, vapi/);
    assert.equal(find(/64 hex digits/).line, 9);
    assert.equal(find(/invalid key `bad name`|agent names/).line, 10);
    assert.equal(find(/exactly one of `token_sha256` or `token_env`/).line, 11);
  });

  test('two agents with one token are refused; a valid file has agents with their grants', () => {
    const problems = problemsOf(`version: 1\n${SERVERS}agents:\n  a: { token_sha256: ${HASH}, servers: [fs] }\n  b: { token_sha256: ${HASH.toUpperCase()}, servers: "*" }\n`);
    assert.match(problems.map((p) => p.message).join('\n'), /agents `a` and `b` have the same token/);
    const config = policy(`agents:\n  a: { token_sha256: ${HASH}, servers: [fs] }\n`);
    assert.deepEqual(config.agents, { a: { token_sha256: HASH, servers: ['fs'] } });
    assert.deepEqual(policy().agents, {});
  });
});
