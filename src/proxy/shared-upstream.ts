// One upstream pipe shared by many client channels (`shared: true` servers, sessionless 2026-07-28 requests):
// request ids and progress tokens are renumbered per channel so that answers find their way back.
import type { MessagePipe } from '../transport/message-pipe.js';
import type { JsonRpcId } from './jsonrpc.js';

interface Channel extends MessagePipe {
  lastActivity: number;
}
interface Outstanding {
  channel: Channel;
  id: JsonRpcId;
  progressToken?: unknown;
}

export interface SharedUpstream {
  /** A new client channel; closing it detaches the channel, the shared upstream stays up. */
  channel(): MessagePipe;
  close(): void;
}

export function createSharedUpstream(open: () => MessagePipe, onIdle?: () => void): SharedUpstream {
  let pipe: MessagePipe | undefined;
  const channels = new Set<Channel>();
  const outstanding = new Map<number, Outstanding>();
  const tokens = new Map<string, Channel>();
  let nextId = 1;
  // The first initialize goes upstream; later channels get its result, as if they had asked themselves.
  let initialized: Promise<Record<string, unknown>> | undefined;
  let resolveInit: ((result: Record<string, unknown>) => void) | undefined;
  let initId: number | undefined;
  let sentInitialized = false;

  const upstream = (): MessagePipe => {
    if (pipe) return pipe;
    const p = open();
    pipe = p;
    p.onmessage = fromUpstream;
    p.onclose = (reason) => {
      pipe = undefined;
      initialized = undefined;
      initId = undefined;
      sentInitialized = false;
      outstanding.clear();
      tokens.clear();
      for (const c of [...channels]) c.onclose?.(reason);
      channels.clear();
    };
    return p;
  };

  function fromUpstream(raw: string): void {
    let m: Record<string, any>;
    try {
      m = JSON.parse(raw);
    } catch {
      return;
    }
    if (m.method === undefined && typeof m.id === 'number') {
      const o = outstanding.get(m.id);
      if (!o) return;
      outstanding.delete(m.id);
      if (o.progressToken !== undefined) tokens.delete(String(m.id));
      if (m.id === initId) {
        initId = undefined;
        if (m.result) resolveInit?.(m.result);
        else initialized = undefined; // a failed initialize is not cached; the next client tries again
      }
      o.channel.onmessage?.(JSON.stringify({ ...m, id: o.id }));
      return;
    }
    if (m.method === 'notifications/progress' && m.params?.progressToken !== undefined) {
      const token = String(m.params.progressToken);
      const channel = tokens.get(token);
      const o = outstanding.get(Number(token));
      if (channel && o) channel.onmessage?.(JSON.stringify({ ...m, params: { ...m.params, progressToken: o.progressToken } }));
      return;
    }
    if (typeof m.method === 'string' && m.id !== undefined) {
      // A server→client request: the channel with the newest call in flight most likely caused it.
      let target: Channel | undefined;
      for (const o of outstanding.values()) target = o.channel;
      target ??= [...channels].sort((a, b) => b.lastActivity - a.lastActivity)[0];
      target?.onmessage?.(raw);
      return;
    }
    for (const c of channels) c.onmessage?.(raw);
  }

  const channel = (): MessagePipe => {
    const c: Channel = {
      lastActivity: Date.now(),
      send(raw) {
        c.lastActivity = Date.now();
        let m: Record<string, any>;
        try {
          m = JSON.parse(raw);
        } catch {
          return;
        }
        if (m.method === 'initialize' && m.id !== undefined) {
          if (initialized) {
            void initialized.then((result) => c.onmessage?.(JSON.stringify({ jsonrpc: '2.0', id: m.id, result })));
            return;
          }
          initialized = new Promise((resolve) => (resolveInit = resolve));
        }
        if (m.method === 'notifications/initialized') {
          if (sentInitialized) return;
          sentInitialized = true;
        }
        if (typeof m.method === 'string' && m.id !== undefined) {
          const id = nextId++;
          if (m.method === 'initialize') initId = id;
          const progressToken = m.params?._meta?.progressToken;
          outstanding.set(id, progressToken === undefined ? { channel: c, id: m.id } : { channel: c, id: m.id, progressToken });
          let params = m.params;
          if (progressToken !== undefined) {
            tokens.set(String(id), c);
            params = { ...params, _meta: { ...params._meta, progressToken: id } };
          }
          upstream().send(JSON.stringify({ ...m, id, ...(params !== undefined && { params }) }));
          return;
        }
        if (m.method === 'notifications/cancelled' && m.params?.requestId !== undefined) {
          for (const [id, o] of outstanding) {
            if (o.channel === c && o.id === m.params.requestId) {
              upstream().send(JSON.stringify({ ...m, params: { ...m.params, requestId: id } }));
              return;
            }
          }
          return;
        }
        upstream().send(raw);
      },
      close() {
        channels.delete(c);
        for (const [id, o] of outstanding) if (o.channel === c) outstanding.delete(id);
        if (channels.size === 0) onIdle?.();
      },
    };
    channels.add(c);
    upstream();
    return c;
  };

  return {
    channel,
    close() {
      pipe?.close();
      pipe = undefined;
    },
  };
}
