// Starts the real gateway CLI (and real upstream servers) for integration tests, and always cleans up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/helpers). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');
export const EVERYTHING = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const FILESYSTEM = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

export interface Running {
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

// Every test file runs in a process of its own: its temporary directories go when it exits (a failing test's too,
// so set POLICYLAYER_KEEP_TMP=1 to look at them afterwards).
const made: string[] = [];
process.once('exit', () => {
  if (process.env['POLICYLAYER_KEEP_TMP'] === '1') return;
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'policylayer-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function writeConfig(yaml: string, dir = tempDir()): string {
  const file = path.join(dir, 'policylayer.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** A policy file listening on an ephemeral port with the given servers; JSON is valid YAML and needs no quoting. */
export function writeGatewayConfig(servers: Record<string, unknown>, dir = tempDir()): string {
  return writeConfig(JSON.stringify({ version: 1, gateway: { listen: '127.0.0.1:0', audit: testAuditLog(dir) }, servers }, null, 2), dir);
}

/** The default audit driver (SQLite), in the test's own directory rather than the working directory's .policylayer/. */
export const testAuditLog = (dir: string): string => `sqlite:${path.join(dir, 'audit.db')}`;

/** Spawns a process and resolves once `ready` matches its stderr; the match's first group is returned. */
export function spawnUntil(command: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}, timeoutMs = 15000): Promise<Running & { match: string }> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  const running: Running = {
    child,
    stderr: () => err,
    stop: () => stopChild(child),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out waiting for ${ready} from ${command} ${args.join(' ')}; stderr:\n${err}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = ready.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ ...running, match: m[1] ?? m[0] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready; stderr:\n${err}`));
    });
  });
}

/** Sends `signal` (SIGKILL after 5 s) and resolves once the process is gone. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** `policylayer start -c <file>`; the config should listen on 127.0.0.1:0. Resolves with the base URL. */
export async function startGateway(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<Running & { url: string }> {
  const r = await spawnUntil(process.execPath, [CLI, 'start', '-c', configFile], /listening on (http:\/\/[^\s"]+)/, env);
  return { ...r, url: r.match };
}

/** server-everything over Streamable HTTP on a free port. Resolves with its /mcp URL. */
export async function startEverythingHttp(): Promise<Running & { url: string }> {
  const port = await freePort();
  const r = await spawnUntil(process.execPath, [EVERYTHING, 'streamableHttp'], /listening on port (\d+)/, { PORT: String(port) });
  return { ...r, url: `http://127.0.0.1:${port}/mcp` };
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
