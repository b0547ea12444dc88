// What a tool's name and description say, for the risk classifier: verbs, what they act on, negations. The name's
// primary verb says what the tool does; in the description the lead (the first sentence that says something) does,
// while later sentences are mostly usage guidance ("Use this when the user wants to submit feedback", "Poll after
// calling X"), so after the lead only phrases that mark an effect whatever the verb count (an irreversible removal,
// an overwritten file, a killed process, a test suite the tool runs).
import { financialObjectEnd, nameFinancialObject } from './money.js';
import {
  ASPECT_VERBS, BUILD_TARGET, CODE_OBJECTS, CONDITIONS, CONTRAST, DEPLOY_OBJECT, DEPLOY_OBJECTS, DEPLOY_VERBS, DESCRIPTION_VERBS,
  DATA_NOUNS, DESTRUCTIVE, destructivePhrase, DROP_TARGET, EXECUTE, EXECUTE_OBJECT, executesPhrase, FINANCIAL, FIXED_RESULT_NOUNS,
  HTTP_METHODS, MEANING_BEFORE, NAME_VERBS, NEGATIONS, READ, SHELL_NAMES, SHELL_TARGET, TYPING_VERBS, VERB_POSITION, WRITE,
  WRITES_WITH, type DescriptionVerb, type VerbEntry,
} from './vocabulary.js';

/** Signal flag: remove, clear, drop … restating the name or offered instead of a write (bounded when the name writes). */
export const SOFT = 1;
/** Signal flag: a write joined to a read in one clause ("Gets a note and marks it as read"), a side effect of reading. */
export const SIDE_EFFECT = 2;

/** Hands a signal to the classifier, which returns its position in the signal list. */
export type Emit = (rank: number, text: string, flags: number) => number;

/** What the name says, in one object reused by every call (classification is synchronous). */
export interface NameReading {
  /** Rank of the primary verb, -1 when the name has no verb. */
  rank: number;
  /** Quote of a reading primary verb, for evidence. */
  readQuote: string;
  /** Signals the description may reinterpret: an HTTP method word ("browser_delete"), a "drop" that is a gesture. */
  httpMethodSignal: number;
  dropSignal: number;
  /** The only verb ends the name and is a noun too ("browser_network_request"): the lead may say better. */
  trailingNoun: boolean;
  /** The name says it sends an arbitrary API request ("make_api_request"). */
  apiRequest: boolean;
}

export const nameReading: NameReading = { rank: -1, readQuote: '', httpMethodSignal: -1, dropSignal: -1, trailingNoun: false, apiRequest: false };

/** "log_out" and "sign_off" are one verb. */
function isLogOut(words: string[], i: number): boolean {
  return (words[i] === 'log' || words[i] === 'sign') && (words[i + 1] === 'out' || words[i + 1] === 'off');
}

/** "dry_run" simulates; the "drop" of "drag_and_drop" is part of the gesture; "open_interest" is market data. */
function partOfCompound(words: string[], i: number): boolean {
  const word = words[i];
  if (word === 'run') return words[i - 1] === 'dry';
  if (word === 'open') return words[i + 1] === 'interest';
  if (word === 'drop') return words[i - 1] === 'drag' || (words[i - 1] === 'and' && words[i - 2] === 'drag');
  return false;
}

/** The verb at word `i`, reading compounds: "log out" logs out, "dry run" simulates, "evaluate_policies" assesses. */
function nameVerb(words: string[], i: number): VerbEntry | undefined {
  if (partOfCompound(words, i)) return undefined;
  if (words[i] === 'dry' && words[i + 1] === 'run') return NAME_VERBS.get('simulate');
  if ((words[i] === 'evaluate' || words[i] === 'eval') && i + 1 < words.length && !CODE_OBJECTS.has(words[i + 1]!)) {
    return NAME_VERBS.get('analyze');
  }
  const meaning = MEANING_BEFORE.get(words[i]!);
  if (meaning) {
    const before = meaning.objects.has(words[i + 1] ?? '') || meaning.objects.has(words[i + 2] ?? '');
    return before ? NAME_VERBS.get(meaning.means) : meaning.otherwise ? NAME_VERBS.get(meaning.otherwise) : undefined;
  }
  return NAME_VERBS.get(isLogOut(words, i) ? 'logout' : words[i]!);
}

