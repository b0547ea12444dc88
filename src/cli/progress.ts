// A one-line progress bar on stderr for work over several items; plain lines when stderr is not a terminal.

export interface Progress {
  /** One more item finished; `label` says which. */
  step(label: string): void;
  done(): void;
}

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const WIDTH = 24;

export function createProgress(total: number, stream: Stream): Progress {
  let current = 0;
  const tty = stream.isTTY === true;
  return {
    step(label) {
      current++;
      if (!tty) {
        stream.write(`[${current}/${total}] ${label}\n`);
        return;
      }
      const filled = Math.round((WIDTH * current) / total);
      const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
      const line = `[${bar}] ${current}/${total} ${label}`;
      stream.write(`\r\x1b[K${line.slice(0, (stream.columns ?? 80) - 1)}`);
    },
    done() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}
