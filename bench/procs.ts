// Process plumbing for the benchmark: start a server and wait until it answers, read CPU and RSS from /proc, stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export interface Started {
  child: ChildProcess;
  /** The first group of `ready` (e.g. a URL) when a pattern was given. */
  match: string;
  output(): string;
}

/**
 * Spawns a long-running server and resolves when `ready` matches its stderr or stdout (a pattern), or when
 * 127.0.0.1:`ready` accepts TCP connections (a port).
 */
export function startServer(command: string, args: string[], ready: RegExp | number, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  const started = (match: string): Started => ({ child, match, output: () => out });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} was not ready in 20 s; output:\n${out}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      // Keep only the start of the output: it is for error messages, and a chatty server must not grow it forever.
      if (out.length < 20_000) out += chunk.toString();
      if (typeof ready !== 'number') {
        const m = ready.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(started(m[1] ?? m[0]));
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${signal ?? code}) before it was ready; output:\n${out}`));
    });
    if (typeof ready === 'number') {
      void waitForPort(ready).then(() => {
        clearTimeout(timer);
        resolve(started(String(ready)));
      }, reject);
    }
  });
}

async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Port and shutdown helpers are shared with the integration tests.
export { freePort, stopChild as stop } from '../test/helpers/gateway.js';

const TICK_MS = 10; // USER_HZ is 100 on Linux.

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** utime + stime of one process, in ms (0 once it is gone). */
export function cpuMs(pid: number): number {
  const stat = readOr(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * TICK_MS;
}

/** All descendants of a process (children of every thread), e.g. the stdio server a gateway started. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const tasks = readOr(`/proc/${pid}/task/${pid}/children`);
  for (const c of tasks.split(/\s+/).filter(Boolean).map(Number)) out.push(c, ...descendants(c));
  return out;
}

/** Current and peak resident set size of one process, in MB. */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readOr(`/proc/${pid}/status`);
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Read- and write-type system calls a process has made so far (from /proc/PID/io); 0 when unreadable. */
export function syscalls(pid: number): number {
  const io = readOr(`/proc/${pid}/io`);
  const n = (key: string): number => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
  return n('syscr') + n('syscw');
}
