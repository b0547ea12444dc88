// Splits a byte stream into newline-delimited frames, refusing (not buffering) frames above a size limit in bytes.

export interface LineFramer {
  push(chunk: Buffer): void;
  /** Whatever is left when the stream ends, as a final frame. */
  end(): void;
}

const NEWLINE = 0x0a;

export function createLineFramer(
  maxBytes: number,
  onLine: (line: string) => void,
  onOversize: (bytes: number) => void,
): LineFramer {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // While skipping an oversized frame we drop input until its newline, counting what was dropped.
  let skipping = false;

  const finish = (last: Buffer): void => {
    const total = pendingBytes + last.length;
    if (skipping || total > maxBytes) {
      onOversize(total);
    } else {
      const frame = pending.length === 0 ? last : Buffer.concat([...pending, last], total);
      let text = frame.toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim().length > 0) onLine(text);
    }
    pending = [];
    pendingBytes = 0;
    skipping = false;
  };

  return {
    push(chunk) {
      let start = 0;
      let nl = chunk.indexOf(NEWLINE, start);
      while (nl !== -1) {
        finish(chunk.subarray(start, nl));
        start = nl + 1;
        nl = chunk.indexOf(NEWLINE, start);
      }
      if (start >= chunk.length) return;
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > maxBytes) {
        skipping = true;
        pending = [];
      } else pending.push(rest);
    },
    end() {
      if (pendingBytes > 0) finish(Buffer.alloc(0));
    },
  };
}
