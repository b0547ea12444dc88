// Transparency with server-filesystem: same tools and file operations through wrap and start as direct; a denied write_file never touches the disk.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectV1, http, normalise, outcome, stdio, wrapped, type Endpoint, type V1Connection } from '../helpers/clients.js';
import { FILESYSTEM, startGateway, tempDir, writeGatewayConfig, type Running } from '../helpers/gateway.js';

const node = process.execPath;
const dir = tempDir('policylayer-fs-');
const REASON = 'the test tree is read-only';
const config = writeGatewayConfig({
  fs: { command: [node, FILESYSTEM, dir] },
  fsro: {
    command: [node, FILESYSTEM, dir],
    tools: { write_file: { action: 'deny', reason: REASON } },
    hide: ['move_file'],
  },
});

let gateway: Running & { url: string };
before(async () => {
  gateway = await startGateway(config);
});
after(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const direct = (): Endpoint => stdio(node, [FILESYSTEM, dir]);
const routes: { name: string; allowAll(): Endpoint; readOnly(): Endpoint }[] = [
  {
    name: 'wrap',
    allowAll: () => wrapped(['--', node, FILESYSTEM, dir]),
    readOnly: () => wrapped(['-c', config, '--server', 'fsro']),
  },
  {
    name: 'start',
    allowAll: () => http(`${gateway.url}/mcp/fs`),
    readOnly: () => http(`${gateway.url}/mcp/fsro`),
  },
];

const file = (name: string) => path.join(dir, name);
const textOf = (r: unknown) => ((r as { content?: { text?: string }[] }).content ?? []).map((c) => c.text).join('\n');

for (const route of routes) {
  describe(`server-filesystem through ${route.name}`, () => {
    let d: V1Connection;
    let g: V1Connection;
    before(async () => {
      [d, g] = await Promise.all([connectV1(direct()), connectV1(route.allowAll())]);
    });
    after(async () => {
      await Promise.all([d?.close(), g?.close()]);
    });

    it('tools/list is identical', async () => {
      const [ld, lg] = await Promise.all([d.client.listTools(), g.client.listTools()]);
      assert.deepEqual(lg, ld);
      assert.ok(ld.tools.some((t) => t.name === 'write_file'));
    });

    it('write, read, list and inspect a file: same results, and the file is on disk', async () => {
      const name = `note-${route.name}.txt`;
      const content = `written through ${route.name}\nsecond line\n`;
      // Same file, direct first, then through the gateway (which overwrites it with the same content): the
      // results name the same path, so they compare equal. The disk is checked after each write.
      const steps: [string, Record<string, unknown>][] = [
        ['write_file', { path: file(name), content }],
        ['read_text_file', { path: file(name) }],
        ['read_text_file', { path: file(name), head: 1 }],
        ['read_multiple_files', { paths: [file(name), file('missing.txt')] }],
        ['list_directory', { path: dir }],
        ['get_file_info', { path: file(name) }],
        ['search_files', { path: dir, pattern: `*${route.name}*` }],
        ['edit_file', { path: file(name), edits: [{ oldText: 'second', newText: '2nd' }], dryRun: true }],
        ['list_allowed_directories', {}],
        // Outside the allowed directory: the server's refusal comes back unchanged.
        ['read_text_file', { path: '/etc/hostname' }],
      ];
      for (const [tool, args] of steps) {
        const rd = await outcome(() => d.client.callTool({ name: tool, arguments: args }));
        if (tool === 'write_file') {
          assert.equal(readFileSync(file(name), 'utf8'), content);
          writeFileSync(file(name), 'clobbered');
        }
        const rg = await outcome(() => g.client.callTool({ name: tool, arguments: args }));
        if (tool === 'write_file') assert.equal(readFileSync(file(name), 'utf8'), content, 'the gateway write reached the disk');
        // get_file_info reports access/modification times, which the direct call and the gateway call may see
        // differ by a second; normalise() replaces wall-clock times.
        assert.deepEqual(normalise(rg), normalise(rd), `${tool} ${JSON.stringify(args)}`);
      }
      assert.match(textOf(await g.client.callTool({ name: 'read_text_file', arguments: { path: file(name) } })), /second line/);
    });
  });

  describe(`server-filesystem through ${route.name} with write_file denied and move_file hidden`, () => {
    let d: V1Connection;
    let g: V1Connection;
    before(async () => {
      [d, g] = await Promise.all([connectV1(direct()), connectV1(route.readOnly())]);
    });
    after(async () => {
      await Promise.all([d?.close(), g?.close()]);
    });

    it('tools/list: the direct list without move_file; write_file is still listed (deny is not hide)', async () => {
      const [ld, lg] = await Promise.all([d.client.listTools(), g.client.listTools()]);
      assert.deepEqual(lg.tools, ld.tools.filter((t) => t.name !== 'move_file'));
      assert.ok(lg.tools.some((t) => t.name === 'write_file'));
    });

    it('write_file is answered [POLICY DENIED] with rule and reason, and the file is not written', async () => {
      const target = file(`denied-${route.name}.txt`);
      const r = await g.client.callTool({ name: 'write_file', arguments: { path: target, content: 'must not exist' } });
      assert.equal(r.isError, true);
      const text = textOf(r);
      assert.match(text, /^\[POLICY DENIED\]/);
      assert.match(text, /write_file/);
      assert.match(text, /servers\.fsro\.tools\.write_file/);
      assert.ok(text.includes(REASON), `the reason is given: ${text}`);
      assert.equal(existsSync(target), false, 'the denied call never reached the server');
    });

    it('a hidden tool is answered as unknown, and the file is not moved', async () => {
      const source = file(`stay-${route.name}.txt`);
      writeFileSync(source, 'stay');
      const r = await outcome(() => g.client.callTool({ name: 'move_file', arguments: { source, destination: `${source}.moved` } }));
      assert.ok('error' in r, `a JSON-RPC error, not a result: ${JSON.stringify(r)}`);
      const error = r.error as { code: unknown; message: string };
      assert.equal(error.code, -32602);
      assert.match(error.message, /Unknown tool: move_file/);
      assert.equal(existsSync(source), true);
      assert.equal(existsSync(`${source}.moved`), false);
    });

    it('allowed tools still give the direct result', async () => {
      writeFileSync(file('readable.txt'), 'readable\n');
      for (const [tool, args] of [
        ['read_text_file', { path: file('readable.txt') }],
        ['list_directory', { path: dir }],
      ] as const) {
        const rd = await d.client.callTool({ name: tool, arguments: args });
        const rg = await g.client.callTool({ name: tool, arguments: args });
        assert.deepEqual(rg, rd, tool);
      }
    });
  });
}
