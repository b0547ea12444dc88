// Risk classifier for MCP tools: name verbs, description phrases, parameters and annotations → category, risk, evidence.
import {
  CONDITIONS,
  CONTRAST,
  DESCRIPTION_VERBS,
  DESTRUCTIVE,
  EXECUTE,
  EXECUTE_OBJECT,
  FINANCIAL,
  FINANCIAL_NOUNS,
  FINANCIAL_OBJECT,
  FIXED_RESULT_NOUNS,
  IRREVERSIBLE,
  NAME_VERBS,
  NEGATIONS,
  READ,
  VERB_POSITION,
  WRITE,
} from './vocabulary.js';

export type Category = 'Read' | 'Write' | 'Execute' | 'Destructive' | 'Financial';
export type Risk = 'Low' | 'Medium' | 'High' | 'Critical';

export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface ClassifiableTool {
  name: string;
  description?: string;
  inputSchema?: unknown;
  annotations?: ToolAnnotations;
}

export interface Classification {
  category: Category;
  risk: Risk;
  confidence: number;
  evidence: string[];
}

const CATEGORIES: readonly Category[] = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'];
const RISKS: readonly Risk[] = ['Low', 'Medium', 'High', 'Critical'];
const BASE_RISK: readonly number[] = [0, 1, 2, 3, 3];
const HIGH = 2;

// Where a signal came from, and how much it alone is worth as confidence: annotations are server claims, not proof.
const NAME = 0;
const PARAMETER = 1;
const DESCRIPTION = 2;
const ANNOTATION = 3;
const SOURCE_WEIGHT: readonly number[] = [0.9, 0.85, 0.75, 0.6];
const MAX_DESCRIPTION_HITS = 4;

// Scratch signal list reused by every call (classification is synchronous), so a call allocates little beyond its result.
const signalRank: number[] = [];
const signalSource: number[] = [];
const signalText: string[] = [];
let signalCount = 0;
let readEvidence = '';
let riskHint = '';

function signal(rank: number, source: number, text: string): void {
  signalRank[signalCount] = rank;
  signalSource[signalCount] = source;
  signalText[signalCount] = text;
  signalCount++;
}

const ACRONYM_THEN_WORD = /([A-Z]+)([A-Z][a-z])/g;
const LOWER_THEN_UPPER = /([a-z0-9])([A-Z])/g;
const SEPARATORS = /[^a-z0-9]+/;

/** Splits a tool or parameter name in any style: snake, kebab, dotted, camel, Pascal, acronyms (HTTPGet → http get). */
export function nameWords(name: string): string[] {
  const words = name.replace(ACRONYM_THEN_WORD, '$1 $2').replace(LOWER_THEN_UPPER, '$1 $2').toLowerCase().split(SEPARATORS);
  if (words[0] === '') words.shift();
  if (words.at(-1) === '') words.pop();
  return words;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Name verbs: the first verb decides what noun-like words mean ("get_refund" reads, "refund_payment" pays). */
function scanName(words: string[]): number {
  let primary = -1;
  let primaryRank = -1;
  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    let shown = word;
    const next = words[i + 1];
    if ((word === 'log' || word === 'sign') && (next === 'out' || next === 'off')) {
      word = 'logout';
      shown = `${words[i]} ${next}`;
    }
    const verb = NAME_VERBS.get(word);
    if (!verb || (verb.nounToo && primary >= 0)) continue;
    if (primary < 0) {
      primary = i;
      primaryRank = verb.rank;
    }
    if (verb.rank === READ) {
      if (!readEvidence) readEvidence = `name verb "${shown}"`;
    } else if (verb.rank === EXECUTE && next !== undefined && FIXED_RESULT_NOUNS.has(next)) {
      // "run_funnel_query": a query whose shape the tool fixes reads; arbitrary SQL is caught by its parameter.
      if (!readEvidence) readEvidence = `name "${shown} ${next}" (a fixed query)`;
    } else {
      signal(verb.rank, NAME, `name verb "${shown}"`);
    }
  }
  if (primaryRank === WRITE || primaryRank === DESTRUCTIVE) {
    for (let i = 0; i < words.length; i++) {
      if (i !== primary && FINANCIAL_NOUNS.has(words[i]!)) {
        signal(FINANCIAL, NAME, `name verb "${words[primary]}" on "${words[i]}"`);
        break;
      }
    }
  }
  if (primaryRank !== READ && words.some((w) => w === 'request' || w === 'requests') && words.some((w) => w === 'api' || w === 'http' || w === 'graphql' || w === 'rest')) {
    signal(EXECUTE, NAME, `name "${words.join('_')}" (arbitrary API request)`);
  }
  return primaryRank;
}

const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}'’_-]*|[.;:!?,()\n]/gu;
const QUOTE = /[\p{L}\p{N}'’-]+(?:[ \t]+[\p{L}\p{N}'’-]+){0,2}/uy;
const LOG_WORDS = new Set(['log', 'logs', 'logging', 'sign', 'signs', 'signing']);

