// Maps paths in the parsed policy file back to YAML nodes and line:column, so every message can point at the file.
import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node, Pair, Scalar, YAMLMap } from 'yaml';

export type PathSeg = string | number;

export interface Position {
  line: number;
  column: number;
}

/** Where a path ends up in the YAML tree: the value node and, inside a mapping, the key node. */
export interface Found {
  node: Node | null;
  key?: Node;
}

function deref(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return k.value === null ? '' : String(k.value);
  return typeof k === 'string' || typeof k === 'number' ? String(k) : undefined;
}

/** The pair a key resolves to; the last one wins, as in the loaded value when a key is repeated. */
function pairOf(map: unknown, key: string): Pair | undefined {
  if (!isMap(map)) return undefined;
  let found: Pair | undefined;
  for (const item of map.items) if (keyText(item) === key) found = item;
  return found;
}

export class ConfigSource {
  readonly file: string;
  readonly doc: Document;
  readonly text: string;
  private readonly lines: LineCounter;

  constructor(file: string, text: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.text = text;
    this.doc = doc;
    this.lines = lines;
  }

  /** 1-based line and column of a character offset. */
  position(offset: number): Position {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line, column: col };
  }

  /**
   * Walks `path` as far as the file goes. `depth` is how many segments matched; when it is shorter than the path,
   * `found` is the deepest entry that exists (the parent mapping of a missing key).
   */
  resolve(path: readonly PathSeg[]): { found: Found; depth: number } {
    let found: Found = { node: (deref(this.doc.contents, this.doc) as Node | null) ?? null };
    let depth = 0;
    for (const seg of path) {
      const here = found.node;
      let next: Found | undefined;
      if (isMap(here)) {
        const pair = pairOf(here, String(seg));
        if (pair) next = { node: (deref(pair.value, this.doc) as Node | null) ?? null, key: pair.key as Node };
      } else if (isSeq(here) && typeof seg === 'number' && seg < here.items.length) {
        next = { node: (deref(here.items[seg], this.doc) as Node | null) ?? null };
      }
      if (!next) break;
      found = next;
      depth++;
    }
    return { found, depth };
  }

  /** Start of a node, or of its key when `at` is 'key' (or when the value is empty, e.g. `tools:` with nothing). */
  positionOf(found: Found, at: 'key' | 'value' = 'value'): Position {
    // An empty value (`a:` and nothing after it) has no text of its own to point at.
    const empty = !found.node?.range || (isScalar(found.node) && found.node.range[0] === found.node.range[1]);
    const target = at === 'key' || empty ? (found.key ?? found.node) : found.node;
    const offset = target?.range?.[0];
    return offset === undefined ? { line: 1, column: 1 } : this.position(offset);
  }

  /** Position of a path; a missing tail falls back to the deepest existing parent's key. */
  locate(path: readonly PathSeg[] | string, at: 'key' | 'value' = 'value'): Position | undefined {
    const segs = typeof path === 'string' ? this.splitRulePath(path) : path;
    if (!segs) return undefined;
    const { found, depth } = this.resolve(segs);
    return this.positionOf(found, depth < segs.length ? 'key' : at);
  }

  /** Line of a rule path such as `servers.demo.tools.delete_x` (what a Decision's `rule` names). */
  lineOf(rulePath: string): number | undefined {
    const segs = this.splitRulePath(rulePath);
    if (!segs) return undefined;
    const { depth } = this.resolve(segs);
    return depth === segs.length ? this.locate(segs, 'key')?.line : undefined;
  }

  /**
   * Splits a dotted path against the keys that exist, so `servers.fs.tools.fs.read` finds the tool key `fs.read`;
   * `a["x.y"]` and `[0]` segments are understood too.
   */
  splitRulePath(path: string): PathSeg[] | undefined {
    const segs: PathSeg[] = [];
    let node: unknown = deref(this.doc.contents, this.doc);
    let rest = path;
    while (rest !== '') {
      let seg: PathSeg | undefined;
      const bracket = /^\[("(?:[^"\\]|\\.)*"|\d+)\]\.?/.exec(rest);
      if (bracket) {
        const raw = bracket[1]!;
        seg = raw.startsWith('"') ? (JSON.parse(raw) as string) : Number(raw);
        rest = rest.slice(bracket[0].length);
      } else if (isMap(node)) {
        // Longest existing key that the rest starts with, ending at a separator.
        let best = '';
        for (const pair of node.items) {
          const k = keyText(pair);
          if (k === undefined || k.length <= best.length) continue;
          if (rest === k || rest.startsWith(k + '.') || rest.startsWith(k + '[')) best = k;
        }
        if (!best) return undefined;
        seg = best;
        rest = rest.slice(best.length).replace(/^\./, '');
      } else {
        return undefined;
      }
      segs.push(seg);
      node = isMap(node) ? deref(pairOf(node, String(seg))?.value, this.doc) : isSeq(node) && typeof seg === 'number'
        ? deref(node.items[seg], this.doc) : undefined;
    }
    return segs;
  }
}

/** Calls `fn` for every scalar value (not keys) with its path; aliases are skipped since their anchor is visited. */
export function eachValueScalar(
  node: unknown,
  path: PathSeg[],
  fn: (scalar: Scalar, path: PathSeg[]) => void,
): void {
  if (isScalar(node)) fn(node, path);
  else if (isMap(node)) {
    for (const pair of node.items) if (isPair(pair)) eachValueScalar(pair.value, [...path, keyText(pair) ?? '?'], fn);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => eachValueScalar(item, [...path, i], fn));
  }
}

/** Every mapping in the tree with its path, for checks YAML itself does not make (duplicate keys). */
export function eachMap(node: unknown, path: PathSeg[], fn: (map: YAMLMap, path: PathSeg[]) => void): void {
  if (isMap(node)) {
    fn(node, path);
    for (const pair of node.items) eachMap(pair.value, [...path, keyText(pair) ?? '?'], fn);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => eachMap(item, [...path, i], fn));
  }
}

export { keyText };