/**
 * The name's primary verb decides what noun-like words mean ("get_refund" reads, "refund_payment" pays). It is the
 * first verb, unless that one is also a noun and a plain verb follows ("post_search" searches), or it only says
 * that something begins ("start_search" searches).
 */
function primaryVerb(words: string[]): number {
  let first = -1;
  for (let i = 0; i < words.length; i++) {
    const verb = nameVerb(words, i);
    if (!verb) continue;
    if (first < 0) {
      first = i;
      continue;
    }
    const firstVerb = nameVerb(words, first)!;
    return (firstVerb.nounToo && !verb.nounToo) || ASPECT_VERBS.has(words[first]!) ? i : first;
  }
  return first;
}

/** A reading verb whose object makes it a state change ("resolve_issue", "show_notification"). */
function writesWithObject(words: string[], primary: number): boolean {
  const objects = WRITES_WITH.get(words[primary]!);
  if (!objects) return false;
  for (let i = primary + 1; i < words.length; i++) if (objects.has(words[i]!)) return true;
  return false;
}

/** Reads the name's verbs into `nameReading`, emitting a signal for each that is not a read. */
export function readName(words: string[], emit: Emit): void {
  nameReading.rank = -1;
  nameReading.readQuote = '';
  nameReading.httpMethodSignal = nameReading.dropSignal = -1;
  nameReading.trailingNoun = nameReading.apiRequest = false;
  const primary = primaryVerb(words);
  if (primary < 0) return;
  const primaryEntry = nameVerb(words, primary)!;
  const primaryRank = writesWithObject(words, primary) ? WRITE : primaryEntry.rank;
  nameReading.rank = primaryRank;
  // Only a noun-like word of little danger yields to the lead; "pipelines_run" keeps its run.
  nameReading.trailingNoun = primary > 0 && primary === words.length - 1 && primaryEntry.nounToo && primaryRank <= WRITE;
  for (let i = primary; i < words.length; i++) {
    const verb = nameVerb(words, i);
    if (!verb) continue;
    const logOut = isLogOut(words, i);
    const shown = logOut ? `${words[i]} ${words[i + 1]}` : words[i]!;
    const next = words[i + 1];
    if (i === primary) {
      if (primaryRank === READ) {
        nameReading.readQuote = `name verb "${shown}"`;
      } else if (verb.rank === EXECUTE && next !== undefined && FIXED_RESULT_NOUNS.has(next)) {
        // "run_funnel_query": a query whose shape the tool fixes reads; arbitrary SQL is caught by its parameter.
        nameReading.readQuote = `name "${shown} ${next}" (a fixed query)`;
      } else {
        const index = emit(primaryRank, `name verb "${shown}"`, 0);
        if (HTTP_METHODS.has(shown)) nameReading.httpMethodSignal = index;
        if (shown === 'drop') nameReading.dropSignal = index;
      }
    } else if (!verb.nounToo && verb.rank !== READ) {
      // After a reading verb, a later verb is usually a noun ("get_asset_upload_url", "get_buy_quote") unless joined
      // ("get_or_create", "export_then_delete").
      const joined = words[i - 1] === 'and' || words[i - 1] === 'or' || words[i - 1] === 'then';
      if (primaryRank !== READ || joined) {
        const index = emit(verb.rank, `name verb "${shown}"`, 0);
        if (shown === 'drop') nameReading.dropSignal = index;
      }
    }
    if (logOut) i++;
  }
  readNameObjects(words, primary, primaryRank, emit);
}

/**
 * What the primary verb acts on: a deployable or runnable (Execute), a whole file (Destructive), a financial
 * commitment, a terminal (typing there runs commands), an arbitrary API request.
 */
