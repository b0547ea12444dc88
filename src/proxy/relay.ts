// Message-level pipeline between a client pipe and an upstream pipe: decide each client frame, filter tools/list.
import { RpcCode } from '../errors.js';
import type { ServerPolicy } from '../policy/compile.js';
import type { MessagePipe } from '../transport/message-pipe.js';
import { inspectClientFrame, type StandardHeaders, type Verdict } from './inspect.js';
import { errorResponse, type JsonRpcId } from './jsonrpc.js';
import { filterToolsInFrame } from './tools-filter.js';

export interface RelayOptions {
  server: string;
  /** Read on every message, so a reloaded policy applies to the next call. */
  policy: () => ServerPolicy;
  client: MessagePipe;
  upstream: MessagePipe;
  onEnd?: (side: 'client' | 'upstream', reason?: string) => void;
}

export const idKey = (id: JsonRpcId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

export interface Relay {
  /**
   * Decides one client frame and forwards it when allowed. An answer is returned, not sent: the caller knows
   * where it goes (a stdio line, an HTTP response).
   */
  fromClient(raw: string, headers?: StandardHeaders): Verdict;
  close(): void;
}

export function createRelay({ server, policy, client, upstream, onEnd }: RelayOptions): Relay {
  let ended = false;

  const fromClient = (raw: string, headers?: StandardHeaders): Verdict => {
    const verdict = inspectClientFrame(raw, server, policy(), headers);
    if (verdict.kind === 'forward') upstream.send(verdict.raw);
    return verdict;
  };
  client.onmessage = (raw) => {
    const verdict = fromClient(raw);
    if (verdict.kind === 'answer' && verdict.reply) client.send(JSON.stringify(verdict.reply));
  };
  client.onframeerror = (problem) => {
    client.send(JSON.stringify(errorResponse(null, RpcCode.INVALID_REQUEST, `Message refused: ${problem}`)));
  };

  upstream.onmessage = (raw) => client.send(filterToolsInFrame(raw, policy()));

  const end = (side: 'client' | 'upstream') => (reason?: string) => {
    if (ended) return;
    ended = true;
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
      client.close();
      upstream.close();
    },
  };
}
