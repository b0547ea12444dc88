// A local MCP server started as a child process, spoken to over its stdin/stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { createLineFramer } from './line-framer.js';
import type { MessagePipe } from './message-pipe.js';

export interface ChildSpec {
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** `inherit` passes the child's stderr through (wrap); `pipe` hands it to `onstderr`. */
  stderr?: 'inherit' | 'pipe' | 'ignore';
}

export interface ChildPipe extends MessagePipe {
  readonly child: ChildProcess;
  /** Forwards a signal to the child (SIGINT/SIGTERM from the user). */
  kill(signal?: NodeJS.Signals): void;
}

export function spawnChild(spec: ChildSpec, maxBytes: number): ChildPipe {
  const [program, ...args] = spec.command;
  if (!program) throw new Error('empty command');
  const child = spawn(program, args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['pipe', 'pipe', spec.stderr ?? 'inherit'],
  });
  // Both exist: stdin and stdout are always 'pipe' above.
  const stdin = child.stdin!;
  const stdout = child.stdout!;
  let closed = false;
  const pipe: ChildPipe = {
    child,
    send(raw) {
      if (closed || !stdin.writable) return;
      stdin.write(raw + '\n');
    },
    close() {
      if (closed) return;
      closed = true;
      stdin.end();
      // Give the server a moment to exit on EOF, as the MCP stdio shutdown sequence asks, then insist.
      const term = setTimeout(() => child.kill('SIGTERM'), 2000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      term.unref();
      kill.unref();
      child.once('exit', () => {
        clearTimeout(term);
        clearTimeout(kill);
      });
    },
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
  };
  const framer = createLineFramer(
    maxBytes,
    (line) => pipe.onmessage?.(line),
    (bytes) => pipe.onframeerror?.(`server sent a ${bytes}-byte frame, above the ${maxBytes}-byte limit`),
  );
  stdout.on('data', (chunk: Buffer) => framer.push(chunk));
  stdout.on('end', () => framer.end());
  stdin.on('error', () => {
    /* EPIPE when the child died; reported through 'exit'. */
  });
  child.on('error', (err) => {
    closed = true;
    pipe.onclose?.(`could not start ${program}: ${err.message}`);
  });
  child.on('exit', (code, signal) => {
    closed = true;
    pipe.onclose?.(signal ? `server process ended by ${signal}` : `server process exited with code ${code}`);
  });
  return pipe;
}
