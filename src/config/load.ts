// Loads policylayer.yaml: YAML with positions, ${VAR} expansion, the zod schema and policy checks, all problems at once.
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ErrorCode } from '../errors.js';
import { expandEnv, type Env } from './env.js';
import { issueProblems } from './issues.js';
import { agentRuleProblems } from './agent-rule-checks.js';
import { ConfigError, formatPath, sortProblems, type ConfigProblem } from './problems.js';
import { ConfigSchema, type Config } from './schema.js';
import { ConfigSource, eachMap, eachValueScalar, keyText, type PathSeg } from './source.js';

export { ConfigError, formatProblems, type ConfigProblem } from './problems.js';
export { ConfigSource } from './source.js';

export interface LoadedConfig {
  config: Config;
  /** Maps paths (e.g. a Decision's rule `servers.demo.tools.delete_x`) back to lines of the file. */
  source: ConfigSource;
  /** What loads but deserves a look (e.g. a rule naming an agent the file does not declare), in file order. */
  warnings: ConfigProblem[];
}

const SYNTAX_HINTS: Partial<Record<YAMLError['code'], string>> = {
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs',
  BAD_INDENT: 'line up the entries of one mapping or list at the same indentation',
  MISSING_CHAR: 'add the missing closing quote or bracket',
  BLOCK_AS_IMPLICIT_KEY: 'start a nested mapping on its own line, or quote a value that contains `: `',
  MULTILINE_IMPLICIT_KEY: 'keep a key on one line and end it with `:`; quote values that contain `: `',
  BAD_SCALAR_START: 'quote the value, e.g. "…"',
  BAD_DQ_ESCAPE: 'inside double quotes write \\\\ for a backslash, or use single quotes',
  MULTIPLE_DOCS: 'keep one YAML document in the file (remove the `---` separator)',
  UNEXPECTED_TOKEN: 'look for a stray character or a missing `:` on this line',
};

// The parser's own wording, where it speaks to programmers rather than to the person editing the file.
const SYNTAX_MESSAGES: Partial<Record<YAMLError['code'], string>> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document',
};

function syntaxProblems(source: ConfigSource, errors: readonly YAMLError[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    const pos = source.position(err.pos[0]);
    // The parser may explain one mistake twice from two angles; one message per place is enough.
    const at = `${pos.line}:${pos.column}`;
    if (seen.has(at)) continue;
    seen.add(at);
    const hint = SYNTAX_HINTS[err.code];
    problems.push({
      file: source.file,
      ...pos,
      path: '',
      message: `not valid YAML: ${SYNTAX_MESSAGES[err.code] ?? err.message.replace(/\.$/, '')}`,
      ...(hint ? { hint } : {}),
    });
  }
  return problems;
}

/** YAML keeps only the last of two equal keys, silently; here that is a problem, pointing at the repeat. */
function duplicateKeys(source: ConfigSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  eachMap(source.doc.contents, [], (map, path) => {
    const seen = new Map<string, number>();
    for (const pair of map.items) {
      const key = keyText(pair);
      if (key === undefined) continue;
      const offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, offset);
        continue;
      }
      problems.push({
        file: source.file,
        ...source.position(offset),
        path: formatPath([...path, key]),
        message: `duplicate key \`${key}\` (first defined at line ${source.position(first).line})`,
        hint: 'YAML would silently keep only the last one: remove or merge one of them',
      });
    }
  });
  return problems;
}

/** Expands ${VAR} in every string value in place; returns problems and the paths whose value could not be expanded. */
function expandValues(source: ConfigSource, env: Env): { problems: ConfigProblem[]; paths: Set<string> } {
  const problems: ConfigProblem[] = [];
  const paths = new Set<string>();
  eachValueScalar(source.doc.contents, [], (scalar, path) => {
    if (typeof scalar.value !== 'string' || !scalar.value.includes('$')) return;
    const { value, issues } = expandEnv(scalar.value, env);
    // On failure the reference stays as written, so that other checks (e.g. "has a url") still see a value.
    if (issues.length === 0) {
      scalar.value = value;
      return;
    }
    const shown = formatPath(path);
    paths.add(shown);
    const [start, end] = scalar.range ?? [0, 0];
    const raw = source.text.slice(start, end);
    for (const issue of issues) {
      // Point at the reference itself when it appears verbatim in the source (it does unless escapes precede it).
      const needle = issue.kind === 'missing' ? '${' + issue.name : issue.name;
      const at = raw.indexOf(needle);
      const pos = source.position(start + (at >= 0 ? at : 0));
      problems.push(
        issue.kind === 'missing'
          ? {
              file: source.file,
              ...pos,
              path: shown,
              message: `environment variable ${issue.name} is not set (used in \`${shown}\`)`,
              hint: `export ${issue.name}=… before starting, or remove the reference (\${${issue.name}:-default} gives a fallback)`,
            }
          : {
              file: source.file,
              ...pos,
              path: shown,
              message: `malformed variable reference \`${issue.name}\` in \`${shown}\``,
              hint: 'write ${NAME} or ${NAME:-default} (letters, digits, _), or $${ for a literal ${',
            },
      );
    }
  });
  return { problems, paths };
}

const INVISIBLE = /[\p{Cc}\p{Cf}\u00A0\u2000-\u200B\u3000]/u;

