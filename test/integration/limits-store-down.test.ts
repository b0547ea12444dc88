// Redis going away under traffic (a private redis-server, killed and restarted on its port): fail_mode closed
// refuses calls that need the store with a reason naming it, calls without limits pass, /healthz says so, nothing
// crashes, and calls are admitted again once Redis is back; fail_mode open lets them through meanwhile.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, tempDir, type Running } from '../helpers/gateway.js';
import { httpRequest, resultText, startRecorderHttp, type Message } from '../helpers/raw-mcp.js';
import {
  callTool,
  eventually,
  isDenied,
  openSession,
  privateRedis,
  receivedArgs,
  redisOrSkip,
  redisServerMissing,
  uniquePrefix,
  writePolicy,
  type PrivateRedis,
} from '../helpers/limits-rig.js';

const RULE = 'servers.s.tools.echo.rate_limit';
const missing = await redisServerMissing();

interface Gw {
  running: Running & { url: string };
  url: string;
  sid: string;
}

/** A private Redis (started unless `down`), the recorder, and one gateway per fail mode in front of it. */
async function setup(t: TestContext, opts: { down?: boolean } = {}) {
  if (!redisOrSkip(t, missing, 'a private redis-server')) return undefined;
  const redis: PrivateRedis = await privateRedis();
  t.after(() => redis.stop());
  if (!opts.down) await redis.start();
  const dir = tempDir('pl-limits-down-');
  const record = path.join(dir, 'record.jsonl');
  const rec = await startRecorderHttp(record);
  t.after(() => rec.stop());
  const gateway = async (fail_mode: 'closed' | 'open'): Promise<Gw> => {
    const file = writePolicy(
      {
        // auth: off — these gateways are about limits; without it, whether credentials are needed is read from the
        // same Redis (see agents-gateway.test.ts for that).
        gateway: { state: redis.url, state_prefix: uniquePrefix('down'), fail_mode, auth: 'off' },
        servers: { s: { url: rec.url, tools: { echo: { action: 'allow', rate_limit: { max: 1_000_000, window: 60, scope: 'global' } } } } },
      },
      tempDir(`pl-limits-down-${fail_mode}-`),
    );
    const running = await startGateway(file);
    t.after(() => running.stop());
    const url = `${running.url}/mcp/s`;
    return { running, url, sid: await openSession(url) };
  };
  return { redis, record, closed: await gateway('closed'), open: await gateway('open') };
}

async function health(gw: Gw): Promise<{ status: string; state: { ok: boolean; detail: string } }> {
  const r = await httpRequest('GET', `${gw.running.url}/healthz`);
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text);
}

const echo = (gw: Gw, text: string) => callTool(gw.url, gw.sid, 'echo', { text });
const storeDenial = (reply: Message, port: number): boolean => {
  const text = resultText(reply);
  return isDenied(reply) && text.includes(RULE) && text.includes('unreachable') && text.includes(`redis://127.0.0.1:${port}`) && text.includes('fail_mode');
};

/** Calls echo (limited) and whoami (not limited) on `gw` from 4 callers until stopped; records every outcome. */
function traffic(t: TestContext, gw: Gw) {
  const seen: { tool: string; reply?: Message; error?: string }[] = [];
  let running = true;
  let n = 0;
  const worker = async (): Promise<void> => {
    while (running) {
      const tool = n++ % 2 === 0 ? 'echo' : 'whoami';
      try {
        seen.push({ tool, reply: await callTool(gw.url, gw.sid, tool, { text: `traffic-${n}` }) });
      } catch (err) {
        seen.push({ tool, error: (err as Error).message });
      }
      await sleep(5);
    }
  };
  const done = Promise.all(Array.from({ length: 4 }, worker));
  // A failed assertion must not leave the callers running (the test process would never exit).
  t.after(() => {
    running = false;
    return done;
  });
  return {
    seen,
    async stop() {
      running = false;
      await done;
      return seen;
    },
  };
}

