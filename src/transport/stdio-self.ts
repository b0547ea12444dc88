// The gateway's own stdin/stdout as the client side of `policylayer wrap`.
import { createLineFramer } from './line-framer.js';
import type { MessagePipe } from './message-pipe.js';

export function stdioSelf(maxBytes: number): MessagePipe {
  let closed = false;
  const pipe: MessagePipe = {
    send(raw) {
      if (!closed) process.stdout.write(raw + '\n');
    },
    close() {
      closed = true;
      process.stdin.pause();
    },
  };
  const framer = createLineFramer(
    maxBytes,
    (line) => pipe.onmessage?.(line),
    (bytes) => pipe.onframeerror?.(`client sent a ${bytes}-byte frame, above the ${maxBytes}-byte limit`),
  );
  process.stdin.on('data', (chunk: Buffer) => framer.push(chunk));
  process.stdin.on('end', () => {
    framer.end();
    pipe.onclose?.('client closed stdin');
  });
  process.stdout.on('error', () => pipe.onclose?.('client stopped reading stdout'));
  return pipe;
}
