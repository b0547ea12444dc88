// Transparency for the v2 SDK client: legacy and auto (2026-07-28) negotiation through the gateway, server-everything and a v2 server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { connectV1, connectV2, http, normalise, outcome, stdio, wrapped, type Endpoint, type V2Connection } from '../helpers/clients.js';
import { EVERYTHING, ROOT, spawnUntil, startEverythingHttp, startGateway, writeGatewayConfig, type Running } from '../helpers/gateway.js';

const node = process.execPath;
const FIXTURE = path.join(ROOT, 'dist/test/fixtures/v2-server.js');
const REASON = 'nobody deletes everything';
const MODERN = '2026-07-28';
// The v2 fixture's tools under the tests' policy: delete_everything denied, secret hidden.
const policed = (url: string | undefined, command?: string[]) => ({
  ...(url ? { url } : { command }),
  tools: { delete_everything: { action: 'deny', reason: REASON } },
  hide: ['secret'],
});

let everything: Running & { url: string };
let fixture: Running & { match: string };
let fixtureUrl: string;
let gateway: Running & { url: string };
let configFile: string;
before(async () => {
  [everything, fixture] = await Promise.all([startEverythingHttp(), spawnUntil(node, [FIXTURE, 'http', '0'], /listening on port (\d+)/)]);
  fixtureUrl = `http://127.0.0.1:${fixture.match}/mcp`;
  configFile = writeGatewayConfig({
    everything: { command: [node, EVERYTHING, 'stdio'] },
    remote: { url: everything.url },
    v2: policed(fixtureUrl),
    v2open: { url: fixtureUrl },
    v2stdio: policed(undefined, [node, FIXTURE, 'stdio']),
  });
  gateway = await startGateway(configFile);
});
after(() => Promise.all([gateway?.stop(), fixture?.stop(), everything?.stop()]));

const gw = (server: string) => http(`${gateway.url.replace(/\/$/, '')}/mcp/${server}`);

async function connectBoth(direct: Endpoint, through: Endpoint, negotiation: 'legacy' | 'auto'): Promise<[V2Connection, V2Connection]> {
  const features = { elicitation: true };
  return Promise.all([connectV2(direct, { negotiation, features }), connectV2(through, { negotiation, features })]);
}

/** The era, version, tools and a few calls of one connection, for comparison. */
async function summary(c: V2Connection, calls: { name: string; arguments: Record<string, unknown> }[]) {
  const results = [];
  for (const call of calls) results.push(await outcome(() => c.client.callTool(call)));
  return {
    era: c.client.getProtocolEra(),
    version: c.client.getNegotiatedProtocolVersion(),
    server: c.client.getServerVersion(),
    tools: await c.client.listTools(),
    results: normalise(results),
  };
}

const EVERYTHING_CALLS = [
  { name: 'echo', arguments: { message: 'v2 says hi' } },
  { name: 'get-sum', arguments: { a: 1, b: 2 } },
  { name: 'get-structured-content', arguments: { location: 'New York' } },
];

describe('v2 client, default (legacy) negotiation, through start', () => {
  for (const [name, direct, through] of [
    ['stdio server-everything', () => stdio(node, [EVERYTHING, 'stdio']), () => gw('everything')],
    ['HTTP server-everything', () => http(everything.url), () => gw('remote')],
  ] as const) {
    it(`${name}: same era, tools and call results as direct`, async () => {
      const [d, g] = await connectBoth(direct(), through(), 'legacy');
      try {
        const [sd, sg] = [await summary(d, EVERYTHING_CALLS), await summary(g, EVERYTHING_CALLS)];
        assert.equal(sd.era, 'legacy');
        assert.match(JSON.stringify(sd.results), /Echo: v2 says hi.*is 3/);
        assert.deepEqual(sg, sd);
      } finally {
        await Promise.all([d.close(), g.close()]);
      }
    });
  }
});

