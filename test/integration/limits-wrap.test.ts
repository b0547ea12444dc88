// Rate limits through `policylayer wrap`: the refusal and its window on stdio, and two wrap processes (two sessions)
// counting in one SQLite file, each with its own session budget and one shared global budget.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../helpers/gateway.js';
import { call, openWrap, RECORDER, resultText, type LineClient } from '../helpers/raw-mcp.js';
import { assertLimitDenial, receivedArgs, writePolicy } from '../helpers/limits-rig.js';

/** A wrap process in front of the recording fixture (its own child), initialized. */
const wrap = (t: TestContext, file: string): Promise<LineClient> => openWrap(t, file, 's');

let n = 0;
const echo = (gw: LineClient, text: string) => gw.request(call(`e${++n}`, 'echo', { text }));
const tool = (gw: LineClient, name: string) => gw.request(call(`t${++n}`, name));

describe('wrap: rate limits', () => {
  test('max 2 per 1 s: the 3rd call is refused naming rule and limit, not forwarded, and admitted after retryAfterMs', async (t) => {
    const dir = tempDir('pl-limits-wrap-');
    const record = path.join(dir, 'record.jsonl');
    const file = writePolicy(
      {
        gateway: { state: 'memory:' },
        servers: { s: { command: [process.execPath, RECORDER, 'stdio', '--record', record], tools: { echo: { action: 'allow', rate_limit: { max: 2, window: 1 } } } } },
      },
      dir,
    );
    const gw = await wrap(t, file);
    assert.equal(resultText(await echo(gw, 'a')), 'echo: a');
    assert.equal(resultText(await echo(gw, 'b')), 'echo: b');
    const refused = await echo(gw, 'c');
    const retry = assertLimitDenial(refused, 'servers.s.tools.echo.rate_limit', '2 calls per 1 s per session', 1000);
    assert.deepEqual(receivedArgs(record, 'echo').map((a) => a.text), ['a', 'b']);
    await sleep(retry + 30);
    assert.equal(resultText(await echo(gw, 'd')), 'echo: d', 'admitted after retryAfterMs');
    assert.deepEqual(receivedArgs(record, 'echo').map((a) => a.text), ['a', 'b', 'd']);
  });

  test('two wrap processes on one SQLite file: session budgets are their own, the global one is shared', async (t) => {
    const dir = tempDir('pl-limits-wrap-sqlite-');
    const records = [path.join(dir, 'one.jsonl'), path.join(dir, 'two.jsonl')];
    const limit = (scope: string) => ({ action: 'allow', rate_limit: { max: 2, window: 60, scope } });
    // One policy file per process (each records to its own file), the same state file and prefix.
    const files = records.map((record, i) =>
      writePolicy(
        {
          gateway: { state: `sqlite:${path.join(dir, 'state.db')}` },
          servers: { s: { command: [process.execPath, RECORDER, 'stdio', '--record', record], tools: { echo: limit('session'), whoami: limit('global') } } },
        },
        tempDir(`pl-limits-wrap-sqlite-${i}-`),
      ),
    );
    const [one, two] = [await wrap(t, files[0]!), await wrap(t, files[1]!)];
    for (const gw of [one, two, one, two]) assert.match(resultText(await echo(gw, 'x')), /^echo: x$/);
    for (const gw of [one, two]) assertLimitDenial(await echo(gw, 'y'), 'servers.s.tools.echo.rate_limit', '2 calls per 1 min per session');
    assert.match(resultText(await tool(one, 'whoami')), /^pid \d+$/);
    assert.match(resultText(await tool(two, 'whoami')), /^pid \d+$/);
    for (const gw of [two, one]) assertLimitDenial(await tool(gw, 'whoami'), 'servers.s.tools.whoami.rate_limit', '2 calls per 1 min per global');
    const calls = records.map((r) => receivedArgs(r, 'echo').length + receivedArgs(r, 'whoami').length);
    assert.deepEqual(calls, [3, 3], 'each server got its 2 echo calls and 1 of the 2 shared whoami calls');
  });
});
