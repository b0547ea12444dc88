// The official conformance suite must give the same verdict on every check through the gateway as against the server directly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

// dist/test/integration/conformance.test.js → repository root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURE = join(ROOT, 'dist/test/fixtures/conformance-server.js');
const GATEWAY = join(ROOT, 'dist/src/cli/main.js');
const SCRIPT = join(ROOT, 'scripts/conformance.mjs');
const SUITE_TIMEOUT_MS = 240_000;

const children: ChildProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'policylayer-conformance-'));

/** Starts a process and resolves with the first match of `ready` in its stderr, or rejects with what it printed. */
function start(args: string[], ready: RegExp, timeoutMs = 20_000): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms: ${args.join(' ')}\n${stderr}`)), timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const match = ready.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolveStart({ child, match });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready: ${args.join(' ')}\n${stderr}`));
    });
  });
}

/** Runs a node script to completion and returns its exit code and output. */
function runScript(args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? 1, out });
    });
  });
}

async function runSuite(url: string, name: string): Promise<string> {
  const out = join(tmp, name);
  const r = await runScript(['--url', url, '--out', out, '--timeout-ms', String(SUITE_TIMEOUT_MS - 10_000)], SUITE_TIMEOUT_MS);
  // A failing check is a verdict to compare, not an error; only a run that produced nothing is.
  assert.match(r.out, /^Total: \d+ passed/m, `the suite produced no results against ${url}:\n${r.out}`);
  return out;
}

async function startGateway(name: string, server: Record<string, unknown>): Promise<string> {
  const config = join(tmp, `${name}.yaml`);
  // JSON is valid YAML, which spares quoting the absolute paths.
  writeFileSync(config, JSON.stringify({ version: 1, gateway: { listen: '127.0.0.1:0' }, servers: { fx: server } }, null, 2));
  const { match } = await start([GATEWAY, 'start', '-c', config], /listening on (http:\/\/[^\s"]+)/);
  return `${match[1]!.replace(/\/$/, '')}/mcp/fx`;
}

async function assertSameVerdicts(directDir: string, gatewayDir: string, ignore: string[] = []): Promise<void> {
  const args = ['compare', directDir, gatewayDir, '--labels', 'direct,gateway', ...ignore.flatMap((s) => ['--ignore', s])];
  const r = await runScript(args, 30_000);
  assert.equal(r.code, 0, `checks differ between direct and through the gateway:\n${r.out}`);
}

describe('conformance suite: direct vs through the gateway', { timeout: 4 * SUITE_TIMEOUT_MS }, () => {
  let fixtureUrl = '';
  let directDir = '';

  before(async () => {
    const { match } = await start([FIXTURE, 'http', '0'], /listening on (http:\/\/[^\s"]+)/);
    fixtureUrl = match[1]!;
    directDir = await runSuite(fixtureUrl, 'direct');
  });

  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the fixture itself passes every check directly', async () => {
    const r = await runScript(['compare', directDir, directDir], 30_000);
    assert.match(r.out, /every check matches/);
    // summary.json is written by scripts/conformance.mjs next to the suite's results.
    const { total } = JSON.parse(readFileSync(join(directDir, 'summary.json'), 'utf8')) as { total: Record<string, number> };
    assert.equal(total.FAILURE, 0, `direct run has failures; see ${directDir}`);
    assert.ok((total.SUCCESS ?? 0) >= 40, `expected the fixture to pass 40+ checks, got ${total.SUCCESS}`);
  });

  it('a remote (url) server: every check has the same verdict as direct', async () => {
    const gatewayUrl = await startGateway('url', { url: fixtureUrl });
    const gatewayDir = await runSuite(gatewayUrl, 'gateway-url');
    await assertSameVerdicts(directDir, gatewayDir);
  });

  it('a stdio server: every check has the same verdict as direct', async () => {
    const gatewayUrl = await startGateway('stdio', { command: [process.execPath, FIXTURE, 'stdio'], cwd: ROOT });
    const gatewayDir = await runSuite(gatewayUrl, 'gateway-stdio');
    // server-sse-polling needs the upstream to close its HTTP stream mid-call and replay on resume; a stdio child has
    // no stream to close, so direct (HTTP) and through-stdio legitimately differ there.
    await assertSameVerdicts(directDir, gatewayDir, ['server-sse-polling']);
  });
});