/** Quotes from `start` to `end` or, if longer, the verb at `verbAt` and the two words after it. */
function quoteAt(text: string, start: number, end: number, verbAt = start): string {
  QUOTE.lastIndex = verbAt;
  const m = QUOTE.exec(text);
  const quoteEnd = m ? Math.max(end, verbAt + m[0].length) : end;
  return `description: "${text.slice(start, quoteEnd)}"`;
}

/**
 * Description phrases. A verb counts only in verb position (clause start, after "and"/"to"/"will"…), which keeps nouns
 * ("lists charges") and negations ("does not delete") out; situation clauses ("Use this if …") count only for "to X".
 */
function scanDescription(text: string): void {
  const lower = text.toLowerCase();
  let prev = '';
  let negated = false;
  let inCondition = false;
  let pendingLog = -1;
  let hits = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(lower); m !== null && hits < MAX_DESCRIPTION_HITS; m = TOKEN.exec(lower)) {
    const token = m[0];
    if (token.length === 1 && '.;:!?,()\n'.includes(token)) {
      prev = '';
      negated = false;
      inCondition = false;
      pendingLog = -1;
      continue;
    }
    if (pendingLog >= 0) {
      if (token === 'out' || token === 'off') {
        signal(DESTRUCTIVE, DESCRIPTION, quoteAt(lower, pendingLog, m.index + token.length, m.index));
        hits++;
      }
      pendingLog = -1;
    }
    if (NEGATIONS.has(token) || token.endsWith("n't")) {
      negated = true;
    } else if (CONTRAST.has(token)) {
      negated = false;
      prev = '';
      continue;
    } else if (CONDITIONS.has(token)) {
      inCondition = true;
    } else if (!negated && (!inCondition || prev === 'to')) {
      const verbPosition = prev === '' || VERB_POSITION.has(prev);
      const verb = DESCRIPTION_VERBS.get(token);
      if (verbPosition && LOG_WORDS.has(token)) {
        pendingLog = m.index;
      } else if (verb && verb.rank !== READ && (verbPosition || verb.anywhere)) {
        const after = m.index + token.length;
        if (verb.needsObject) {
          EXECUTE_OBJECT.lastIndex = after;
          const object = EXECUTE_OBJECT.exec(lower);
          if (object) {
            signal(EXECUTE, DESCRIPTION, quoteAt(lower, m.index, after + object[0].length));
            hits++;
          }
        } else {
          FINANCIAL_OBJECT.lastIndex = after;
          const money = verb.rank === WRITE || verb.rank === DESTRUCTIVE ? FINANCIAL_OBJECT.exec(lower) : null;
          signal(money ? FINANCIAL : verb.rank, DESCRIPTION, quoteAt(lower, m.index, money ? after + money[0].length : after));
          hits++;
        }
      } else if (verb && verbPosition && !readEvidence) {
        readEvidence = quoteAt(lower, m.index, m.index + token.length);
      }
    }
    prev = token;
  }
  const irreversible = IRREVERSIBLE.exec(lower);
  if (irreversible) signal(DESTRUCTIVE, DESCRIPTION, `description: "${irreversible[0]}"`);
}

const EXECUTE_PARAMETERS = new Set(['command', 'commands', 'cmd', 'script', 'sql', 'shell', 'bash', 'javascript', 'python']);
const CODE_PARAMETERS = new Set(['code', 'expression', 'source', 'snippet']);
const QUERY_PARAMETERS = new Set(['query', 'statement']);
const ACTION_PARAMETERS = new Set(['action', 'operation', 'op', 'command', 'verb']);
const CONFIRM_PARAMETERS = new Set(['confirm', 'confirmed', 'confirmation', 'force', 'forced']);
const RUNS_CODE = /\b(?:execut|evaluat|run|javascript|python|shell|script)/i;
const SQL = /\bsql\b/i;

function parameterText(prop: Record<string, unknown> | undefined): string {
  return typeof prop?.['description'] === 'string' ? prop['description'] : '';
}

