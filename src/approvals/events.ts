// In-process hub of approval events: the gatekeeper tells it about every approval it asks for, and the channels
// that reach people (the webhook, the admin API's live stream) listen without the gatekeeper knowing them.
import type { ApprovalRecord } from './store.js';

/** Decisions are not events of the hub: ApprovalStore.watch hears them, from every process sharing the store. */
export type ApprovalEventKind = 'requested';
export type ApprovalListener = (kind: ApprovalEventKind, record: ApprovalRecord) => void;

export interface ApprovalEvents {
  emit(kind: ApprovalEventKind, record: ApprovalRecord): void;
  /** Returns the function that stops listening. */
  subscribe(listener: ApprovalListener): () => void;
}

export function createApprovalEvents(onListenerError: (err: Error) => void = () => undefined): ApprovalEvents {
  const listeners = new Set<ApprovalListener>();
  return {
    emit(kind, record) {
      // A copy: the set may change while listeners run (one unsubscribing itself), and that must not skip another.
      for (const listener of [...listeners]) {
        try {
          // Each listener gets its own copy, so that none can change what the next one (or the gatekeeper) sees.
          listener(kind, structuredClone(record));
        } catch (err) {
          // One failing channel must not keep the others (or the held call) from going on.
          onListenerError(err as Error);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
