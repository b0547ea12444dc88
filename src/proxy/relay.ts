// Message-level pipeline between a client pipe and an upstream pipe: decide each client frame, admit calls
// against their limits, settle reservations on the answer, filter tool lists.
import { RpcCode } from '../errors.js';
import type { ServerPolicy } from '../policy/compile.js';
import type { MessagePipe } from '../transport/message-pipe.js';
import { admitVerdict, needsAdmission, outcomeOf, type Identity, type Limiter, type Ticket } from './admission.js';
import { inspectClientFrame, type StandardHeaders, type Verdict } from './inspect.js';
import { errorResponse, type JsonRpcId } from './jsonrpc.js';
import { filterToolsInFrame } from './tools-filter.js';

export interface RelayOptions {
  server: string;
  /** Read on every message, so a reloaded policy applies to the next call. */
  policy: () => ServerPolicy;
  client: MessagePipe;
  upstream: MessagePipe;
  /** Counts rate limits and spend caps; without one, limits are not enforced (tests of other behaviour). */
  limiter?: Limiter;
  identity?: Identity;
  onEnd?: (side: 'client' | 'upstream', reason?: string) => void;
}

export const idKey = (id: JsonRpcId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

export interface Relay {
  /**
   * Decides one client frame and forwards it when allowed. An answer is returned, not sent: the caller knows
   * where it goes (a stdio line, an HTTP response). A call with limits resolves once the store has admitted it.
   */
  fromClient(raw: string, headers?: StandardHeaders): Verdict | Promise<Verdict>;
  close(): void;
}

const ANONYMOUS: Identity = { session: 'anonymous', agent: 'anonymous' };

export function createRelay({ server, policy, client, upstream, limiter, identity = ANONYMOUS, onEnd }: RelayOptions): Relay {
  let ended = false;
  // Calls holding a reservation, by request id, until their answer (or the end) settles them.
  const inflight = new Map<string, Ticket>();
  // Calls waiting for the store; a cancel that arrives meanwhile stops them from being forwarded.
  const admitting = new Map<string, { cancelled: boolean }>();

  const admitThenForward = async (verdict: Parameters<typeof admitVerdict>[0]): Promise<Verdict> => {
    const key = idKey(verdict.message.id as JsonRpcId);
    const state = { cancelled: false };
    admitting.set(key, state);
    const out = await admitVerdict(verdict, limiter!, server, identity);
    admitting.delete(key);
    if (out.kind !== 'forward') return out;
    if (state.cancelled || ended) {
      if (out.ticket) limiter!.settle(out.ticket, 'failed');
      return { kind: 'answer', reply: null };
    }
    if (out.ticket) inflight.set(key, out.ticket);
    upstream.send(out.raw);
    return out;
  };

  const noteCancel = (message: Record<string, unknown>): void => {
    const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const key = idKey(requestId);
    const waiting = admitting.get(key);
    if (waiting) waiting.cancelled = true;
    settle(key, 'failed');
  };

  const settle = (key: string, outcome: Parameters<Limiter['settle']>[1]): void => {
    const ticket = inflight.get(key);
    if (!ticket) return;
    inflight.delete(key);
    limiter!.settle(ticket, outcome);
  };

  const fromClient = (raw: string, headers?: StandardHeaders): Verdict | Promise<Verdict> => {
    const verdict = inspectClientFrame(raw, server, policy(), headers);
    if (verdict.kind !== 'forward') return verdict;
    if (limiter && needsAdmission(verdict)) return admitThenForward(verdict);
    if (verdict.message.method === 'notifications/cancelled' && (inflight.size > 0 || admitting.size > 0)) noteCancel(verdict.message);
    upstream.send(verdict.raw);
    return verdict;
  };
  const answer = (verdict: Verdict): void => {
    if (verdict.kind === 'answer' && verdict.reply) client.send(JSON.stringify(verdict.reply));
  };
  client.onmessage = (raw) => {
    const verdict = fromClient(raw);
    if (verdict instanceof Promise) void verdict.then(answer);
    else answer(verdict);
  };
  client.onframeerror = (problem) => {
    client.send(JSON.stringify(errorResponse(null, RpcCode.INVALID_REQUEST, `Message refused: ${problem}`)));
  };

  upstream.onmessage = (raw) => {
    if (inflight.size > 0) settleFrom(raw);
    client.send(filterToolsInFrame(raw, policy()));
  };
  const settleFrom = (raw: string): void => {
    let message: { id?: unknown; method?: unknown };
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (message.method === undefined && (typeof message.id === 'string' || typeof message.id === 'number')) {
      settle(idKey(message.id), outcomeOf(message));
    }
  };

  const end = (side: 'client' | 'upstream') => (reason?: string) => {
    if (ended) return;
    ended = true;
    // Calls that never got an answer did not happen as far as the budget is concerned.
    for (const key of [...inflight.keys()]) settle(key, 'failed');
    (side === 'client' ? upstream : client).close();
    onEnd?.(side, reason);
  };
  client.onclose = end('client');
  upstream.onclose = end('upstream');
  return {
    fromClient,
    close() {
      if (ended) return;
      ended = true;
      for (const key of [...inflight.keys()]) settle(key, 'failed');
      client.close();
      upstream.close();
    },
  };
}
