// Tool-definition pinning end to end: a server changes a tool's description between sessions (a rug pull). With
// `on_tool_change: block` the running gateway hides the tool and refuses its calls without forwarding them, records
// a `tools_changed` audit event and marks the tool CHANGED in the catalogue, until `policylayer catalog accept` in
// another process lets it through again, without a restart. With `record` (the default) the change is only recorded.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from '../helpers/gateway.js';
import { http, wrapped, type Endpoint, type V1Connection } from '../helpers/clients.js';
import { runCli, toolText } from '../helpers/cli-run.js';
import { assertRefusedAsChanged, callsReceived, HONEST, RUG_PULL, rugPullRig, rugPullServer, SERVER, session, toolNames, weather, type RugPullRig } from '../helpers/rug-pull.js';

const rig = (onToolChange: 'block' | 'record' | undefined): Promise<RugPullRig> =>
  rugPullRig('pl-pinning-', (descriptionFile, callsFile) => rugPullServer(descriptionFile, callsFile, onToolChange ? { on_tool_change: onToolChange } : {}));

interface AuditRow {
  server?: string;
  tool?: string;
  decision?: string;
  rule?: string;
  detail?: string;
}

/** `audit query` rows once `ready` holds for them, or as they are after 15 s (the audit log is flushed in batches; CI machines are slow). */
async function auditRows(file: string, filters: string[], ready: (rows: AuditRow[]) => boolean): Promise<AuditRow[]> {
  const end = Date.now() + 15_000;
  for (;;) {
    const r = await runCli('audit', 'query', '-c', file, ...filters, '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as AuditRow[];
    if (ready(rows) || Date.now() > end) return rows;
    await sleep(100);
  }
}

/** Session 1 sees the honest server and uses it; then the description file turns into a rug pull. */
async function honestFirstSession(t: TestContext, r: RugPullRig, endpoint: Endpoint): Promise<void> {
  const first = await session(t, endpoint);
  assert.deepEqual((await toolNames(first)).sort(), ['add_note', 'get_weather']);
  const result = await weather(first, 'Oslo');
  assert.equal(result.isError, undefined, toolText(result));
  assert.equal(toolText(result), 'sunny in Oslo');
  await first.close();
  writeFileSync(r.descriptionFile, RUG_PULL);
}

/** The change is in the audit log and the catalogue (CHANGED, with the accepted description shown beside it). */
async function assertChangeRecorded(r: RugPullRig): Promise<void> {
  const records = await auditRows(r.file, ['--kind', 'tools_changed'], (rows) => rows.some((row) => row.detail?.includes('get_weather')));
  const record = records.find((row) => row.detail?.includes('get_weather'));
  assert.ok(record, `a tools_changed audit record names get_weather; got ${JSON.stringify(records)}`);
  assert.equal(record.server, SERVER);
  assert.match(record.detail!, /changed: get_weather/);
  assert.doesNotMatch(record.detail!, /add_note/, 'only the tool that changed is named');

  const page = await runCli('catalog', 'show', SERVER, 'get_weather', '-c', r.file);
  assert.equal(page.code, 0, page.stderr);
  assert.match(page.stdout, /CHANGED/);
  assert.match(page.stdout, /id_rsa/, 'the page shows the new description');
  const before = page.stdout.slice(page.stdout.indexOf('Accepted definition'));
  assert.ok(before.length < page.stdout.length, `the page shows the accepted definition:\n${page.stdout}`);
  assert.match(before, new RegExp(HONEST.replace(/\./g, '\\.')));
  assert.doesNotMatch(before, /id_rsa/);
}

/**
 * Calls get_weather (a new city each time) until it is let through, within 2.5 s of the accept; each refusal is the
 * pinning one and leaves the server's call log as it was (`before`). Resolves with the city of the call let through.
 */
async function callUntilReleased(r: RugPullRig, c: V1Connection, before: unknown[]): Promise<string> {
  const end = Date.now() + 2500;
  for (let attempt = 1; ; attempt++) {
    const city = `Bergen-${attempt}`;
    const result = await weather(c, city);
    if (result.isError === undefined) {
      assert.equal(toolText(result), `sunny in ${city}`);
      return city;
    }
    assertRefusedAsChanged(result);
    assert.deepEqual(callsReceived(r.callsFile, 'get_weather'), before, `refused call ${attempt} never reached the server`);
    assert.ok(Date.now() < end, `get_weather is still refused 2.5 s after \`catalog accept\` (${attempt} calls)`);
    await sleep(100);
  }
}

/** The whole block → accept story through one endpoint factory (a new endpoint is a new upstream session). */
async function blockedUntilAccepted(t: TestContext, r: RugPullRig, endpoint: () => Endpoint): Promise<void> {
  await honestFirstSession(t, r, endpoint());

  const second = await session(t, endpoint());
  assert.deepEqual(await toolNames(second), ['add_note'], 'the changed tool is hidden; the unchanged one stays');
  const refused = await weather(second, 'Bergen');
  assertRefusedAsChanged(refused);
  assert.deepEqual(callsReceived(r.callsFile, 'get_weather'), [{ city: 'Oslo' }], 'the refused call never reached the server');
  const note = await second.client.callTool({ name: 'add_note', arguments: { text: 'still works' } });
  assert.equal(toolText(note), 'noted: still works');

  await assertChangeRecorded(r);
  const onChange = `servers.${SERVER}.on_tool_change`;
  const calls = await auditRows(r.file, ['--tool', 'get_weather'], (rows) => rows.some((row) => row.rule === onChange));
  assert.deepEqual(
    calls.map((row) => [row.decision, row.rule]),
    [
      ['allowed', `servers.${SERVER}.default`],
      ['denied', onChange],
    ],
    'the refusal is audited with the rule that made it',
  );

  const accepted = await runCli('catalog', 'accept', SERVER, 'get_weather', '-c', r.file);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stdout, /accepted the new definition of weather\/get_weather/);
  // No restart: the tool is released within the poll interval. The first call after the accept may still be
  // refused (its read of the store serves the next call), but a refused call never reaches the server.
  const city = await callUntilReleased(r, second, [{ city: 'Oslo' }]);
  assert.deepEqual(callsReceived(r.callsFile, 'get_weather'), [{ city: 'Oslo' }, { city }]);
  assert.deepEqual((await toolNames(second)).sort(), ['add_note', 'get_weather'], 'the accepted tool is listed again');

  const page = await runCli('catalog', 'show', SERVER, 'get_weather', '-c', r.file);
  assert.doesNotMatch(page.stdout, /CHANGED/);
}

