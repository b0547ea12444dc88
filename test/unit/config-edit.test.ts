// Editing servers in a policy file: everything outside the edited server stays byte for byte, bad results are not written.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { addServer, listServers, removeServer } from '../../src/config/edit.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors.js';

const HEAD = `# Policy for the support agents.
version: 1
gateway:
  listen: 127.0.0.1:8787            # host:port
  fail_mode: closed                 # refuse when the store is down

servers:
  # the filesystem, read-only
  fs:                               # served at /mcp/fs
    command: [npx, -y, "@modelcontextprotocol/server-filesystem", /data]   # stdio child
    env: { NODE_ENV: production }
    tools:
      read_file: allow
      write_file: { action: deny, reason: "This agent is read-only" }

  # payments need a person
  payments:
    command: [node, payments-server.js]
    tools:
      create_payment:
        action: require_approval    # money
        reason: "a person confirms"
      # refunds are not for agents
`;
const TAIL = `
# audit settings follow
audit:
  arguments: full
`;
const POLICY = HEAD + TAIL;

async function fixture(t: TestContext, text: string | undefined = POLICY): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pl-edit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'policylayer.yaml');
  if (text !== undefined) await writeFile(file, text);
  return { dir, file };
}

const read = (file: string) => readFile(file, 'utf8');

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    return err;
  }
  assert.fail('the edit was accepted');
}

test('adding a server inserts its lines after the last server and leaves every other byte as it was', async (t) => {
  const { file } = await fixture(t);
  await addServer(file, 'docs', { url: 'https://docs.example/mcp', headers: { Authorization: 'Bearer ${DOCS_TOKEN}' } });
  const entry = '\n  docs:\n    url: https://docs.example/mcp\n    headers:\n      Authorization: Bearer ${DOCS_TOKEN}\n';
  assert.equal(await read(file), HEAD + entry + TAIL);
  const config = parseConfig(await read(file), file, { DOCS_TOKEN: 't0ken' });
  assert.deepEqual(Object.keys(config.servers), ['fs', 'payments', 'docs']);
  assert.equal(config.servers['docs']?.headers?.['Authorization'], 'Bearer t0ken');
});

test('a missing file is created with version 1 and the server, and it loads', async (t) => {
  const { dir } = await fixture(t, undefined);
  const file = join(dir, 'nested', 'policylayer.yaml');
  await addServer(file, 'demo', { command: ['node', 'server.js', 'yes', '123'], env: { MODE: 'on' } });
  assert.equal(await read(file), 'version: 1\nservers:\n  demo:\n    command: [node, server.js, yes, "123"]\n    env:\n      MODE: on\n');
  const config = parseConfig(await read(file), file, {});
  assert.deepEqual(config.servers['demo']?.command, ['node', 'server.js', 'yes', '123']);
});

test('a name already in the file is refused, with how to replace or remove it, and the file is untouched', async (t) => {
  const { file } = await fixture(t);
  const err = await rejection(addServer(file, 'payments', { command: ['node', 'other.js'] }));
  assert.equal(err.code, 'USAGE');
  assert.match(err.message, /server "payments" is already in/);
  assert.match(err.message, /--replace/);
  assert.match(err.message, /policylayer servers remove payments/);
  assert.equal(await read(file), POLICY);
});

test('replace swaps how the server is reached, keeps its rules and comments, and leaves the other servers alone', async (t) => {
  const { file } = await fixture(t);
  await addServer(file, 'fs', { url: 'https://fs.example/mcp' }, { replace: true });
  const expected = POLICY.replace(
    '    command: [npx, -y, "@modelcontextprotocol/server-filesystem", /data]   # stdio child\n    env: { NODE_ENV: production }\n',
    '    url: https://fs.example/mcp\n',
  );
  assert.equal(await read(file), expected);
  const config = parseConfig(await read(file), file, {});
  assert.equal(config.servers['fs']?.url, 'https://fs.example/mcp');
  assert.equal(config.servers['fs']?.env, undefined);
  assert.deepEqual(Object.keys(config.servers['fs']?.tools ?? {}), ['read_file', 'write_file']);
});

test('an edit that would make the file invalid throws the problems and writes nothing', async (t) => {
  const { dir, file } = await fixture(t);
  const before = await stat(file);
  const cases = [
    { name: 'ftp', server: { url: 'ftp://files.example/mcp' }, problem: /is not an http:\/\/ or https:\/\/ URL/ },
    { name: 'local', server: { command: ['node', 's.js'], headers: { A: 'b' } }, problem: /`headers` only apply to `url` servers/ },
    { name: 'empty', server: { command: [] as string[] }, problem: /must not be empty/ },
  ];
  for (const { name, server, problem } of cases) {
    const err = await rejection(addServer(file, name, server));
    assert.ok(err instanceof ConfigError, name);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, new RegExp(`adding server "${name}" would make .* invalid, so it was not changed`));
    assert.match(err.message, problem);
    assert.ok(err.problems.length > 0);
  }
  assert.equal(await read(file), POLICY);
  assert.equal((await stat(file)).mtimeMs, before.mtimeMs);
  assert.deepEqual(await readdir(dir), ['policylayer.yaml'], 'no temp file is left behind');
});

