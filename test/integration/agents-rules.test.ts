// Per-agent rules through `policylayer start`: two agents declared in the file, one tool allowed for one and denied
// for the other, one tool shown to one and hidden from the other — on a stdio server (message sessions) and on a
// `url:` server (the Streamable HTTP pipe), both lenient recorders that would run any spelling. The recordings prove
// that no refused call arrived.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectV1, connectV2, http } from '../helpers/clients.js';
import { toolText } from '../helpers/cli-run.js';
import { startGateway, tempDir, testAuditLog, writeConfig, type Running } from '../helpers/gateway.js';
import { RECORDER, receivedCalls, startRecorderHttp } from '../helpers/raw-mcp.js';

const token = (label: string) => `plg_${Buffer.from(`rules-token-${label}`.padEnd(32, '.')).toString('base64url')}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CI = token('ci');
const BOT = token('bot');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

const dir = tempDir('pl-agent-rules-');
const records = { a: path.join(dir, 'a.jsonl'), b: path.join(dir, 'b.jsonl') };
let gateway: Running & { url: string };
let remote: Running & { url: string };

// The same rules on both servers: only ci may delete, only ci sees secret_tool, support-bot may not read files.
const tools = {
  delete_file: [{ agents: ['ci'], action: 'allow' }, { action: 'deny', reason: 'only CI deletes files' }],
  secret_tool: [{ agents: ['ci'], action: 'allow' }, 'hide'],
  read_file: { agents: ['support-bot'], action: 'deny', reason: 'support-bot reads no files' },
};

before(async () => {
  remote = await startRecorderHttp(records.b, true);
  const config = {
    version: 1,
    gateway: { listen: '127.0.0.1:0', state: 'memory:', audit: testAuditLog(dir) },
    agents: { ci: { token_sha256: sha256(CI), servers: '*' }, 'support-bot': { token_sha256: sha256(BOT), servers: '*' } },
    servers: {
      a: { command: [process.execPath, RECORDER, 'stdio', '--record', records.a, '--lenient'], default: 'allow', tools },
      b: { url: remote.url, default: 'allow', tools },
    },
  };
  gateway = await startGateway(writeConfig(JSON.stringify(config, null, 2), dir));
});
after(async () => {
  await gateway?.stop();
  await remote?.stop();
});

/** What both SDK generations' clients offer for listing. */
interface Lister {
  listTools(params: { cursor?: string }): Promise<{ tools: { name: string }[]; nextCursor?: string | undefined }>;
}

async function listedNames(client: Lister): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names.sort();
}

for (const server of ['a', 'b'] as const) {
  describe(`server ${server} (${server === 'a' ? 'stdio, message sessions' : 'url:, Streamable HTTP pipe'})`, () => {
    test('the same tool is allowed for one agent and denied or hidden for the other; the refused calls never arrive', async () => {
      const ci = await connectV1(http(`${gateway.url}/mcp/${server}`, bearer(CI)));
      const bot = await connectV2(http(`${gateway.url}/mcp/${server}`, bearer(BOT)));
      try {
        const ciSees = await listedNames(ci.client);
        const botSees = await listedNames(bot.client);
        assert.ok(ciSees.includes('secret_tool'), `ci sees secret_tool: ${ciSees.join(', ')}`);
        assert.ok(!botSees.includes('secret_tool'), `support-bot does not: ${botSees.join(', ')}`);
        assert.deepEqual(botSees, ciSees.filter((n) => n !== 'secret_tool'), 'nothing else differs');

        const ciDelete = await ci.client.callTool({ name: 'delete_file', arguments: { path: '/tmp/x' } });
        assert.equal(ciDelete.isError ?? false, false, toolText(ciDelete));
        assert.equal((await ci.client.callTool({ name: 'secret_tool', arguments: {} })).isError ?? false, false);

        const botDelete = await bot.client.callTool({ name: 'delete_file', arguments: { path: '/tmp/x' } });
        assert.equal(botDelete.isError, true);
        assert.match(toolText(botDelete), new RegExp(`\\[POLICY DENIED\\].*servers\\.${server}\\.tools\\.delete_file\\[1\\]: only CI deletes files`));
        // A spelling the lenient server would run as delete_file is bound by support-bot's rule for it.
        const botSpelled = await bot.client.callTool({ name: 'DELETE-FILE', arguments: { path: '/tmp/x' } });
        assert.match(toolText(botSpelled), /\[POLICY DENIED\]/);
        const botSecret = await bot.client.callTool({ name: 'secret_tool', arguments: {} }).catch((err: Error) => err);
        assert.match(botSecret instanceof Error ? botSecret.message : toolText(botSecret), /Unknown tool|not found/i, 'hidden: answered as unknown');
        const botRead = await bot.client.callTool({ name: 'read_file', arguments: { path: '/etc/hosts' } });
        assert.match(toolText(botRead), /\[POLICY DENIED\].*support-bot reads no files/);
        const ciRead = await ci.client.callTool({ name: 'read_file', arguments: { path: '/etc/hosts' } });
        assert.equal(ciRead.isError ?? false, false, 'the rule for support-bot does not apply to ci');

        assert.deepEqual(receivedCalls(records[server]), ['delete_file', 'secret_tool', 'read_file'], 'only the calls of ci reached the server');
      } finally {
        await ci.close();
        await bot.close();
      }
    });
  });
}
