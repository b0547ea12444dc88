// The listener's caps without sockets: total and per-client session slots, the spawn token bucket (a fake clock),
// slots freed exactly once, the session table freeing slots on every removal, and the config's defaults.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionsSchema, type SessionsConfig } from '../../src/config/schema.js';
import { clientAddress, createListenerLimits, SessionTable, type Slot } from '../../src/proxy/listener-limits.js';
import { nestsDeeperThan } from '../../src/proxy/json-depth.js';

const config = (over: Partial<SessionsConfig> = {}): SessionsConfig => SessionsSchema.parse(over);

function claimed(result: ReturnType<ReturnType<typeof createListenerLimits>['claim']>): Slot {
  assert.ok(result.ok, result.ok ? '' : result.refusal.message);
  return result.slot;
}

describe('listener limits', () => {
  test('defaults: 1000 sessions, 100 per client, 20 spawns/s with a burst of 40, idle 30 minutes', () => {
    assert.deepEqual(config(), { max: 1000, max_per_client: 100, spawn_rate: 20, spawn_burst: 40, idle_timeout: '30m' });
    assert.equal(createListenerLimits(() => config()).idleMs(), 30 * 60 * 1000);
    assert.equal(createListenerLimits(() => config({ idle_timeout: 2 })).idleMs(), 2000);
  });

  test('the total cap refuses the next session, names its key, and a released slot admits one again', () => {
    const limits = createListenerLimits(() => config({ max: 2 }));
    const a = claimed(limits.claim('10.0.0.1', false));
    claimed(limits.claim('10.0.0.2', false));
    const refused = limits.claim('10.0.0.3', false);
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.equal(refused.refusal.cap, 'max');
    assert.equal(refused.refusal.key, 'gateway.sessions.max');
    assert.equal(refused.refusal.limit, 2);
    assert.ok(refused.refusal.retryAfterSeconds >= 1);
    assert.match(refused.refusal.message, /2 open sessions.*raise gateway\.sessions\.max$/);
    a.release();
    a.release(); // twice: still one slot freed, not two
    assert.equal(limits.open(), 1);
    claimed(limits.claim('10.0.0.3', false));
    assert.equal(limits.claim('10.0.0.4', false).ok, false);
  });

  test('the per-client cap counts each address on its own', () => {
    const limits = createListenerLimits(() => config({ max_per_client: 2 }));
    claimed(limits.claim('10.0.0.1', false));
    const second = claimed(limits.claim('10.0.0.1', false));
    const refused = limits.claim('10.0.0.1', false);
    assert.ok(!refused.ok && refused.refusal.cap === 'max_per_client' && refused.refusal.key === 'gateway.sessions.max_per_client');
    assert.match(refused.ok ? '' : refused.refusal.message, /client 10\.0\.0\.1 has 2 open sessions/);
    claimed(limits.claim('10.0.0.2', false));
    assert.equal(limits.open('10.0.0.1'), 2);
    second.release();
    assert.equal(limits.open('10.0.0.1'), 1);
    claimed(limits.claim('10.0.0.1', false));
  });

  test('spawns: a burst, then the rate; sessions that start no child are not counted; a refusal takes no slot', () => {
    let now = 1_000_000;
    const limits = createListenerLimits(() => config({ spawn_rate: 2, spawn_burst: 3 }), () => now);
    for (let i = 0; i < 3; i++) claimed(limits.claim('c', true));
    const refused = limits.claim('c', true);
    assert.ok(!refused.ok && refused.refusal.cap === 'spawn_rate' && refused.refusal.key === 'gateway.sessions.spawn_rate');
    assert.equal(refused.ok ? 0 : refused.refusal.retryAfterSeconds, 1);
    assert.equal(limits.open(), 3, 'the refused claim holds no slot');
    claimed(limits.claim('c', false)); // no child: admitted while spawns are exhausted
    now += 499;
    assert.equal(limits.claim('c', true).ok, false, 'less than one token refilled');
    now += 1;
    claimed(limits.claim('c', true)); // 0.5 s at 2/s: one token
    assert.equal(limits.claim('c', true).ok, false);
    now += 60_000;
    for (let i = 0; i < 3; i++) claimed(limits.claim('c', true)); // refilled to the burst, not beyond
    assert.equal(limits.claim('c', true).ok, false);
  });

  test('a session cap is checked before a spawn token is spent', () => {
    const limits = createListenerLimits(() => config({ max: 1, spawn_rate: 0.001, spawn_burst: 2 }), () => 0);
    const only = claimed(limits.claim('c', true));
    const refused = limits.claim('c', true);
    assert.ok(!refused.ok && refused.refusal.cap === 'max');
    only.release();
    claimed(limits.claim('c', true)); // the second token is still there
  });

  test('caps are read per claim, so a reload applies to the next session', () => {
    let max = 1;
    const limits = createListenerLimits(() => config({ max }));
    claimed(limits.claim('c', false));
    assert.equal(limits.claim('c', false).ok, false);
    max = 2;
    claimed(limits.claim('c', false));
  });

  test('an adopted slot stays taken until released', () => {
    const limits = createListenerLimits(() => config());
    const slot = claimed(limits.claim('c', false));
    assert.equal(slot.adopted, false);
    slot.adopt();
    assert.equal(slot.adopted, true);
    slot.release();
    slot.adopt(); // too late: a released slot is not taken again
    assert.equal(slot.adopted, false);
    assert.equal(limits.open(), 0);
  });

  test('the session table frees a slot on delete and on clear, once', () => {
    const limits = createListenerLimits(() => config());
    const table = new SessionTable<{ slot: Slot }>();
    table.set('a', { slot: claimed(limits.claim('c', false)) });
    table.set('b', { slot: claimed(limits.claim('c', false)) });
    table.set('c', { slot: claimed(limits.claim('c', false)) });
    assert.equal(table.delete('a'), true);
    assert.equal(table.delete('a'), false);
    assert.equal(limits.open(), 2);
    table.clear();
    assert.equal(limits.open(), 0);
    assert.equal(table.size, 0);
  });

  test('client addresses: IPv4-mapped IPv6 is the IPv4 address', () => {
    assert.equal(clientAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(clientAddress('::1'), '::1');
    assert.equal(clientAddress(undefined), 'unknown');
  });

  test('config errors name the key', () => {
    for (const bad of [{ max: 0 }, { max_per_client: 1.5 }, { spawn_rate: -1 }, { idle_timeout: 'soon' }, { maximum: 5 }]) {
      assert.equal(SessionsSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe('JSON nesting depth', () => {
  test('deep arrays and objects are found; brackets inside strings and escapes are not nesting', () => {
    assert.equal(nestsDeeperThan('{"a":[1,{"b":2}]}', 3), false);
    assert.equal(nestsDeeperThan('{"a":[1,{"b":[]}]}', 3), true);
    assert.equal(nestsDeeperThan(`{"s":"${'['.repeat(500)}"}`, 3), false);
    assert.equal(nestsDeeperThan(`{"s":"\\"${'{'.repeat(500)}"}`, 3), false);
    assert.equal(nestsDeeperThan('['.repeat(200) + ']'.repeat(200)), true);
    assert.equal(nestsDeeperThan('[' + '[],'.repeat(10_000) + '[]]'), false, 'many siblings are not depth');
  });
});
