// What a tool's input schema says, for the risk classifier: what the caller can put in (a command, SQL, an amount
// with a recipient, a price, an action enum, a `delete` switch) shows what the tool can do.
import { COUNTERPARTY_OR_ASSET, priceParameter, tradeSides } from './money.js';
import {
  ACTION_PARAMETERS, CODE_BY_NAME, CODE_PARAMETERS, CONFIRM_PARAMETERS, DESTRUCTIVE, EXECUTE, EXECUTE_PARAMETERS, FINANCIAL,
  DATA_NOUNS, HOLDS_CODE, HTTP_REQUEST, NAME_VERBS, nameWords, QUERY_PARAMETERS, READ, RUNS_CODE, SOFT_ACTIONS, SQL, WRITE,
} from './vocabulary.js';

/** Hands a parameter signal to the classifier. */
export type ParameterEmit = (rank: number, text: string) => void;

/** What the classifier knows about the tool when it reads the schema. */
export interface ParameterContext {
  toolName: string;
  words: readonly string[];
  /** Rank of the name's primary verb, -1 without one. */
  primaryRank: number;
  /** The name or the lead says the tool changes something, so a currency it takes is money it moves. */
  changesState: boolean;
  /** The name's verb, or without one the lead's first verb, reads. */
  readBasis: boolean;
  lead: string;
  lower: string;
  /** The lead runs caller-controlled code. */
  executes: boolean;
}

/** What the scan found besides signals, in one object reused by every call (classification is synchronous). */
export const parameterReading = { riskHint: '', arbitraryRequest: false, requestByUrl: false, commandAgent: false };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parameterText(prop: Record<string, unknown> | undefined): string {
  return typeof prop?.['description'] === 'string' ? prop['description'] : '';
}

const PATH_WORDS = new Set(['path', 'url', 'uri', 'endpoint', 'route']);
const BODY_WORDS = new Set(['body', 'payload', 'data', 'json', 'headers', 'query', 'params']);
const WRITING_METHODS = new Set(['post', 'put', 'patch']);
const PROMPT_WORDS = new Set(['prompt', 'task', 'instruction', 'instructions']);
/** An agent that works in a terminal runs commands of its own choosing ("coding agent for file, Git and terminal work"). */
const AGENT = /\b(?:agent|assistant)\b/;
const RUNS_COMMANDS = /\b(?:terminal|shell|bash|commands?|cli)\b/;
/** An autonomous agent given a task in free text does whatever the task says ("browser_use_agent(task)"). */
const AUTONOMOUS = /\b(?:autonomous(?:ly)?|computer[ -]use|browser automation)\b/;
const TASK_WORDS = new Set(['task', 'instruction', 'instructions', 'goal', 'objective']);
/** Before a removal verb in a boolean's name, these still make it the switch to remove ("is_destroy", "force_delete"). */
const SWITCH_PREFIXES = new Set(['is', 'do', 'should', 'force', 'hard', 'permanent', 'permanently']);
/** A price in these is a threshold to watch ("create_price_alert"), not one that is set. */
const WATCHES = new Set('alert alerts notification notifications reminder reminders watch watchlist'.split(' '));
/** The lead says the tool sends requests to an API ("Call any endpoint of the API", "Send a POST request"). */
export const API_REQUEST = /\b(?:api|endpoints?|requests?)\b/;

