// stdout AuditSink: JSON lines for a log collector (container logs, journald); it keeps nothing, so it cannot be queried.
import type { AuditSink } from './sink.js';

const KEEPS_NOTHING =
  'the stdout audit sink keeps nothing to query or prune; to query the audit log, set gateway.audit to sqlite:PATH, postgres://… or jsonl:PATH';

/**
 * Writes each batch as JSON lines with one write to `out` (default process.stdout), resolving once the stream has
 * taken it. Not for `policylayer wrap`, whose stdout is the MCP channel. close() leaves `out` open: it is not ours.
 */
export function createStdoutSink(out: NodeJS.WritableStream = process.stdout): AuditSink {
  let closed = false;
  return {
    kind: 'stdout',
    write(events) {
      if (closed) return Promise.reject(new Error('stdout audit sink: write failed: the sink is closed'));
      if (events.length === 0) return Promise.resolve();
      const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
      return new Promise((resolve, reject) => {
        out.write(text, (err) => (err ? reject(new Error(`stdout audit sink: write of ${events.length} events failed: ${err.message}`, { cause: err })) : resolve()));
      });
    },
    query: () => Promise.reject(new Error(KEEPS_NOTHING)),
    prune: () => Promise.reject(new Error(KEEPS_NOTHING)),
    async close() {
      closed = true;
    },
  };
}
