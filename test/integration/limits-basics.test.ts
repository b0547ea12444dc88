// Rate limits through `policylayer start` (to a stdio and to an HTTP server): refusal text and retryAfterMs, the
// refused call never reaching the server, windows, lists of limits, all_tools, scopes, and reload keeping counters.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { RECORDER, resultText, startRecorderHttp, waitFor, type Message } from '../helpers/raw-mcp.js';
import { assertLimitDenial, callTool, isDenied, openSession, receivedArgs, writePolicy } from '../helpers/limits-rig.js';

type Kind = 'stdio' | 'http';
const KINDS: Kind[] = ['stdio', 'http'];

interface Rig {
  url: string;
  record: string;
  file: string;
  stderr(): string;
  /** Rewrites the policy with these server settings (rules, all_tools) and waits for the reload. */
  reload(server: Record<string, unknown>): Promise<void>;
  /** Echo calls the server received. */
  calls(tool?: string): number;
}

/** A recording fixture of `kind` behind `policylayer start` (memory state), served as server `s`. */
async function setup(t: TestContext, kind: Kind, server: Record<string, unknown>, gateway: Record<string, unknown> = {}): Promise<Rig> {
  const dir = tempDir('pl-limits-basics-');
  const record = path.join(dir, 'record.jsonl');
  let upstream: Record<string, unknown>;
  if (kind === 'http') {
    const rec = await startRecorderHttp(record);
    t.after(() => rec.stop());
    upstream = { url: rec.url };
  } else {
    upstream = { command: [process.execPath, RECORDER, 'stdio', '--record', record] };
  }
  const policy = (s: Record<string, unknown>) => ({ gateway: { state: 'memory:', ...gateway }, servers: { s: { ...upstream, ...s } } });
  const file = writePolicy(policy(server), dir);
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  return {
    url: `${gw.url}/mcp/s`,
    record,
    file,
    stderr: gw.stderr,
    async reload(next) {
      const before = (gw.stderr().match(/policy reloaded/g) ?? []).length;
      writeFileSync(file, JSON.stringify({ version: 1, ...policy(next), gateway: { listen: '127.0.0.1:0', state: 'memory:', ...gateway } }, null, 2));
      await waitFor('the policy reload', () => (gw.stderr().match(/policy reloaded/g) ?? []).length > before, 10_000);
    },
    calls: (tool = 'echo') => receivedArgs(record, tool).length,
  };
}

const ok = (reply: Message, what = 'call'): void => {
  assert.equal(reply.result?.isError, undefined, `${what} was refused: ${resultText(reply)}`);
  assert.ok(reply.result, `${what} failed: ${JSON.stringify(reply)}`);
};

