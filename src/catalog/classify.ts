// Risk classifier for MCP tools: name verbs, description phrases, parameters and annotations → category, risk, evidence.
import { MONEY_SERVICES, PAYMENT_HINT, readPaymentPhrase, setMoneyContext } from './money.js';
import { API_REQUEST, parameterReading, scanParameters } from './parameters.js';
import { beyondAscii, readableName, readableText, readStems } from './languages.js';
import { DESTRUCTIVE, DESTRUCTIVE_HINTS, FINANCIAL, NAME_VERBS, nameWords, READ, RUNS_HINT, WRITE } from './vocabulary.js';
import { nameReading, readDescription, readName, reading, SIDE_EFFECT, SOFT } from './wording.js';

export { nameWords };

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

/**
 * One scan of the description for every substring a phrase that counts anywhere needs ("cannot be undone",
 * "overwrites existing files", "runs the test suite", "charged to your card"); most descriptions have none, and then
 * the phrases are not looked for one by one.
 */
const PHRASE_HINTS = new RegExp([...DESTRUCTIVE_HINTS, RUNS_HINT, PAYMENT_HINT].map((hint) => hint.source).join('|'));

const nameStem = (rank: number, text: string): void => void signal(rank, NAME, text);
const descriptionStem = (rank: number, text: string): void => void signal(rank, DESCRIPTION, text);

/**
 * The words of a name as it renders. A name in odd case ("dElEtE") splits into nonsense at its case
 * changes: when those words hold no verb, the name's words without case splitting are read instead.
 */
function wordsOf(name: string): string[] {
  const words = nameWords(name);
  if (words.some((w) => NAME_VERBS.has(w)) || name === name.toLowerCase()) return words;
  const plain = nameWords(name.toLowerCase());
  return plain.some((w) => NAME_VERBS.has(w)) ? plain : words;
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

/** Drops the description's write and removal signals: they say what a command-running agent may go on to do. */
function dropDescriptionChanges(): void {
  for (let i = 0; i < signalCount; i++) {
    if (signalSource[i] === DESCRIPTION && (signalRank[i] === WRITE || signalRank[i] === DESTRUCTIVE)) signalRank[i] = DROPPED;
  }
}

function parameterSignal(rank: number, text: string): void {
  signal(rank, PARAMETER, text);
}

export function classifyTool(tool: ClassifiableTool): Classification {
  signalCount = 0;
  const name = readableName(tool.name);
  const words = wordsOf(name);
  const given = typeof tool.description === 'string' ? tool.description : '';
  const foreign = beyondAscii(given);
  const description = foreign ? readableText(given) : given;
  const lower = description.toLowerCase();
  const schema = tool.inputSchema;
  const properties = typeof schema === 'object' && schema !== null ? (schema as Record<string, unknown>)['properties'] : undefined;
  setMoneyContext(lower, words, typeof properties === 'object' && properties !== null ? Object.keys(properties) : []);
  readName(words, nameSignal);
  const nameSignals = signalCount;
  if (beyondAscii(tool.name)) readStems(readableText(tool.name), 'name', nameStem);
  const phrasesPossible = PHRASE_HINTS.test(lower);
  readDescription(description, lower, descriptionSignal, phrasesPossible);
  if (foreign) readStems(description, 'description', descriptionStem);
  const nameRank = nameRankAfterLead(nameSignals);
  // The name's verb, or without one the lead's first verb, says what the tool mainly does.
  const readBasis = nameRank === READ || (nameRank < 0 && reading.firstRank === READ);
  const changesState = nameRank >= WRITE || (nameRank < 0 && reading.firstRank >= WRITE);
  const lead = leadText();
  const context = { toolName: tool.name, words, primaryRank: nameRank, changesState, readBasis, lead, lower, executes: reading.executes };
  scanParameters(schema, context, parameterSignal);
  // "browser_delete: Perform an HTTP DELETE request": the name's verb is the request's method, not the tool's act.
  if (parameterReading.requestByUrl && nameReading.httpMethodSignal >= 0) signalRank[nameReading.httpMethodSignal] = DROPPED;
  // What an agent that runs commands may go on to do ("create, edit, delete files") is the agent's choice, not the tool's.
  if (parameterReading.commandAgent) dropDescriptionChanges();
  // A passthrough to an API whose services include payments can move money ("services: payments, refunds, …").
  const requests = parameterReading.arbitraryRequest || nameReading.apiRequest || (reading.executes && API_REQUEST.test(lead));
  if (requests && MONEY_SERVICES.test(lower)) {
    signal(FINANCIAL, DESCRIPTION, 'an arbitrary API request to a service that moves money');
  }
  if (!readBasis && phrasesPossible) readPaymentPhrase(lower, descriptionSignal);
  riskHint = parameterReading.riskHint;
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
