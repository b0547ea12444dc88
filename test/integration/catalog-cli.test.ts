// The catalogue verbs against the real npm servers (filesystem, everything): `servers add|list` register a server
// only once its tools are listed and classified, keeping the file's comments; `catalog show` reads the result;
// `scan` lists and classifies, and `--write-policy` writes a policy that a gateway started on it enforces.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, parseDocument } from 'yaml';
import { EVERYTHING, FILESYSTEM, startEverythingHttp, startGateway, tempDir, testAuditLog } from '../helpers/gateway.js';
import { connectV1, http, stdio } from '../helpers/clients.js';
import { runCli, toolText } from '../helpers/cli-run.js';

const CATEGORIES = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'];
const RISKS = ['Low', 'Medium', 'High', 'Critical'];
const FS_COMMAND = (dir: string) => [process.execPath, FILESYSTEM, dir];
const EVERYTHING_COMMAND = [process.execPath, EVERYTHING, 'stdio'];

interface Rig {
  dir: string;
  /** The directory the filesystem server may use. */
  files: string;
  file: string;
}

/** A policy file with comments (and no servers yet) whose state and audit live in the test's own directory. */
function rig(): Rig {
  const dir = tempDir('pl-catalog-cli-');
  const files = path.join(dir, 'files');
  mkdirSync(files);
  const file = path.join(dir, 'policylayer.yaml');
  writeFileSync(
    file,
    [
      '# Team policy: reviewed by security every quarter.',
      'version: 1',
      'gateway:',
      '  listen: 127.0.0.1:0   # any free port',
      `  state: sqlite:${path.join(dir, 'state.db')}`,
      `  audit: ${testAuditLog(dir)}`,
      '# The servers the agents may reach.',
      'servers: {}',
      '',
    ].join('\n'),
  );
  return { dir, files, file };
}

interface CatalogPage {
  tool: string;
  category: string;
  risk: string;
  evidence: string[];
  recommended: { rule: unknown; summary: string };
}