for (const kind of KINDS) {
  describe(`start → ${kind} server: rate limits`, () => {
    test('max 3 per 1 s: the 4th call is refused naming rule and limit, never reaches the server, and is admitted after retryAfterMs', async (t) => {
      const rig = await setup(t, kind, { tools: { echo: { action: 'allow', rate_limit: { max: 3, window: 1 } } } });
      const sid = await openSession(rig.url);
      for (let i = 1; i <= 3; i++) ok(await callTool(rig.url, sid, 'echo', { text: `n${i}` }), `call ${i}`);
      const refused = await callTool(rig.url, sid, 'echo', { text: 'n4' });
      const retry = assertLimitDenial(refused, 'servers.s.tools.echo.rate_limit', '3 calls per 1 s per session', 1000);
      assert.ok(retry > 0, `retryAfterMs ${retry}: the window has not passed yet`);
      assert.ok(resultText(refused).includes('"echo"'), resultText(refused));
      assert.deepEqual(receivedArgs(rig.record, 'echo').map((a) => a.text), ['n1', 'n2', 'n3'], 'the refused call reached the server');
      // The promise made in the refusal: after retryAfterMs the next call is admitted.
      await sleep(retry + 30);
      ok(await callTool(rig.url, sid, 'echo', { text: 'n5' }), 'the call after retryAfterMs');
      assert.equal(rig.calls(), 4);
    });

    test('the window slides: only the calls that left it free their places (no fresh bucket at a boundary)', async (t) => {
      const rig = await setup(t, kind, { tools: { echo: { action: 'allow', rate_limit: { max: 3, window: 2 } } } });
      const sid = await openSession(rig.url);
      ok(await callTool(rig.url, sid, 'echo', { text: 'a' }));
      await sleep(1000);
      ok(await callTool(rig.url, sid, 'echo', { text: 'b' }));
      ok(await callTool(rig.url, sid, 'echo', { text: 'c' }));
      const wait = assertLimitDenial(await callTool(rig.url, sid, 'echo'), 'servers.s.tools.echo.rate_limit', '3 calls per 2 s per session', 2000);
      assert.ok(wait < 1100, `only "a" has to leave, about 1 s from now: retryAfterMs ${wait}`);
      await sleep(wait + 30);
      // "a" left the window: one place, not three.
      ok(await callTool(rig.url, sid, 'echo', { text: 'd' }));
      const again = assertLimitDenial(await callTool(rig.url, sid, 'echo'), 'servers.s.tools.echo.rate_limit', '3 calls per 2 s per session', 2000);
      assert.ok(again > 400 && again <= 1000, `"b" leaves about 1 s after "a": retryAfterMs ${again}`);
      assert.deepEqual(receivedArgs(rig.record, 'echo').map((a) => a.text), ['a', 'b', 'c', 'd']);
    });

    test('a list of limits (3 per 1 s and 5 per 10 s): each refuses by its own path, the longer one holds after the short window', async (t) => {
      const rig = await setup(t, kind, {
        tools: { echo: { action: 'allow', rate_limit: [{ max: 3, window: '1s' }, { max: 5, window: 10 }] } },
      });
      const sid = await openSession(rig.url);
      for (let i = 0; i < 3; i++) ok(await callTool(rig.url, sid, 'echo', { text: `a${i}` }));
      assertLimitDenial(await callTool(rig.url, sid, 'echo'), 'servers.s.tools.echo.rate_limit[0]', '3 calls per 1 s per session', 1000);
      // A whole short window, not just retryAfterMs: under load the first three calls are admitted some ms
      // apart, and the next two must meet only the 10 s limit.
      await sleep(1100);
      ok(await callTool(rig.url, sid, 'echo', { text: 'a3' }));
      ok(await callTool(rig.url, sid, 'echo', { text: 'a4' }));
      const second = await callTool(rig.url, sid, 'echo');
      const retry = assertLimitDenial(second, 'servers.s.tools.echo.rate_limit[1]', '5 calls per 10 s per session', 10_000);
      // The oldest of the 5 was admitted a little over 1 s ago: it leaves the 10 s window in under 9 s.
      assert.ok(retry > 5000 && retry < 9500, `retryAfterMs ${retry} for the 10 s limit`);
      assert.equal(rig.calls(), 5);
    });

    test('all_tools of the server counts every tool; a call denied by its rule uses no budget', async (t) => {
      const rig = await setup(t, kind, { tools: { delete_file: 'deny' }, all_tools: { rate_limit: { max: 3, window: 60 } } });
      const sid = await openSession(rig.url);
      assert.ok(isDenied(await callTool(rig.url, sid, 'delete_file')), 'the deny rule');
      ok(await callTool(rig.url, sid, 'echo', { text: 'x' }));
      ok(await callTool(rig.url, sid, 'whoami'));
      ok(await callTool(rig.url, sid, 'read_file'));
      for (const tool of ['echo', 'whoami', 'delete_temp_cache']) {
        assertLimitDenial(await callTool(rig.url, sid, tool), 'servers.s.all_tools.rate_limit', '3 calls per 1 min per session', 60_000);
      }
      assert.equal(rig.calls('echo') + rig.calls('whoami') + rig.calls('read_file') + rig.calls('delete_temp_cache'), 3);
    });

    test('gateway.all_tools counts every call through the gateway', async (t) => {
      const rig = await setup(t, kind, {}, { all_tools: { rate_limit: { max: 2, window: 60, scope: 'global' } } });
      const [a, b] = [await openSession(rig.url), await openSession(rig.url)];
      ok(await callTool(rig.url, a, 'echo', { text: 'x' }));
      ok(await callTool(rig.url, b, 'whoami'));
      assertLimitDenial(await callTool(rig.url, a, 'read_file'), 'gateway.all_tools.rate_limit', '2 calls per 1 min per global', 60_000);
      assertLimitDenial(await callTool(rig.url, b, 'echo'), 'gateway.all_tools.rate_limit', '2 calls per 1 min per global', 60_000);
      assert.equal(rig.calls('echo') + rig.calls('whoami') + rig.calls('read_file'), 2);
    });

    test('scopes: session budgets are per MCP session; server and global ones are shared; agent ones survive a new session', async (t) => {
      const limit = (scope: string) => ({ action: 'allow', rate_limit: { max: 2, window: 60, scope } });
      const rig = await setup(t, kind, {
        tools: { echo: limit('session'), whoami: limit('server'), read_file: limit('global'), delete_temp_cache: limit('agent') },
      });
      const [a, b] = [await openSession(rig.url), await openSession(rig.url)];
      // session: each of the two sessions gets its own 2.
      for (const sid of [a, a, b, b]) ok(await callTool(rig.url, sid, 'echo', { text: sid }));
      for (const sid of [a, b]) assertLimitDenial(await callTool(rig.url, sid, 'echo'), 'servers.s.tools.echo.rate_limit', 'per session');
      assert.equal(rig.calls('echo'), 4);
      // server and global: one budget of 2 for both sessions together.
      for (const [tool, scope] of [['whoami', 'server'], ['read_file', 'global']] as const) {
        ok(await callTool(rig.url, a, tool));
        ok(await callTool(rig.url, b, tool));
        for (const sid of [a, b]) assertLimitDenial(await callTool(rig.url, sid, tool), `servers.s.tools.${tool}.rate_limit`, `2 calls per 1 min per ${scope}`);
        assert.equal(rig.calls(tool), 2, `${tool} (${scope})`);
      }
      // agent: a client cannot reset its budget by opening a new session.
      ok(await callTool(rig.url, a, 'delete_temp_cache'));
      ok(await callTool(rig.url, a, 'delete_temp_cache'));
      const fresh = await openSession(rig.url);
      assertLimitDenial(await callTool(rig.url, fresh, 'delete_temp_cache'), 'servers.s.tools.delete_temp_cache.rate_limit', 'per agent');
      assert.equal(rig.calls('delete_temp_cache'), 2);
    });

    test('a reload that changes max applies to the next call and keeps the counters', async (t) => {
      const rule = (max: number) => ({ tools: { echo: { action: 'allow', rate_limit: { max, window: 60 } } } });
      const rig = await setup(t, kind, rule(3));
      const sid = await openSession(rig.url);
      ok(await callTool(rig.url, sid, 'echo', { text: '1' }));
      ok(await callTool(rig.url, sid, 'echo', { text: '2' }));
      await rig.reload(rule(2));
      // Counters kept: 2 used of the new 2. Reset counters would admit this call.
      assertLimitDenial(await callTool(rig.url, sid, 'echo'), 'servers.s.tools.echo.rate_limit', '2 calls per 1 min per session');
      await rig.reload(rule(4));
      ok(await callTool(rig.url, sid, 'echo', { text: '3' }), 'the raised max applies to the next call');
      ok(await callTool(rig.url, sid, 'echo', { text: '4' }));
      assertLimitDenial(await callTool(rig.url, sid, 'echo'), 'servers.s.tools.echo.rate_limit', '4 calls per 1 min per session');
      assert.deepEqual(receivedArgs(rig.record, 'echo').map((a) => a.text), ['1', '2', '3', '4']);
    });

    test('a call the server answered with a JSON-RPC error is not counted; one answered isError is', async (t) => {
      const rig = await setup(t, kind, { tools: { flaky: { action: 'allow', rate_limit: { max: 2, window: 60 } } } });
      const sid = await openSession(rig.url);
      for (let i = 0; i < 3; i++) {
        const failed = await callTool(rig.url, sid, 'flaky', { fail: 'rpc' });
        assert.equal(failed.error?.message, 'flaky failed on demand', JSON.stringify(failed));
        // Settling happens once the answer is in; give it a moment before the next call.
        await sleep(50);
      }
      const toolError = await callTool(rig.url, sid, 'flaky', { fail: 'tool' });
      assert.equal(resultText(toolError), 'flaky failed on demand');
      await sleep(50);
      ok(await callTool(rig.url, sid, 'flaky'));
      assertLimitDenial(await callTool(rig.url, sid, 'flaky'), 'servers.s.tools.flaky.rate_limit', '2 calls per 1 min per session');
      assert.equal(rig.calls('flaky'), 5, '3 failed + 1 isError + 1 ok reached the server, the 6th did not');
    });
  });
}