function readNameObjects(words: string[], primary: number, primaryRank: number, emit: Emit): void {
  const verb = words[primary]!;
  if (DEPLOY_VERBS.has(verb)) {
    for (let i = primary + 1; i < words.length; i++) {
      if (DEPLOY_OBJECTS.has(words[i]!)) {
        emit(EXECUTE, `name "${verb} … ${words[i]}" (runs it or puts it live)`, 0);
        break;
      }
    }
  }
  const object = words[primary + 1];
  if (verb === 'write' && (object === 'file' || object === 'files')) {
    emit(DESTRUCTIVE, `name "${verb} ${object}" (replaces the file's content)`, 0);
  }
  if (primaryRank >= WRITE && primaryRank < FINANCIAL) {
    const financial = nameFinancialObject(words, primary);
    if (financial) emit(FINANCIAL, `name verb "${verb}" on "${financial}"`, 0);
  }
  if (TYPING_VERBS.has(verb) && words.some((w) => SHELL_NAMES.has(w))) {
    emit(EXECUTE, `name "${verb}" into a terminal (runs what it sends)`, 0);
  }
  const request = words.some((w) => w === 'request' || w === 'requests');
  if (primaryRank !== READ && request && words.some((w) => w === 'api' || w === 'http' || w === 'graphql' || w === 'rest')) {
    emit(EXECUTE, `name "${words.join('_')}" (arbitrary API request)`, 0);
    nameReading.apiRequest = true;
  }
}

/** What the description says, in one object reused by every call (classification is synchronous). */
export interface DescriptionReading {
  /** The description lower-cased. */
  lower: string;
  /** Where the lead ends in `lower`. */
  leadEnd: number;
  /** Rank of the lead's first verb, -1 if it has none. */
  firstRank: number;
  /** Quote of the lead's first read verb, for evidence. */
  readQuote: string;
  /** The lead drops something onto a target: a pointer gesture, not a removal. */
  dropGesture: boolean;
  /** The lead runs caller-controlled code, commands or requests. */
  executes: boolean;
}

export const reading: DescriptionReading = { lower: '', leadEnd: 0, firstRank: -1, readQuote: '', dropGesture: false, executes: false };

/** Where the scan is in the lead: the clause (reset at punctuation) and the sentence. */
const at = {
  emit: ((): number => -1) as Emit,
  prev: '',
  negated: false,
  inCondition: false,
  pendingLog: -1,
  prevWasVerb: false,
  readInClause: false,
  readForm: -1,
  lastVerbRank: -1,
  executing: false,
  destructive: false,
  hasVerb: false,
  hits: 0,
  /** After "Requires:", "Args:" …, up to the end of the sentence: names of parameters, not verbs. */
  inLabelList: false,
};

/** Labels after which a description lists parameter names ("Requires: type, symbol"). */
const LIST_LABELS = new Set('requires required params parameters args arguments inputs fields options accepts'.split(' '));
/**
 * A lead that only names the data returned ("Liquidation data.", "Trading pair data.", "Aggregated open interest
 * history."): a title, whose words are not verbs; the lead is the next sentence.
 */
const DATA_TITLE = new RegExp(`^[ \\t]*(?:[\\p{L}\\p{N}&'’/-]+[ \\t]+){0,5}(?:${[...DATA_NOUNS].join('|')})[ \\t]*(?:[.:\\n]|$)`, 'u');

const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}'’_-]*|[.;:!?,()\n]/gu;
const QUOTE = /[\p{L}\p{N}'’-]+(?:[ \t]+[\p{L}\p{N}'’-]+){0,2}/uy;
const LOG_WORDS = new Set(['log', 'logs', 'logging', 'sign', 'signs', 'signing']);
const MAX_HITS = 8;
/** The lead is the first sentence with a verb, looking at most this many sentences ("🎯 Purpose: 1. …" is not one). */
const MAX_LEAD_SENTENCES = 3;
const SLASH = 47;
const COLON = 58;

/** Quotes from `start` to `end` or, if longer, the verb at `verbAt` and the two words after it. */
function quoteAt(text: string, start: number, end: number, verbAt = start): string {
  QUOTE.lastIndex = verbAt;
  const m = QUOTE.exec(text);
  const quoteEnd = m ? Math.max(end, verbAt + m[0].length) : end;
  return `description: "${text.slice(start, quoteEnd)}"`;
}

