// Tool pinning across gateway replicas: two `policylayer start` processes share gateway.state in Redis, and with it
// the risk catalogue. A replica started after a rug pull never saw the honest definition, yet compares with it (the
// pin taken by the other replica) and refuses the changed tool; one `catalog accept` releases it on both.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis as RedisClient } from 'ioredis';
import type { CatalogEntry } from '../../src/catalog/entry.js';
import { startGateway, tempDir, type Running } from '../helpers/gateway.js';
import { http, type V1Connection } from '../helpers/clients.js';
import { pingRedis, redisKeysUnder, redisOrSkip, SHARED_REDIS, uniquePrefix, writePolicy } from '../helpers/limits-rig.js';
import { runCli, toolText } from '../helpers/cli-run.js';
import { assertRefusedAsChanged, callsReceived, HONEST, RUG_PULL, rugPullServer, SERVER, session, toolNames, weather } from '../helpers/rug-pull.js';

/** The poll is 1 s; this leaves room for a slow machine. */
const RELEASE_WITHIN_MS = 2500;

const redisProblem = await pingRedis();

interface Replica {
  file: string;
  url: string;
  /** The fixture's log of the calls this replica forwarded. */
  callsFile: string;
}

/** A gateway with a policy file of its own, its state (and so its catalogue) in Redis under `prefix`. */
async function replica(running: Running[], name: string, prefix: string, descriptionFile: string): Promise<Replica> {
  const dir = tempDir(`pl-pinning-replica-${name}-`);
  const callsFile = path.join(dir, 'calls.jsonl');
  const file = writePolicy(
    {
      gateway: { state: SHARED_REDIS, state_prefix: prefix },
      servers: {
        [SERVER]: rugPullServer(descriptionFile, callsFile, { on_tool_change: 'block' }),
      },
    },
    dir,
  );
  const gw = await startGateway(file);
  running.push(gw);
  return { file, url: `${gw.url}/mcp/${SERVER}`, callsFile };
}

function citiesForwarded(r: Replica): string[] {
  return callsReceived(r.callsFile, 'get_weather').map((args) => String(args['city']));
}

/**
 * Calls get_weather through `c` until `released` (let through) or refused (the pin), within RELEASE_WITHIN_MS; a
 * refused call must never reach the server. Resolves with the city of the last call.
 */
async function callUntil(r: Replica, c: V1Connection, released: boolean, label: string): Promise<string> {
  const end = Date.now() + RELEASE_WITHIN_MS;
  for (let attempt = 1; ; attempt++) {
    const city = `${label}-${attempt}`;
    const forwarded = citiesForwarded(r);
    const result = await weather(c, city);
    if ((result.isError === undefined) === released) {
      if (released) assert.equal(toolText(result), `sunny in ${city}`);
      else assertRefusedAsChanged(result, label);
      return city;
    }
    if (result.isError) {
      assertRefusedAsChanged(result, label);
      assert.deepEqual(citiesForwarded(r), forwarded, `${label}: refused call ${attempt} never reached the server`);
    }
    assert.ok(Date.now() < end, `${label}: get_weather still ${released ? 'refused' : 'let through'} after ${RELEASE_WITHIN_MS} ms`);
    await sleep(100);
  }
}

