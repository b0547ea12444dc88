// What is wrong with a policy file, where, and how to fix it: the problem list, its error class and its text form.
import { ErrorCode, GatewayError } from '../errors.js';

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (e.g. it does not exist). */
  line: number;
  /** 1-based; 0 together with line 0. */
  column: number;
  /** Dotted path of the offending entry, e.g. `servers.demo.tools.delete_x`; '' for the file itself. */
  path: string;
  /** Plain English, without the location (formatProblems adds it). */
  message: string;
  hint?: string;
}

type ConfigErrorCode = typeof ErrorCode.CONFIG_INVALID | typeof ErrorCode.CONFIG_NOT_FOUND | typeof ErrorCode.CONFIG_ENV_MISSING;

/** Thrown by the loader with every problem found; `message` is the formatted list, ready for a terminal. */
export class ConfigError extends GatewayError {
  readonly problems: ConfigProblem[];
  constructor(code: ConfigErrorCode, problems: ConfigProblem[], options?: { cause?: unknown }) {
    super(code, formatProblems(problems), options);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** One `file:line:col: message` line per problem, each followed by an indented `hint: …` line when there is one. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines: string[] = [];
  for (const p of problems) {
    const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
    lines.push(`${where}: ${p.message}`);
    if (p.hint) lines.push(`    hint: ${p.hint}`);
  }
  return lines.join('\n');
}

/** File order, so that the list reads top to bottom like the file. */
export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Dotted path as used in messages and rule names; keys that would be ambiguous are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      const safe = s !== '' && !/[.\s[\]"]/.test(s);
      out += safe ? (out ? '.' : '') + s : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** Edit distance where swapping two neighbours (`dney` → `deny`) counts as one edit, like most typos. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** `cmd` is an abbreviation of `command`: same first letter, letters in order. */
function isAbbreviation(short: string, long: string): boolean {
  if (short.length < 2 || short.length >= long.length || short[0] !== long[0]) return false;
  let j = 0;
  for (const ch of long) if (ch === short[j]) j++;
  return j === short.length;
}

/** The allowed word the user most likely meant (typo or abbreviation), or undefined when nothing is close. */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  const w = word.toLowerCase().replace(/[-\s]/g, '_');
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of allowed) {
    const c = candidate.toLowerCase();
    const d = editDistance(w, c);
    const limit = Math.max(1, Math.min(3, Math.floor(c.length / 3)));
    // An abbreviation (`cmd`) says more than a one-letter typo distance to a short word (`cwd`).
    const score = d === 0 ? 0 : isAbbreviation(w, c) ? 0.5 : d <= limit ? d : Infinity;
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** "did you mean `x`? allowed: a, b, c" — the suggestion only when there is one. */
export function suggestionHint(word: string, allowed: readonly string[], noun = 'allowed'): string {
  const list = allowed.map((a) => `\`${a}\``).join(', ');
  const guess = closest(word, allowed);
  return guess ? `did you mean \`${guess}\`? (${noun}: ${list})` : `${noun}: ${list}`;
}