/** Reads the schema's top-level parameters, then walks it for action enums. */
export function scanParameters(schema: unknown, ctx: ParameterContext, emit: ParameterEmit): void {
  parameterReading.riskHint = '';
  parameterReading.arbitraryRequest = parameterReading.requestByUrl = parameterReading.commandAgent = false;
  if (!isRecord(schema) || !isRecord(schema['properties'])) return;
  const props = schema['properties'];
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  // `writes`: the name does not read (action enums and currencies of a reading name are filters); `mayChange`: neither
  // the name nor the lead says the tool reads.
  const writes = ctx.primaryRank !== READ;
  const mayChange = !ctx.readBasis;
  let amount = '';
  let currency = '';
  let counterparty = '';
  let url = '';
  let path = '';
  let body = false;
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
    if (!counterparty && COUNTERPARTY_OR_ASSET.has(last)) counterparty = key;
    if (!url && (last === 'url' || last === 'uri' || last === 'endpoint')) url = key;
    if (!path && PATH_WORDS.has(last)) path = key;
    if (BODY_WORDS.has(last)) body = true;
    if (!method && last === 'method') method = key;
    if (textual && EXECUTE_PARAMETERS.has(last) && !Array.isArray(prop?.['enum'])) {
      if (CODE_BY_NAME.has(last) || text === '' || HOLDS_CODE.test(text)) emit(EXECUTE, `parameter "${key}"`);
    } else if (textual && CODE_PARAMETERS.has(last) && (RUNS_CODE.test(text) || ctx.executes)) {
      emit(EXECUTE, `parameter "${key}" (code that runs)`);
    } else if (textual && QUERY_PARAMETERS.has(last) && (SQL.test(text) || SQL.test(ctx.toolName) || SQL.test(ctx.lead))) {
      emit(EXECUTE, `parameter "${key}" (SQL)`);
    } else if (textual && words.length === 1 && PROMPT_WORDS.has(first) && AGENT.test(ctx.lower) && RUNS_COMMANDS.test(ctx.lower)) {
      emit(EXECUTE, `parameter "${key}" for an agent that runs commands`);
      parameterReading.commandAgent = true;
    } else if (textual && words.length === 1 && TASK_WORDS.has(first) && (ctx.words.includes('agent') || AUTONOMOUS.test(ctx.lower))) {
      emit(EXECUTE, `parameter "${key}" (a task an agent carries out as it sees fit)`);
    } else if (type === 'array' && (last === 'pipeline' || last === 'stages')) {
      emit(EXECUTE, `parameter "${key}" (processing stages the caller defines)`);
    }
    if (CONFIRM_PARAMETERS.has(first) && !parameterReading.riskHint) {
      parameterReading.riskHint = `parameter "${key}"${required.includes(key) ? ' (required)' : ''} asks for confirmation`;
    }
    if (mayChange) scanSwitch(key, words, type, prop, ctx, emit);
  }
  if (amount && currency && writes) emit(FINANCIAL, `parameter "${amount}" with "${currency}"`);
  else if (amount && counterparty && mayChange) emit(FINANCIAL, `parameter "${amount}" with "${counterparty}"`);
  else if (currency && ctx.changesState) emit(FINANCIAL, `parameter "${currency}" (money in a state change)`);
  if (ctx.changesState && !ctx.words.some((w) => WATCHES.has(w))) {
    const price = priceParameter(schema);
    if (price) emit(FINANCIAL, `parameter "${price}" (sets a price)`);
  }
  if (url && (method || HTTP_REQUEST.test(ctx.lead))) {
    emit(EXECUTE, method ? `parameter "${method}" with "${url}" (arbitrary request)` : `parameter "${url}" (arbitrary HTTP request)`);
    parameterReading.arbitraryRequest = parameterReading.requestByUrl = true;
  } else if (path && (body || API_REQUEST.test(ctx.lead))) {
    // "api_post(path, body)": a REST verb tool sends whatever request the caller writes to any path of the API.
    const verb = ctx.words.find((w) => WRITING_METHODS.has(w));
    if (verb) {
      emit(EXECUTE, `name "${verb}" with parameter "${path}" (arbitrary API request)`);
      parameterReading.arbitraryRequest = true;
    }
  }
  if (writes) walkActions(schema, emit, 0);
}

/**
 * Switches and values that change what a writing tool does: a `delete` or `overwrite` flag, `force` on a push
 * (rewrites the remote's history), a buy/sell side or a leverage (a trade).
 */
function scanSwitch(key: string, words: string[], type: unknown, prop: Record<string, unknown> | undefined, ctx: ParameterContext, emit: ParameterEmit): void {
  const first = words[0] ?? '';
  const last = words.at(-1) ?? '';
  if (type === 'boolean' && (words.length === 1 || (words.length === 2 && SWITCH_PREFIXES.has(first)))) {
    // Only an outright removal: `clear` or `reset` switches usually empty a field first ("type(text, clear: true)").
    const verb = NAME_VERBS.get(last);
    if (verb?.rank === DESTRUCTIVE && !verb.nounToo && !SOFT_ACTIONS.has(last)) emit(DESTRUCTIVE, `parameter "${key}" (switches to a removal)`);
    else if (first === 'force' && words.length === 1 && ctx.words.includes('push')) emit(DESTRUCTIVE, `parameter "${key}" on a push (rewrites history)`);
  }
  // A side or a leverage is a trade's only where the tool changes something; market data is filtered by them too.
  if (!ctx.changesState) return;
  if (Array.isArray(prop?.['enum']) && tradeSides(prop['enum'])) emit(FINANCIAL, `parameter "${key}" (buy or sell)`);
  if (key.toLowerCase() === 'leverage') emit(FINANCIAL, `parameter "${key}" (a trade's exposure)`);
}

