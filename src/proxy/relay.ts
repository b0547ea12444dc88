// Message-level relay between a client pipe and an upstream pipe: every client frame goes through the call
// pipeline; upstream answers settle their calls, tool lists are filtered, list_changed notices are followed.
import { RpcCode } from '../errors.js';
import type { ServerPolicy } from '../policy/compile.js';
import type { MessagePipe } from '../transport/message-pipe.js';
import type { Identity, Limiter } from './admission.js';
import type { CallObservers } from './call-observers.js';
import type { Gatekeeper } from '../approvals/gatekeeper.js';
import { createClientApprovals } from './client-approval.js';
import type { StandardHeaders, Verdict } from './inspect.js';
import { errorResponse, type JsonRpcId } from './jsonrpc.js';
import { createCallPipeline, idKey } from './pipeline.js';
import { mayCarryTools, toolsListFrame } from './tools-filter.js';
import { withTraceMeta } from './tracing.js';
import { announcesToolsChanged, createPipeLister, createToolsRefresher } from './tools-refresh.js';

export interface RelayOptions {
  server: string;
  /** Read on every message, so a reloaded policy applies to the next call. */
  policy: () => ServerPolicy;
  client: MessagePipe;
  upstream: MessagePipe;
  /** Counts rate limits and spend caps; without one, limits are not enforced (tests of other behaviour). */
  limiter?: Limiter;
  /** Audit log and metrics of every decided tool call and its end; without them, nothing is recorded. */
  observers?: CallObservers;
  /** Holds require_approval calls; without one they are refused (fail closed). */
  gatekeeper?: Gatekeeper | undefined;
  identity?: Identity;
  onEnd?: (side: 'client' | 'upstream', reason?: string) => void;
  /** Told when the gateway's own listing after a tools/list_changed notice failed. */
  onRefreshError?: (err: Error) => void;
}

export interface Relay {
  /**
   * Decides one client frame and forwards it when allowed. An answer is returned, not sent: the caller knows
   * where it goes (a stdio line, an HTTP response). A call with limits, held for approval, or recorded under
   * strict audit durability resolves once it has been admitted and forwarded (or refused).
   */
  fromClient(raw: string, headers?: StandardHeaders): Verdict | Promise<Verdict>;
  close(): void;
}

const ANONYMOUS: Identity = { session: 'anonymous', agent: 'anonymous' };

export function createRelay(opts: RelayOptions): Relay {
  const { server, policy, client, upstream, observers, gatekeeper, identity = ANONYMOUS, onEnd } = opts;
  let ended = false;
  let protocol: string | undefined;
  const watchTools = observers?.tools;
  const toolsSeen = watchTools && ((tools: readonly unknown[], lastPage: boolean) => watchTools(server, tools, lastPage));
  // With a catalogue to keep, a server's notice that its tools changed makes the gateway list them itself.
  const lister = toolsSeen && createPipeLister(upstream);
  const refresher = lister && createToolsRefresher(lister.list, toolsSeen, opts.onRefreshError);
  // approval_via: client — the person at the client is asked too; the question is withdrawn once decided.
  const approvals = gatekeeper && createClientApprovals(client, gatekeeper);
  const calls = createCallPipeline({ server, policy, limiter: opts.limiter, observers, gatekeeper }).session({
    identity,
    protocol: () => protocol,
    notify: (message) => client.send(JSON.stringify(message)),
    approvals,
    refresher,
  });
  // Ids of tools/list requests awaiting their answer: that answer is parsed and filtered whatever its bytes.
  const lists = new Set<string>();

  const forward = (verdict: Verdict): Verdict => {
    if (verdict.kind !== 'forward') return verdict;
    if (!verdict.tool) {
      if (verdict.message.method === 'initialize') {
        protocol = protocolOf(verdict.message);
        approvals?.noteInitialize(verdict.message);
      }
      if (approvals?.takeAnswer(verdict.message)) return { kind: 'answer', reply: null };
    }
    if (ended) {
      if (verdict.tool) calls.ended(verdict.message.id as JsonRpcId, 'failed');
      return { kind: 'answer', reply: null };
    }
    if (verdict.listId !== undefined) lists.add(idKey(verdict.listId));
    upstream.send(verdict.trace ? withTraceMeta(verdict.message, verdict.trace) : verdict.raw);
    return verdict;
  };

  const fromClient = (raw: string, headers?: StandardHeaders): Verdict | Promise<Verdict> => {
    const verdict = calls.decide(raw, headers);
    return verdict instanceof Promise ? verdict.then(forward) : forward(verdict);
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
    if (lister?.take(raw)) return;
    if (refresher && announcesToolsChanged(raw)) refresher.refresh();
    // Most frames need no reading: no call waits on them, no list is asked for, and they cannot carry one.
    if (!calls.tracking() && lists.size === 0 && !mayCarryTools(raw)) return client.send(raw);
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      // Not JSON: it answers nothing, but if it might hold a tool list a lenient client could read one out of it.
      if (!mayCarryTools(raw)) client.send(raw);
      return;
    }
    calls.answered(message);
    const id = (message as { id?: unknown } | null)?.id;
    if (typeof id === 'string' || typeof id === 'number') lists.delete(idKey(id));
    const out = toolsListFrame(raw, message, policy(), identity.agent, toolsSeen);
    if (out === raw) client.send(raw, message);
    else client.send(out);
  };

  /** The session is over: held calls are withdrawn; forwarded ones keep their budget (the server may run them). */
  const abandon = (end: 'cancelled' | 'lost'): void => {
    ended = true;
    lister?.close();
    calls.abandon(end);
  };
  const end = (side: 'client' | 'upstream') => (reason?: string) => {
    if (ended) return;
    abandon(side === 'client' ? 'cancelled' : 'lost');
    (side === 'client' ? upstream : client).close();
    onEnd?.(side, reason);
  };
  client.onclose = end('client');
  upstream.onclose = end('upstream');
  return {
    fromClient,
    close() {
      if (ended) return;
      abandon('cancelled');
      client.close();
      upstream.close();
    },
  };
}

/** The protocol revision a client's initialize asks for. */
export function protocolOf(message: Record<string, unknown>): string | undefined {
  const v = (message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
  return typeof v === 'string' ? v.slice(0, 32) : undefined;
}