test('a file that is already invalid is reported with its own line numbers and left as it is', async (t) => {
  const broken = POLICY.replace('  fail_mode: closed ', '  fail_mode: shut   ');
  const { file } = await fixture(t, broken);
  const err = await rejection(addServer(file, 'docs', { url: 'https://docs.example/mcp' }));
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /has problems; fix them first \(nothing was changed\)/);
  assert.equal(err.problems[0]?.line, 5);
  assert.equal(await read(file), broken);

  const { file: garbled } = await fixture(t, 'version: 1\nservers: [\n');
  const syntax = await rejection(removeServer(garbled, 'fs'));
  assert.match(syntax.message, /not valid YAML/);
  assert.equal(await read(garbled), 'version: 1\nservers: [\n');
});

test('bad names and specs are refused before the file is read', async (t) => {
  const { file } = await fixture(t);
  for (const name of ['', 'has space', 'a/b', '-lead', 'x'.repeat(65)]) {
    const err = await rejection(addServer(file, name, { command: ['x'] }));
    assert.equal(err.code, 'USAGE');
    assert.match(err.message, /invalid server name/);
  }
  assert.match((await rejection(addServer(file, 'a', {}))).message, /needs either a command .* or a url .*not neither/);
  assert.match((await rejection(addServer(file, 'a', { command: ['x'], url: 'http://h/mcp' }))).message, /not both/);
  assert.equal(await read(file), POLICY);
});

test('removing a server takes its lines and the comment above it; the rest stays byte for byte', async (t) => {
  const { file } = await fixture(t);
  assert.equal(await removeServer(file, 'payments'), true);
  const gone = '\n  # payments need a person\n  payments:\n    command: [node, payments-server.js]\n    tools:\n      create_payment:\n        action: require_approval    # money\n        reason: "a person confirms"\n      # refunds are not for agents\n';
  assert.ok(POLICY.includes(gone));
  assert.equal(await read(file), POLICY.replace(gone, ''));
  assert.deepEqual(Object.keys(parseConfig(await read(file), file, {}).servers), ['fs']);

  const before = await stat(file);
  assert.equal(await removeServer(file, 'payments'), false);
  assert.equal((await stat(file)).mtimeMs, before.mtimeMs);

  // The last server: an empty mapping keeps the file valid.
  assert.equal(await removeServer(file, 'fs'), true);
  assert.equal(await read(file), POLICY.slice(0, POLICY.indexOf('servers:')) + 'servers: {}\n' + TAIL);
  assert.deepEqual(parseConfig(await read(file), file, {}).servers, {});
  await addServer(file, 'fs', { command: ['node', 'fs.js'] });
  assert.deepEqual(Object.keys(parseConfig(await read(file), file, {}).servers), ['fs']);
});

test('removing from a missing file is a not-found error', async (t) => {
  const { dir } = await fixture(t, undefined);
  const err = await rejection(removeServer(join(dir, 'nope.yaml'), 'fs'));
  assert.equal(err.code, 'CONFIG_NOT_FOUND');
});

test('the file keeps its permissions, and a symlinked file is written through the link', async (t) => {
  const { dir, file } = await fixture(t);
  await chmod(file, 0o640);
  const link = join(dir, 'link.yaml');
  await symlink(file, link);
  await addServer(link, 'docs', { url: 'https://docs.example/mcp' });
  assert.equal((await stat(file)).mode & 0o777, 0o640);
  assert.equal(await readlink(link), file);
  assert.match(await read(file), /docs:\n {4}url: https:\/\/docs\.example\/mcp\n/);
});

test('layouts the line splicer does not handle still get a valid, equivalent file', async (t) => {
  const { file } = await fixture(t, 'version: 1\nservers: { fs: { command: [node, fs.js] } }  # flow style\n');
  await addServer(file, 'docs', { url: 'https://docs.example/mcp' });
  const config = parseConfig(await read(file), file, {});
  assert.deepEqual(Object.keys(config.servers), ['fs', 'docs']);
  assert.match(await read(file), /# flow style/);

  const { file: crlf } = await fixture(t, 'version: 1\r\nservers:\r\n  fs:\r\n    command: [node, fs.js]\r\n');
  await addServer(crlf, 'docs', { url: 'https://docs.example/mcp' });
  assert.equal(await read(crlf), 'version: 1\r\nservers:\r\n  fs:\r\n    command: [node, fs.js]\r\n  docs:\r\n    url: https://docs.example/mcp\r\n');

  const { file: empty } = await fixture(t, 'version: 1\nservers: {}   # none yet\n');
  await addServer(empty, 'fs', { command: ['node', 'fs.js'] });
  assert.equal(await read(empty), 'version: 1\nservers:   # none yet\n  fs:\n    command: [node, fs.js]\n');

  const { file: noServers } = await fixture(t, '# just a comment\nversion: 1');
  await addServer(noServers, 'fs', { command: ['node', 'fs.js'] });
  assert.equal(await read(noServers), '# just a comment\nversion: 1\nservers:\n  fs:\n    command: [node, fs.js]\n');
});

test('an unset ${VAR} does not block an edit; listServers shows references as written', async (t) => {
  const { file } = await fixture(t);
  delete process.env['PL_EDIT_TEST_UNSET'];
  await addServer(file, 'remote', { url: 'https://r.example/mcp', headers: { Authorization: 'Bearer ${PL_EDIT_TEST_UNSET}' } });
  await addServer(file, 'local', { command: ['node', 'l.js', '--token=${PL_EDIT_TEST_UNSET}'] });
  assert.deepEqual(await listServers(file), [
    { name: 'fs', command: ['npx', '-y', '@modelcontextprotocol/server-filesystem', '/data'] },
    { name: 'payments', command: ['node', 'payments-server.js'] },
    { name: 'remote', url: 'https://r.example/mcp' },
    { name: 'local', command: ['node', 'l.js', '--token=${PL_EDIT_TEST_UNSET}'] },
  ]);
});
