// Agent tokens on Redis: the AgentStore contract on a real Redis (under CI=true a missing Redis fails the test).
import { after, test } from 'node:test';
import { createRedisAgentStore } from '../../src/agents/redis.js';
import { deleteRedisKeys, pingRedis, redisOrSkip, SHARED_REDIS, uniquePrefix } from '../helpers/limits-rig.js';
import { runAgentStoreContract } from '../unit/agent-store-contract.js';

const RUN_PREFIX = uniquePrefix('agents');
const problem = await pingRedis();

if (problem !== undefined) {
  test('agent store on Redis', (t) => void redisOrSkip(t, problem));
} else {
  after(() => deleteRedisKeys(RUN_PREFIX));
  runAgentStoreContract('redis', (space) => createRedisAgentStore(SHARED_REDIS, `${RUN_PREFIX}${space}:`));
}
