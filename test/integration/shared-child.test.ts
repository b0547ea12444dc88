// `shared: true` stdio servers: one child serves every client session, and each session still gets its own answers.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EVERYTHING, startGateway, tempDir, writeGatewayConfig, type Running } from '../helpers/gateway.js';
import { connectV1, http } from '../helpers/clients.js';
import { received, RECORDER } from '../helpers/raw-mcp.js';

describe('shared: true', () => {
  let gateway: Running & { url: string };
  const record = path.join(tempDir('pl-shared-'), 'received.jsonl');

  before(async () => {
    const config = writeGatewayConfig({
      ev: { command: [process.execPath, EVERYTHING, 'stdio'], shared: true, tools: { 'get-sum': { action: 'deny', reason: 'no sums' } } },
      rec: { command: [process.execPath, RECORDER, 'stdio', '--record', record], shared: true },
    });
    gateway = await startGateway(config);
  });
  after(() => gateway.stop());

  it('concurrent sessions on one child each get their own results and progress, with their own ids', async () => {
    const a = await connectV1(http(`${gateway.url}/mcp/ev`));
    const b = await connectV1(http(`${gateway.url}/mcp/ev`));
    try {
      const progressA: number[] = [];
      const progressB: number[] = [];
      // Both clients number their requests from the same start, so ids and progress tokens collide upstream
      // unless the gateway renumbers them.
      const [ra, rb, ea, eb] = await Promise.all([
        a.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.4, steps: 2 } }, undefined, { onprogress: (p) => progressA.push(p.progress) }),
        b.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.4, steps: 4 } }, undefined, { onprogress: (p) => progressB.push(p.progress) }),
        a.client.callTool({ name: 'echo', arguments: { message: 'from a' } }),
        b.client.callTool({ name: 'echo', arguments: { message: 'from b' } }),
      ]);
      assert.match(JSON.stringify(ra), /Steps: 2\./);
      assert.match(JSON.stringify(rb), /Steps: 4\./);
      assert.deepEqual(ea, { content: [{ type: 'text', text: 'Echo: from a' }] });
      assert.deepEqual(eb, { content: [{ type: 'text', text: 'Echo: from b' }] });
      assert.deepEqual(progressA, [1, 2]);
      assert.deepEqual(progressB, [1, 2, 3, 4]);
      const denied = await b.client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
      assert.match(JSON.stringify(denied), /POLICY DENIED/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('starts one child for all sessions, initializes it once, and never forwards a later initialize', async () => {
    const sessions = [await connectV1(http(`${gateway.url}/mcp/rec`)), await connectV1(http(`${gateway.url}/mcp/rec`))];
    try {
      for (const s of sessions) await s.client.listTools();
      const frames = received(record);
      assert.equal(new Set(frames.map((f) => f.pid)).size, 1, 'more than one child process served the sessions');
      const initializes = frames.filter((f) => f.raw.includes('"initialize"'));
      assert.equal(initializes.length, 1);
      assert.equal(frames.filter((f) => f.raw.includes('tools/list')).length, 2);
    } finally {
      for (const s of sessions) await s.close();
    }
  });
});
