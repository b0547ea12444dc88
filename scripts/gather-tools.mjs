// Gathers real MCP tool declarations (tools/list) from npm-published servers for the labelled classifier fixture.
//
// Not used by the tests: it only (re)builds the raw material behind test/fixtures/tools-labelled.jsonl.
// Everything is installed OUTSIDE the project, in a scratch directory (default /tmp/mcp-scan, or $MCP_SCAN_DIR):
//
//   node scripts/gather-tools.mjs install   # npm-installs the SDK and every server below (with --ignore-scripts)
//   node scripts/gather-tools.mjs list      # starts each server over stdio, pages tools/list, writes <scan>/raw/*.json
//   node scripts/gather-tools.mjs merge     # writes test/fixtures/tools-labelled.jsonl from raw/*.json plus labels
//
// `merge` keeps the label of every tool already in the fixture (keyed by server + name) and takes new labels
// from <scan>/labels.json ({"<server>/<tool>": "Read|Write|Execute|Destructive|Financial"}); tools with no label
// are reported and left out, so a re-run never invents a label. README-sourced tools (servers that would not
// start) are kept as they are in the fixture. Servers get dummy credentials: tools/list needs none of them to
// be valid, and no tool is ever called.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const scanDir = process.env.MCP_SCAN_DIR ?? '/tmp/mcp-scan';
const fixturePath = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'tools-labelled.jsonl');
const DUMMY = 'x';

