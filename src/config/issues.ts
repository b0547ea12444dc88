// Turns zod's schema issues into problems a person can act on: the right node, plain words, and a fix.
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigSchema } from './schema.js';
import { formatPath, suggestionHint, type ConfigProblem } from './problems.js';
import type { ConfigSource, PathSeg } from './source.js';

type Issue = z.core.$ZodIssue;

// Just enough of zod's internal definitions to walk the schema by path (to list allowed keys and describe them).
interface Def {
  type: string;
  innerType?: Walkable;
  shape?: Record<string, Walkable>;
  valueType?: Walkable;
  element?: Walkable;
  options?: readonly Walkable[];
  entries?: Record<string, string | number>;
  in?: Walkable;
}
interface Walkable {
  _zod: { def: Def };
  description?: string | undefined;
}

function unwrap(t: Walkable | undefined): Walkable | undefined {
  for (;;) {
    const def = t?._zod.def;
    if ((def?.type === 'default' || def?.type === 'optional') && def.innerType) t = def.innerType;
    // A shorthand normalised by .transform() (e.g. `gateway.auth: required`): what the file may hold is the input side.
    else if (def?.type === 'pipe' && def.in) t = def.in;
    else return t;
  }
}

function objectOf(t: Walkable | undefined): Walkable | undefined {
  const u = unwrap(t);
  // Unions may nest (a tool's rules: a rule, itself an action or a mapping, or a list of rules): the mapping form.
  if (u?._zod.def.type === 'union') {
    for (const o of u._zod.def.options ?? []) {
      const found = objectOf(o);
      if (found) return found;
    }
    return undefined;
  }
  return u?._zod.def.type === 'object' ? u : undefined;
}

/** The schema that governs `path` (undefined when the path leaves the schema). */
function schemaAt(path: readonly PathSeg[]): Walkable | undefined {
  let t: Walkable | undefined = ConfigSchema as unknown as Walkable;
  for (const seg of path) {
    let u = unwrap(t);
    // A union such as "one limit or a list of limits": a numeric step goes into the list option.
    if (u?._zod.def.type === 'union' && typeof seg === 'number') u = unwrap(u._zod.def.options?.find((o) => unwrap(o)?._zod.def.type === 'array'));
    const def = u?._zod.def;
    if (!def) return undefined;
    if (def.type === 'record') t = def.valueType;
    else if (def.type === 'array') t = def.element;
    else t = objectOf(u)?._zod.def.shape?.[String(seg)];
  }
  return t;
}

/** Keys a mapping at `path` may contain. */
export function allowedKeys(path: readonly PathSeg[]): string[] {
  return Object.keys(objectOf(schemaAt(path))?._zod.def.shape ?? {});
}

function where(path: readonly PathSeg[]): string {
  return path.length === 0 ? 'at the top level' : `in \`${formatPath(path)}\``;
}

/** A short description of what the file has at a node, for "expected X, found Y". */
function describeNode(node: Node | null): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing';
    if (typeof v === 'string') return `the text "${v}"`;
    return `${typeof v === 'number' ? 'the number' : typeof v === 'boolean' ? 'the boolean' : 'the value'} ${String(v)}`;
  }
  return 'nothing';
}

function valueText(node: Node | null): string {
  return isScalar(node) ? String(node.value) : describeNode(node);
}

const TYPE_WORDS: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function typeHint(expected: string, path: readonly PathSeg[]): string {
  const last = String(path[path.length - 1] ?? '');
  if (path.length === 2 && path[0] === 'servers' && expected === 'object') {
    if (allowedKeys(['servers', last]).includes(last)) {
      return `\`${last}\` is a server setting: put it under a server name, e.g. \`servers: { demo: { ${last}: … } }\``;
    }
    return `each entry under \`servers\` is a server name with its settings, e.g. \`${last}: { command: [program, arg] }\``;
  }
  if (last === 'command') return 'write `command: [program, arg, …]`, one list entry per argument';
  switch (expected) {
    case 'array':
      return 'write a YAML list: `[a, b]`, or one `- item` per line';
    case 'object':
    case 'record':
      return 'write `key: value` pairs indented under it, or `{ key: value }`';
    case 'string':
      return 'put the value in quotes';
    case 'boolean':
      return 'write true or false, without quotes';
    default:
      return 'write a number, without quotes';
  }
}

function missingKey(source: ConfigSource, path: readonly PathSeg[], parentDepth: number): ConfigProblem {
  const parent = path.slice(0, parentDepth);
  const key = String(path[parentDepth]);
  const pos = source.locate(parent, 'key') ?? { line: 1, column: 1 };
  const schema = schemaAt(path.slice(0, parentDepth + 1));
  const entries = unwrap(schema)?._zod.def.entries;
  const desc = entries ? undefined : schema?.description;
  const example =
    key === 'version' ? '`version: 1`' : entries ? `\`${key}: ${Object.values(entries).join(' | ')}\`` : `\`${key}: …\``;
  return {
    file: source.file,
    ...pos,
    path: formatPath(path.slice(0, parentDepth + 1)),
    message: `missing required key \`${key}\` ${where(parent)}`,
    hint: `add ${example}${desc ? ` (${desc})` : ''}`,
  };
}

