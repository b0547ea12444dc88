// Transparency: sampling, elicitation and roots round trips, progress, logging, subscriptions and list-changed notifications pass through the gateway.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_FEATURES,
  connectV1,
  ELICITED,
  everythingRoutes,
  normalise,
  SAMPLED_MODEL,
  startEverythingRig,
  type ClientFeatures,
  type EverythingRig,
  type Route,
  type V1Connection,
} from '../helpers/clients.js';

const ALL = ALL_FEATURES;
const STATIC_DOC = 'demo://resource/static/document/features.md';

let rig: EverythingRig;
before(async () => {
  rig = await startEverythingRig();
});
after(() => rig?.stop());
// Server→client requests over the legacy SSE transport too; one SSE route is enough here.
const routes = everythingRoutes({ legacySse: true }).filter((r) => !r.name.startsWith('HTTP server through start, legacy'));

/** A fresh direct and gateway connection for one test, closed when it ends. */
async function pair(t: TestContext, route: Route, features: ClientFeatures = ALL): Promise<[V1Connection, V1Connection]> {
  const both = await Promise.all([connectV1(route.direct(rig), features), connectV1(route.gateway(rig), features)]);
  t.after(() => Promise.all(both.map((c) => c.close())));
  return both;
}

const text = (result: unknown) => JSON.stringify((result as { content?: unknown }).content);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const route of routes) {
  describe(`round trips and notifications: ${route.name}`, () => {
    it('sampling: the client handler gets the server request, the tool result carries the client answer', async (t) => {
      const [direct, gateway] = await pair(t, route);
      const args = { name: 'trigger-sampling-request', arguments: { prompt: 'Say hi', maxTokens: 20 } };
      const d = await direct.client.callTool(args);
      const g = await gateway.client.callTool(args);
      assert.equal(gateway.seen.sampling.length, 1, 'the gateway client handled one sampling request');
      assert.deepEqual(gateway.seen.sampling, direct.seen.sampling);
      assert.match(text(g), new RegExp(`${SAMPLED_MODEL}.*sampled\\(Resource trigger-sampling-request context: Say hi\\)`));
      assert.deepEqual(g, d);
    });

    it('elicitation (form and URL): the client handler gets the request, the result reflects the answer', async (t) => {
      const [direct, gateway] = await pair(t, route);
      const calls = [
        { name: 'trigger-elicitation-request', arguments: {} },
        { name: 'trigger-url-elicitation', arguments: { url: 'https://example.com/consent', elicitationId: 'policylayer-2' } },
      ];
      for (const args of calls) {
        const d = await direct.client.callTool(args);
        const g = await gateway.client.callTool(args);
        assert.deepEqual(g, d, args.name);
      }
      assert.equal(gateway.seen.elicitation.length, 2);
      assert.deepEqual(gateway.seen.elicitation, direct.seen.elicitation);
      assert.equal((gateway.seen.elicitation[1] as { mode?: string }).mode, 'url');
      const form = await gateway.client.callTool(calls[0]!);
      assert.match(text(form), new RegExp(`Name: ${ELICITED.name}`));
    });

    it('roots: the server asks for roots, sees the client answer, and asks again after roots/list_changed', async (t) => {
      const [direct, gateway] = await pair(t, route);
      const d = await direct.client.callTool({ name: 'get-roots-list', arguments: {} });
      const g = await gateway.client.callTool({ name: 'get-roots-list', arguments: {} });
      assert.deepEqual(g, d);
      assert.match(text(g), /file:\/\/\/tmp\/policylayer-root/);
      assert.ok(gateway.seen.rootsRequests >= 1, 'roots/list reached the client handler');
      const before = [direct.seen.rootsRequests, gateway.seen.rootsRequests];
      // A client→server notification: server-everything answers it with a fresh roots/list request.
      await Promise.all([direct.client.sendRootsListChanged(), gateway.client.sendRootsListChanged()]);
      const deadline = Date.now() + 5000;
      const waiting = () => direct.seen.rootsRequests === before[0] || gateway.seen.rootsRequests === before[1];
      while (Date.now() < deadline && waiting()) await sleep(50);
      assert.equal(direct.seen.rootsRequests, before[0]! + 1, 'direct: roots asked again');
      assert.equal(gateway.seen.rootsRequests, before[1]! + 1, 'gateway: roots asked again');
    });

    it('progress: the same notifications arrive for a long-running operation', async (t) => {
      const [direct, gateway] = await pair(t, route, {});
      const run = async (c: V1Connection) => {
        const result = await c.client.callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } },
          undefined,
          // The handler makes the client send a progressToken. Counted on the wire, not in the handler: the v1
          // client drops a progress notification that it processes after the result (a race of its own).
          { onprogress: () => {} },
        );
        const progress = c.seen
          .notifications('notifications/progress')
          .map((n) => ({ progress: n.params?.progress, total: n.params?.total }));
        return { result, progress };
      };
      const [d, g] = await Promise.all([run(direct), run(gateway)]);
      assert.equal(d.progress.length, 3, 'direct: one notification per step');
      assert.deepEqual(g, d);
    });

    it('logging: logging/setLevel is honoured and log notifications arrive', async (t) => {
      const [direct, gateway] = await pair(t, route, {});
      for (const c of [direct, gateway]) {
        // At `error`, the info-level message server-everything logs for a subscribe is suppressed…
        await c.client.setLoggingLevel('error');
        await c.client.subscribeResource({ uri: 'demo://resource/dynamic/text/1' });
        // …at `info` it is sent.
        await c.client.setLoggingLevel('info');
        await c.client.subscribeResource({ uri: 'demo://resource/dynamic/text/2' });
      }
      await Promise.all([direct.seen.waitFor('notifications/message'), gateway.seen.waitFor('notifications/message')]);
      await sleep(200);
      const logs = (c: V1Connection) =>
        c.seen
          .notifications('notifications/message')
          .map((n) => n.params)
          .filter((p) => String(p?.data).includes('Subscribe'));
      assert.equal(logs(direct).length, 1);
      assert.match(String(logs(direct)[0]?.data), /dynamic\/text\/2/);
      assert.deepEqual(normalise(logs(gateway)), normalise(logs(direct)));
      // Simulated logging sends its first message at once (a random level, so only its arrival is compared).
      await c2(direct, gateway, (c) => c.client.setLoggingLevel('debug'));
      const count = (c: V1Connection) => c.seen.notifications('notifications/message').length;
      const [dn, gn] = [count(direct), count(gateway)];
      await c2(direct, gateway, (c) => c.client.callTool({ name: 'toggle-simulated-logging', arguments: {} }));
      await Promise.all([direct.seen.waitFor('notifications/message', dn + 1), gateway.seen.waitFor('notifications/message', gn + 1)]);
      await c2(direct, gateway, (c) => c.client.callTool({ name: 'toggle-simulated-logging', arguments: {} }));
    });

    it('resource subscriptions: notifications/resources/updated arrives for the subscribed URI', async (t) => {
      const [direct, gateway] = await pair(t, route, {});
      await c2(direct, gateway, (c) => c.client.subscribeResource({ uri: STATIC_DOC }));
      await c2(direct, gateway, (c) => c.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }));
      await Promise.all([direct.seen.waitFor('notifications/resources/updated'), gateway.seen.waitFor('notifications/resources/updated')]);
      await c2(direct, gateway, (c) => c.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }));
      const updated = (c: V1Connection) => c.seen.notifications('notifications/resources/updated').map((n) => n.params);
      assert.deepEqual(updated(direct)[0], { uri: STATIC_DOC });
      assert.deepEqual(updated(gateway)[0], updated(direct)[0]);
      await c2(direct, gateway, (c) => c.client.unsubscribeResource({ uri: STATIC_DOC }));
    });

    it('list changed: a resource registered by a tool is announced and then listed', async (t) => {
      const [direct, gateway] = await pair(t, route, {});
      const name = 'announced.gz';
      const data = `data:text/plain;base64,${Buffer.from('x').toString('base64')}`;
      // One after the other: server-everything keeps session resources by URI in one map per process, so on the
      // HTTP route the gateway session's registration replaces the direct session's.
      const run = async (c: V1Connection) => {
        await c.client.callTool({ name: 'gzip-file-as-resource', arguments: { name, data } });
        await c.seen.waitFor('notifications/resources/list_changed');
        return c.client.listResources();
      };
      const d = await run(direct);
      const g = await run(gateway);
      assert.ok(d.resources.some((r) => r.uri === `demo://resource/session/${name}`));
      assert.deepEqual(g, d);
    });
  });
}

/** Runs `fn` on the direct connection, then on the gateway one (in order: on the HTTP route they share one server). */
async function c2<T>(direct: V1Connection, gateway: V1Connection, fn: (c: V1Connection) => Promise<T>): Promise<[T, T]> {
  const d = await fn(direct);
  const g = await fn(gateway);
  return [d, g];
}
