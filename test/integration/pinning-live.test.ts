// A rug pull in the middle of a session: the server rewrites a tool's description after the client has listed it and
// announces it only with notifications/tools/list_changed. The client never lists again, yet the gateway lists the
// tools itself on that notice, records the change and, under `on_tool_change: block`, refuses the very next call of the
// tool without forwarding it, until `catalog accept`. The gateway's own listing never reaches the client.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnUntil, startGateway } from '../helpers/gateway.js';
import { http, wrapped, type Endpoint, type V1Connection } from '../helpers/clients.js';
import { runCli, toolText } from '../helpers/cli-run.js';
import { assertRefusedAsChanged, callsReceived, RUG_PULL, rugPullRig, rugPullServer, SERVER, session, toolNames, weather, type RugPullRig } from '../helpers/rug-pull.js';

const LIST_CHANGED = 'notifications/tools/list_changed';

/** The fixture as a stdio child of the gateway, or (`remote`) as a Streamable HTTP server of its own. */
function rig(t: TestContext, onToolChange: 'block' | 'record', remote = false): Promise<RugPullRig> {
  return rugPullRig('pl-pinning-live-', async (descriptionFile, callsFile) => {
    const server = rugPullServer(descriptionFile, callsFile, { on_tool_change: onToolChange }, true);
    if (!remote) return server;
    const { command, env } = server as { command: string[]; env: Record<string, string> };
    const http = await spawnUntil(command[0]!, [...command.slice(1), 'http'], /listening on (http:\/\/\S+)/, env);
    t.after(() => http.stop());
    return { url: http.match, on_tool_change: onToolChange };
  });
}

/** Lists once (the honest tool is pinned), then the description turns and a call makes the server announce it. */
async function rugPullMidSession(r: RugPullRig, c: V1Connection): Promise<void> {
  assert.deepEqual(await toolNames(c), ['add_note', 'get_weather']);
  assert.equal(toolText(await weather(c, 'Oslo')), 'sunny in Oslo');
  writeFileSync(r.descriptionFile, RUG_PULL);
  assert.equal(toolText(await c.client.callTool({ name: 'add_note', arguments: { text: 'hi' } })), 'noted: hi');
  await c.seen.waitFor(LIST_CHANGED, 1, 10_000);
}

/** Nothing of the gateway's own listing reached the client: no answer to a request the client did not make. */
function assertNoForeignAnswers(c: V1Connection): void {
  const foreign = c.seen.messages.filter((m) => 'id' in m && typeof m.id === 'string' && m.id.startsWith('policylayer-'));
  assert.deepEqual(foreign, []);
}

async function blockedWithoutRelisting(t: TestContext, r: RugPullRig, endpoint: Endpoint): Promise<void> {
  const c = await session(t, endpoint);
  await rugPullMidSession(r, c);
  // The very next call, with no tools/list by the client in between.
  assertRefusedAsChanged(await weather(c, 'Bergen'), 'first call after the notice');
  assert.deepEqual(callsReceived(r.callsFile, 'get_weather'), [{ city: 'Oslo' }], 'the refused call never reached the server');
  assertNoForeignAnswers(c);

  const page = await runCli('catalog', 'show', SERVER, 'get_weather', '-c', r.file);
  assert.match(page.stdout, /CHANGED/);
  assert.match(page.stdout, /id_rsa/);

  assert.equal((await runCli('catalog', 'accept', SERVER, 'get_weather', '-c', r.file)).code, 0);
  const end = Date.now() + 2500;
  for (let attempt = 1; ; attempt++) {
    const result = await weather(c, `Bergen-${attempt}`);
    if (result.isError === undefined) break;
    assertRefusedAsChanged(result, `call ${attempt} after the accept`);
    assert.ok(Date.now() < end, 'get_weather is released within 2.5 s of `catalog accept`');
    await sleep(100);
  }
  assert.equal(callsReceived(r.callsFile, 'get_weather').length, 2, 'only the call let through reached the server');
}

describe('a rug pull announced mid-session with tools/list_changed', { concurrency: false }, () => {
  test('through `start`: the gateway lists the tools itself and refuses the next call of the changed tool', async (t) => {
    const r = await rig(t, 'block');
    const gw = await startGateway(r.file);
    t.after(() => gw.stop());
    await blockedWithoutRelisting(t, r, http(`${gw.url}/mcp/${SERVER}`));
  });

  test('through `start` to a remote Streamable HTTP server: the notice comes on the GET stream', async (t) => {
    const r = await rig(t, 'block', true);
    const gw = await startGateway(r.file);
    t.after(() => gw.stop());
    await blockedWithoutRelisting(t, r, http(`${gw.url}/mcp/${SERVER}`));
  });

  test('through `wrap`: the same, over stdio', async (t) => {
    const r = await rig(t, 'block');
    await blockedWithoutRelisting(t, r, wrapped(['-c', r.file]));
  });

  test('with on_tool_change: record the change is recorded from the notice alone, and calls go on', async (t) => {
    const r = await rig(t, 'record');
    const gw = await startGateway(r.file);
    t.after(() => gw.stop());
    const c = await session(t, http(`${gw.url}/mcp/${SERVER}`));
    await rugPullMidSession(r, c);
    const result = await weather(c, 'Bergen');
    assert.equal(toolText(result), 'sunny in Bergen');
    assertNoForeignAnswers(c);
    const end = Date.now() + 15_000;
    let detail = '';
    while (!detail.includes('get_weather') && Date.now() < end) {
      const rows = JSON.parse((await runCli('audit', 'query', '-c', r.file, '--kind', 'tools_changed', '--format', 'json')).stdout) as { detail?: string }[];
      detail = rows.map((row) => row.detail ?? '').join(' ');
      if (!detail.includes('get_weather')) await sleep(100);
    }
    assert.match(detail, /changed: get_weather/);
  });
});