/** Problems for one zod issue; `prefix` is prepended to its path (issues inside a union are relative). */
export function issueProblems(issue: Issue, source: ConfigSource, prefix: readonly PathSeg[] = []): ConfigProblem[] {
  const path = [...prefix, ...(issue.path as PathSeg[])];
  const { found, depth } = source.resolve(path);
  const problem = (message: string, hint?: string, at: 'key' | 'value' = 'value'): ConfigProblem[] => [
    { file: source.file, ...source.positionOf(found, at), path: formatPath(path), message, ...(hint ? { hint } : {}) },
  ];
  const shown = `\`${formatPath(path)}\``;

  // A key zod looked for that is not in the file at all: point at the mapping that should hold it.
  if (depth < path.length && issue.code !== 'unrecognized_keys') {
    if (depth === path.length - 1 && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) {
      return [missingKey(source, path, depth)];
    }
  }

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(path);
      return issue.keys.map((key) => {
        const at = source.resolve([...path, key]).found;
        let hint = suggestionHint(key, allowed, 'allowed keys');
        if (path.length === 0 && isMap(at.node) && (at.node.has('command') || at.node.has('url'))) {
          hint = `servers go under \`servers:\`, e.g. \`servers: { ${key}: … }\``;
        }
        return {
          file: source.file,
          ...source.positionOf(at, 'key'),
          path: formatPath([...path, key]),
          message: `unknown key \`${key}\` ${where(path)}`,
          hint,
        };
      });
    }
    case 'invalid_type': {
      if (path.length === 0 && (found.node === null || (isScalar(found.node) && found.node.value === null))) {
        return problem('the file is empty', 'start with `version: 1` and a `servers:` mapping (see `policylayer schema`)');
      }
      const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
      const got = describeNode(found.node);
      const msg = got === 'nothing' ? `${shown} is empty; it should be ${expected}` : `${shown} should be ${expected}, not ${got}`;
      return problem(msg, typeHint(issue.expected, path));
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      if (values.length === 1) {
        return problem(`${shown} must be ${values[0]}`, `write \`${String(path.at(-1))}: ${values[0]}\` (without quotes)`);
      }
      const got = valueText(found.node);
      return problem(`\`${got}\` is not a valid value for ${shown}`, suggestionHint(got, values, 'allowed values'));
    }
    case 'invalid_union': {
      // Explain the branch that fits the value's shape: a mapping against the object form, a word against the enum.
      // A branch that is itself a union misses as a whole when each of its own branches does (a list of rules
      // against "a rule", which is an action or a mapping).
      const wholeMiss = (branch: readonly Issue[], code: Issue['code']): boolean =>
        branch.some(
          (i) =>
            i.path.length === 0 &&
            (i.code === code || (i.code === 'invalid_union' && i.errors.length > 0 && i.errors.every((b) => wholeMiss(b, 'invalid_type') || wholeMiss(b, 'invalid_value')))),
        );
      let fitting = issue.errors.filter((b) => !wholeMiss(b, 'invalid_type') && !wholeMiss(b, 'invalid_value'));
      if (fitting.length === 0 && isScalar(found.node) && typeof found.node.value === 'string') {
        fitting = issue.errors.filter((b) => !wholeMiss(b, 'invalid_type'));
      }
      if (fitting.length === 1) return fitting[0]!.flatMap((i) => issueProblems(i, source, path));
      const isRule = path[0] === 'servers' && path[2] === 'tools' && (path.length === 4 || (path.length === 5 && typeof path[4] === 'number'));
      return problem(
        `${shown} has the wrong form (found ${describeNode(found.node)})`,
        isRule ? 'write an action (`allow`, `deny`, `hide`) or `{ action: deny, reason: "…" }`' : issue.message,
      );
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const key = String(path.at(-1));
      const what = path.length === 2 && path[0] === 'servers' ? 'server name' : 'key';
      return problem(
        `invalid ${what} \`${key}\`: ${inner?.message ?? issue.message}`,
        key === '' ? 'give it a name' : `rename it${what === 'server name' ? `, e.g. \`${key.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'server'}\`` : ''}`,
        'key',
      );
    }
    case 'invalid_format': {
      if (issue.format === 'url') {
        return problem(`\`${valueText(found.node)}\` is not an http:// or https:// URL`, 'e.g. `url: http://127.0.0.1:3001/mcp`');
      }
      return problem(`\`${valueText(found.node)}\` is not valid for ${shown}: ${issue.message}`);
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const limit = Number(small ? issue.minimum : issue.maximum);
      if (issue.origin === 'array' || issue.origin === 'string') {
        const unit = issue.origin === 'array' ? 'entries' : 'characters';
        const msg = small && limit === 1 ? `${shown} must not be empty` : `${shown} needs ${small ? 'at least' : 'at most'} ${limit} ${unit}`;
        return problem(msg, String(path.at(-1)) === 'command' ? 'write `command: [program, arg, …]`' : undefined);
      }
      const op = small ? (issue.inclusive ? 'at least' : 'greater than') : issue.inclusive ? 'at most' : 'less than';
      return problem(`${shown} must be ${op} ${limit}, not ${valueText(found.node)}`);
    }
    case 'custom': {
      const params = (issue.params ?? {}) as { at?: 'key' | 'value'; hint?: string };
      return problem(`${path.length ? `${shown}: ` : ''}${issue.message}`, params.hint, params.at ?? 'key');
    }
    default:
      return problem(`${shown}: ${issue.message}`);
  }
}
