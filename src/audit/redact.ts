// What the audit log keeps of a call's arguments: secrets replaced, size bounded, and a hash of the originals.
import { ErrorCode, GatewayError } from '../errors.js';
import { canonicalJson, sha256Hex, storableText } from './canonical.js';

/** `full`: redacted copy; `keys`: only the key structure with JSON type names; `none`: only the hash. */
export type ArgumentsMode = 'full' | 'keys' | 'none';

export interface RedactorOptions {
  /**
   * Dotted paths from the arguments' root whose values are replaced; `*` is any key or array index
   * (`card.number`, `payments.*.iban`, `headers.*`).
   */
  paths?: readonly string[] | undefined;
  /**
   * Key patterns added to DEFAULT_SECRET_KEYS. A plain pattern matches any key that contains it, ignoring case,
   * `-`, `_`, `.` and spaces; `/source/flags` is a regular expression tested against the key as written.
   */
  keys?: readonly string[] | undefined;
  mode?: ArgumentsMode | undefined;
}

export interface RedactedArguments {
  /** Absent in `none` mode and when the call had no arguments. */
  args?: unknown;
  /** sha256 hex of the canonical JSON of the arguments before redaction: equal calls correlate, whatever key order. */
  hash: string;
}

export type Redactor = (args: unknown) => RedactedArguments;

export const REDACTED = '[REDACTED]';
export const TOO_DEEP = '[TOO DEEP]';
/** Containers nested deeper than this are replaced by TOO_DEEP (the root is level 1). */
export const MAX_DEPTH = 64;
/** Longer strings (and keys) are cut here, so that one call cannot bloat the log. */
export const MAX_STRING_CHARS = 4096;

export const DEFAULT_SECRET_KEYS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'api_key',
  'apikey',
  'access_key',
  'private_key',
  'client_secret',
  'cookie',
  'session_id',
  'credential', // contains-matching also catches "credentials"
  'card_number',
  'cvv',
  'ssn',
];

/**
 * Secrets recognisable by their shape whatever key holds them. Only the secret part is replaced: a `Bearer`
 * prefix (group 1) is kept so the log still says what kind of credential was there.
 */
