// Risk classifier for MCP tools: name verbs, description phrases, parameters and annotations → category, risk, evidence.
import { nameReading, readDescription, readName, reading, SIDE_EFFECT, SOFT } from './wording.js';
import {
  ACTION_PARAMETERS, CODE_BY_NAME, CODE_PARAMETERS, CONFIRM_PARAMETERS, DESTRUCTIVE, EXECUTE, EXECUTE_PARAMETERS,
  FINANCIAL, HOLDS_CODE, HTTP_REQUEST, NAME_VERBS, QUERY_PARAMETERS, READ, RUNS_CODE, SOFT_ACTIONS, SQL, WRITE,
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
const DROPPED = -1;

// Where a signal came from, and how much it alone is worth as confidence: annotations are server claims, not proof.
const NAME = 0;
const PARAMETER = 1;
const DESCRIPTION = 2;
const ANNOTATION = 3;
const SOURCE_WEIGHT: readonly number[] = [0.9, 0.85, 0.75, 0.6];

// Scratch signal list reused by every call (classification is synchronous), so a call allocates little beyond its result.
const signalRank: number[] = [];
const signalSource: number[] = [];
const signalFlags: number[] = [];
const signalText: string[] = [];
let signalCount = 0;
let riskHint = '';

/** Adds a signal to the scratch list and returns its position. */
function signal(rank: number, source: number, text: string, flags = 0): number {
  signalRank[signalCount] = rank;
  signalSource[signalCount] = source;
  signalFlags[signalCount] = flags;
  signalText[signalCount] = text;
  return signalCount++;
}

function nameSignal(rank: number, text: string, flags: number): number {
  return signal(rank, NAME, text, flags);
}

function descriptionSignal(rank: number, text: string, flags: number): number {
  return signal(rank, DESCRIPTION, text, flags);
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

function parameterText(prop: Record<string, unknown> | undefined): string {
  return typeof prop?.['description'] === 'string' ? prop['description'] : '';
}

/**
 * Parameters: what the caller can put in (a command, SQL, an amount with a currency) shows what the tool does.
 * `changesState`: the name or the lead says the tool changes something, so a currency it takes is money it moves.
 */
function scanParameters(schema: unknown, toolName: string, changesState: boolean, primaryRank: number): void {
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
    const text = parameterText(prop);
    if (!amount && words.includes('amount')) amount = key;
    if (!currency && words.includes('currency')) currency = key;
    if (!url && (last === 'url' || last === 'uri' || last === 'endpoint')) url = key;
    if (!method && last === 'method') method = key;
    if (textual && EXECUTE_PARAMETERS.has(last) && !Array.isArray(prop?.['enum'])) {
      if (CODE_BY_NAME.has(last) || text === '' || HOLDS_CODE.test(text)) signal(EXECUTE, PARAMETER, `parameter "${key}"`);
    } else if (textual && CODE_PARAMETERS.has(last) && (RUNS_CODE.test(text) || reading.executes)) {
      signal(EXECUTE, PARAMETER, `parameter "${key}" (code that runs)`);
    } else if (textual && QUERY_PARAMETERS.has(last) && (SQL.test(text) || SQL.test(toolName) || SQL.test(leadText()))) {
      signal(EXECUTE, PARAMETER, `parameter "${key}" (SQL)`);
    }
    if (CONFIRM_PARAMETERS.has(first) && !riskHint) {
      riskHint = `parameter "${key}"${required.includes(key) ? ' (required)' : ''} asks for confirmation`;
    }
    // A tool whose name reads takes an action enum as a filter ("list_adjustments" by action: refund | credit).
    if (ACTION_PARAMETERS.has(last) && Array.isArray(prop?.['enum']) && primaryRank !== READ) scanActionEnum(key, prop['enum']);
  }
  if (amount && currency && primaryRank !== READ) signal(FINANCIAL, PARAMETER, `parameter "${amount}" with "${currency}"`);
  else if (currency && changesState) signal(FINANCIAL, PARAMETER, `parameter "${currency}" (money in a state change)`);
  if (url && (method || HTTP_REQUEST.test(leadText()))) {
    signal(EXECUTE, PARAMETER, method ? `parameter "${method}" with "${url}" (arbitrary request)` : `parameter "${url}" (arbitrary HTTP request)`);
    // "browser_delete: Perform an HTTP DELETE request": the name's verb is the request's method, not the tool's act.
    if (nameReading.httpMethodSignal >= 0) signalRank[nameReading.httpMethodSignal] = DROPPED;
  }
}

/**
 * A multi-action tool (`action: "list" | "delete"`) is as dangerous as its most dangerous action; "remove" among
 * add/list actions takes an entry out of a set (detaches it), which is a bounded change.
 */
function scanActionEnum(key: string, values: unknown[]): void {
  // An HTTP method list (GET | POST | DELETE) names requests, which the url/method rule weighs.
  if (values.some((v) => v === 'GET' || v === 'POST' || v === 'PUT' || v === 'PATCH')) return;
  let bestRank = READ;
  let bestValue = '';
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const first = nameWords(value)[0] ?? '';
    const verb = NAME_VERBS.get(first);
    const rank = verb ? (SOFT_ACTIONS.has(first) ? WRITE : verb.rank) : READ;
    if (rank > bestRank) {
      bestRank = rank;
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

/**
 * Weighs each signal by where it came from. A name whose verb reads is not made Write by the description's write
 * words (usually guidance) unless they follow a read in the lead ("gets a note and marks it read"); a name whose verb
 * writes is not made Destructive by a soft removal ("hide_highlight: Remove a highlight"); annotations count only
 * when neither the name nor the lead says the tool reads.
 */
function weighSignals(nameRank: number, readBasis: boolean): number {
  let best = READ;
  for (let i = 0; i < signalCount; i++) {
    let rank = signalRank[i]!;
    const source = signalSource[i]!;
    const flags = signalFlags[i]!;
    if (source === DESCRIPTION && rank === WRITE && readBasis && (flags & SIDE_EFFECT) === 0) rank = DROPPED;
    else if (source === DESCRIPTION && rank === DESTRUCTIVE && nameRank === WRITE && (flags & SOFT) !== 0) rank = WRITE;
    else if (source === ANNOTATION && readBasis) rank = DROPPED;
    signalRank[i] = rank;
    if (rank > best) best = rank;
  }
  return best;
}

function round(value: number): number {
  return Math.round(Math.min(0.99, Math.max(0.05, value)) * 100) / 100;
}

/** The lead, for the few parameter rules that read it ("Perform an HTTP GET request", "SQL to run"). */
function leadText(): string {
  return reading.leadEnd < reading.lower.length ? reading.lower.slice(0, reading.leadEnd) : reading.lower;
}

/**
 * The lead may say what an ambiguous name means: a "drop" onto an element is a gesture, and a name whose only verb is
 * a trailing noun ("browser_network_request: Returns the details of a request") gives way to the lead's verb.
 * Returns the name's rank after that, -1 when it gave way.
 */
function nameRankAfterLead(nameSignals: number): number {
  if (reading.dropGesture && nameReading.dropSignal >= 0) signalRank[nameReading.dropSignal] = WRITE;
  if (!nameReading.trailingNoun || reading.firstRank < 0) return nameReading.rank;
  for (let i = 0; i < nameSignals; i++) signalRank[i] = DROPPED;
  return -1;
}

export function classifyTool(tool: ClassifiableTool): Classification {
  signalCount = 0;
  riskHint = '';
  readName(nameWords(tool.name), nameSignal);
  const nameSignals = signalCount;
  readDescription(typeof tool.description === 'string' ? tool.description : '', descriptionSignal);
  const nameRank = nameRankAfterLead(nameSignals);
  // The name's verb, or without one the lead's first verb, says what the tool mainly does.
  const readBasis = nameRank === READ || (nameRank < 0 && reading.firstRank === READ);
  const changesState = nameRank >= WRITE || (nameRank < 0 && reading.firstRank >= WRITE);
  scanParameters(tool.inputSchema, tool.name, changesState, nameRank);
  scanAnnotations(tool.annotations);
  const best = weighSignals(nameRank, readBasis);
  return conclude(best, nameReading.readQuote || reading.readQuote, tool.annotations?.readOnlyHint === true);
}

/** Category, risk, the evidence for the winning category and how far the sources agree. */
function conclude(best: number, readEvidence: string, readOnlyClaimed: boolean): Classification {
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
        if (SOURCE_WEIGHT[source]! > strongest) strongest = SOURCE_WEIGHT[source]!;
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