/** Parameters: what the caller can put in (a command, SQL, an amount with a currency) shows what the tool does. */
function scanParameters(schema: unknown, toolName: string, description: string, primaryRank: number): void {
  if (!isRecord(schema) || !isRecord(schema['properties'])) return;
  const props = schema['properties'];
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  let amount = '';
  let currency = '';
  let url = '';
  let method = '';
  for (const key of Object.keys(props)) {
    const prop = isRecord(props[key]) ? props[key] : undefined;
    const type = prop?.['type'];
    const textual = type !== 'number' && type !== 'integer' && type !== 'boolean' && type !== 'object';
    const words = nameWords(key);
    const first = words[0] ?? '';
    const last = words.at(-1) ?? '';
    if (!amount && words.includes('amount')) amount = key;
    if (!currency && words.includes('currency')) currency = key;
    if (!url && (last === 'url' || last === 'uri' || last === 'endpoint')) url = key;
    if (!method && last === 'method') method = key;
    if (textual && EXECUTE_PARAMETERS.has(last) && !Array.isArray(prop?.['enum'])) {
      signal(EXECUTE, PARAMETER, `parameter "${key}"`);
    } else if (textual && CODE_PARAMETERS.has(last) && (RUNS_CODE.test(parameterText(prop)) || RUNS_CODE.test(description))) {
      signal(EXECUTE, PARAMETER, `parameter "${key}" (code that runs)`);
    } else if (textual && QUERY_PARAMETERS.has(last) && (SQL.test(parameterText(prop)) || SQL.test(description) || SQL.test(toolName))) {
      signal(EXECUTE, PARAMETER, `parameter "${key}" (SQL)`);
    }
    if (CONFIRM_PARAMETERS.has(first) && !riskHint) {
      riskHint = `parameter "${key}"${required.includes(key) ? ' (required)' : ''} asks for confirmation`;
    }
    if (ACTION_PARAMETERS.has(last) && Array.isArray(prop?.['enum'])) scanActionEnum(key, prop['enum']);
  }
  if (amount && currency && primaryRank !== READ) signal(FINANCIAL, PARAMETER, `parameter "${amount}" with "${currency}"`);
  if (url && method) signal(EXECUTE, PARAMETER, `parameter "${method}" with "${url}" (arbitrary request)`);
}

/** A multi-action tool (`action: "list" | "delete"`) is as dangerous as its most dangerous action. */
function scanActionEnum(key: string, values: unknown[]): void {
  let bestRank = READ;
  let bestValue = '';
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const verb = NAME_VERBS.get(nameWords(value)[0] ?? '');
    if (verb && verb.rank > bestRank) {
      bestRank = verb.rank;
      bestValue = value;
    }
  }
  if (bestRank > READ) signal(bestRank, PARAMETER, `parameter "${key}" enum "${bestValue}"`);
}

/**
 * Annotations are hints: they can raise, never lower. MCP's destructiveHint means "may perform destructive
 * updates", which servers set on every tool that overwrites data (an edit, an update): it makes the tool at least
 * Write and raises its risk, but only removal itself (name, description) makes it Destructive.
 */
function scanAnnotations(annotations: ToolAnnotations | undefined): void {
  if (annotations?.destructiveHint === true) {
    signal(WRITE, ANNOTATION, 'annotation destructiveHint: true');
    if (!riskHint) riskHint = 'annotation destructiveHint: true (the server says it may overwrite or remove data)';
  }
  if (annotations?.readOnlyHint === false) signal(WRITE, ANNOTATION, 'annotation readOnlyHint: false');
}

function round(value: number): number {
  return Math.round(Math.min(0.99, Math.max(0.05, value)) * 100) / 100;
}

export function classifyTool(tool: ClassifiableTool): Classification {
  signalCount = 0;
  readEvidence = '';
  riskHint = '';
  const primaryRank = scanName(nameWords(tool.name));
  const description = typeof tool.description === 'string' ? tool.description : '';
  if (description) scanDescription(description);
  scanParameters(tool.inputSchema, tool.name, description, primaryRank);
  scanAnnotations(tool.annotations);
  const readOnlyClaimed = tool.annotations?.readOnlyHint === true;

  let best = READ;
  for (let i = 0; i < signalCount; i++) if (signalRank[i]! > best) best = signalRank[i]!;

  const evidence: string[] = [];
  let confidence: number;
  if (best === READ) {
    evidence.push('no write, execute, destructive or financial signal');
    if (readEvidence) evidence.push(readEvidence);
    if (readOnlyClaimed) evidence.push('annotation readOnlyHint: true');
    confidence = (readEvidence ? 0.7 : 0.4) + (readOnlyClaimed ? 0.15 : 0);
  } else {
    let sources = 0;
    let strongest = 0;
    for (let i = 0; i < signalCount; i++) {
      if (signalRank[i] !== best) continue;
      const source = signalSource[i]!;
      if ((sources & (1 << source)) === 0) {
        sources |= 1 << source;
        confidence = SOURCE_WEIGHT[source]!;
        if (confidence > strongest) strongest = confidence;
      }
      if (!evidence.includes(signalText[i]!)) evidence.push(signalText[i]!);
    }
    let agreeing = 0;
    for (let s = sources; s !== 0; s &= s - 1) agreeing++;
    confidence = strongest + 0.04 * (agreeing - 1);
    if (readOnlyClaimed) {
      evidence.push('annotation readOnlyHint: true contradicted by the signals above');
      confidence -= 0.1;
    }
  }
  let risk = BASE_RISK[best]!;
  if (riskHint) {
    evidence.push(riskHint);
    if (risk < HIGH) risk = HIGH;
  }
  return { category: CATEGORIES[best]!, risk: RISKS[risk]!, confidence: round(confidence), evidence };
}
