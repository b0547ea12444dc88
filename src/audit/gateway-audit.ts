// The audit log of a running gateway: opens the sink of `gateway.audit`, records policy reloads, applies retention.
import { windowMs } from '../config/limits-schema.js';
import type { LivePolicy } from '../config/live.js';
import { ErrorCode, GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../admin/metrics.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../redact-url.js';
import { openAuditSink } from './open.js';
import { createAuditRecorder, type AuditRecorder } from './recorder.js';

const RETENTION_SWEEP_MS = 60 * 60 * 1000;

/**
 * The recorder for `gateway.audit`, or undefined when it is `off`. A sink that cannot be opened stops the start:
 * a gateway that was asked to keep a record must not run without one.
 */
export async function openGatewayAudit(
  live: LivePolicy,
  log: Logger,
  metrics?: GatewayMetrics,
  opts: { stdoutIsMcp?: boolean } = {},
): Promise<AuditRecorder | undefined> {
  live.onReload({ reloaded: () => metrics?.reload('ok'), rejected: () => metrics?.reload('rejected') });
  const config = () => live.current().config;
  const url = config().gateway.audit;
  if (url === 'stdout' && opts.stdoutIsMcp) {
    throw new GatewayError(ErrorCode.CONFIG_INVALID, 'gateway.audit is stdout, but `wrap` speaks MCP on stdout; use jsonl:PATH, sqlite:PATH or postgres://… for a wrapped server');
  }
  let sink;
  try {
    sink = await openAuditSink(url, config().audit);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError(
      ErrorCode.CONFIG_INVALID,
      `the audit log ${redactUrl(url)} could not be opened: ${(err as Error).message}; fix gateway.audit (or set it to off to run without an audit log)`,
      { cause: err },
    );
  }
  if (!sink) return undefined;
  const recorder = createAuditRecorder(sink, () => config().audit, log, {
    onWriteError: () => metrics?.auditWriteError(sink.kind),
  });
  metrics?.gauge('audit_buffered', () => recorder.buffered());
  const opened = url;

  live.onReload({
    reloaded(next) {
      recorder.record({ kind: 'reload', outcome: 'ok', ...(live.file && { detail: live.file }) });
      if (next.gateway.audit !== opened) log.warn(`gateway.audit changed to ${redactUrl(next.gateway.audit)}; the audit log moves there at the next restart`);
    },
    rejected(message) {
      recorder.record({ kind: 'reload', outcome: 'rejected', detail: message.slice(0, 4000) });
    },
  });

  // Retention runs in the background; the first sweep right away, so a long-stopped gateway catches up.
  const sweep = async (): Promise<void> => {
    const keep = config().audit.retention;
    if (keep === undefined) return;
    try {
      const removed = await sink.prune(Date.now() - windowMs(keep));
      if (removed > 0) log.info(`audit: retention removed ${removed} record(s) older than ${String(keep)}`);
    } catch (err) {
      log.warn(`audit: retention could not prune: ${(err as Error).message}`);
    }
  };
  if (sink.kind !== 'stdout') {
    void sweep();
    const timer = setInterval(() => void sweep(), RETENTION_SWEEP_MS);
    timer.unref();
    const close = recorder.close.bind(recorder);
    return Object.assign(recorder, {
      close: async () => {
        clearInterval(timer);
        await close();
      },
    });
  }
  return recorder;
}
