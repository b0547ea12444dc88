// Transparency: every server-everything tool, called with valid (and a few invalid) arguments, gives the same result through the gateway as direct.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolResultSchema, type CallToolRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  connectV1,
  ELICITED,
  everythingRoutes,
  normalise,
  outcome,
  SAMPLED_MODEL,
  startEverythingRig,
  type EverythingRig,
  type V1Connection,
  ALL_FEATURES,
} from '../helpers/clients.js';

const ALL = ALL_FEATURES;
const HELLO = `data:text/plain;base64,${Buffer.from('hello, gateway\n').toString('base64')}`;

interface Case {
  name: string;
  arguments: Record<string, unknown>;
  /** What the direct result must show, so that two equal failures cannot pass as transparency. */
  expect?: RegExp;
}

// One or more valid calls per tool; `expect` is matched against the JSON of the direct result.
const CASES: Case[] = [
  { name: 'echo', arguments: { message: 'hello through the gateway' }, expect: /Echo: hello through the gateway/ },
  { name: 'get-annotated-message', arguments: { messageType: 'error', includeImage: true }, expect: /"priority":1.*image\/png/ },
  { name: 'get-annotated-message', arguments: { messageType: 'success' }, expect: /completed successfully/ },
  { name: 'get-annotated-message', arguments: { messageType: 'debug' }, expect: /Cache hit ratio/ },
  // The gateway starts stdio servers with its own environment, which is the test's, as the direct client does; the
  // variables are compared as an object because the SDK's stdio transport reorders them (its defaults first).
  { name: 'get-env', arguments: {}, expect: /PATH/ },
  { name: 'get-resource-links', arguments: { count: 4 }, expect: /resource_link.*dynamic\/text\/4/ },
  { name: 'get-resource-reference', arguments: { resourceType: 'Text', resourceId: 2 }, expect: /"type":"resource"/ },
  { name: 'get-resource-reference', arguments: { resourceType: 'Blob', resourceId: 3 }, expect: /"blob"/ },
  { name: 'get-structured-content', arguments: { location: 'Chicago' }, expect: /"structuredContent":\{"temperature":36/ },
  { name: 'get-sum', arguments: { a: 2, b: 40 }, expect: /is 42/ },
  { name: 'get-tiny-image', arguments: {}, expect: /"type":"image"/ },
  // A data: URI keeps the call offline (the default argument fetches from GitHub).
  { name: 'gzip-file-as-resource', arguments: { name: 'hello.txt.gz', data: HELLO, outputType: 'resource' }, expect: /application\/gzip/ },
  { name: 'gzip-file-as-resource', arguments: { name: 'hello2.txt.gz', data: HELLO, outputType: 'resourceLink' }, expect: /resource_link/ },
  // Toggled twice so that the session ends with simulated logging / updates off again.
  { name: 'toggle-simulated-logging', arguments: {}, expect: /Started simulated/ },
  { name: 'toggle-simulated-logging', arguments: {}, expect: /Stopped simulated/ },
  { name: 'toggle-subscriber-updates', arguments: {}, expect: /Started/ },
  { name: 'toggle-subscriber-updates', arguments: {}, expect: /Stopped/ },
  { name: 'trigger-long-running-operation', arguments: { duration: 0.4, steps: 2 }, expect: /Steps: 2/ },
  { name: 'get-roots-list', arguments: {}, expect: /file:\/\/\/tmp\/policylayer-root/ },
  { name: 'trigger-elicitation-request', arguments: {}, expect: new RegExp(ELICITED.name) },
  {
    name: 'trigger-url-elicitation',
    arguments: { url: 'https://example.com/consent', elicitationId: 'policylayer-1' },
    expect: /completed the URL elicitation/,
  },
  // The error path answers with JSON-RPC error -32042 carrying the elicitation in `data`.
  { name: 'trigger-url-elicitation', arguments: { url: 'https://example.com/consent', errorPath: true }, expect: /-32042/ },
  { name: 'trigger-sampling-request', arguments: { prompt: 'Say hi', maxTokens: 20 }, expect: new RegExp(SAMPLED_MODEL) },
];

// Invalid calls: the server's error answer must come back unchanged too.
const INVALID: Case[] = [
  { name: 'get-sum', arguments: { a: 'two', b: 40 }, expect: /-32602.*expected number/ },
  { name: 'get-structured-content', arguments: { location: 'Atlantis' }, expect: /isError/ },
  { name: 'no-such-tool', arguments: {}, expect: /not found/ },
  // Needs task augmentation; a plain call is refused by the server (sent raw: the v1 client would refuse it itself).
  { name: 'simulate-research-query', arguments: { topic: 'x' }, expect: /requires task augmentation/ },
];

// Tools that a plain tools/call cannot exercise; each has its own test below.
const OWN_TEST = ['simulate-research-query'];

function envOf(result: unknown): unknown {
  const text = (result as { content?: { text?: string }[] }).content?.[0]?.text;
  return text === undefined ? result : JSON.parse(text);
}

let rig: EverythingRig;
before(async () => {
  rig = await startEverythingRig();
});
after(() => rig?.stop());

for (const route of everythingRoutes()) {
  describe(`tools/call: ${route.name}`, () => {
    let direct: V1Connection;
    let gateway: V1Connection;
    before(async () => {
      [direct, gateway] = await Promise.all([connectV1(route.direct(rig), ALL), connectV1(route.gateway(rig), ALL)]);
      // The v1 client remembers listed tools (it refuses a plain call to a task-only tool it has seen): list on both.
      await Promise.all([direct.client.listTools(), gateway.client.listTools()]);
    });
    after(async () => {
      await Promise.all([direct?.close(), gateway?.close()]);
    });

    const call = (c: V1Connection, params: CallToolRequest['params']) =>
      outcome(() =>
        params.name === 'simulate-research-query'
          ? c.client.request({ method: 'tools/call', params }, CallToolResultSchema)
          : c.client.callTool(params),
      );

    it('every listed tool has a case here', async () => {
      const { tools } = await gateway.client.listTools();
      const covered = new Set([...CASES.map((c) => c.name), ...OWN_TEST]);
      assert.deepEqual(tools.map((t) => t.name).filter((n) => !covered.has(n)), []);
    });

    for (const c of [...CASES, ...INVALID]) {
      it(`${c.name} ${JSON.stringify(c.arguments)}: same result`, async () => {
        const params = { name: c.name, arguments: c.arguments };
        // One after the other: the toggles and the error-path marker of trigger-url-elicitation are per session,
        // and on the HTTP route both sessions live in one server process.
        const d = await call(direct, params);
        const g = await call(gateway, params);
        if (c.expect) assert.match(JSON.stringify(d), c.expect, 'the direct result is what the case expects');
        if (c.name === 'get-env') assert.deepEqual(envOf(g), envOf(d));
        else assert.deepEqual(normalise(g), normalise(d));
      });
    }

    it('simulate-research-query (a task-augmented call with an elicitation in the middle): same outcome', async () => {
      const run = async (c: V1Connection) => {
        const types: string[] = [];
        let final: unknown;
        const stream = c.client.experimental.tasks.callToolStream(
          { name: 'simulate-research-query', arguments: { topic: 'python', ambiguous: true } },
          undefined,
          { task: { ttl: 60_000 } },
        );
        for await (const m of stream) {
          types.push(m.type);
          if (m.type === 'result') final = m.result;
          if (m.type === 'error') final = { error: m.error.message };
        }
        // How many status polls happen depends on timing; the first and last message do not.
        return { first: types[0], last: types.at(-1), final, elicited: c.seen.elicitation.length };
      };
      const [d, g] = await Promise.all([run(direct), run(gateway)]);
      assert.equal(d.first, 'taskCreated');
      assert.equal(d.last, 'result');
      assert.match(JSON.stringify(d.final), /Research Report: python/);
      assert.deepEqual(normalise(g), normalise(d));
    });
  });
}
