// The identity step's rules: modes, what a bad credential gets under each, which checker a token goes to, and what
// an unreadable agent store means (fail_mode closed: nobody in; open: anonymous; a known answer holds meanwhile).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createGatewayAuth, type AuthMode } from '../../src/agents/authenticate.js';
import type { AuthResult } from '../../src/agents/identity.js';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2ln';

function rig(opts: { mode?: AuthMode; agents?: () => Promise<boolean>; jwt?: boolean; failMode?: 'open' | 'closed'; now?: () => number } = {}) {
  const seen: string[] = [];
  const ok = (agent: string): AuthResult => ({ ok: true, identity: { agent, servers: '*', via: 'token' } });
  const auth = createGatewayAuth({
    configuredMode: () => opts.mode,
    tokens: {
      authenticate: async (t) => (seen.push(`token:${t}`), t === 'plg_good' || t === 'own-secret' ? ok('bot') : { ok: false, reason: 'unknown token' }),
      anyAgent: opts.agents ?? (async () => true),
    },
    jwt: () => (opts.jwt ? { verify: async (t) => (seen.push(`jwt:${t}`), ok('jwt-bot')) } : undefined),
    failMode: () => opts.failMode ?? 'closed',
    ...(opts.now && { now: opts.now }),
  });
  return { auth, seen };
}

describe('gateway identity step', () => {
  test('off: everyone is anonymous, credentials or not', async () => {
    const { auth, seen } = rig({ mode: 'off' });
    for (const h of [undefined, 'Bearer plg_bad', 'garbage']) {
      const r = await auth.identify(h);
      assert.ok(r.ok && r.identity.agent === 'anonymous', String(h));
    }
    assert.deepEqual(seen, []);
  });

  test('optional: none is anonymous, but a credential that is sent is checked and a bad one refused', async () => {
    const { auth } = rig({ mode: 'optional' });
    const none = await auth.identify(undefined);
    assert.ok(none.ok && none.identity.agent === 'anonymous');
    assert.equal((await auth.identify('Bearer plg_bad')).ok, false);
    assert.equal((await auth.identify('Basic Ym90OnB3')).ok, false);
    const good = await auth.identify('Bearer plg_good');
    assert.ok(good.ok && good.identity.agent === 'bot');
  });

  test('required: nothing, a bad scheme or a bad token is refused; plg_ and other non-JWT tokens go to the token check, JWTs to the verifier', async () => {
    const { auth, seen } = rig({ mode: 'required', jwt: true });
    assert.equal((await auth.identify(undefined)).ok, false);
    assert.equal((await auth.identify('')).ok, false);
    assert.equal((await auth.identify('Bearer')).ok, false);
    assert.equal((await auth.identify('Bearer a b')).ok, false);
    assert.ok((await auth.identify('bearer plg_good')).ok, 'the scheme is case-insensitive');
    assert.ok((await auth.identify('Bearer own-secret')).ok, "a policy file's own token");
    assert.ok((await auth.identify(`Bearer ${JWT}`)).ok);
    assert.deepEqual(seen, ['token:plg_good', 'token:own-secret', `jwt:${JWT}`]);
  });

  test('a JWT without a configured issuer is refused, saying so', async () => {
    const r = await rig({ mode: 'required' }).auth.identify(`Bearer ${JWT}`);
    assert.ok(!r.ok && /gateway.auth.jwt/.test(r.reason));
  });

  test('no mode in the file: required once an agent exists or a JWT issuer is configured, else off', async () => {
    assert.equal((await rig({ agents: async () => true }).auth.identify(undefined)).ok, false);
    assert.equal((await rig({ agents: async () => false, jwt: true }).auth.identify(undefined)).ok, false);
    const none = await rig({ agents: async () => false }).auth.identify(undefined);
    assert.ok(none.ok && none.identity.agent === 'anonymous');
  });

  test('an agent store that cannot be read: closed lets nobody in (unavailable, not 401); open lets callers in anonymously; a known answer holds', async () => {
    const down = async (): Promise<boolean> => {
      throw new Error('ECONNREFUSED');
    };
    const closed = await rig({ agents: down }).auth.identify(undefined);
    assert.ok(!closed.ok && closed.unavailable === true && /gateway.auth.mode/.test(closed.reason));
    const open = await rig({ agents: down, failMode: 'open' }).auth.identify(undefined);
    assert.ok(open.ok && open.identity.agent === 'anonymous');

    let up = true;
    let clock = 0;
    let asked = 0;
    const flaky = rig({ agents: async () => (asked++, up ? true : down()), now: () => clock });
    assert.equal((await flaky.auth.identify(undefined)).ok, false);
    up = false;
    clock += 60_000;
    const later = await flaky.auth.identify(undefined);
    assert.equal(asked, 2, 'the store was asked again once the answer was old');
    assert.ok(!later.ok && !later.unavailable, 'agents were known to exist: credentials stay required');
  });
});

test('a credential verified a moment ago is taken at once (no promise, no second check); after 1 s it is checked again', async () => {
  let clock = 0;
  const { auth, seen } = rig({ mode: 'required', now: () => clock });
  assert.ok((await auth.identify('Bearer plg_good')).ok);
  const again = auth.identify('Bearer plg_good');
  assert.ok(!(again instanceof Promise) && again.ok, 'answered from memory');
  clock += 1001;
  assert.ok((await auth.identify('Bearer plg_good')).ok);
  assert.deepEqual(seen, ['token:plg_good', 'token:plg_good']);
  assert.ok((await auth.identify('Bearer plg_bad')).ok === false && (await auth.identify('Bearer plg_bad')).ok === false);
  assert.equal(seen.filter((s) => s === 'token:plg_bad').length, 2, 'a refusal is not remembered: a token added a moment later works');
});