/** Matches `pattern` (sticky) right after `from`, returning where the match ends or -1. */
function objectEnd(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  const m = pattern.exec(text);
  return m ? from + m[0].length : -1;
}

function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

/** A '.', '!' or '?' before a space (not "example.com"), or a line break not continuing the sentence in lower case. */
function endsSentence(text: string, index: number, token: string): boolean {
  const next = text.charCodeAt(index + 1);
  if (token === '\n') return !(next >= 97 && next <= 122);
  return (token === '.' || token === '!' || token === '?') && (Number.isNaN(next) || next === 32 || next === 10 || next === 9);
}

/** Emits what a lead verb means and notes it for the rest of the lead. */
function found(rank: number, quote: string, flags = 0): void {
  if (reading.firstRank < 0) reading.firstRank = rank;
  if (rank === DESTRUCTIVE) at.destructive = true;
  if (rank === EXECUTE) at.executing = reading.executes = true;
  at.lastVerbRank = rank;
  at.hasVerb = true;
  at.hits++;
  at.emit(rank, quote, flags);
}

/**
 * Reads the lead. A verb counts only in verb position (clause start, after "and"/"to"/"will"…), which keeps nouns
 * ("lists charges") and negations ("does not delete") out; situation clauses ("Use this if …") do not count, nor do
 * words in capitals (INSERT, UPDATE, DELETE are keywords or values) or headings ("Triggers:").
 */
export function readDescription(text: string, lower: string, emit: Emit, phrasesPossible = true): void {
  reading.lower = lower;
  reading.leadEnd = lower.length;
  reading.firstRank = -1;
  reading.readQuote = '';
  reading.dropGesture = false;
  reading.executes = false;
  at.emit = emit;
  at.readForm = -1;
  at.destructive = at.hasVerb = at.executing = false;
  at.hits = 0;
  at.inLabelList = false;
  newClause(false);
  let sentenceWords = 0;
  let sentences = 0;
  const title = DATA_TITLE.exec(lower);
  TOKEN.lastIndex = title ? title[0].length : 0;
  for (let m = TOKEN.exec(lower); m !== null && at.hits < MAX_HITS; m = TOKEN.exec(lower)) {
    const token = m[0];
    if (token.length > 1 || !'.;:!?,()\n'.includes(token)) {
      sentenceWords++;
      readWord(text, lower, token, m.index);
      continue;
    }
    if (token === ':' && LIST_LABELS.has(at.prev)) at.inLabelList = true;
    // "list, get, or set": a comma right after a verb continues a list of verbs, not a new clause.
    newClause(token === ',' && at.prevWasVerb);
    if (!endsSentence(lower, m.index, token)) continue;
    at.inLabelList = false;
    if (at.hasVerb || (sentenceWords >= 2 && ++sentences >= MAX_LEAD_SENTENCES)) {
      reading.leadEnd = m.index;
      break;
    }
    sentenceWords = 0;
    at.executing = false;
  }
  if (!phrasesPossible) return;
  const phrase = at.destructive ? '' : destructivePhrase(lower);
  if (phrase) emit(DESTRUCTIVE, `description: "${phrase}"`, 0);
  const runs = reading.executes ? '' : executesPhrase(lower);
  if (runs) emit(EXECUTE, `description: "${runs}"`, 0);
}

function newClause(verbList: boolean): void {
  at.prev = '';
  at.negated = false;
  at.inCondition = false;
  at.pendingLog = -1;
  if (!verbList) {
    at.readInClause = false;
    at.lastVerbRank = -1;
  }
  at.prevWasVerb = false;
}