/** The values an action-like parameter can take: an enum, an array of enum items, or a union of constants. */
function choices(prop: Record<string, unknown>): unknown[] {
  if (Array.isArray(prop['enum'])) return prop['enum'];
  if ('const' in prop) return [prop['const']];
  if (isRecord(prop['items'])) return choices(prop['items']);
  const union = Array.isArray(prop['oneOf']) ? prop['oneOf'] : Array.isArray(prop['anyOf']) ? prop['anyOf'] : [];
  return union.flatMap((variant) => (isRecord(variant) ? choices(variant) : []));
}

const MAX_DEPTH = 3;
/** Keys that may end in an action word, checked before splitting the key into words. */
const ACTION_TAIL = new RegExp(`(?:${[...ACTION_PARAMETERS].join('|')})$`, 'i');

/**
 * A multi-action tool (`action: "list" | "delete"`) is as dangerous as its most dangerous action, wherever the
 * action sits: at the top, in a nested options object, or in each variant of a union. (Only for a name that does not
 * read: "list_adjustments" takes its action enum, refund | credit, as a filter.)
 */
function walkActions(schema: Record<string, unknown>, emit: ParameterEmit, depth: number): void {
  const props = isRecord(schema['properties']) ? schema['properties'] : {};
  for (const [key, value] of Object.entries(props)) {
    if (!isRecord(value)) continue;
    const last = ACTION_TAIL.test(key) ? (nameWords(key).at(-1) ?? '') : '';
    if (ACTION_PARAMETERS.has(last)) scanActionEnum(key, choices(value), emit);
    else if (depth < MAX_DEPTH && (value['type'] === 'object' || isRecord(value['properties']) || hasUnion(value))) walkActions(value, emit, depth + 1);
  }
  if (depth >= MAX_DEPTH) return;
  for (const union of ['oneOf', 'anyOf', 'allOf']) {
    const variants = schema[union];
    if (Array.isArray(variants)) for (const variant of variants) if (isRecord(variant)) walkActions(variant, emit, depth + 1);
  }
}

function hasUnion(node: Record<string, unknown>): boolean {
  return Array.isArray(node['oneOf']) || Array.isArray(node['anyOf']) || Array.isArray(node['allOf']);
}

/** Actions that put an entry into a set: beside one of them, "remove" takes the entry out again (detaches it). */
const ADDING_ACTIONS = new Set(['add', 'attach', 'link', 'assign', 'insert', 'append', 'push', 'set', 'put']);

function scanActionEnum(key: string, values: unknown[], emit: ParameterEmit): void {
  // An HTTP method list (GET | POST | DELETE) names requests, which the url/method rule weighs.
  if (values.some((v) => v === 'GET' || v === 'POST' || v === 'PUT' || v === 'PATCH')) return;
  const valueWords = values.map((v) => (typeof v === 'string' ? nameWords(v) : []));
  const firsts = valueWords.map((words) => words[0] ?? '');
  const adds = firsts.some((first) => ADDING_ACTIONS.has(first));
  let bestRank = READ;
  let bestValue = '';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const first = firsts[i]!;
    if (typeof value !== 'string') continue;
    // "trade_data", "order_history": a value that ends in a kind of data selects what to read.
    const verb = DATA_NOUNS.has(valueWords[i]!.at(-1) ?? '') ? undefined : NAME_VERBS.get(first);
    const rank = verb ? (SOFT_ACTIONS.has(first) && adds ? WRITE : verb.rank) : READ;
    if (rank > bestRank) {
      bestRank = rank;
      bestValue = value;
    }
  }
  if (bestRank > READ) emit(bestRank, `parameter "${key}" enum "${bestValue}"`);
}