describe('v2 client, auto negotiation, against server-everything (which does not speak 2026-07-28)', () => {
  it('HTTP server through start: the probe gets the same answer as direct and both fall back to 2025', async () => {
    const [d, g] = await connectBoth(http(everything.url), gw('remote'), 'auto');
    try {
      const [sd, sg] = [await summary(d, EVERYTHING_CALLS), await summary(g, EVERYTHING_CALLS)];
      assert.equal(sd.era, 'legacy', 'server-everything answers server/discover with an error');
      assert.deepEqual(sg, sd);
      // The first exchange is the server/discover probe: same HTTP status and body through the gateway.
      const [pd, pg] = await Promise.all([d.seen.wire[0]!, g.seen.wire[0]!]);
      assert.match(pd.request, /server\/discover/);
      assert.deepEqual({ status: pg.status, body: JSON.parse(pg.body) }, { status: pd.status, body: JSON.parse(pd.body) });
    } finally {
      await Promise.all([d.close(), g.close()]);
    }
  });

  it('stdio server through start: the same outcome as the client probing the server directly over stdio', async () => {
    const [d, g] = await connectBoth(stdio(node, [EVERYTHING, 'stdio']), gw('everything'), 'auto');
    try {
      assert.deepEqual(await summary(g, EVERYTHING_CALLS), await summary(d, EVERYTHING_CALLS));
    } finally {
      await Promise.all([d.close(), g.close()]);
    }
  });
});

const FIXTURE_CALLS = [
  { name: 'echo', arguments: { message: 'modern' } },
  { name: 'add', arguments: { a: 40, b: 2 } },
  // On 2026-07-28 an input_required result; the client answers it with its elicitation handler and retries.
  { name: 'confirm_deploy', arguments: { env: 'prod' } },
];

/** The response on the wire to the tools/call of `tool`, parsed (JSON body or the data line of an SSE body). */
async function wireResult(c: V2Connection, tool: string): Promise<Record<string, unknown>> {
  for (const p of c.seen.wire) {
    const x = await p;
    if (!x.request.includes('"tools/call"') || !x.request.includes(`"${tool}"`)) continue;
    const json = x.body.trimStart().startsWith('{') ? x.body : (x.body.match(/^data: (.*)$/m)?.[1] ?? '{}');
    return JSON.parse(json) as Record<string, unknown>;
  }
  throw new Error(`no tools/call ${tool} on the wire`);
}

describe('v2 server speaking 2026-07-28 over Streamable HTTP, through start (url server)', () => {
  let direct: V2Connection;
  let open: V2Connection;
  let policy: V2Connection;
  before(async () => {
    const auto = (e: Endpoint) => connectV2(e, { negotiation: 'auto', features: { elicitation: true } });
    [direct, open, policy] = await Promise.all([auto(http(fixtureUrl)), auto(gw('v2open')), auto(gw('v2'))]);
  });
  after(() => Promise.all([direct?.close(), open?.close(), policy?.close()]));

  it('negotiates 2026-07-28 through the gateway, as direct', () => {
    assert.equal(direct.client.getNegotiatedProtocolVersion(), MODERN, 'the fixture speaks the modern revision');
    for (const c of [open, policy]) {
      assert.equal(c.client.getProtocolEra(), 'modern');
      assert.equal(c.client.getNegotiatedProtocolVersion(), MODERN);
      assert.deepEqual(c.client.getDiscoverResult(), direct.client.getDiscoverResult());
    }
  });

  it('tools/list: identical with allow-all; without the hidden tool under the policy', async () => {
    const d = await direct.client.listTools();
    assert.deepEqual(await open.client.listTools(), d);
    assert.deepEqual((await policy.client.listTools()).tools, d.tools.filter((t) => t.name !== 'secret'));
  });

  it('tools/call (plain, structured, input_required round trip): same results as direct', async () => {
    for (const call of FIXTURE_CALLS) {
      const r = await direct.client.callTool(call);
      assert.deepEqual(await open.client.callTool(call), r, call.name);
      assert.deepEqual(await policy.client.callTool(call), r, call.name);
    }
    assert.match(JSON.stringify(await direct.client.callTool(FIXTURE_CALLS[2]!)), /deployed to prod/);
    assert.ok(policy.seen.elicitation.length >= 1, 'the embedded elicitation reached the client handler');
  });

  it('resources and prompts: same as direct', async () => {
    for (const c of [open, policy]) {
      assert.deepEqual(await c.client.listResources(), await direct.client.listResources());
      assert.deepEqual(await c.client.readResource({ uri: 'v2://readme' }), await direct.client.readResource({ uri: 'v2://readme' }));
      assert.deepEqual(await c.client.listPrompts(), await direct.client.listPrompts());
      const args = { name: 'greet', arguments: { name: 'Ada' } };
      assert.deepEqual(await c.client.getPrompt(args), await direct.client.getPrompt(args));
    }
  });

  it('a denied call: [POLICY DENIED] result with resultType "complete", and the server never sees it', async () => {
    const r = await policy.client.callTool({ name: 'delete_everything', arguments: {} });
    assert.equal(r.isError, true);
    const text = JSON.stringify(r.content);
    assert.match(text, /\[POLICY DENIED\].*delete_everything.*servers\.v2\.tools\.delete_everything/);
    assert.ok(text.includes(REASON));
    const wire = await wireResult(policy, 'delete_everything');
    assert.equal((wire.result as Record<string, unknown> | undefined)?.resultType, 'complete', `on the wire: ${JSON.stringify(wire)}`);
    assert.doesNotMatch(fixture.stderr(), /delete_everything was called/);
  });

  it('a hidden tool is an unknown tool, and the server never sees it', async () => {
    const r = await outcome(() => policy.client.callTool({ name: 'secret', arguments: {} }));
    assert.ok('error' in r, JSON.stringify(r));
    assert.equal((r.error as { code: unknown }).code, -32602);
    assert.doesNotMatch(fixture.stderr(), /secret was called/);
  });

  it('2025 clients (v1, v2 legacy) still work against the v2 server through the gateway', async () => {
    const call = { name: 'echo', arguments: { message: 'old' } };
    const v1d = await connectV1(http(fixtureUrl));
    const v1g = await connectV1(gw('v2open'));
    const v2g = await connectV2(gw('v2open'));
    try {
      const want = await v1d.client.callTool(call);
      assert.deepEqual(await v1g.client.callTool(call), want);
      assert.deepEqual(await v2g.client.callTool(call), want);
      assert.equal(v2g.client.getProtocolEra(), 'legacy');
    } finally {
      await Promise.all([v1d.close(), v1g.close(), v2g.close()]);
    }
  });
});