const SECRET_IN_TEXT = new RegExp(
  [
    String.raw`(\b(?:Bearer|bearer|BEARER)\s+)[A-Za-z0-9\-._~+/]+=*`,
    String.raw`\beyJ[\w-]*\.[\w-]+\.[\w-]*`, // JWT: header.payload.signature (signature may be empty: alg "none")
    String.raw`\bsk-[\w-]{16,}`, // OpenAI, Anthropic and look-alikes
    String.raw`\b[rs]k_(?:live|test)_[A-Za-z0-9]{10,}`, // Stripe
    String.raw`\bgh[pousr]_[A-Za-z0-9]{20,}`, // GitHub classic tokens
    String.raw`\bgithub_pat_\w{20,}`, // GitHub fine-grained tokens
    String.raw`\bxox[abp]-[A-Za-z0-9-]{10,}`, // Slack
    String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`, // AWS access key ids (long-term and temporary)
  ].join('|'),
  'g',
);

const KEY_SEPARATORS = /[-_.\s]/g;

/** Builds the redactor once from configuration; bad patterns or paths throw here, naming the culprit. */
export function createRedactor(opts: RedactorOptions = {}): Redactor {
  const mode = opts.mode ?? 'full';
  if (mode !== 'full' && mode !== 'keys' && mode !== 'none') {
    throw invalid(`audit arguments mode ${JSON.stringify(mode)} is not one of full, keys, none`);
  }
  const isSecretKey = compileKeyPatterns([...DEFAULT_SECRET_KEYS, ...(opts.keys ?? [])]);
  const pathRoot = compilePaths(opts.paths ?? []);

  return (args) => {
    const hash = sha256Hex(canonicalJson(args));
    if (mode === 'none' || args === undefined) return { hash };
    if (mode === 'keys') return { args: shapeOf(args, 1), hash };
    return { args: redactValue(args, 1, [pathRoot], isSecretKey), hash };
  };
}

/** What redaction reads of the audit settings (`audit:` in policylayer.yaml). */
export interface RedactionSettings {
  arguments: ArgumentsMode;
  redact: { keys: readonly string[]; paths: readonly string[] };
}

/**
 * A redactor that follows reloads of `settings`: rebuilt only when the settings object changes (a reload), not per
 * call. The audit log and the approvals both redact through it, so they redact alike.
 */
export function liveRedactor(settings: () => RedactionSettings): Redactor {
  let builtFor: RedactionSettings | undefined;
  let redactor: Redactor | undefined;
  return (args) => {
    const s = settings();
    if (s !== builtFor || !redactor) {
      redactor = createRedactor({ keys: s.redact.keys, paths: s.redact.paths, mode: s.arguments });
      builtFor = s;
    }
    return redactor(args);
  };
}

// --- key patterns ---

function compileKeyPatterns(patterns: readonly string[]): (key: string) => boolean {
  const fragments: string[] = [];
  const regexes: RegExp[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== 'string') throw invalid(`audit redaction key pattern ${String(pattern)} is not a string`);
    const regex = parseRegexPattern(pattern);
    if (regex) {
      regexes.push(regex);
      continue;
    }
    const fragment = normaliseKey(pattern);
    if (fragment === '') {
      throw invalid(`audit redaction key pattern ${JSON.stringify(pattern)} is empty once case, -, _, . and spaces are ignored: it would match every key`);
    }
    fragments.push(fragment);
  }
  return (key) => {
    const normalised = normaliseKey(key);
    return fragments.some((f) => normalised.includes(f)) || regexes.some((r) => r.test(key));
  };
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(KEY_SEPARATORS, '');
}

/** `/source/flags` → RegExp; undefined for a plain pattern. */
function parseRegexPattern(pattern: string): RegExp | undefined {
  if (!pattern.startsWith('/')) return undefined;
  const m = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  if (!m) throw invalid(`audit redaction key pattern ${JSON.stringify(pattern)} starts with / but is not a /regex/flags`);
  const [, source, flags] = m as unknown as [string, string, string];
  // g and y make test() remember where it stopped, so the same key would match on one call and not the next.
  if (/[gy]/.test(flags)) throw invalid(`audit redaction key pattern ${JSON.stringify(pattern)}: flags g and y are not allowed (they make matching stateful)`);
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw invalid(`audit redaction key pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(err as Error).message}`);
  }
}

// --- paths ---

/** A trie of path segments; `any` is the `*` branch, `end` marks where a configured path stops. */
interface PathNode {
  children: Map<string, PathNode>;
  any?: PathNode;
  end: boolean;
}

function newPathNode(): PathNode {
  return { children: new Map(), end: false };
}

function compilePaths(paths: readonly string[]): PathNode {
  const root = newPathNode();
  for (const path of paths) {
    if (typeof path !== 'string' || path === '') throw invalid(`audit redaction path ${JSON.stringify(path)} is empty: name a value, e.g. card.number`);
    let node = root;
    for (const segment of path.split('.')) {
      if (segment === '') throw invalid(`audit redaction path ${JSON.stringify(path)} has an empty segment (leading, trailing or doubled dot)`);
      if (segment !== '*' && segment.includes('*')) {
        throw invalid(`audit redaction path ${JSON.stringify(path)}: * must be a whole segment (any key or index), not part of ${JSON.stringify(segment)}`);
      }
      if (segment === '*') {
        node.any ??= newPathNode();
        node = node.any;
      } else {
        let child = node.children.get(segment);
        if (!child) node.children.set(segment, (child = newPathNode()));
        node = child;
      }
    }
    node.end = true;
  }
  return root;
}

/** The trie positions reached by stepping from `nodes` into child `key`. */
function stepPaths(nodes: readonly PathNode[], key: string): PathNode[] {
  const next: PathNode[] = [];
  for (const node of nodes) {
    const child = node.children.get(key);
    if (child) next.push(child);
    if (node.any) next.push(node.any);
  }
  return next;
}

// --- walking the arguments ---

function redactValue(value: unknown, level: number, paths: readonly PathNode[], isSecretKey: (key: string) => boolean): unknown {
  if (typeof value === 'string') return boundString(value.replace(SECRET_IN_TEXT, (_match, bearer?: string) => (bearer ? `${bearer}${REDACTED}` : REDACTED)));
  if (value === null || typeof value !== 'object') return value;
  if (level > MAX_DEPTH) return TOO_DEEP;
  const child = (key: string, item: unknown, fromObject: boolean): unknown => {
    const next = stepPaths(paths, key);
    if ((fromObject && isSecretKey(key)) || next.some((n) => n.end)) return REDACTED;
    return redactValue(item, level + 1, next, isSecretKey);
  };
  if (Array.isArray(value)) return Array.from(value, (item, i) => child(String(i), item, false));
  const record = value as Record<string, unknown>;
  // fromEntries defines own properties, so a "__proto__" key stays data instead of replacing the prototype.
  return Object.fromEntries(Object.keys(record).map((key) => [boundString(key), child(key, record[key], true)]));
}

/** `keys` mode: objects keep their keys, every other value becomes its JSON type name. */
function shapeOf(value: unknown, level: number): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value !== 'object') return typeof value;
  if (level > MAX_DEPTH) return TOO_DEEP;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .map((key) => [boundString(key), shapeOf(record[key], level + 1)]),
  );
}

function boundString(raw: string): string {
  const text = storableText(raw);
  if (text.length <= MAX_STRING_CHARS) return text;
  let cut = MAX_STRING_CHARS;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // never split a surrogate pair
  return `${text.slice(0, cut)}…[+${text.length - cut} chars]`;
}

function invalid(message: string): GatewayError {
  return new GatewayError(ErrorCode.CONFIG_INVALID, message);
}
