// Holds calls whose rule says require_approval until a person decides: creates the pending approval, waits for
// its decision (from any process), its timeout or the caller's cancel, and admits each approval exactly once.
import { liveRedactor, type RedactionSettings } from '../audit/redact.js';
import type { Logger } from '../log.js';
import { bindingOf, newApprovalRecord, type HeldCall } from './held-call.js';
import { openApprovalStore } from './open.js';
import type { ApprovalDecision, ApprovalRecord, ApprovalStore } from './store.js';

export type { HeldCall } from './held-call.js';

export type GateResult =
  | { ok: true; id: string }
  | { ok: false; id?: string; state: 'pending' | 'denied' | 'expired' | 'withdrawn' | 'unavailable'; reason: string };

export interface Gatekeeper {
  /**
   * Hold mode: resolves when the call may go (approved, once) or must not (denied, expired, withdrawn by `signal`).
   * Async mode, or an identical call approved before: resolves at once. `onWaiting` is called once the call is
   * held and then every PROGRESS_INTERVAL_MS, so that the caller can keep its client from timing out (a client
   * whose timeout is shorter than the interval must hear at once that the call waits).
   */
  request(call: HeldCall, signal?: AbortSignal, onWaiting?: (waitedMs: number, id: string) => void, onHeld?: (record: ApprovalRecord) => void): Promise<GateResult>;
  /** Applies a decision (exactly once, like every channel); false when the approval was no longer pending. */
  decide(id: string, decision: ApprovalDecision): Promise<boolean>;
  /** Calls held by this process now. */
  held(): number;
  /** The approval store (opened on first use), for the admin API. */
  store(): Promise<ApprovalStore>;
  close(): Promise<void>;
}

export const PROGRESS_INTERVAL_MS = 5000;

export interface GatekeeperOptions {
  /** gateway.state and gateway.state_prefix, read when the store is (re)opened. */
  state: () => { url: string; prefix: string };
  log: Logger;
  /**
   * The audit settings (`audit:`), read for every approval: records are redacted as audit records are, so that no
   * secret of a held call reaches the store, the webhook, the API or the CLI. Required: there is no unredacted mode.
   */
  redaction: () => RedactionSettings;
  /** Told about every approval this process asks for (webhooks, live streams); must not throw. */
  onRequested?: (record: ApprovalRecord) => void;
}