// One entry per server: the npm package, the version listed, and how to start it so tools/list answers offline.
const SERVERS = [
  { pkg: '@modelcontextprotocol/server-filesystem', version: '2026.8.31', args: ['/tmp'] },
  { pkg: '@modelcontextprotocol/server-everything', version: '2026.8.31', args: ['stdio'] },
  { pkg: '@modelcontextprotocol/server-memory', version: '2026.8.31', env: { MEMORY_FILE_PATH: '/tmp/mcp-scan/memory.json' } },
  { pkg: '@modelcontextprotocol/server-github', version: '2025.4.8', env: { GITHUB_PERSONAL_ACCESS_TOKEN: DUMMY } },
  { pkg: '@modelcontextprotocol/server-puppeteer', version: '2025.5.12' },
  { pkg: '@modelcontextprotocol/server-brave-search', version: '0.6.2', env: { BRAVE_API_KEY: DUMMY } },
  { pkg: '@modelcontextprotocol/server-slack', version: '2025.4.25', env: { SLACK_BOT_TOKEN: DUMMY, SLACK_TEAM_ID: DUMMY } },
  { pkg: '@modelcontextprotocol/server-gitlab', version: '2025.4.25', env: { GITLAB_PERSONAL_ACCESS_TOKEN: DUMMY } },
  { pkg: '@modelcontextprotocol/server-google-maps', version: '0.6.2', env: { GOOGLE_MAPS_API_KEY: DUMMY } },
  { pkg: '@modelcontextprotocol/server-postgres', version: '0.6.2', args: ['postgresql://postgres@127.0.0.1:5432/test'] },
  { pkg: '@modelcontextprotocol/server-redis', version: '2025.4.25', args: ['redis://127.0.0.1:6379'] },
  { pkg: '@modelcontextprotocol/server-sequential-thinking', version: '2026.8.31' },
  { pkg: '@modelcontextprotocol/server-aws-kb-retrieval', version: '0.6.2', env: { AWS_ACCESS_KEY_ID: DUMMY, AWS_SECRET_ACCESS_KEY: DUMMY, AWS_REGION: 'us-east-1' } },
  { pkg: '@modelcontextprotocol/server-everart', version: '0.6.2', env: { EVERART_API_KEY: DUMMY } },
  { pkg: '@playwright/mcp', version: '0.0.83', args: ['--caps=vision,pdf,testing,tracing'] },
  { pkg: '@notionhq/notion-mcp-server', version: '2.5.2', env: { NOTION_TOKEN: DUMMY } },
  // 0.3.x only proxies to Stripe's remote server; 0.2.5 is the last version that declares its tools locally.
  { pkg: '@stripe/mcp', version: '0.2.5', args: ['--tools=all', '--api-key=sk_test_x'] },
  // PayPal ships its MCP server as a class with no bin: a launcher enables every action (product/action pair).
  { pkg: '@paypal/agent-toolkit', version: '1.8.0', launcher: [
    "import { PayPalAgentToolkit } from '@paypal/agent-toolkit/mcp';",
    "import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';",
    "const everyAction = new Proxy({}, { get: () => new Proxy({}, { get: () => true }) });",
    "const server = new PayPalAgentToolkit({ accessToken: 'x', configuration: { actions: everyAction, context: { sandbox: true } } });",
    "await server.connect(new StdioServerTransport());",
  ].join('\n') },
  { pkg: '@supabase/mcp-server-supabase', version: '0.13.0', args: ['--access-token=x'] },
  { pkg: '@cloudflare/mcp-server-cloudflare', version: '0.2.0', args: ['run', DUMMY], env: { CLOUDFLARE_API_TOKEN: DUMMY, CLOUDFLARE_ACCOUNT_ID: DUMMY } },
  { pkg: 'mcp-server-kubernetes', version: '4.1.7', env: { ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS: 'false' } },
  { pkg: '@upstash/context7-mcp', version: '4.1.1' },
  { pkg: 'firecrawl-mcp', version: '3.26.0', env: { FIRECRAWL_API_KEY: DUMMY } },
  { pkg: '@sentry/mcp-server', version: '0.39.0', args: ['--access-token=x'] },
  { pkg: '@heroku/mcp-server', version: '1.2.8', env: { HEROKU_API_KEY: DUMMY } },
  { pkg: '@hubspot/mcp-server', version: '0.4.0', env: { PRIVATE_APP_ACCESS_TOKEN: DUMMY } },
  { pkg: '@azure/mcp', version: '2.0.5', args: ['server', 'start'] },
  { pkg: '@shopify/dev-mcp', version: '1.16.0' },
  { pkg: '@circleci/mcp-server-circleci', version: '0.20.0', env: { CIRCLECI_TOKEN: DUMMY } },
  { pkg: '@twilio-alpha/mcp', version: '0.7.0', args: ['ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/SKxxxx:secret'] },
  { pkg: '@benborla29/mcp-server-mysql', version: '2.0.9', env: { MYSQL_HOST: '127.0.0.1', MYSQL_USER: 'root', MYSQL_PASS: '', MYSQL_DB: 'test', ALLOW_INSERT_OPERATION: 'true', ALLOW_UPDATE_OPERATION: 'true', ALLOW_DELETE_OPERATION: 'true' } },
  { pkg: 'mcp-mongo-server', version: '3.0.1', args: ['mongodb://127.0.0.1:27017/test'] },
  { pkg: '@executeautomation/playwright-mcp-server', version: '1.0.12' },
  { pkg: '@wonderwhy-er/desktop-commander', version: '0.2.52' },
  { pkg: '@kazuph/mcp-taskmanager', version: '1.1.1' },
  { pkg: '@mondaydotcomorg/monday-api-mcp', version: '3.3.0', args: ['-t', DUMMY] },
  { pkg: '@elastic/mcp-server-elasticsearch', version: '0.3.1', env: { ES_URL: 'http://127.0.0.1:9200', ES_API_KEY: DUMMY } },
  { pkg: '@paddle/paddle-mcp', version: '0.1.6', args: ['--api-key=x', '--environment=sandbox', '--tools=all'] },
  { pkg: '@neondatabase/mcp-server-neon', version: '0.6.5', args: ['start', DUMMY] },
];

const pkgDir = (pkg) => join(scanDir, 'pkgs', pkg.replace(/[@/]/g, '_'));

function install() {
  mkdirSync(join(scanDir, 'pkgs'), { recursive: true });
  if (!existsSync(join(scanDir, 'package.json'))) writeFileSync(join(scanDir, 'package.json'), '{"name":"mcp-scan","version":"1.0.0"}');
  npmInstall(scanDir, '@modelcontextprotocol/sdk');
  // One directory per server so one server's dependency tree cannot break another's.
  for (const { pkg, version } of SERVERS) {
    const dir = pkgDir(pkg);
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"name":"x","version":"1.0.0"}');
    npmInstall(dir, `${pkg}@${version}`);
  }
}

