// Adds, replaces and removes servers in a policy file: only the edited server's lines change, the rest stays byte for byte.
import { randomBytes } from 'node:crypto';
import { mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, parseDocument, YAMLMap, type Pair } from 'yaml';
import { ErrorCode, GatewayError } from '../errors.js';
import { ConfigError, parseConfigWithSource, readConfigText, type ConfigProblem } from './load.js';
import { SERVER_NAME } from './schema.js';
import { keyText } from './source.js';

/** How to reach a server: a local command over stdio, or a remote url. */
export interface ServerSpec {
  command?: string[];
  url?: string;
  headers?: Record<string, string>;
  env?: Record<string, string>;
}

export type ServerListing = { name: string } & Pick<ServerSpec, 'command' | 'url'>;

/** Keys that say how to reach a server; replacing a server swaps these and keeps its rules. */
const CONNECTION_KEYS = new Set(['command', 'url', 'headers', 'env', 'cwd', 'transport']);
const PARSE_OPTIONS = { uniqueKeys: false } as const;

/**
 * The loader's problems with `text` ([] when it is valid). An unset `${VAR}` is not a problem here: the variable is
 * needed when the gateway starts, not when the file is written.
 */
export function validatePolicyText(text: string, file: string): ConfigProblem[] {
  try {
    parseConfigWithSource(text, file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.code === ErrorCode.CONFIG_ENV_MISSING ? [] : err.problems;
  }
}

/**
 * Adds server `name` to the policy file at `path`, creating the file (`version: 1` and the server) if it does not
 * exist; `settings` (e.g. `default: by_risk`) follow the connection settings of a server new to the file. With
 * `replace`, an existing server gets the new command or url (its `env`, `headers`, `cwd` and `transport` go too) and
 * keeps its rules. The result is validated before it is written; an invalid result is not written.
 */
export async function addServer(
  path: string,
  name: string,
  server: ServerSpec,
  opts: { replace?: boolean; settings?: Record<string, string> } = {},
): Promise<void> {
  if (!SERVER_NAME.test(name)) {
    throw new GatewayError(
      ErrorCode.USAGE,
      `invalid server name "${name}": use 1 to 64 letters, digits, _ and -, starting with a letter or digit (the name appears in URLs: /mcp/NAME)`,
    );
  }
  if ((server.command === undefined) === (server.url === undefined)) {
    throw new GatewayError(ErrorCode.USAGE, `server "${name}" needs either a command (a local server over stdio) or a url (a remote server), not ${server.command ? 'both' : 'neither'}`);
  }
  const target = await readTarget(path, true);
  const doc = parseForEdit(target.text, target.file);
  const exists = findServer(doc, name) !== undefined;
  if (exists && !opts.replace) {
    throw new GatewayError(
      ErrorCode.USAGE,
      `server "${name}" is already in ${path}; pass --replace to give it this ${server.command ? 'command' : 'url'} (its rules stay), or run \`policylayer servers remove ${name}\` first`,
    );
  }
  const change = exists ? replaceChange(target.text, doc, name, server) : addChange(target.text, doc, name, server, opts.settings ?? {});
  await commit(target, doc, change, `${exists ? 'replacing' : 'adding'} server "${name}"`);
}

/** Removes server `name` with its rules and the comment lines right above it; false when there is no such server. */
export async function removeServer(path: string, name: string): Promise<boolean> {
  const target = await readTarget(path, false);
  const doc = parseForEdit(target.text, target.file);
  if (findServer(doc, name) === undefined) return false;
  await commit(target, doc, removeChange(target.text, doc, name), `removing server "${name}"`);
  return true;
}

/** The servers of a valid policy file in file order, with `${VAR}` references as written (secrets stay unexpanded). */
export async function listServers(path: string): Promise<ServerListing[]> {
  const text = await readConfigText(path);
  const problems = validatePolicyText(text, path);
  if (problems.length > 0) throw new ConfigError(ErrorCode.CONFIG_INVALID, problems);
  const data = parseDocument(text, PARSE_OPTIONS).toJS() as { servers?: Record<string, { command?: string[]; url?: string }> | null };
  return Object.entries(data.servers ?? {}).map(([name, s]) => ({
    name,
    ...(s.command !== undefined && { command: s.command }),
    ...(s.url !== undefined && { url: s.url }),
  }));
}

interface Target {
  /** The file written: a symlink is followed, so that the link stays a link. */
  file: string;
  text: string;
  /** Permission bits of the existing file; undefined for a new one. */
  mode: number | undefined;
}

async function readTarget(path: string, mayBeNew: boolean): Promise<Target> {
  let file: string;
  try {
    file = await realpath(path);
  } catch (err) {
    if (mayBeNew && (err as NodeJS.ErrnoException).code === 'ENOENT') return { file: path, text: '', mode: undefined };
    await readConfigText(path); // throws the loader's not-found or unreadable error
    throw err;
  }
  const text = await readConfigText(file);
  return { file, text, mode: (await stat(file)).mode & 0o7777 };
}

function parseForEdit(text: string, file: string): Document {
  const doc = parseDocument(text, PARSE_OPTIONS);
  const servers = isMap(doc.contents) ? doc.contents.get('servers', true) : undefined;
  const editable = doc.errors.length === 0 && (doc.contents === null || isMap(doc.contents)) && (servers === undefined || isMap(servers) || isEmpty(servers));
  if (!editable) throw existingProblems(validatePolicyText(text, file), file);
  return doc;
}

function existingProblems(problems: ConfigProblem[], file: string): GatewayError {
  if (problems.length === 0) return new GatewayError(ErrorCode.CONFIG_INVALID, `${file}: \`servers\` is not a mapping, so no server can be edited`);
  const err = new ConfigError(ErrorCode.CONFIG_INVALID, problems);
  err.message = `${file} has problems; fix them first (nothing was changed):\n${err.message}`;
  return err;
}

function isEmpty(node: unknown): boolean {
  return (isScalar(node) && node.value === null) || (isMap(node) && node.items.length === 0);
}

function findServer(doc: Document, name: string): Pair | undefined {
  const servers = isMap(doc.contents) ? doc.contents.get('servers', true) : undefined;
  return isMap(servers) ? (servers.items as Pair[]).findLast((pair) => keyText(pair) === name) : undefined;
}

/**
 * One change made two ways: `splices` edit the text (keeping every other byte; undefined where the file's layout is
 * not one they handle) and `apply` makes it through the Document API, the meaning the splices are checked against.
 */
interface Change {
  splices: Splice[] | undefined;
  apply(doc: Document): void;
}

/** Text `start`..`end` becomes `text`. */
interface Splice { start: number; end: number; text: string }

async function commit(target: Target, doc: Document, change: Change, what: string): Promise<void> {
  const expected = doc.clone();
  change.apply(expected);
  let next: string | undefined;
  if (change.splices) {
    const spliced = applySplices(target.text, change.splices);
    const check = parseDocument(spliced, PARSE_OPTIONS);
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), expected.toJS())) next = spliced;
  }
  // A layout the splices do not handle (flow-style servers, say): the library's rendering keeps comments and order.
  next ??= String(expected);
  const problems = validatePolicyText(next, target.file);
  if (problems.length > 0) {
    const before = target.mode === undefined ? [] : validatePolicyText(target.text, target.file);
    if (before.length > 0) throw existingProblems(before, target.file);
    const err = new ConfigError(ErrorCode.CONFIG_INVALID, problems);
    err.message = `${what} would make ${target.file} invalid, so it was not changed (lines are those of the edited text):\n${err.message}`;
    throw err;
  }
  await writeAtomically(target.file, next, target.mode);
}