test('a rug pull is refused by a replica that never saw the honest tool, and one `catalog accept` releases it on both', async (t) => {
  if (!redisOrSkip(t, redisProblem)) return;
  const prefix = uniquePrefix('pinning-replicas');
  const { Redis } = await import('ioredis');
  const admin: RedisClient = new Redis(SHARED_REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  await admin.connect();
  const gateways: Running[] = [];
  // The gateways stop before the keys are deleted, so that none writes again after the cleanup.
  t.after(async () => {
    await Promise.all(gateways.map((gw) => gw.stop()));
    const keys = await redisKeysUnder(admin, prefix);
    if (keys.length > 0) await admin.unlink(...keys);
    assert.deepEqual(await redisKeysUnder(admin, prefix), [], 'nothing is left under the prefix');
    await admin.quit();
  });
  const storedWeather = async (): Promise<CatalogEntry | undefined> => {
    const json = await admin.hget(`${prefix}catalog:tools:${SERVER}`, 'get_weather');
    return json === null ? undefined : (JSON.parse(json) as CatalogEntry);
  };

  const descriptionFile = path.join(tempDir('pl-pinning-replicas-'), 'description.txt');
  writeFileSync(descriptionFile, HONEST);
  const a = await replica(gateways, 'a', prefix, descriptionFile);
  const first = await session(t, http(a.url));
  assert.deepEqual(await toolNames(first), ['add_note', 'get_weather']);
  const sunny = await weather(first, 'Oslo');
  assert.equal(toolText(sunny), 'sunny in Oslo', toolText(sunny));
  const pinned = await storedWeather();
  assert.equal(pinned?.status, 'accepted', 'replica A pinned the tool in Redis');
  assert.equal(pinned?.definition.description, HONEST);

  // The rug pull: every server child started from now on sends the new description.
  writeFileSync(descriptionFile, RUG_PULL);
  const b = await replica(gateways, 'b', prefix, descriptionFile);
  const second = await session(t, http(b.url));
  assert.deepEqual(await toolNames(second), ['add_note'], 'replica B hides the changed tool it never saw honest');
  assertRefusedAsChanged(await weather(second, 'Bergen'), 'replica B');
  assert.deepEqual(citiesForwarded(b), [], 'the refused call never reached the server');
  const note = await second.client.callTool({ name: 'add_note', arguments: { text: 'still works' } });
  assert.equal(toolText(note), 'noted: still works');
  const changed = await storedWeather();
  assert.equal(changed?.status, 'changed', 'replica B marked the tool changed in Redis');
  assert.equal(changed?.definition.description, RUG_PULL);
  assert.equal(changed?.acceptedDefinition?.description, HONEST);
  const keys = await redisKeysUnder(admin, prefix);
  assert.ok(keys.includes(`${prefix}catalog:tools:${SERVER}`) && keys.includes(`${prefix}catalog:version`), keys.join(', '));

  // Replica A learns the change by its poll: its open session (still the honest child) is refused too.
  const refusedOnA = await callUntil(a, first, false, 'replica A before the accept');
  const forwardedByA = citiesForwarded(a);
  assert.ok(!forwardedByA.includes(refusedOnA), 'the call refused on A never reached the server');

  const accepted = await runCli('catalog', 'accept', SERVER, 'get_weather', '-c', b.file);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stdout, /accepted the new definition of weather\/get_weather/);
  const stored = await storedWeather();
  assert.equal(stored?.status, 'accepted');
  assert.equal(stored?.definition.description, RUG_PULL);

  // Released on B (its open session) and on A (a new session, whose server child sends the new description).
  const onB = await callUntil(b, second, true, 'replica B after the accept');
  assert.deepEqual(citiesForwarded(b), [onB], 'only the call let through reached the server');
  assert.deepEqual(await toolNames(second), ['add_note', 'get_weather']);
  // A judges by what its server last listed (the honest child of `first`, not the accepted definition) until a
  // session of A lists the new one: a new session lists its tools first, as clients do.
  const third = await session(t, http(a.url));
  const listEnd = Date.now() + RELEASE_WITHIN_MS;
  // A's poll brings the accept within a second; until then its listing hides the tool.
  while ((await toolNames(third)).length < 2) {
    assert.ok(Date.now() < listEnd, 'replica A shows get_weather again after the accept');
    await sleep(100);
  }
  assert.deepEqual(await toolNames(third), ['add_note', 'get_weather']);
  const onA = await callUntil(a, third, true, 'replica A after the accept');
  assert.deepEqual(citiesForwarded(a), [...forwardedByA, onA]);
  assert.equal((await storedWeather())?.status, 'accepted', 'no replica marked the accepted tool changed again');
});
