// When a server announces that its tools changed (notifications/tools/list_changed), the gateway lists them itself:
// the catalogue and the tool pins learn of the change even from a client that never lists again, and calls wait for
// that listing, so that a tool changed under `on_tool_change: block` is refused from the first call after the notice.
import { randomBytes } from 'node:crypto';
import type { MessagePipe } from '../transport/message-pipe.js';
import type { ToolsSeen } from './tools-filter.js';

export const TOOLS_CHANGED = 'notifications/tools/list_changed';
/** How long one page of the gateway's own listing may take; calls waiting for it go on with what is known. */
export const PAGE_TIMEOUT_MS = 10_000;
/** A server that pages without end is listed this far (a catalogue keeps at most 10 000 tools per server anyway). */
const MAX_PAGES = 100;

export interface ToolsPage {
  tools: unknown[];
  nextCursor?: string | undefined;
}
export type ListPage = (cursor: string | undefined) => Promise<ToolsPage>;

/** The notice is a few dozen bytes: a larger frame (a tool's result) is not searched for it. */
const MAX_NOTICE_BYTES = 2048;

/** Whether an upstream frame is the notice; for any other frame a length check or a substring test only. */
export function announcesToolsChanged(raw: string): boolean {
  if (raw.length > MAX_NOTICE_BYTES || !raw.includes(TOOLS_CHANGED)) return false;
  try {
    const m = JSON.parse(raw) as { method?: unknown; id?: unknown } | null;
    return m?.method === TOOLS_CHANGED && m.id === undefined;
  } catch {
    return false;
  }
}

/** A tools/list answer as a page, or an error saying what was wrong with it. */
export function pageOf(message: unknown): ToolsPage {
  const m = message as { result?: { tools?: unknown; nextCursor?: unknown }; error?: { message?: unknown } } | null;
  if (m?.error) throw new Error(`the server refused tools/list: ${String(m.error.message)}`);
  const tools = m?.result?.tools;
  if (!Array.isArray(tools)) throw new Error('the server answered tools/list without a `tools` array');
  const next = m!.result!.nextCursor;
  return { tools, nextCursor: typeof next === 'string' ? next : undefined };
}

export interface ToolsRefresher {
  /** Lists the tools again; a notice that comes during a listing lists once more after it. */
  refresh(): void;
  /** The listing under way, if any. Never rejects. */
  readonly pending: Promise<void> | undefined;
  /**
   * What a client frame waits for before it is decided: the listing under way for a request or a notification;
   * nothing for an answer to the server's own request (the server may need it to answer the listing).
   */
  holds(raw: string): Promise<void> | undefined;
}

export function createToolsRefresher(list: ListPage, seen: ToolsSeen, onError?: (err: Error) => void): ToolsRefresher {
  let pending: Promise<void> | undefined;
  let again = false;
  const listAll = async (): Promise<void> => {
    do {
      again = false;
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const { tools, nextCursor } = await list(cursor);
        seen(tools, nextCursor === undefined);
        if (nextCursor === undefined) break;
        cursor = nextCursor;
      }
    } while (again);
  };
  return {
    refresh() {
      if (pending) {
        again = true;
        return;
      }
      pending = listAll()
        .catch((err: Error) => onError?.(err))
        .finally(() => {
          pending = undefined;
        });
    },
    get pending() {
      return pending;
    },
    holds: (raw) => (pending && raw.includes('"method"') ? pending : undefined),
  };
}

export interface PipeLister {
  list: ListPage;
  /** True when `raw` answers one of the lister's own requests (it is then not for the client). */
  take(raw: string): boolean;
  close(): void;
}

/** Lists tools over a message pipe with request ids of the gateway's own, which no client can guess. */
export function createPipeLister(upstream: MessagePipe): PipeLister {
  const prefix = `policylayer-tools-${randomBytes(6).toString('hex')}-`;
  const waiting = new Map<string, { settle: (page: ToolsPage | Error) => void }>();
  let next = 0;
  return {
    list(cursor) {
      const id = `${prefix}${next++}`;
      return new Promise<ToolsPage>((resolve, reject) => {
        const timer = setTimeout(() => waiting.get(id)?.settle(new Error(`tools/list got no answer in ${PAGE_TIMEOUT_MS / 1000} s`)), PAGE_TIMEOUT_MS);
        waiting.set(id, {
          settle(page) {
            clearTimeout(timer);
            waiting.delete(id);
            if (page instanceof Error) reject(page);
            else resolve(page);
          },
        });
        upstream.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', params: cursor === undefined ? {} : { cursor } }));
      });
    },
    take(raw) {
      if (waiting.size === 0 || !raw.includes(prefix)) return false;
      let message: { id?: unknown; method?: unknown };
      try {
        message = JSON.parse(raw);
      } catch {
        return false;
      }
      const entry = message.method === undefined && typeof message.id === 'string' ? waiting.get(message.id) : undefined;
      if (!entry) return false;
      try {
        entry.settle(pageOf(message));
      } catch (err) {
        entry.settle(err as Error);
      }
      return true;
    },
    close() {
      for (const entry of [...waiting.values()]) entry.settle(new Error('the session ended'));
    },
  };
}
