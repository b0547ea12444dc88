// Transparency: initialize, tools, resources, templates, prompts and completions of server-everything look the same through the gateway as direct.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectV1,
  everythingRoutes,
  initializeResult,
  normalise,
  outcome,
  startEverythingRig,
  type EverythingRig,
  type V1Connection,
  ALL_FEATURES,
} from '../helpers/clients.js';

const ALL = ALL_FEATURES;
// Offered by server-everything only to clients that declare sampling / elicitation / roots.
const CAPABILITY_GATED = ['get-roots-list', 'trigger-elicitation-request', 'trigger-sampling-request', 'trigger-url-elicitation'];

let rig: EverythingRig;
before(async () => {
  rig = await startEverythingRig();
});
after(() => rig?.stop());

for (const route of everythingRoutes({ legacySse: true })) {
  describe(`lists and reads: ${route.name}`, () => {
    let direct: V1Connection;
    let gateway: V1Connection;
    before(async () => {
      [direct, gateway] = await Promise.all([connectV1(route.direct(rig), ALL), connectV1(route.gateway(rig), ALL)]);
    });
    after(async () => {
      await Promise.all([direct?.close(), gateway?.close()]);
    });

    it('initialize: same server info, capabilities, instructions and protocol version', () => {
      assert.deepEqual(gateway.client.getServerVersion(), direct.client.getServerVersion());
      assert.deepEqual(gateway.client.getServerCapabilities(), direct.client.getServerCapabilities());
      assert.equal(gateway.client.getInstructions(), direct.client.getInstructions());
      assert.ok(direct.client.getInstructions(), 'server-everything sends instructions');
      assert.deepEqual(initializeResult(gateway.seen), initializeResult(direct.seen));
      assert.ok(initializeResult(direct.seen)?.protocolVersion, 'the initialize result was recorded');
    });

    it('tools/list: identical names, schemas and annotations, capability-gated tools included', async () => {
      const [d, g] = await Promise.all([direct.client.listTools(), gateway.client.listTools()]);
      assert.deepEqual(g, d);
      const names = g.tools.map((t) => t.name);
      for (const gated of CAPABILITY_GATED) assert.ok(names.includes(gated), `${gated} is listed for a capable client`);
      assert.ok(g.tools.some((t) => t.annotations && t.outputSchema), 'annotations and output schemas are part of the comparison');
    });

    it('tools/list for a client without sampling, elicitation or roots: the same smaller list', async () => {
      const [bareDirect, bareGateway] = await Promise.all([connectV1(route.direct(rig)), connectV1(route.gateway(rig))]);
      try {
        const [d, g] = await Promise.all([bareDirect.client.listTools(), bareGateway.client.listTools()]);
        assert.deepEqual(g, d);
        for (const gated of CAPABILITY_GATED) assert.ok(!g.tools.some((t) => t.name === gated), `${gated} is not offered`);
      } finally {
        await Promise.all([bareDirect.close(), bareGateway.close()]);
      }
    });

    it('resources/list and resources/read of every resource: same', async () => {
      const [d, g] = await Promise.all([direct.client.listResources(), gateway.client.listResources()]);
      assert.deepEqual(g, d);
      assert.ok(d.resources.length >= 3, `server-everything lists its static documents (got ${d.resources.length})`);
      for (const r of d.resources) {
        const [rd, rg] = await Promise.all([
          outcome(() => direct.client.readResource({ uri: r.uri })),
          outcome(() => gateway.client.readResource({ uri: r.uri })),
        ]);
        assert.deepEqual(normalise(rg), normalise(rd), r.uri);
        assert.ok(!('error' in rd), `${r.uri} reads directly`);
      }
    });

    it('resources/templates/list and reads of template instances: same', async () => {
      const [d, g] = await Promise.all([direct.client.listResourceTemplates(), gateway.client.listResourceTemplates()]);
      assert.deepEqual(g, d);
      assert.ok(d.resourceTemplates.length >= 2);
      const uris = ['demo://resource/dynamic/text/1', 'demo://resource/dynamic/blob/2', 'demo://resource/dynamic/text/0'];
      for (const uri of uris) {
        const [rd, rg] = await Promise.all([
          outcome(() => direct.client.readResource({ uri })),
          outcome(() => gateway.client.readResource({ uri })),
        ]);
        // dynamic/text/0 is an invalid id: the error must come back the same way too.
        assert.deepEqual(normalise(rg), normalise(rd), uri);
      }
    });

    it('prompts/list and prompts/get of every prompt: same', async () => {
      const [d, g] = await Promise.all([direct.client.listPrompts(), gateway.client.listPrompts()]);
      assert.deepEqual(g, d);
      const args: Record<string, Record<string, string>[]> = {
        'simple-prompt': [{}],
        'args-prompt': [{ city: 'Paris' }, { city: 'Austin', state: 'TX' }],
        'completable-prompt': [{ department: 'Engineering', name: 'Alice' }],
        'resource-prompt': [
          { resourceType: 'Text', resourceId: '2' },
          { resourceType: 'Blob', resourceId: '3' },
        ],
      };
      assert.deepEqual(d.prompts.map((p) => p.name).sort(), Object.keys(args).sort(), 'every prompt has a case');
      for (const p of d.prompts) {
        for (const a of args[p.name]!) {
          const [pd, pg] = await Promise.all([
            outcome(() => direct.client.getPrompt({ name: p.name, arguments: a })),
            outcome(() => gateway.client.getPrompt({ name: p.name, arguments: a })),
          ]);
          assert.ok(!('error' in pd), `${p.name} works directly`);
          assert.deepEqual(normalise(pg), normalise(pd), `${p.name} ${JSON.stringify(a)}`);
        }
      }
    });

    it('completion/complete for prompt and template arguments: same', async () => {
      const cases = [
        { ref: { type: 'ref/prompt' as const, name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } },
        {
          ref: { type: 'ref/prompt' as const, name: 'completable-prompt' },
          argument: { name: 'name', value: '' },
          context: { arguments: { department: 'Sales' } },
        },
        { ref: { type: 'ref/resource' as const, uri: 'demo://resource/dynamic/text/{resourceId}' }, argument: { name: 'resourceId', value: '4' } },
      ];
      for (const c of cases) {
        const [cd, cg] = await Promise.all([outcome(() => direct.client.complete(c)), outcome(() => gateway.client.complete(c))]);
        assert.deepEqual(cg, cd, JSON.stringify(c));
      }
    });

    it('ping answers', async () => {
      assert.deepEqual(await gateway.client.ping(), await direct.client.ping());
    });
  });
}
