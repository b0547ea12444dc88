// The gateway's audit log: builds records (redacted, chained) and writes them to the sink in batches, off the
// path of the calls, or before the call is forwarded when `audit.durability` is strict.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AuditSettings } from '../config/audit-schema.js';
import type { Logger } from '../log.js';
import { storableText } from './canonical.js';
import { createChain } from './chain.js';
import { liveRedactor } from './redact.js';
import type { AuditEvent, AuditSink } from './sink.js';

/** What a caller says about an event; the recorder adds id, time, instance, seq, arguments and hashes. */
export type AuditInput = Omit<AuditEvent, 'id' | 'time' | 'instance' | 'seq' | 'args' | 'args_hash' | 'prev_hash' | 'hash'> & {
  /** The call's arguments as received (never mutated afterwards); redacted, or reduced to keys or a hash, when written. */
  arguments?: unknown;
};

export interface AuditRecorder {
  readonly instance: string;
  /** The sink records go to, for queries (admin API). */
  readonly sink: AuditSink;
  /** audit.durability is strict: calls wait for their record. */
  strict(): boolean;
  /**
   * Records an event and returns its id. Under strict durability `committed` resolves once the record is in the
   * sink and rejects when it cannot be written (the caller must then not forward the call); under batched
   * durability it is absent: the record is written within flush_ms.
   */
  record(input: AuditInput): { id: string; committed?: Promise<void> };
  /** Records waiting to be written. */
  buffered(): number;
  /** Writes everything recorded so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Records kept in memory while the sink is unreachable; beyond this the oldest are dropped (and counted). */
const MAX_BUFFERED = 100_000;
const TEXT_FIELDS = ['server', 'tool', 'agent', 'session', 'protocol', 'rule', 'reason', 'detail', 'approval_id', 'call_id'] as const;
const MAX_BATCH = 500;
const RETRY_MAX_MS = 5000;

export function createAuditRecorder(sink: AuditSink, settings: () => AuditSettings, log: Logger, hooks: { onWriteError?: () => void } = {}): AuditRecorder {
  const tag = randomBytes(4).toString('hex');
  const instance = `${hostname()}:${process.pid}:${tag}`;
  let seq = 0;
  /** `args`: the call's arguments as received, redacted and hashed when the record is written (off the call path). */
  type Buffered = { event: AuditEvent; args?: unknown; done?: { resolve: () => void; reject: (err: Error) => void } };
  let buffer: Buffered[] = [];
  /** Call records not yet taken for writing, by id: a result that comes in time is folded into its call's record. */
  const unwritten = new Map<string, Buffered>();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let failures = 0;
  let dropped = 0;
  let closed = false;
  const chain = createChain();

  const redact = liveRedactor(settings);

  const schedule = (delayMs: number): void => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void writeOut();
    }, delayMs);
    timer.unref();
  };

  /**
   * Writes what is buffered when it starts, in batches, yielding to the event loop between them (a synchronous
   * sink must not stall calls); records that arrive meanwhile wait for the next flush. One writer at a time keeps
   * the sink's order the recording order.
   */
  const writeOut = (): Promise<void> => {
    if (writing) return writing;
    writing = (async () => {
      let left = buffer.length;
      while (left > 0) {
        const batch = buffer.slice(0, Math.min(MAX_BATCH, left));
        for (const b of batch) {
          unwritten.delete(b.event.id);
          if (b.args === undefined) continue;
          const r = redact(b.args);
          if (r.args !== undefined) b.event.args = r.args;
          b.event.args_hash = r.hash;
          delete b.args;
        }
        // Chain at write time, in record order: the hash covers exactly what the sink stores.
        const events = settings().hash_chain ? batch.map((b) => (b.event.hash ? b.event : (b.event = chain(b.event)))) : batch.map((b) => b.event);
        try {
          await sink.write(events);
        } catch (err) {
          failures++;
          hooks.onWriteError?.();
          const message = err instanceof Error ? err.message : String(err);
          // Strict records fail their calls (fail closed); batched ones stay buffered and are retried.
          const strict = batch.filter((b) => b.done);
          if (strict.length > 0) {
            buffer = buffer.filter((b) => !b.done);
            for (const b of strict) b.done!.reject(new Error(`the audit log could not record this call: ${message}`));
          }
          if (failures === 1 || failures % 50 === 0) log.error(`audit: writing ${batch.length} record(s) to ${sink.kind} failed (${message}); retrying, ${buffer.length} buffered`);
          if (buffer.length > 0) schedule(Math.min(RETRY_MAX_MS, 100 * 2 ** Math.min(failures, 6)));
          return;
        }
        if (failures > 0) log.info(`audit: ${sink.kind} writes again after ${failures} failure(s)`);
        failures = 0;
        buffer.splice(0, batch.length);
        left -= batch.length;
        for (const b of batch) b.done?.resolve();
        if (left > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })().finally(() => {
      writing = undefined;
      if (buffer.length === 0 || failures > 0) return;
      // Strict records are waiting for their calls: write them now; batched ones within flush_ms.
      if (buffer.some((b) => b.done)) setImmediate(() => void writeOut());
      else schedule(settings().flush_ms);
    });
    return writing;
  };

  return {
    instance,
    sink,
    strict: () => settings().durability === 'strict',
    buffered: () => buffer.length,
    record(input) {
      const { arguments: args, ...rest } = input;
      if (rest.kind === 'result' && rest.call_id !== undefined) {
        const call = unwritten.get(rest.call_id);
        if (call) {
          // The call's record is still waiting: one record tells both what was decided and how it ended.
          if (rest.outcome !== undefined) call.event.outcome = rest.outcome;
          if (rest.upstream_ms !== undefined) call.event.upstream_ms = rest.upstream_ms;
          return { id: call.event.id };
        }
      }
      const id = `${tag}-${(++seq).toString(36)}`;
      const event: AuditEvent = { id, time: Date.now(), instance, seq, ...rest };
      // Names and reasons can come from clients: text every sink can store, as the hash chain will see it.
      for (const key of TEXT_FIELDS) {
        const v = event[key];
        if (typeof v === 'string') event[key] = storableText(v) as never;
      }
      if (closed) {
        log.warn(`audit: record ${event.kind} after close, not kept`);
        return { id };
      }
      if (buffer.length >= MAX_BUFFERED) {
        const oldest = buffer.findIndex((b) => !b.done);
        if (oldest >= 0) {
          unwritten.delete(buffer[oldest]!.event.id);
          buffer.splice(oldest, 1);
          if (dropped++ % 1000 === 0) log.error(`audit: ${MAX_BUFFERED} records waiting for ${sink.kind}; dropping the oldest (${dropped} so far)`);
        }
      }
      if (settings().durability === 'strict') {
        const committed = new Promise<void>((resolve, reject) => buffer.push({ event, args, done: { resolve, reject } }));
        // Group commit: every strict record of this turn goes in one write.
        setImmediate(() => void writeOut());
        return { id, committed };
      }
      const item: Buffered = { event, args };
      buffer.push(item);
      if (event.kind === 'call') unwritten.set(id, item);
      schedule(settings().flush_ms);
      return { id };
    },
    async flush() {
      clearTimeout(timer);
      timer = undefined;
      while (buffer.length > 0) {
        const before = failures;
        await writeOut();
        if (failures > before) throw new Error(`audit: ${buffer.length} record(s) could not be written to ${sink.kind}`);
      }
    },
    async close() {
      if (closed) return;
      try {
        await this.flush();
      } catch (err) {
        log.error(`audit: ${(err as Error).message} at shutdown; they are lost`);
      }
      closed = true;
      clearTimeout(timer);
      await sink.close();
    },
  };
}