/** Why a tool key or hide entry cannot mean what its author wants, or undefined if it is fine. */
function patternProblem(pattern: string): { message: string; hint: string } | undefined {
  if (/[[\]{}]/.test(pattern)) {
    return {
      message: `\`${pattern}\` uses [ ] or { }, which are matched literally: only * and ? are wildcards`,
      hint: 'list the tool names one by one, or use * (any run of characters) and ? (one character)',
    };
  }
  if (pattern.startsWith('!')) {
    return {
      message: `\`${pattern}\` looks like a negated pattern; ! has no special meaning and is matched literally`,
      hint: `give ${pattern.slice(1) || 'the tool'} its own rule instead, e.g. \`${pattern.slice(1) || 'name'}: allow\``,
    };
  }
  if (pattern.trim() !== pattern) {
    return { message: `\`${pattern}\` has leading or trailing spaces, so it matches no tool`, hint: 'remove the spaces' };
  }
  const invisible = INVISIBLE.exec(pattern);
  if (invisible) {
    const code = invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return {
      message: `${JSON.stringify(pattern)} contains an invisible character (U+${code}), so it matches no tool by its visible name`,
      hint: 'retype the name',
    };
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the schema cannot express: malformed patterns, and a tool both ruled in `tools` and listed in `hide`. */
function policyProblems(source: ConfigSource, data: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: PathSeg[], at: 'key' | 'value', message: string, hint: string) =>
    problems.push({ file: source.file, ...(source.locate(path, at) ?? { line: 1, column: 1 }), path: formatPath(path), message, hint });
  const servers = isRecord(data) ? data['servers'] : undefined;
  if (!isRecord(servers)) return problems;
  for (const [name, server] of Object.entries(servers)) {
    if (!isRecord(server)) continue;
    const tools = isRecord(server['tools']) ? server['tools'] : {};
    for (const key of Object.keys(tools)) {
      const bad = patternProblem(key);
      if (bad) add(['servers', name, 'tools', key], 'key', bad.message, bad.hint);
    }
    const hide = Array.isArray(server['hide']) ? (server['hide'] as unknown[]) : [];
    hide.forEach((entry, i) => {
      if (typeof entry !== 'string') return;
      const path: PathSeg[] = ['servers', name, 'hide', i];
      const bad = patternProblem(entry);
      if (bad) add(path, 'value', bad.message, bad.hint);
      if (Object.hasOwn(tools, entry)) {
        const line = source.locate(['servers', name, 'tools', entry], 'key')?.line;
        add(
          path,
          'value',
          `\`${entry}\` is both in \`tools\` (line ${line}) and in \`hide\` of server \`${name}\``,
          'a hidden tool is never called, so the rule has no effect: keep it in one place',
        );
      }
    });
  }
  return problems;
}

/** Parses and checks a policy file; throws ConfigError with every problem found. Keeps the source for line lookups. */
export function parseConfigWithSource(text: string, file: string, env: Env = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  // uniqueKeys off: duplicates are reported below with both lines, instead of as a bare YAML error.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const source = new ConfigSource(file, text, doc, lineCounter);

  // After a real syntax error the recovered tree is a guess; schema messages about it would point at phantom
  // problems, so the syntax errors are reported on their own.
  if (doc.errors.length > 0) {
    throw new ConfigError(ErrorCode.CONFIG_INVALID, sortProblems(syntaxProblems(source, doc.errors)));
  }

  const problems = duplicateKeys(source);
  const expanded = expandValues(source, env);
  problems.push(...expanded.problems);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problems.push({ file, line: 1, column: 1, path: '', message: `cannot read the file: ${(err as Error).message}` });
    throw new ConfigError(ErrorCode.CONFIG_INVALID, sortProblems(problems), { cause: err });
  }

  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // A value that still holds an unexpanded ${VAR} is already reported; its schema complaint would be noise.
      for (const p of issueProblems(issue, source)) if (!expanded.paths.has(p.path)) problems.push(p);
    }
  }
  problems.push(...policyProblems(source, data));
  const agentRules = agentRuleProblems(source, data);
  problems.push(...agentRules.errors);

  if (problems.length > 0 || !parsed.success) {
    const envOnly = problems.length > 0 && problems.every((p) => expanded.problems.includes(p));
    throw new ConfigError(envOnly ? ErrorCode.CONFIG_ENV_MISSING : ErrorCode.CONFIG_INVALID, sortProblems(problems));
  }
  return { config: parsed.data, source, warnings: sortProblems(agentRules.warnings) };
}

export function parseConfig(text: string, file: string, env: Env = process.env): Config {
  return parseConfigWithSource(text, file, env).config;
}

/** Reads a file as text; a missing or unreadable file becomes a CONFIG_NOT_FOUND ConfigError. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    throw new ConfigError(
      ErrorCode.CONFIG_NOT_FOUND,
      [
        {
          file,
          line: 0,
          column: 0,
          path: '',
          message: missing
            ? `config file not found (looked for ${resolvePath(file)})`
            : `cannot read the config file: ${(err as Error).message}`,
          hint: missing
            ? 'pass the right path with -c FILE, or create the file (`policylayer schema` prints what it may contain)'
            : 'check the file permissions',
        },
      ],
      { cause: err },
    );
  }
}

export async function loadConfigWithSource(file: string, env: Env = process.env): Promise<LoadedConfig> {
  return parseConfigWithSource(await readConfigText(file), file, env);
}

export async function loadConfig(file: string, env: Env = process.env): Promise<Config> {
  return (await loadConfigWithSource(file, env)).config;
}