describe('Redis unreachable', () => {
  test('killed under traffic: closed refuses limited calls naming the store, open passes them, /healthz degrades; recovery without a restart', async (t) => {
    const rig = await setup(t);
    if (!rig) return;
    const { redis, closed, open } = rig;
    assert.equal(resultText(await echo(closed, 'before')), 'echo: before');
    assert.equal(resultText(await echo(open, 'before')), 'echo: before');
    const up = await health(closed);
    assert.ok(up.state.ok && up.status === 'ok' && up.state.detail.includes(String(redis.port)), JSON.stringify(up));

    const load = traffic(t, closed);
    await sleep(300);
    await redis.stop();
    let refusal: Message | undefined;
    await eventually('a fail-closed refusal', async () => {
      const reply = await echo(closed, 'down');
      if (storeDenial(reply, redis.port)) refusal = reply;
      return refusal !== undefined;
    });
    assert.match(resultText(refusal!), /^\[POLICY DENIED\]/);
    // Calls without limits do not need the store.
    assert.match(resultText(await callTool(closed.url, closed.sid, 'whoami')), /^pid \d+$/);
    // fail_mode open: the limited call passes, and the gateway says loudly that limits are off.
    const passed = await echo(open, 'open-while-down');
    assert.equal(resultText(passed), 'echo: open-while-down');
    assert.match(open.running.stderr(), /unreachable.*fail_mode is open.*WITHOUT rate limits/);
    // Asserted at the end, so that a wrong /healthz does not hide how calls fared.
    const down = await health(closed);
    await sleep(1000);

    await redis.start();
    await eventually('admission after Redis is back', async () => resultText(await echo(closed, 'back')) === 'echo: back', 10_000);
    await eventually('/healthz ok again', async () => (await health(closed)).state.ok, 5000);
    const seen = await load.stop();

    for (const g of [closed, open]) assert.equal(g.running.child.exitCode, null, 'a gateway exited');
    const errors = seen.filter((s) => s.error !== undefined);
    assert.deepEqual(errors, [], 'every call under traffic got a JSON-RPC answer');
    const echoes = seen.filter((s) => s.tool === 'echo').map((s) => s.reply!);
    const refused = echoes.filter((r) => isDenied(r));
    for (const r of refused) assert.ok(storeDenial(r, redis.port), resultText(r));
    assert.ok(refused.length > 0 && refused.length < echoes.length, `${refused.length} of ${echoes.length} echo calls refused under traffic`);
    for (const s of seen.filter((x) => x.tool === 'whoami')) assert.match(resultText(s.reply!), /^pid \d+$/, 'whoami (no limits) failed while Redis was down');
    // Refused calls never reached the server: it saw exactly the admitted traffic.
    const atServer = receivedArgs(rig.record, 'echo').filter((a) => String(a.text).startsWith('traffic-')).length;
    assert.equal(atServer, echoes.length - refused.length);
    assert.equal(down.state.ok, false, `/healthz while Redis was down: ${JSON.stringify(down)}`);
    assert.equal(down.status, 'degraded');
    assert.ok(down.state.detail.includes(String(redis.port)), down.state.detail);
  });

  test('a gateway started while Redis is down refuses limited calls, and admits them once Redis comes up', async (t) => {
    const rig = await setup(t, { down: true });
    if (!rig) return;
    const { redis, closed, open } = rig;
    const refused = await echo(closed, 'cold');
    assert.ok(storeDenial(refused, redis.port), resultText(refused));
    assert.equal(resultText(await echo(open, 'cold')), 'echo: cold');
    assert.match(resultText(await callTool(closed.url, closed.sid, 'whoami')), /^pid \d+$/);
    const down = await health(closed);
    await redis.start();
    await eventually('admission once Redis is up', async () => resultText(await echo(closed, 'up')) === 'echo: up', 10_000);
    assert.ok((await health(closed)).state.ok);
    assert.deepEqual(receivedArgs(rig.record, 'echo').map((a) => a.text).sort(), ['cold', 'up']);
    assert.equal(down.state.ok, false, `/healthz with Redis down from the start, after a refusal: ${JSON.stringify(down)}`);
  });
});