async function catalogJson(file: string, ...args: string[]): Promise<unknown> {
  const r = await runCli('catalog', 'show', ...args, '-c', file, '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The category heading a tool's row sits under in a scan table, and the risk in that row. */
function tableRow(table: string, tool: string): { category: string; risk: string } | undefined {
  let category: string | undefined;
  for (const line of table.split('\n')) {
    const heading = /^\s+(\w+) \(\d+\)$/.exec(line);
    if (heading) category = heading[1];
    const row = new RegExp(`^\\s+${tool}\\s+(\\w+)\\s`).exec(line);
    if (row && category) return { category, risk: row[1]! };
  }
  return undefined;
}

describe('servers add | list | remove and catalog show', { concurrency: false }, () => {
  test('add lists and classifies the tools, then writes the server into the file, comments kept', async () => {
    const r = rig();
    const added = await runCli('servers', 'add', 'fs', '-c', r.file, '--', ...FS_COMMAND(r.files));
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added server "fs"/);
    const row = tableRow(added.stdout, 'write_file');
    assert.ok(row, `write_file is in the table:\n${added.stdout}`);
    assert.ok(['Destructive', 'Write'].includes(row.category), `write_file is under ${row.category}`);
    assert.ok(['High', 'Critical'].includes(row.risk), `write_file overwrites files without warning, yet its risk is ${row.risk}`);

    const text = readFileSync(r.file, 'utf8');
    for (const comment of ['# Team policy: reviewed by security every quarter.', '# any free port', '# The servers the agents may reach.']) {
      assert.ok(text.includes(comment), `"${comment}" is kept:\n${text}`);
    }
    assert.deepEqual(
      (parse(text) as { servers: Record<string, unknown> }).servers.fs,
      { command: FS_COMMAND(r.files), default: 'by_risk', on_tool_change: 'block' },
      'a new server is written safe: tools no rule names follow their risk class',
    );
    assert.match(added.stdout, /servers\.fs: tools no rule names follow their risk class/);
    const valid = await runCli('validate', '-c', r.file);
    assert.equal(valid.code, 0, valid.stderr + valid.stdout);

    const second = await runCli('servers', 'add', 'everything', '-c', r.file, '--', ...EVERYTHING_COMMAND);
    assert.equal(second.code, 0, second.stderr);
    const fsTools = (await catalogJson(r.file, 'fs')) as CatalogPage[];
    const everythingTools = (await catalogJson(r.file, 'everything')) as CatalogPage[];
    assert.ok(fsTools.some((t) => t.tool === 'write_file') && everythingTools.some((t) => t.tool === 'echo'));

    const list = await runCli('servers', 'list', '-c', r.file);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^fs\\s.*${FILESYSTEM.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*\\s${fsTools.length} tools: `, 'm'));
    assert.match(list.stdout, new RegExp(`^everything\\s.*\\s${everythingTools.length} tools: `, 'm'));
    const listed = JSON.parse((await runCli('servers', 'list', '-c', r.file, '--json')).stdout) as { name: string; catalogue: string }[];
    assert.deepEqual(
      listed.map((s) => [s.name, s.catalogue.split(':')[0]]),
      [
        ['fs', `${fsTools.length} tools`],
        ['everything', `${everythingTools.length} tools`],
      ],
    );

    const page = (await catalogJson(r.file, 'fs', 'write_file')) as CatalogPage;
    assert.equal(page.tool, 'write_file');
    assert.equal(page.category, row.category, 'the page and the table agree');
    assert.equal(page.risk, row.risk);
    assert.ok(page.evidence.length > 0 && page.evidence.every((e) => typeof e === 'string' && e.length > 0));
    assert.ok(page.recommended.rule !== undefined && page.recommended.summary.includes('write_file'));
    if (page.category === 'Destructive') assert.equal((page.recommended.rule as { action?: string }).action, 'require_approval');
    const md = await runCli('catalog', 'show', 'fs', 'write_file', '-c', r.file, '--format', 'md');
    assert.equal(md.code, 0, md.stderr);
    assert.ok(md.stdout.startsWith('# write_file\n'), md.stdout.slice(0, 200));
  });

  test('a server just added is safe before any rule: its Read tools answer, its Critical ones are held for approval', async (t) => {
    const r = rig();
    const added = await runCli('servers', 'add', 'fs', '-c', r.file, '--', ...FS_COMMAND(r.files));
    assert.equal(added.code, 0, added.stderr);
    const gw = await startGateway(r.file);
    t.after(() => gw.stop());
    const c = await connectV1(http(`${gw.url}/mcp/fs`));
    t.after(() => c.close());
    const listed = await c.client.callTool({ name: 'list_allowed_directories', arguments: {} });
    assert.equal(listed.isError ?? false, false, toolText(listed));
    const effect = WRITES.write_file!(r.files);
    const call = c.client.callTool({ name: 'write_file', arguments: effect.args });
    const pending = await pendingApproval(r.file, 'write_file');
    assert.equal(effect.happened(), false, 'nothing reached the server while the call is held');
    assert.equal((await runCli('approvals', 'deny', pending.id, '--reason', 'not today', '-c', r.file)).code, 0);
    const result = await call;
    assert.match(toolText(result), /^\[POLICY DENIED\]/);
    assert.equal(effect.happened(), false, 'write_file never ran');

    const open = await runCli('servers', 'add', 'fs2', '-c', r.file, '--default', 'allow', '--on-tool-change', 'record', '--', ...FS_COMMAND(r.files));
    assert.equal(open.code, 0, open.stderr);
    assert.deepEqual((parse(readFileSync(r.file, 'utf8')) as { servers: Record<string, unknown> }).servers.fs2, {
      command: FS_COMMAND(r.files),
      default: 'allow',
      on_tool_change: 'record',
    });
    const bad = await runCli('servers', 'add', 'fs3', '-c', r.file, '--default', 'maybe', '--', ...FS_COMMAND(r.files));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--default must be one of by_risk, allow, deny, require_approval, not "maybe"/);
  });

  test('add --url registers a remote server as scan --upstream sees it; remove takes it out of the file and the catalogue', async (t) => {
    const r = rig();
    const everything = await startEverythingHttp();
    t.after(() => everything.stop());
    const added = await runCli('servers', 'add', 'remote', '-c', r.file, '--url', everything.url);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual((parse(readFileSync(r.file, 'utf8')) as { servers: Record<string, unknown> }).servers.remote, { url: everything.url, default: 'by_risk', on_tool_change: 'block' });
    const catalogued = ((await catalogJson(r.file, 'remote')) as CatalogPage[]).map((p) => p.tool).sort();

    const scan = await runCli('scan', '--json', '--upstream', everything.url);
    assert.equal(scan.code, 0, scan.stderr);
    const [result] = JSON.parse(scan.stdout) as { server: string; tools: { name: string }[] }[];
    assert.equal(result!.server, 'remote', 'an IP address is no name; the generic one is used');
    assert.deepEqual(result!.tools.map((tool) => tool.name).sort(), catalogued);

    const removed = await runCli('servers', 'remove', 'remote', '-c', r.file);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`removed server "remote" .* its ${catalogued.length} tools from the catalogue`));
    const text = readFileSync(r.file, 'utf8');
    assert.ok(text.includes('# The servers the agents may reach.'), text);
    assert.equal((parse(text) as { servers?: Record<string, unknown> }).servers?.remote, undefined);
    assert.equal((await runCli('catalog', 'show', 'remote', '-c', r.file)).code, 1);
    assert.equal((await runCli('servers', 'remove', 'remote', '-c', r.file)).code, 1, 'removing it twice is an error');
  });

  test('a server whose tools cannot be listed is reported with its own words, and nothing is written', async () => {
    const r = rig();
    const before = readFileSync(r.file);
    const broken = await runCli('servers', 'add', 'broken', '-c', r.file, '--', process.execPath, '-e', "console.error('missing API key'); process.exit(3)");
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /could not list the tools/);
    assert.match(broken.stderr, /missing API key/);
    assert.deepEqual(readFileSync(r.file), before, 'the policy file is byte-for-byte unchanged');
    const show = await runCli('catalog', 'show', 'broken', '-c', r.file);
    assert.equal(show.code, 1, 'nothing was catalogued either');
  });
});

describe('scan', { concurrency: false }, () => {
  test('--json lists every tool of a command with its category and risk', async (t) => {
    const direct = await connectV1(stdio(process.execPath, [EVERYTHING, 'stdio']));
    t.after(() => direct.close());
    const served = (await direct.client.listTools()).tools.map((tool) => tool.name).sort();

    const scan = await runCli('scan', '--json', '--', ...EVERYTHING_COMMAND);
    assert.equal(scan.code, 0, scan.stderr);
    const [result, ...more] = JSON.parse(scan.stdout) as { server: string; tools: { name: string; category: string; risk: string }[] }[];
    assert.equal(more.length, 0);
    assert.equal(result!.server, 'server-everything');
    assert.deepEqual(result!.tools.map((tool) => tool.name).sort(), served);
    for (const tool of result!.tools) {
      assert.ok(CATEGORIES.includes(tool.category), `${tool.name}: category ${tool.category}`);
      assert.ok(RISKS.includes(tool.risk), `${tool.name}: risk ${tool.risk}`);
    }
  });

  test('--write-policy writes a policy that validates and that a gateway enforces: Read allowed, held calls never reach the server', async (t) => {
    const r = rig();
    const doc = parseDocument(readFileSync(r.file, 'utf8'));
    doc.setIn(['servers'], doc.createNode({ fs: { command: FS_COMMAND(r.files) }, everything: { command: EVERYTHING_COMMAND } }));
    writeFileSync(r.file, doc.toString());
    const out = path.join(r.dir, 'recommended.yaml');
    const scan = await runCli('scan', '-c', r.file, '--write-policy', out);
    assert.equal(scan.code, 0, scan.stderr);
    assert.match(scan.stderr, /wrote .*recommended\.yaml/);
    const valid = await runCli('validate', '-c', out);
    assert.equal(valid.code, 0, valid.stderr + valid.stdout);

    const policy = parseDocument(readFileSync(out, 'utf8'));
    const written = (policy.toJS() as { servers: Record<string, { tools: Record<string, unknown> }> }).servers;
    assert.deepEqual(Object.keys(written), ['fs', 'everything']);
    assert.ok('echo' in written.everything!.tools, 'every scanned server has its rules');
    const fsRules = written.fs!.tools;
    const action = (rule: unknown) => (typeof rule === 'string' ? rule : (rule as { action?: string } | undefined)?.action);
    const readTool = ['list_allowed_directories', 'read_text_file'].find((name) => fsRules[name] === 'allow');
    assert.ok(readTool, `a Read tool of the filesystem server is allowed: ${JSON.stringify(fsRules)}`);
    const heldTool = Object.keys(WRITES).find((name) => action(fsRules[name]) === 'require_approval');
    assert.ok(heldTool, `a tool that writes files is held for approval: ${JSON.stringify(fsRules)}`);

    // The scanned file's gateway block is carried over as written: the policy runs where the scan's catalogue is.
    assert.deepEqual(policy.toJS().gateway, { listen: '127.0.0.1:0', state: `sqlite:${path.join(r.dir, 'state.db')}`, audit: testAuditLog(r.dir) });
    const gw = await startGateway(out);
    t.after(() => gw.stop());
    const c = await connectV1(http(`${gw.url}/mcp/fs`));
    t.after(() => c.close());
    const visible = (await c.client.listTools()).tools.map((tool) => tool.name);
    assert.ok(visible.includes(readTool) && visible.includes(heldTool), visible.join(', '));

    writeFileSync(path.join(r.files, 'hello.txt'), 'hello from the test');
    const read = await c.client.callTool({ name: readTool, arguments: readTool === 'read_text_file' ? { path: path.join(r.files, 'hello.txt') } : {} });
    assert.equal(read.isError ?? false, false, toolText(read));
    assert.match(toolText(read), readTool === 'read_text_file' ? /hello from the test/ : new RegExp(path.basename(r.files)));

    const effect = WRITES[heldTool]!(r.files);
    const call = c.client.callTool({ name: heldTool, arguments: effect.args });
    const pending = await pendingApproval(out, heldTool);
    assert.deepEqual(pending.args, effect.args, 'the approver sees exactly what would run');
    assert.equal(effect.happened(), false, 'nothing reached the server while the call is held');
    const denied = await runCli('approvals', 'deny', pending.id, '--reason', 'test', '-c', out);
    assert.equal(denied.code, 0, denied.stderr);
    const result = await call;
    assert.equal(result.isError, true);
    assert.match(toolText(result), /^\[POLICY DENIED\]/);
    assert.match(toolText(result), /via cli: test/);
    assert.equal(effect.happened(), false, `${heldTool} never ran`);
  });

  test('-c scans several servers at once, reports each (in the file\'s order) and which could not be scanned', async () => {
    const r = rig();
    const doc = parseDocument(readFileSync(r.file, 'utf8'));
    const broken = [process.execPath, '-e', 'process.stderr.write("no credentials\\n"); process.exit(3)'];
    doc.setIn(['servers'], doc.createNode({ fs: { command: FS_COMMAND(r.files) }, broken: { command: broken }, everything: { command: EVERYTHING_COMMAND } }));
    writeFileSync(r.file, doc.toString());
    const scan = await runCli('scan', '-c', r.file, '--json');
    assert.equal(scan.code, 1, 'a server that could not be scanned makes the exit code 1');
    const results = JSON.parse(scan.stdout) as { server: string; tools?: unknown[]; error?: string }[];
    assert.deepEqual(results.map((x) => x.server), ['fs', 'broken', 'everything']);
    assert.ok(results[0]!.tools!.length > 5 && results[2]!.tools!.length > 5);
    assert.match(results[1]!.error ?? '', /no credentials/);
    const steps = scan.stderr.split('\n').filter((l) => /^\[\d\/3\] scanned /.test(l));
    assert.deepEqual(steps.map((l) => l.slice(0, 5)).sort(), ['[1/3]', '[2/3]', '[3/3]'], scan.stderr);
    assert.deepEqual(steps.map((l) => l.replace(/^\[\d\/3\] scanned /, '')).sort(), ['broken', 'everything', 'fs']);
  });

  test('--write-policy refuses to replace an existing file without --force', async () => {
    const r = rig();
    const existing = path.join(r.dir, 'mine.yaml');
    writeFileSync(existing, '# my hand-written policy\nversion: 1\nservers: {}\n');
    const before = readFileSync(existing);
    const scan = await runCli('scan', '--write-policy', existing, '--', ...EVERYTHING_COMMAND);
    assert.notEqual(scan.code, 0);
    assert.match(scan.stderr, /exists/);
    assert.match(scan.stderr, /--force/);
    assert.deepEqual(readFileSync(existing), before);
  });
});

/** Arguments for each filesystem tool that would leave a trace on disk, and how to see that trace. */
const WRITES: Record<string, (dir: string) => { args: Record<string, unknown>; happened(): boolean }> = {
  write_file: (dir) => {
    const target = path.join(dir, 'written.txt');
    return { args: { path: target, content: 'should never be written' }, happened: () => existsSync(target) };
  },
  create_directory: (dir) => {
    const target = path.join(dir, 'made');
    return { args: { path: target }, happened: () => existsSync(target) };
  },
  move_file: (dir) => {
    const source = path.join(dir, 'to-move.txt');
    const destination = path.join(dir, 'moved.txt');
    writeFileSync(source, 'stay');
    return { args: { source, destination }, happened: () => existsSync(destination) || !existsSync(source) };
  },
};

/** The pending approval for `tool` once the gateway has created it. */
async function pendingApproval(file: string, tool: string): Promise<{ id: string; args: unknown }> {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await runCli('approvals', 'list', '-c', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    const found = (JSON.parse(r.stdout) as { id: string; tool: string; server: string; args: unknown }[]).find((a) => a.tool === tool && a.server === 'fs');
    if (found) return found;
    if (Date.now() > end) assert.fail(`no pending approval for ${tool}`);
    await sleep(100);
  }
}