describe('v2 client with auto negotiation, v2 server over stdio or behind wrap', () => {
  const cases: { name: string; direct: () => Endpoint; through: () => Endpoint; policy: boolean }[] = [
    { name: 'stdio server through start', direct: () => stdio(node, [FIXTURE, 'stdio']), through: () => gw('v2stdio'), policy: true },
    {
      name: 'stdio server through wrap',
      direct: () => stdio(node, [FIXTURE, 'stdio']),
      through: () => wrapped(['-c', configFile, '--server', 'v2stdio']),
      policy: true,
    },
    // wrap speaks stdio to the client and Streamable HTTP to the server: its direct twin is the client over HTTP.
    {
      name: 'HTTP server through wrap --upstream',
      direct: () => http(fixtureUrl),
      through: () => wrapped(['--upstream', fixtureUrl]),
      policy: false,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: 2026-07-28 negotiated, same tools and results as direct`, async () => {
      const [d, g] = await connectBoth(c.direct(), c.through(), 'auto');
      try {
        assert.equal(d.client.getNegotiatedProtocolVersion(), MODERN);
        assert.equal(g.client.getNegotiatedProtocolVersion(), MODERN, 'the gateway let the client negotiate 2026-07-28');
        const dt = await d.client.listTools();
        const expected = c.policy ? dt.tools.filter((t) => t.name !== 'secret') : dt.tools;
        assert.deepEqual((await g.client.listTools()).tools, expected);
        for (const call of FIXTURE_CALLS) assert.deepEqual(await g.client.callTool(call), await d.client.callTool(call), call.name);
        if (c.policy) {
          const r = await g.client.callTool({ name: 'delete_everything', arguments: {} });
          assert.equal(r.isError, true);
          assert.match(JSON.stringify(r.content), /\[POLICY DENIED\]/);
          if (g.seen.wire.length > 0) {
            const wire = await wireResult(g, 'delete_everything');
            assert.equal((wire.result as Record<string, unknown> | undefined)?.resultType, 'complete', JSON.stringify(wire));
          }
        }
      } finally {
        await Promise.all([d.close(), g.close()]);
      }
    });
  }
});
