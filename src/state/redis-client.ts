// What every Redis-backed store shares: a connection that fails fast and reconnects forever, waiting briefly for
// the first connection, and running a Lua script in one round trip.
import { Redis } from 'ioredis';
import type { LuaScript } from './redis-scripts.js';

/** A command (or a connect attempt) waits at most this long, so a hung Redis turns into a fail-mode decision. */
export const COMMAND_TIMEOUT_MS = 1000;
export const CONNECT_TIMEOUT_MS = 1000;
/** Reconnect backoff: 50 ms doubling, capped, forever (the gateway must recover by itself). */
const RECONNECT_MAX_MS = 2000;

/** ioredis words a connection lost mid-command as a retry limit or an unwritable stream. */
export const CONNECTION_LOST = /max retries per request|Connection is closed|Stream isn't writeable/i;
export const TIMED_OUT = /Command timed out/i;

export function redisConnection(url: string, name: string, extra: { autoResubscribe?: boolean } = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    // Fail fast instead of queueing: callers learn at once that the store is away and apply their fail mode.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), RECONNECT_MAX_MS),
    connectionName: name,
    ...extra,
  });
}

/**
 * Connects, waiting briefly for the first connection so the first calls do not fail needlessly; an unreachable
 * Redis still resolves (calls then reject saying why, and ioredis keeps reconnecting). Attach an 'error' listener
 * first: without one a refused connection would crash the process.
 */
export function firstConnect(redis: Redis): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, CONNECT_TIMEOUT_MS + 100);
    redis.once('ready', done);
    redis.once('error', done);
    redis.connect().catch(() => done());
  });
}

/** EVALSHA (one round trip), loading the script with EVAL only after a Redis restart flushed it. */
export async function runScript(redis: Redis, s: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
    return await redis.eval(s.lua, keys.length, ...keys, ...args);
  }
}