function applySplices(text: string, splices: Splice[]): string {
  let out = text;
  for (const s of [...splices].sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return out;
}

/** Writes a temp file beside `file`, flushes it and renames it over `file`: a reader sees the old file or the new one. */
async function writeAtomically(file: string, text: string, mode: number | undefined): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode ?? 0o666);
  try {
    try {
      // The umask applies at creation; an existing file keeps exactly the permissions it had.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  // Flushing the directory makes the rename durable; not every platform allows it, and the rename is atomic anyway.
  const dirHandle = await open(dir, 'r').catch(() => undefined);
  await dirHandle?.sync().catch(() => undefined);
  await dirHandle?.close();
}


function connectionPairs(doc: Document, spec: ServerSpec): Pair[] {
  const pairs: Pair[] = [];
  if (spec.command !== undefined) {
    const command = doc.createNode(spec.command);
    command.flow = true;
    pairs.push(doc.createPair('command', command));
  }
  if (spec.url !== undefined) pairs.push(doc.createPair('url', spec.url));
  if (spec.env !== undefined) pairs.push(doc.createPair('env', spec.env));
  if (spec.headers !== undefined) pairs.push(doc.createPair('headers', spec.headers));
  return pairs;
}

function serverNode(doc: Document, spec: ServerSpec, settings: Record<string, string> = {}): YAMLMap {
  const map = new YAMLMap();
  map.items = [...connectionPairs(doc, spec), ...Object.entries(settings).map(([key, value]) => doc.createPair(key, value))];
  return map;
}

/** Block-style YAML text of `pairs`, every line indented by `column` spaces. */
function render(pairs: Pair[], column: number, step: number, eol: string): string {
  const doc = new Document();
  const map = new YAMLMap();
  map.items = pairs;
  doc.contents = map;
  const text = doc.toString({ indent: step, flowCollectionPadding: false, lineWidth: 0 });
  return text
    .split('\n')
    .map((line) => (line === '' ? line : ' '.repeat(column) + line))
    .join(eol);
}


function addChange(text: string, doc: Document, name: string, spec: ServerSpec, settings: Record<string, string>): Change {
  const apply = (d: Document): void => {
    if (d.contents === null) d.set('version', 1);
    if (!isMap(isMap(d.contents) ? d.contents.get('servers', true) : undefined)) d.set('servers', new YAMLMap());
    d.setIn(['servers', name], serverNode(d, spec, settings));
  };
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lead = text === '' || text.endsWith('\n') ? '' : eol;
  const entry = (column: number, step: number) => render([doc.createPair(name, serverNode(doc, spec, settings))], column, step, eol);
  const root = doc.contents;
  if (root === null) return { apply, splices: [{ start: text.length, end: text.length, text: `${lead}version: 1${eol}servers:${eol}${entry(2, 2)}` }] };
  const serversPair = isMap(root) && !root.flow ? findPair(root, 'servers') : undefined;
  if (isMap(root) && !root.flow && !serversPair) {
    return { apply, splices: [{ start: text.length, end: text.length, text: `${lead}servers:${eol}${entry(2, 2)}` }] };
  }
  if (!serversPair || columnOf(text, serversPair) !== 0) return { apply, splices: undefined };
  const servers = serversPair.value;
  if (isMap(servers) && !servers.flow && servers.items.length > 0) {
    const last = servers.items.at(-1)!;
    const column = columnOf(text, last);
    if (column === undefined || column !== columnOf(text, servers.items[0]!)) return { apply, splices: undefined };
    const block = entryLines(text, keyStart(last), column, false);
    const lines = entryLines(text, keyStart(last), column, true);
    // Servers parted by blank lines get one more, like the others.
    const blank = servers.items.length > 1 && lines.start > 0 && isBlank(lineAt(text, lineStart(text, lines.start - 1))) ? eol : '';
    const at = block.end;
    return { apply, splices: [{ start: at, end: at, text: (at === text.length ? lead : '') + blank + entry(column, column) }] };
  }
  if (isEmpty(servers) && (servers as { range?: number[] }).range) {
    // `servers:`, `servers: ~` or `servers: {}`: the value goes, the entry is written as a block under the key.
    const [from = 0, to = 0] = (servers as { range: number[] }).range;
    const lineEnd = nextLineStart(text, keyStart(serversPair));
    const removeValue = from < to && from < lineEnd ? [{ start: trimSpacesBefore(text, from), end: Math.min(to, lineEnd), text: '' }] : [];
    return { apply, splices: [...removeValue, { start: lineEnd, end: lineEnd, text: (lineEnd === text.length ? lead : '') + entry(2, 2) }] };
  }
  return { apply, splices: undefined };
}

function replaceChange(text: string, doc: Document, name: string, spec: ServerSpec): Change {
  const apply = (d: Document): void => {
    const server = d.getIn(['servers', name], true);
    if (!isMap(server)) return d.setIn(['servers', name], serverNode(d, spec));
    server.items = [...connectionPairs(d, spec), ...(server.items as Pair[]).filter((p) => !CONNECTION_KEYS.has(keyText(p) ?? ''))];
  };
  const server = findServer(doc, name)!.value;
  if (!isMap(server) || server.flow || server.items.length === 0) return { apply, splices: undefined };
  const items = server.items as Pair[];
  const column = columnOf(text, items[0]!);
  const serverColumn = columnOf(text, findServer(doc, name)!);
  if (column === undefined || serverColumn === undefined || items.some((p) => columnOf(text, p) !== column)) return { apply, splices: undefined };
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const fresh = render(connectionPairs(doc, spec), column, column - serverColumn, eol);
  const old = items.filter((p) => CONNECTION_KEYS.has(keyText(p) ?? '')).map((p) => entryLines(text, keyStart(p), column, false));
  // The new connection keys take the place of the first old one, or head the server when it had none.
  const at = old[0]?.start ?? lineStart(text, keyStart(items[0]!));
  const lead = text.slice(0, at).endsWith('\n') ? '' : eol;
  const splices = old.map((lines) => ({ ...lines, text: '' }));
  return { apply, splices: [...splices.filter((s) => s.start !== at), { start: at, end: old[0]?.end ?? at, text: lead + fresh }] };
}

function removeChange(text: string, doc: Document, name: string): Change {
  const apply = (d: Document): void => {
    d.deleteIn(['servers', name]);
  };
  const servers = isMap(doc.contents) ? doc.contents.get('servers', true) : undefined;
  const pair = findServer(doc, name)!;
  const column = columnOf(text, pair);
  if (!isMap(servers) || servers.flow || column === undefined) return { apply, splices: undefined };
  const lines = entryLines(text, keyStart(pair), column, true);
  let end = lines.end;
  // Between two blank lines, one of them goes too, so that the gap stays one line.
  if (lines.start > 0 && isBlank(lineAt(text, lineStart(text, lines.start - 1))) && end < text.length && isBlank(lineAt(text, end))) {
    end = nextLineStart(text, end);
  }
  const splices: Splice[] = [{ start: lines.start, end, text: '' }];
  if (servers.items.length === 1) {
    // `servers:` with nothing under it would be null; an empty mapping keeps the file valid.
    const serversKey = findPair(doc.contents as YAMLMap, 'servers')!.key as { range?: number[] };
    const colon = text.indexOf(':', serversKey.range?.[1] ?? 0);
    splices.push({ start: colon + 1, end: colon + 1, text: ' {}' });
  }
  return { apply, splices };
}


function findPair(map: YAMLMap, key: string): Pair | undefined {
  return (map.items as Pair[]).findLast((pair) => keyText(pair) === key);
}

function keyStart(pair: Pair): number {
  return (pair.key as { range?: number[] } | null)?.range?.[0] ?? -1;
}

/** Column of a pair's key when the key begins its line (block style); undefined otherwise. */
function columnOf(text: string, pair: Pair): number | undefined {
  const start = keyStart(pair);
  if (start < 0) return undefined;
  const before = text.slice(lineStart(text, start), start);
  return /^ *$/.test(before) ? before.length : undefined;
}

const lineStart = (text: string, offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;
const lineAt = (text: string, start: number): string => text.slice(start, nextLineStart(text, start)).replace(/\r?\n$/, '');
const isBlank = (line: string): boolean => line.trim() === '';
const indentOf = (line: string): number => /^ */.exec(line)![0].length;

function nextLineStart(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  return newline < 0 ? text.length : newline + 1;
}

function trimSpacesBefore(text: string, offset: number): number {
  let at = offset;
  while (at > 0 && text[at - 1] === ' ') at--;
  return at;
}

/**
 * The whole lines of the block-mapping entry whose key starts at `start` in `column`: the key line and every line
 * after it that is indented deeper (or is a `- item` of a list at the key's own column), without trailing blank
 * lines. With `withComments`, the comment lines right above the key, at its column, count as its own.
 */
function entryLines(text: string, start: number, column: number, withComments: boolean): { start: number; end: number } {
  let first = lineStart(text, start);
  while (withComments && first > 0) {
    const above = lineStart(text, first - 1);
    const line = lineAt(text, above);
    if (indentOf(line) !== column || !line.trimStart().startsWith('#')) break;
    first = above;
  }
  let end = nextLineStart(text, start);
  for (let at = end; at < text.length; ) {
    const line = lineAt(text, at);
    const next = nextLineStart(text, at);
    if (!isBlank(line)) {
      const indent = indentOf(line);
      if (indent < column || (indent === column && !/^-( |$)/.test(line.slice(indent)))) break;
      end = next;
    }
    at = next;
  }
  return { start: first, end };
}
