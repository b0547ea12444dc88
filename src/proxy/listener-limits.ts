// Resource caps of the `start` listener: open sessions in total and per client address, and children started per
// second for stdio servers (a token bucket). A session holds a slot from its first request until it ends.
import { windowMs } from '../config/limits-schema.js';
import type { SessionsConfig } from '../config/schema.js';

export type Cap = 'max' | 'max_per_client' | 'spawn_rate';

export interface CapRefusal {
  cap: Cap;
  /** The config key that raises the cap. */
  key: string;
  limit: number;
  /** Whole seconds after which a retry may be admitted (HTTP Retry-After). */
  retryAfterSeconds: number;
  message: string;
}

export interface Slot {
  /** A session now owns the slot: it stays taken after the request that claimed it ends. */
  adopt(): void;
  readonly adopted: boolean;
  /** Frees the slot; later calls do nothing. */
  release(): void;
}

export interface ListenerLimits {
  /** Takes a session slot for `client` (and a spawn when the session starts a child), or says which cap refuses it. */
  claim(client: string, spawns: boolean): { ok: true; slot: Slot } | { ok: false; refusal: CapRefusal };
  /** Slots taken now, in total and by one client. */
  open(client?: string): number;
  /** How long a session may sit idle (no request, no open stream) before it is closed. */
  idleMs(): number;
}

/**
 * A retry after a session cap depends on some session ending, which the gateway cannot foresee: clients are told
 * to wait a few seconds rather than hammer the listener.
 */
const SESSION_RETRY_SECONDS = 5;

export function createListenerLimits(config: () => SessionsConfig, now: () => number = Date.now): ListenerLimits {
  let total = 0;
  const perClient = new Map<string, number>();
  // Token bucket: `spawn_burst` children at once, refilled at `spawn_rate` per second.
  let tokens: number | undefined;
  let refilledAt = now();

  const refill = (c: SessionsConfig): number => {
    const t = now();
    tokens = Math.min(c.spawn_burst, (tokens ?? c.spawn_burst) + ((t - refilledAt) / 1000) * c.spawn_rate);
    refilledAt = t;
    return tokens;
  };

  const refuse = (cap: Cap, limit: number, retryAfterSeconds: number, message: string): { ok: false; refusal: CapRefusal } => {
    const key = `gateway.sessions.${cap}`;
    return { ok: false, refusal: { cap, key, limit, retryAfterSeconds, message: `${message}; retry in ${retryAfterSeconds} s, or raise ${key}` } };
  };

  return {
    claim(client, spawns) {
      const c = config();
      if (total >= c.max) return refuse('max', c.max, SESSION_RETRY_SECONDS, `the gateway has ${total} open sessions, its limit (gateway.sessions.max: ${c.max})`);
      const mine = perClient.get(client) ?? 0;
      if (mine >= c.max_per_client) {
        return refuse('max_per_client', c.max_per_client, SESSION_RETRY_SECONDS, `client ${client} has ${mine} open sessions, the limit per client address (gateway.sessions.max_per_client: ${c.max_per_client})`);
      }
      if (spawns) {
        const left = refill(c);
        if (left < 1) {
          const wait = Math.max(1, Math.ceil((1 - left) / c.spawn_rate));
          return refuse('spawn_rate', c.spawn_rate, wait, `too many new sessions start a server process: at most ${c.spawn_rate} per second, ${c.spawn_burst} at once (gateway.sessions.spawn_rate, spawn_burst)`);
        }
        tokens = left - 1;
      }
      total++;
      perClient.set(client, mine + 1);
      let state: 'claimed' | 'adopted' | 'released' = 'claimed';
      const slot: Slot = {
        adopt: () => void (state === 'claimed' && (state = 'adopted')),
        get adopted() {
          return state === 'adopted';
        },
        release() {
          if (state === 'released') return;
          state = 'released';
          total--;
          const n = (perClient.get(client) ?? 1) - 1;
          if (n > 0) perClient.set(client, n);
          else perClient.delete(client);
        },
      };
      return { ok: true, slot };
    },
    open: (client) => (client === undefined ? total : (perClient.get(client) ?? 0)),
    idleMs: () => windowMs(config().idle_timeout),
  };
}

/**
 * The open sessions by id. Removing one (DELETE, idle sweep, its end) frees the slot it holds, so that no path
 * that drops a session can leak a slot.
 */
export class SessionTable<T extends { slot?: Slot | undefined }> extends Map<string, T> {
  override delete(id: string): boolean {
    this.get(id)?.slot?.release();
    return super.delete(id);
  }
  override clear(): void {
    for (const s of this.values()) s.slot?.release();
    super.clear();
  }
}

/** The client address the per-client cap counts: the TCP peer, IPv4-mapped IPv6 written as IPv4. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}