function readWord(text: string, lower: string, token: string, index: number): void {
  const afterVerb = at.prevWasVerb;
  at.prevWasVerb = false;
  if (at.pendingLog >= 0) {
    if (token === 'out' || token === 'off') found(DESTRUCTIVE, quoteAt(lower, at.pendingLog, index + token.length, index));
    at.pendingLog = -1;
  }
  if (at.inLabelList) {
    at.prev = token;
    return;
  }
  if (NEGATIONS.has(token) || token.endsWith("n't")) {
    at.negated = true;
  } else if (CONTRAST.has(token)) {
    at.negated = false;
    at.prev = '';
    return;
  } else if (CONDITIONS.has(token)) {
    at.inCondition = true;
  } else if (!at.negated && !at.inCondition) {
    // "add/update/delete items": a word right after a slash that follows a verb is a verb too.
    const verbPosition = at.prev === '' || VERB_POSITION.has(at.prev) || (afterVerb && lower.charCodeAt(index - 1) === SLASH);
    const verb = DESCRIPTION_VERBS.get(token);
    const capitals = isUpper(text.charCodeAt(index)) && isUpper(text.charCodeAt(index + 1));
    const heading = lower.charCodeAt(index + token.length) === COLON;
    if (verbPosition && LOG_WORDS.has(token)) {
      at.pendingLog = index;
    } else if (verb && (verbPosition || verb.anywhere) && !capitals && !heading && (!verb.firstOnly || reading.firstRank < 0)) {
      at.prevWasVerb = true;
      readVerb(verb, lower, token, index);
    } else if (verbPosition && at.prev !== '' && token.length > 4 && token.endsWith('ly')) {
      // An adverb keeps the verb position for the next word ("to autonomously execute tasks").
      return;
    }
  }
  at.prev = token;
}

/** What a verb in verb position means, given its object and the clause around it. */
function readVerb(verb: DescriptionVerb, lower: string, token: string, index: number): void {
  const after = index + token.length;
  let end: number;
  if (verb.builds && (end = objectEnd(BUILD_TARGET, lower, after)) >= 0) {
    found(EXECUTE, quoteAt(lower, index, end));
  } else if (verb.rank === READ) {
    if (!reading.readQuote) reading.readQuote = quoteAt(lower, index, after);
    if (reading.firstRank < 0) reading.firstRank = READ;
    at.readForm = verb.form;
    at.readInClause = true;
    at.lastVerbRank = READ;
    at.hasVerb = true;
  } else if (at.executing && (verb.rank === WRITE || verb.rank === DESTRUCTIVE)) {
    // "Executes GraphQL mutations … to create, update, or delete data": what the caller's code may do.
    at.hasVerb = true;
  } else if (verb.needsObject) {
    // Only "run a script" is Execute; a bare "call this tool" is guidance and does not end the search for the lead.
    if ((end = objectEnd(EXECUTE_OBJECT, lower, after)) >= 0) found(EXECUTE, quoteAt(lower, index, end));
  } else if (verb.deploys && (end = objectEnd(DEPLOY_OBJECT, lower, after)) >= 0) {
    found(EXECUTE, quoteAt(lower, index, end));
  } else if (verb.rank === WRITE && (end = objectEnd(SHELL_TARGET, lower, after)) >= 0) {
    found(EXECUTE, quoteAt(lower, index, end));
  } else if ((verb.rank === WRITE || verb.rank === DESTRUCTIVE) && (end = financialObjectEnd(lower, after, token)) >= 0) {
    found(FINANCIAL, quoteAt(lower, index, end));
  } else if (verb.soft && token.startsWith('drop') && (end = objectEnd(DROP_TARGET, lower, after)) >= 0) {
    reading.dropGesture = true;
    found(WRITE, quoteAt(lower, index, end));
  } else {
    // A soft removal restating the name ("hide_highlight: Remove a highlight") or offered instead of a write
    // ("Add or remove labels") is soft; one done as well ("Ends the session and clears credentials") is not.
    const soft = verb.soft && (reading.firstRank < 0 || (at.prev === 'or' && at.lastVerbRank === WRITE));
    const joined = at.readInClause && verb.form === at.readForm && (at.prev === 'and' || at.prev === 'or' || at.prev === 'then');
    found(verb.rank, quoteAt(lower, index, after), (soft ? SOFT : 0) | (verb.rank === WRITE && joined ? SIDE_EFFECT : 0));
  }
}