function npmInstall(cwd, spec) {
  const env = { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1', PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' };
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', spec], { cwd, env, stdio: 'inherit' });
  console.log(`${spec}: ${r.status === 0 ? 'installed' : 'FAILED'}`);
}

function entryPoint({ pkg, launcher }) {
  if (launcher) {
    const file = join(pkgDir(pkg), 'launcher.mjs');
    writeFileSync(file, launcher);
    return file;
  }
  const root = join(pkgDir(pkg), 'node_modules', pkg);
  const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const rel = typeof bin === 'string' ? bin : Object.values(bin)[0];
  return join(root, rel);
}

const ACCEPT_AS_IS = { safeParse: (data) => ({ success: true, data }) };

async function listOne(server, sdk) {
  const { Client, StdioClientTransport } = sdk;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entryPoint(server), ...(server.args ?? [])],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...(server.env ?? {}) },
    cwd: pkgDir(server.pkg),
    stderr: 'ignore',
  });
  const client = new Client({ name: 'policylayer-gather-tools', version: '0.0.0' });
  const work = (async () => {
    await client.connect(transport);
    const tools = [];
    let cursor;
    do {
      // Raw request with a pass-through result schema: some servers (e.g. server-gitlab) declare schemas the SDK's
      // strict validation rejects, and the fixture wants them exactly as declared.
      const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, ACCEPT_AS_IS);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  })();
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out after 60 s')), 60_000); });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => {});
  }
}

async function list(only) {
  const sdkRoot = join(scanDir, 'node_modules', '@modelcontextprotocol', 'sdk', 'dist', 'esm');
  const { Client } = await import(pathToFileURL(join(sdkRoot, 'client', 'index.js')).href);
  const { StdioClientTransport } = await import(pathToFileURL(join(sdkRoot, 'client', 'stdio.js')).href);
  mkdirSync(join(scanDir, 'raw'), { recursive: true });
  for (const server of SERVERS.filter((s) => !only || s.pkg.includes(only))) {
    try {
      const tools = await listOne(server, { Client, StdioClientTransport });
      const out = { server: server.pkg, version: server.version, tools };
      writeFileSync(join(scanDir, 'raw', `${server.pkg.replace(/[@/]/g, '_')}.json`), JSON.stringify(out, null, 1));
      console.log(`${server.pkg}: ${tools.length} tools`);
    } catch (err) {
      console.log(`${server.pkg}: FAILED ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function merge() {
  const existing = existsSync(fixturePath)
    ? readFileSync(fixturePath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
  const labels = new Map(existing.map((t) => [`${t.server}/${t.name}`, t.label]));
  const labelsFile = join(scanDir, 'labels.json');
  if (existsSync(labelsFile)) for (const [k, v] of Object.entries(JSON.parse(readFileSync(labelsFile, 'utf8')))) labels.set(k, v);
  const rows = [];
  const unlabelled = [];
  const listed = new Set();
  for (const file of readdirSync(join(scanDir, 'raw')).sort()) {
    const { server, version, tools } = JSON.parse(readFileSync(join(scanDir, 'raw', file), 'utf8'));
    listed.add(server);
    for (const t of tools) {
      const label = labels.get(`${server}/${t.name}`);
      if (!label) { unlabelled.push(`${server}/${t.name}`); continue; }
      const row = { server, name: t.name, description: t.description ?? '' };
      if (t.inputSchema) row.inputSchema = t.inputSchema;
      if (t.annotations) row.annotations = t.annotations;
      rows.push({ ...row, label, source: `npm:${server}@${version} tools/list` });
    }
  }
  // README-sourced rows have no raw file: keep them unless the server now lists its tools for real.
  for (const t of existing) if (String(t.source).startsWith('readme:') && !listed.has(t.server)) rows.push(t);
  writeFileSync(fixturePath, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`wrote ${rows.length} tools to ${fixturePath}`);
  if (unlabelled.length) console.log(`unlabelled (left out):\n  ${unlabelled.join('\n  ')}`);
}

const [command, only] = process.argv.slice(2);
if (command === 'install') install();
else if (command === 'list') await list(only);
else if (command === 'merge') merge();
else console.error('usage: node scripts/gather-tools.mjs install|list [filter]|merge');
