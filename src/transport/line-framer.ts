// Splits a byte stream into newline-delimited frames, refusing (not buffering) frames above a size limit.
import { StringDecoder } from 'node:string_decoder';

export interface LineFramer {
  push(chunk: Buffer): void;
  /** Whatever is left when the stream ends, as a final frame. */
  end(): void;
}

export function createLineFramer(
  maxBytes: number,
  onLine: (line: string) => void,
  onOversize: (bytes: number) => void,
): LineFramer {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  // While skipping an oversized frame we drop input until its newline.
  let skipping = false;
  let skipped = 0;

  const emit = (line: string): void => {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.trim().length > 0) onLine(trimmed);
  };

  return {
    push(chunk) {
      let text = decoder.write(chunk);
      let nl = text.indexOf('\n');
      while (nl !== -1) {
        if (skipping) {
          skipping = false;
          onOversize(skipped + nl);
        } else {
          emit(pending + text.slice(0, nl));
        }
        pending = '';
        text = text.slice(nl + 1);
        nl = text.indexOf('\n');
      }
      if (skipping) {
        skipped += text.length;
        return;
      }
      pending += text;
      // Length in UTF-16 units is a lower bound of the bytes, good enough to stop unbounded growth.
      if (pending.length > maxBytes) {
        skipping = true;
        skipped = pending.length;
        pending = '';
      }
    },
    end() {
      const rest = pending + decoder.end();
      pending = '';
      if (skipping) onOversize(skipped + rest.length);
      else if (rest.length > 0) emit(rest);
    },
  };
}
