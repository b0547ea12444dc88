// `bench/approvals`: what holding calls for approval costs. 1 000 calls are held at once by one gateway; the bench
// reports the gateway's memory per held call, then releases them all with one bulk action (`policylayer approvals
// approve --pending`) and checks that every one got the server's answer; a second batch is left to time out and
// every call must get its [POLICY DENIED] answer. Nothing may be lost.
//
//   node dist/bench/approvals.js [--calls N] [--timeout SECONDS]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { CLI, ECHO, f, log, NODE, startGateway } from './common.js';
import { openHttpClient, type EchoClient } from './load.js';
import { rssMb, stop } from './procs.js';

const { values: opts } = parseArgs({ options: { calls: { type: 'string', default: '1000' }, timeout: { type: 'string', default: '5' } } });
const CALLS = Number(opts.calls);
const TIMEOUT_S = Number(opts.timeout);
const run = promisify(execFile);

function policy(dir: string): string {
  const echo = `[${JSON.stringify(NODE)}, ${JSON.stringify(ECHO)}, stdio]`;
  return `version: 1
gateway: { listen: "127.0.0.1:0", state: ${JSON.stringify(`sqlite:${path.join(dir, 'state.db')}`)}, audit: off }
servers:
  held:
    command: ${echo}
    tools:
      echo: { action: require_approval, approval_timeout: 10m }
  timed:
    command: ${echo}
    tools:
      echo: { action: require_approval, approval_timeout: ${TIMEOUT_S}s }
`;
}

/** The gateway's held-calls gauge from /metrics. */
async function heldNow(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^policylayer_approvals_held (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

async function waitHeld(base: string, n: number, timeoutMs = 60_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const held = await heldNow(base);
    if (held >= n || Date.now() > end) return held;
    await sleep(100);
  }
}

/** Starts `n` calls at once; resolves with their outcomes (true: the server's answer). */
function holdMany(client: EchoClient, n: number): Promise<boolean[]> {
  return Promise.all(Array.from({ length: n }, () => client.call().catch(() => false)));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'policylayer-bench-approvals-'));
  const file = path.join(dir, 'policylayer.yaml');
  writeFileSync(file, policy(dir));
  const gw = await startGateway('approvals', file);
  const pid = gw.child.pid!;
  const lines: string[] = [];
  try {
    const held = await openHttpClient(`${gw.match}/mcp/held`, CALLS);
    const timed = await openHttpClient(`${gw.match}/mcp/timed`, CALLS);

    // Round 1 warms every code path (and the sockets); round 2 is measured.
    for (const round of [1, 2]) {
      await sleep(500);
      const before = rssMb(pid).rss;
      const t0 = Date.now();
      const answers = holdMany(held, CALLS);
      const count = await waitHeld(gw.match, CALLS);
      const holdMs = Date.now() - t0;
      await sleep(500);
      const during = rssMb(pid).rss;
      log(`round ${round}: ${count} calls held in ${holdMs} ms, RSS ${f(before, 1)} → ${f(during, 1)} MB`);
      const t1 = Date.now();
      const { stdout } = await run(NODE, [CLI, 'approvals', 'approve', '--pending', '-c', file, '--by', 'bench']);
      const results = await answers;
      const releaseMs = Date.now() - t1;
      const ok = results.filter(Boolean).length;
      if (round === 2) {
        lines.push(`| held at once | ${count} of ${CALLS} (after ${holdMs} ms) |`);
        lines.push(`| gateway RSS before / while held | ${f(before, 1)} MB / ${f(during, 1)} MB |`);
        lines.push(`| **memory per held call** | **${f(((during - before) * 1024) / CALLS, 1)} KB** (target ≤ 20 KB) |`);
        lines.push(`| one bulk approve (\`${stdout.trim()}\`) → every answer back | ${releaseMs} ms; ${ok} of ${CALLS} got the server's answer |`);
      }
      if (ok !== CALLS) throw new Error(`round ${round}: only ${ok} of ${CALLS} released calls got the server's answer`);
    }

    const t2 = Date.now();
    const expired = await Promise.all(Array.from({ length: CALLS }, () => timed.probe('echo').catch((err: Error) => err.message)));
    const denied = expired.filter((answer) => answer.includes('[POLICY DENIED]') && answer.includes('no one approved this call')).length;
    lines.push(`| ${CALLS} held with approval_timeout ${TIMEOUT_S} s | all answered after ${Date.now() - t2} ms: ${denied} denied as expired, ${CALLS - denied} otherwise |`);
    if (denied !== CALLS) throw new Error(`${CALLS - denied} timed-out calls did not get the expiry denial; first: ${expired.find((a) => !a.includes('no one approved'))?.slice(0, 300)}`);
    await held.close();
    await timed.close();
  } finally {
    await stop(gw.child);
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n## Calls held for approval (node ${process.version})\n\n| | |\n|---|---|\n${lines.join('\n')}\n`);
}

main().catch((err: Error) => {
  log(err.stack ?? err.message);
  process.exitCode = 1;
});