export function createGatekeeper({ state, log, redaction, onRequested }: GatekeeperOptions): Gatekeeper {
  const redact = liveRedactor(redaction);
  let opened: { key: string; store: Promise<ApprovalStore> } | undefined;
  let holding = 0;
  const store = (): Promise<ApprovalStore> => {
    const { url, prefix } = state();
    const key = `${url}\n${prefix}`;
    if (!opened || opened.key !== key) {
      const previous = opened;
      opened = { key, store: openApprovalStore(url, prefix) };
      opened.store.catch(() => undefined);
      previous?.store.then((s) => s.close()).catch(() => undefined);
    }
    return opened.store;
  };

  const event = (what: string, r: ApprovalRecord, extra: Record<string, unknown> = {}): void =>
    log.info(`approval ${r.id} ${what}: ${r.tool} on ${r.server}`, { approval_id: r.id, server: r.server, tool: r.tool, agent: r.agent, rule: r.rule, ...extra });

  /** Fails closed: a store that cannot be reached (or fails) means the call is refused, saying why. */
  async function request(
    call: HeldCall,
    signal?: AbortSignal,
    onWaiting?: (waitedMs: number, id: string) => void,
    onHeld?: (record: ApprovalRecord) => void,
  ): Promise<GateResult> {
    try {
      return await ask(await store(), call, signal, onWaiting, onHeld);
    } catch (err) {
      return { ok: false, state: 'unavailable', reason: `approvals cannot be asked for: ${(err as Error).message}` };
    }
  }

  async function ask(
    s: ApprovalStore,
    call: HeldCall,
    signal?: AbortSignal,
    onWaiting?: (waitedMs: number, id: string) => void,
    onHeld?: (record: ApprovalRecord) => void,
  ): Promise<GateResult> {
    const binding = bindingOf(call);
    const now = Date.now();
    // An identical call approved earlier (async mode, or remembered by approval_ttl) goes through once.
    const earlier = await s.findUsable(binding, now);
    if (earlier && (await s.consume(earlier.id, now))) {
      event('used', earlier);
      return { ok: true, id: earlier.id };
    }
    if (call.approval.mode === 'async') {
      const pending = await s.findPending(binding);
      if (pending && pending.expires > now) return pendingResult(pending);
    }
    const record = newApprovalRecord(call, redact, now);
    await s.create(record);
    event('requested', record, { mode: record.mode, expires: new Date(record.expires).toISOString() });
    try {
      onRequested?.(record);
    } catch (err) {
      log.warn(`approval ${record.id}: a listener failed: ${(err as Error).message}`);
    }
    if (call.approval.mode === 'async') return pendingResult(record);
    const held = hold(s, record, signal, onWaiting);
    onHeld?.(record);
    return held;
  }

  function pendingResult(r: ApprovalRecord): GateResult {
    return {
      ok: false,
      id: r.id,
      state: 'pending',
      reason: `approval ${r.id} is pending: a person must approve this call (policylayer approvals approve ${r.id}); call again with the same arguments and other params once it is approved (before ${new Date(r.expires).toISOString()})`,
    };
  }

  function hold(s: ApprovalStore, record: ApprovalRecord, signal?: AbortSignal, onWaiting?: (waitedMs: number, id: string) => void): Promise<GateResult> {
    const id = record.id;
    holding++;
    return new Promise<GateResult>((resolve) => {
      let done = false;
      const finish = (result: GateResult): void => {
        if (done) return;
        done = true;
        holding--;
        unwatch();
        clearTimeout(timeout);
        clearInterval(progress);
        signal?.removeEventListener('abort', withdraw);
        resolve(result);
      };
      const settle = async (r: ApprovalRecord): Promise<void> => {
        if (done || r.status === 'pending') return;
        const by = r.decided ? ` by ${r.decided.by} via ${r.decided.via}` : '';
        const why = r.decided?.reason ? `: ${r.decided.reason}` : '';
        if (r.status === 'approved') {
          // Exactly once: the store lets one call take a single-use approval.
          let taken: boolean;
          try {
            taken = await s.consume(id);
          } catch (err) {
            return finish({ ok: false, id, state: 'unavailable', reason: `approval ${id} was approved but could not be taken: ${(err as Error).message}` });
          }
          if (taken) {
            event('approved', r, { by: r.decided?.by, via: r.decided?.via });
            return finish({ ok: true, id });
          }
          return finish({ ok: false, id, state: 'denied', reason: `approval ${id} was already used` });
        }
        event(r.status, r, { by: r.decided?.by, via: r.decided?.via, reason: r.decided?.reason });
        if (r.status === 'denied') return finish({ ok: false, id, state: 'denied', reason: `approval ${id} was denied${by}${why}` });
        if (r.status === 'expired') {
          return finish({ ok: false, id, state: 'expired', reason: `no one approved this call within ${Math.round((record.expires - record.created) / 1000)} s (approval ${id} expired)` });
        }
        finish({ ok: false, id, state: 'withdrawn', reason: `approval ${id} was withdrawn${why}` });
      };
      const decideAs = (status: 'expired' | 'withdrawn', via: string, reason: string) => (): void => {
        void s.decide(id, { status, by: 'gateway', via, reason }).then(
          (d) => (d.record ? settle(d.record) : finish({ ok: false, id, state: status, reason })),
          (err: Error) => finish({ ok: false, id, state: status, reason: `${reason} (${err.message})` }),
        );
      };
      const unwatch = s.watch((r) => {
        if (r.id === id) void settle(r);
      });
      const timeout = setTimeout(decideAs('expired', 'timeout', 'no decision in time'), Math.max(0, record.expires - Date.now()));
      const started = Date.now();
      const progress = setInterval(() => onWaiting?.(Date.now() - started, id), PROGRESS_INTERVAL_MS);
      const withdraw = decideAs('withdrawn', 'cancel', 'the caller cancelled the call or went away');
      if (signal?.aborted) return withdraw();
      signal?.addEventListener('abort', withdraw, { once: true });
      onWaiting?.(0, id);
      // A decision made between create() and watch() is not missed.
      void s.get(id).then(
        (r) => r && settle(r),
        () => undefined, // the watch and the timeout still decide
      );
    });
  }

  return {
    request,
    held: () => holding,
    store,
    async decide(id, decision) {
      return (await (await store()).decide(id, decision)).ok;
    },
    async close() {
      const o = opened;
      opened = undefined;
      if (o) await (await o.store.catch(() => undefined))?.close();
    },
  };
}