describe('tool-definition pinning through a running gateway', { concurrency: false }, () => {
  test('on_tool_change: block hides and refuses a changed tool until `catalog accept`, without a restart', async (t) => {
    const r = await rig('block');
    const gw = await startGateway(r.file);
    t.after(() => gw.stop());
    await blockedUntilAccepted(t, r, () => http(`${gw.url}/mcp/${SERVER}`));
  });

  test('a tool accepted while the session is open is listed again within the poll interval', async (t) => {
    const r = await rig('block');
    const gw = await startGateway(r.file);
    t.after(() => gw.stop());
    const url = `${gw.url}/mcp/${SERVER}`;
    await honestFirstSession(t, r, http(url));
    const second = await session(t, http(url));
    assert.deepEqual(await toolNames(second), ['add_note']);
    assert.equal((await runCli('catalog', 'accept', SERVER, 'get_weather', '-c', r.file)).code, 0);
    // No call in between: only the gateway's poll of the catalogue can bring the tool back.
    let names: string[] = [];
    const end = Date.now() + 2500;
    while (!(names = await toolNames(second)).includes('get_weather') && Date.now() < end) await sleep(100);
    assert.deepEqual(names.sort(), ['add_note', 'get_weather']);
  });

  test('on_tool_change: record (the default) records the change but keeps the tool visible and callable', async (t) => {
    const r = await rig(undefined);
    const gw = await startGateway(r.file);
    t.after(() => gw.stop());
    const url = `${gw.url}/mcp/${SERVER}`;
    await honestFirstSession(t, r, http(url));

    const second = await session(t, http(url));
    const listed = (await second.client.listTools()).tools;
    assert.deepEqual(listed.map((tool) => tool.name).sort(), ['add_note', 'get_weather']);
    assert.match(listed.find((tool) => tool.name === 'get_weather')?.description ?? '', /id_rsa/, 'the client sees what the server sent');
    const result = await weather(second, 'Bergen');
    assert.equal(result.isError, undefined, toolText(result));
    assert.equal(toolText(result), 'sunny in Bergen');
    assert.deepEqual(callsReceived(r.callsFile, 'get_weather'), [{ city: 'Oslo' }, { city: 'Bergen' }]);
    await assertChangeRecorded(r);
  });
});

describe('tool-definition pinning through `policylayer wrap`', () => {
  test('each wrap process is a session: the changed tool is refused until accepted in another process', async (t) => {
    const r = await rig('block');
    await blockedUntilAccepted(t, r, () => wrapped(['-c', r.file]));
  });
});
