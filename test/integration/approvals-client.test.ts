// approval_via: client — a v1 SDK client that declares elicitation is asked to approve the held call: accept
// releases it, decline denies it; the question never reaches the server; a client without elicitation is not
// asked and the call waits for the other channels.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { RECORDER } from '../helpers/raw-mcp.js';
import { receivedArgs, writePolicy } from '../helpers/limits-rig.js';
import { runCli, toolText } from '../helpers/cli-run.js';


async function rig(t: TestContext): Promise<{ url: string; file: string; record: string }> {
  const dir = tempDir('pl-approvals-client-');
  const record = path.join(dir, 'record.jsonl');
  const file = writePolicy(
    {
      gateway: { state: `sqlite:${path.join(dir, 'state.db')}` },
      servers: {
        s: {
          command: [process.execPath, RECORDER, 'stdio', '--record', record],
          approval_via: 'client',
          tools: { pay: { action: 'require_approval', approval_timeout: '20s', reason: 'payments need a person' } },
        },
      },
    },
    dir,
  );
  const gw = await startGateway(file);
  t.after(() => gw.stop());
  return { url: `${gw.url}/mcp/s`, file, record };
}

/** A v1 client; with `answer`, it declares elicitation and answers every question with it. */
async function connect(t: TestContext, url: string, answer?: (message: string) => ElicitResult): Promise<{ client: Client; asked: string[] }> {
  const asked: string[] = [];
  const client = new Client({ name: 'approver-app', version: '1.0.0' }, { capabilities: answer ? { elicitation: {} } : {} });
  if (answer) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return answer(req.params.message);
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  t.after(() => client.close());
  return { client, asked };
}

const text = toolText;

describe('approval_via: client', { concurrency: false }, () => {
  test('the user accepts in the client: the call goes through with the real result; the question never reaches the server', async (t) => {
    const r = await rig(t);
    const { client, asked } = await connect(t, r.url, () => ({ action: 'accept', content: { approve: true } }));
    const result = await client.callTool({ name: 'pay', arguments: { amount: 12 } });
    assert.equal(result.isError, undefined, text(result));
    assert.match(text(result), /paid 12/);
    assert.equal(asked.length, 1);
    assert.match(asked[0]!, /"pay" on "s" with \{"amount":12\}.*payments need a person/);
    const frames = readFileSync(r.record, 'utf8');
    assert.ok(!frames.includes('policylayer-approval-'), 'the elicitation and its answer stayed between client and gateway');
    assert.deepEqual(receivedArgs(r.record, 'pay'), [{ amount: 12 }]);
  });

  test('the user declines (or leaves approve unticked): [POLICY DENIED], nothing forwarded', async (t) => {
    const r = await rig(t);
    const decline = await connect(t, r.url, () => ({ action: 'decline' }));
    const refused = await decline.client.callTool({ name: 'pay', arguments: { amount: 99 } });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /denied by client user via client: declined at the client/);
    const unticked = await connect(t, r.url, () => ({ action: 'accept', content: { approve: false } }));
    const refused2 = await unticked.client.callTool({ name: 'pay', arguments: { amount: 98 } });
    assert.match(text(refused2), /not approved at the client/);
    assert.equal(receivedArgs(r.record, 'pay').length, 0);
  });

  test('a client without elicitation is not asked: the call waits for another channel', async (t) => {
    const r = await rig(t);
    const { client } = await connect(t, r.url);
    const call = client.callTool({ name: 'pay', arguments: { amount: 3 } });
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      const { stdout } = await runCli('approvals', 'list', '-c', r.file, '--json');
      id = (JSON.parse(stdout) as { id: string }[])[0]?.id;
      if (!id) await sleep(100);
    }
    assert.ok(id);
    assert.equal((await runCli('approvals', 'approve', id, '-c', r.file)).code, 0);
    assert.match(text(await call), /paid 3/);
  });
});
