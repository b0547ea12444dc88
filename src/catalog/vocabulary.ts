// Word tables for the risk classifier: general verbs and nouns per category, built once at module load.

import { FOREIGN_DESCRIPTION_WORDS, FOREIGN_NAME_VERBS } from './languages.js';
import { DESTRUCTIVE, EXECUTE, FINANCIAL, READ, WRITE } from './ranks.js';

export { DESTRUCTIVE, EXECUTE, FINANCIAL, READ, WRITE };

export interface VerbEntry {
  rank: number;
  /** Also a common noun ("get_refund", "cancel_run"): a verb only when no other verb came before it in a name. */
  nounToo: boolean;
}

// Name words: tool names are imperative, so exact words only. A trailing `~` marks words that are nouns too.
const NAME_WORDS: Record<number, string> = {
  [READ]:
    'get list search find fetch read retrieve show describe view lookup check count browse inspect analyze analyse validate ' +
    'suggest explain summarize summarise preview download export diff compare calculate estimate resolve translate parse ' +
    'render ping query~ status~ screenshot~ snapshot~ head peek tail watch verify test~ generate lint format~ scrape crawl ' +
    'simulate enumerate discover recommend plan~ echo scan display convert',
  [WRITE]:
    'create update edit add set send post~ upload move~ rename merge~ fork~ star~ cancel navigate click type~ start stop write ' +
    'put patch insert modify change save publish assign invite reply push commit~ close open fill press hover drag scroll ' +
    'enable disable archive restore install apply approve reject mark tag~ schedule book register record~ replace append ' +
    'import sync copy lock unlock pin unpin share connect disconnect login signin comment~ upsert submit transfer~ make ' +
    'unarchive unstar follow unfollow like react mention attach detach resume pause select~ choose toggle configure upgrade ' +
    'rollback revert~ restart reboot clone duplicate link unassign label~ favorite subscribe unsubscribe finalize finalise void issue~ ' +
    'undo redo end resize highlight hide forward activate deactivate revise replay retry resend accept decline dismiss annotate ' +
    'enqueue scale promote release~ request~ draft~ store~ rotate go goto sign confirm complete adjust increase decrease ' +
    'redeem manage unlink shutdown trash~ fulfill fulfil ship renew swap~ mint~ authorize authorise allocate reserve~ ' +
    'provision deallocate skip unskip reopen',
  [EXECUTE]: 'exec execute run~ rerun eval evaluate invoke trigger launch deploy~ redeploy spawn shell~ bash~ call~ sql~',
  [DESTRUCTIVE]:
    'delete del remove rm drop destroy purge wipe clear truncate prune revoke logout logoff signout uninstall terminate ' +
    'erase discard flush reset~ kill overwrite evict expunge nuke shred unregister deregister decommission cleanup forget ' +
    'clean expire invalidate empty~ rmdir',
  [FINANCIAL]:
    'pay charge~ refund~ payout~ purchase~ buy sell checkout~ trade~ withdraw~ deposit~ bill~ tip~ donate settle~ reimburse~ ' +
    'stake~ unstake~ invest~ borrow~ lend~ repay~ topup~ cashout~',
};

function buildNameVerbs(): Map<string, VerbEntry> {
  const map = new Map<string, VerbEntry>();
  for (const [rank, words] of Object.entries(NAME_WORDS)) {
    for (const raw of words.split(' ')) {
      const nounToo = raw.endsWith('~');
      map.set(nounToo ? raw.slice(0, -1) : raw, { rank: Number(rank), nounToo });
    }
  }
  for (const [word, rank] of FOREIGN_NAME_VERBS) if (!map.has(word)) map.set(word, { rank, nounToo: false });
  return map;
}
export const NAME_VERBS = buildNameVerbs();

/** After "evaluate"/"eval" in a name, what makes it running code; any other object is assessed ("evaluate_policies"). */
export const CODE_OBJECTS = new Set(
  'js javascript ts typescript python code script scripts expression expressions snippet snippets cell cells notebook function functions sql command commands in on page browser'.split(
    ' ',
  ),
);

/**
 * Building, compiling or testing a project, an app or a package runs its build scripts or its test suite (Execute);
 * "build_query" or "test_connection" only composes or checks something.
 */
export const BUILD_VERBS = new Set(['build', 'compile', 'test']);
const BUILD_TARGETS =
  'project projects app apps application sim simulator device devices target targets scheme workspace package packages ' +
  'image images module modules solution suite suites binary binaries';
export const BUILD_TARGET_WORDS = new Set(BUILD_TARGETS.split(' '));
export const BUILD_TARGET = new RegExp(String.raw`[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,3}?(?:${BUILD_TARGETS.split(' ').join('|')})(?![\p{L}])`, 'uy');

/**
 * Words whose meaning in a name depends on the next word or two: "place_order" creates ("place_details" is a place),
 * "signal_process" kills, "capture_payment" charges, "top_up" pays in, "bridge_tokens" moves them to another chain,
 * "build_app" and "test_project" run build scripts or a test suite, "clean_html" returns tidied text while "clean_build"
 * removes build products. `otherwise` is the meaning without one of the objects (none: not a verb).
 */
export const MEANING_BEFORE: ReadonlyMap<string, { objects: ReadonlySet<string>; means: string; otherwise?: string }> = new Map([
  ['place', { objects: new Set('order orders bet bets bid bids trade trades hold holds'.split(' ')), means: 'create' }],
  ['signal', { objects: new Set('process processes pid pids proc job jobs'.split(' ')), means: 'kill' }],
  ['capture', { objects: new Set('payment payments charge charges funds authorization'.split(' ')), means: 'charge' }],
  ['top', { objects: new Set(['up']), means: 'topup' }],
  ['cash', { objects: new Set(['out']), means: 'cashout' }],
  ['bridge', { objects: new Set('token tokens asset assets funds coin coins'.split(' ')), means: 'transfer' }],
  ['build', { objects: BUILD_TARGET_WORDS, means: 'run' }],
  ['compile', { objects: BUILD_TARGET_WORDS, means: 'run' }],
  ['test', { objects: BUILD_TARGET_WORDS, means: 'run', otherwise: 'test' }],
  ['clean', { objects: new Set('text html markdown json string strings url urls content input name names'.split(' ')), means: 'format', otherwise: 'clean' }],
]);

/** Verbs that only say when something begins ("start_search"): the verb after them names the activity. */
export const ASPECT_VERBS = new Set(['start', 'begin']);

/**
 * Reading verbs that change state with some objects: resolving an issue closes it ("resolve_library_id" looks up),
 * showing a notification puts it on screen ("show_details" reads).
 */
export const WRITES_WITH: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['resolve', new Set('issue issues incident incidents alert alerts thread threads conversation conversations comment comments ticket tickets conflict conflicts'.split(' '))],
  ['show', new Set('notification dialog toast alert overlay popup banner highlight'.split(' '))],
  ['display', new Set('notification dialog toast alert overlay popup banner highlight'.split(' '))],
]);
/** After run/execute in a name these are fixed analytics or searches the tool defines, not caller code (Read). */
export const FIXED_RESULT_NOUNS = new Set('query report search analysis analytics funnel funnels insight insights trends retention'.split(' '));

/**
 * Putting these live or starting them runs what they describe: publish a workflow, install a chart, apply a manifest,
 * start a pipeline or a build, dispatch a job.
 */
export const DEPLOY_VERBS = new Set('publish promote release install upgrade apply rollout start dispatch'.split(' '));
export const DEPLOY_OBJECTS = new Set(
  ('workflow workflows pipeline pipelines function functions lambda lambdas chart charts manifest manifests release releases ' +
    'package packages deployment deployments migration migrations infrastructure stack stacks job jobs build builds').split(' '),
);

/**
 * Splits a tool or parameter name in any style: snake, kebab, dotted, camel, Pascal, acronyms (HTTPGet → http get).
 * One pass over the characters (it runs for every parameter key): a word ends at anything but an ASCII letter or
 * digit, and before a capital that follows a lower-case letter or a digit, or that follows a capital and is followed
 * by a lower-case letter (the last capital of an acronym starts the next word).
 */
export function nameWords(name: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0;
    const upper = c >= 65 && c <= 90;
    const alnum = upper || (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    if (start >= 0 && (!alnum || (upper && startsWord(name, i)))) {
      words.push(name.slice(start, i).toLowerCase());
      start = -1;
    }
    if (alnum && start < 0) start = i;
  }
  return words;
}

/** Whether the capital at `i` starts a word: after a lower-case letter or a digit, or an acronym's last capital. */
function startsWord(name: string, i: number): boolean {
  const prev = name.charCodeAt(i - 1);
  if ((prev >= 97 && prev <= 122) || (prev >= 48 && prev <= 57)) return true;
  const next = name.charCodeAt(i + 1);
  return prev >= 65 && prev <= 90 && next >= 97 && next <= 122;
}

/** English verb forms for descriptions: base, third person, -ing. */
export function forms(base: string): string[] {
  const third = /(s|sh|ch|x|z)$/.test(base) ? base + 'es' : /[^aeiou]y$/.test(base) ? base.slice(0, -1) + 'ies' : base + 's';
  const doubled = /^[^aeiou]*[aeiou][bdgmnprt]$/.test(base) && base.length <= 4;
  const ing = doubled ? base + base.at(-1) + 'ing' : /[^e]e$/.test(base) ? base.slice(0, -1) + 'ing' : base + 'ing';
  return [base, third, ing];
}

export interface DescriptionVerb {
  rank: number;
  /** run / execute / call … count as Execute only with a caller-controlled object (a command, a script, SQL …). */
  needsObject: boolean;
  /** Foreign-language verbs: distinctive enough to count wherever they appear (still subject to negation). */
  anywhere: boolean;
  /** remove, clear, drop …: a bounded change when the name already says what the tool does ("hide_highlight"). */
  soft: boolean;
  /** publish, install, apply …: a deploy (Execute) when a deployable object follows. */
  deploys: boolean;
  /** build, compile, test: run the project's build or test suite (Execute) when a project-like target follows. */
  builds: boolean;
  /** 0 base ("get"), 1 third person ("gets"), 2 -ing ("getting"): verbs joined by "and" share their form. */
  form: number;
  /** report, end, store …: often a noun or a "return" later on ("start and end dates"); a verb only opening the lead. */
  firstOnly: boolean;
}

const DESCRIPTION_WORDS: Record<number, string> = {
  [READ]:
    'get list search find fetch read retrieve return show describe query check count analyze analyse validate suggest ' +
    'inspect summarize preview download export generate look browse scrape crawl simulate compress decompress convert ' +
    'calculate compute estimate enumerate discover recommend explain resolve translate parse render verify provide scan dry-run ' +
    'build compile test',
  [WRITE]:
    'create update edit add set send post upload move rename merge fork star cancel navigate click type start stop write ' +
    'modify change insert save publish assign invite reply push commit close open press fill hover drag scroll enable ' +
    'disable archive restore install apply approve reject schedule book replace append import copy share connect submit ' +
    'record upsert transfer toggle configure upgrade restart finalize finalise void issue register report end resize ' +
    'highlight hide forward activate deactivate revise replay resend accept annotate enqueue mark detach attach promote undo redo ' +
    'request draft store rotate queue go place adjust increase decrease redeem manage unlink confirm complete fulfill fulfil ' +
    'renew swap mint authorize authorise allocate reserve provision deallocate skip unskip reopen',
  [EXECUTE]: 'trigger launch deploy spawn',
  [DESTRUCTIVE]:
    'delete remove drop destroy purge wipe clear truncate prune revoke uninstall terminate erase discard flush reset kill ' +
    'overwrite evict expunge logout unregister deregister forget clean invalidate',
  [FINANCIAL]: 'pay charge refund purchase buy trade settle reimburse stake unstake withdraw deposit debit invest borrow lend repay',
};
const NEEDS_OBJECT = 'run execute eval evaluate invoke call';
const SOFT_DESTRUCTIVE = new Set('remove clear drop discard flush reset evict'.split(' '));
const FIRST_ONLY = new Set('report end queue request draft store go record place'.split(' '));

function buildDescriptionVerbs(): Map<string, DescriptionVerb> {
  const map = new Map<string, DescriptionVerb>();
  const add = (rank: number, base: string, needsObject: boolean, anywhere: boolean): void => {
    const soft = SOFT_DESTRUCTIVE.has(base);
    const deploys = DEPLOY_VERBS.has(base);
    const builds = BUILD_VERBS.has(base);
    const firstOnly = FIRST_ONLY.has(base);
    const words = anywhere ? [base] : forms(base);
    words.forEach((word, form) => map.set(word, { rank, needsObject, anywhere, soft, deploys, builds, form, firstOnly }));
  };
  for (const [rank, words] of Object.entries(DESCRIPTION_WORDS)) for (const base of words.split(' ')) add(Number(rank), base, false, false);
  for (const base of NEEDS_OBJECT.split(' ')) add(EXECUTE, base, true, false);
  for (const [rank, words] of Object.entries(FOREIGN_DESCRIPTION_WORDS)) for (const word of words.split(' ')) add(Number(rank), word, false, true);
  return map;
}
export const DESCRIPTION_VERBS = buildDescriptionVerbs();

/** Words after which the next word is in verb position ("… and clear", "to delete", "will permanently remove"). */
export const VERB_POSITION = new Set(
  ('and or to then also will can may might must should it this that which who you we tool permanently irreversibly ' +
    'immediately automatically first directly simply completely entirely fully forcibly forcefully instantly optionally ' +
    'helps lets et ou pour y o para und oder zu').split(' '),
);

/** Negations: a verb after one of these, up to the end of the clause, does not count ("does not delete"). */
export const NEGATIONS = new Set(
  ("not never no without cannot can't don't doesn't won't isn't aren't shouldn't didn't wouldn't nor neither " +
    'nicht kein keine niemals ne pas jamais sans sin nunca').split(' '),
);
/** Words that end a negation early ("does not delete but archives"). */
export const CONTRAST = new Set('but instead only rather aber sondern mais pero sino'.split(' '));

/** Words opening a situation clause ("Use this if your token is stale"): it says when to call, not what happens. */
export const CONDITIONS = new Set('if when whenever unless before after because since once si wenn falls cuando'.split(' '));

/** Objects that make run/execute/call caller-controlled (Execute) rather than a fixed query (Read). */
export const EXECUTE_OBJECT =
  /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,4}?(?:arbitrary|any|custom|raw|shell|commands?|scripts?|code|[\p{L}]*ql|cypher|gremlin|sparql|mutations?|cli|javascript|js|python|workflows?|pipelines?|functions?|lambdas?|jobs?|tasks?|containers?|programs?|processes|migrations?|expressions?|api|endpoints?|requests?|tests?|builds?|notebooks?|playbooks?|snippets?)(?![\p{L}])/uy;

/** What a deploy verb puts live or starts ("publishes a workflow draft", "apply a YAML manifest", "starts a build"). */
export const DEPLOY_OBJECT =
  /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,3}?(?:workflows?|pipelines?|functions?|lambdas?|charts?|manifests?|releases?|packages?|deployments?|migrations?|infrastructure|stacks?|jobs?|builds?)(?![\p{L}])/uy;

/** A write whose target is an interactive shell runs what it sends ("send input to an existing terminal"). */
export const SHELL_TARGET = /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,5}?(?:terminals?|shells?|repls?|consoles?|ptys?|ttys?)(?![\p{L}])/uy;

/** A drop onto something is a pointer gesture, not a removal ("drop files onto an element", "drag and drop between"). */
export const DROP_TARGET = /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,4}?(?:onto|into|between)(?![\p{L}])/uy;

/** Phrases that mark an irreversible effect whatever the verb, anywhere in the description. */
const IRREVERSIBLE =
  /\b(?:cannot be undone|can ?not be reversed|irreversibl[ey]|permanently (?:delet|remov|destroy|eras|purg|wip)\w*)\b/;
/** Replacing a file that is already there loses it ("replaces an existing file unconditionally", "existing files are overwritten"). */
const OVERWRITES_FILES =
  /\b(?:(?:overwrit(?:es?|ing)|replac(?:es?|ing))[ \t]+(?:(?:an?|the|any)[ \t]+)?(?:existing|destination|target|remote)[ \t]+(?:[\w-]+[ \t]+)?(?:files?|objects?)|(?:existing|destination|target)[ \t]+(?:files?|objects?)\b(?:(?!\b(?:not|never|no)\b)[^.;!?]){0,40}?\b(?:overwritten|replaced))\b/;
/** Where typed input runs as commands: a write or send into one of these is Execute ("pty_write", "terminal.send"). */
export const SHELL_NAMES = new Set('terminal terminals shell shells pty tty repl'.split(' '));
export const TYPING_VERBS = new Set('write send type input paste press'.split(' '));

/** Signalling a process ends it ("sends SIGTERM", "send a signal to a running process"); a force push rewrites history. */
const KILLS_OR_REWRITES = /\b(?:sig(?:kill|term|int|hup|quit)|signals?[ \t]+to[ \t]+(?:an?[ \t]+|the[ \t]+)?(?:running[ \t]+)?process(?:es)?|force[ -]push(?:es|ing)?)\b/;
/** Each phrase with a substring it cannot match without, checked first because most descriptions have none. */
const DESTRUCTIVE_PHRASES: [RegExp, RegExp][] = [
  [IRREVERSIBLE, /undone|reversed|irreversib|permanently/],
  [OVERWRITES_FILES, /overwrit|replac/],
  [KILLS_OR_REWRITES, /sig|force/],
];
const NEGATED_BEFORE = /\b(?:not|never|no|without|cannot|won't|doesn't|don't|instead of)\b[^.;:!?]{0,24}$/;

/** The substrings without which no destructive phrase can match. */
export const DESTRUCTIVE_HINTS: readonly RegExp[] = DESTRUCTIVE_PHRASES.map(([, hint]) => hint);

/** A phrase anywhere in the description that marks a destructive effect whatever the verb, or '' (none, or negated). */
export function destructivePhrase(lower: string): string {
  for (const [pattern, hint] of DESTRUCTIVE_PHRASES) {
    const m = hint.test(lower) ? pattern.exec(lower) : null;
    if (m && !NEGATED_BEFORE.test(lower.slice(Math.max(0, m.index - 40), m.index))) return m[0];
  }
  return '';
}

/**
 * Anywhere in the description, in the third person (what the tool does, not advice to the caller): it runs a test
 * suite, commands or scripts ("Analyses coverage. Runs the test suite with coverage enabled").
 */
const RUNS_ANYWHERE =
  /\b(?:runs|executes)[ \t]+(?:(?:the|your|all|a|an)[ \t]+)?(?:[\w-]+[ \t]+){0,2}?(?:tests?|test suites?|commands?|scripts?|code|shell)\b/;

/** A phrase anywhere in the description saying the tool runs tests, commands or scripts, or '' (none, or negated). */
export const RUNS_HINT = /runs|executes/;

export function executesPhrase(lower: string): string {
  const m = RUNS_HINT.test(lower) ? RUNS_ANYWHERE.exec(lower) : null;
  return m && !NEGATED_BEFORE.test(lower.slice(Math.max(0, m.index - 40), m.index)) ? m[0] : '';
}

/** The tool calls an HTTP endpoint the caller names ("Perform an HTTP GET request"), with a URL parameter. */
export const HTTP_REQUEST = /\bhttp (?:(?:get|post|put|patch|delete|head) )?requests?\b/;
export const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head']);

// Parameter names: what the caller can put in shows what the tool does.
export const EXECUTE_PARAMETERS = new Set(['command', 'commands', 'cmd', 'script', 'sql', 'shell', 'bash', 'javascript', 'python', 'manifest']);
/** These say what language they hold; command, script or manifest may also name an existing one ("the Worker script that …"). */
export const CODE_BY_NAME = new Set(['sql', 'shell', 'bash', 'javascript', 'python']);
export const HOLDS_CODE = /\b(?:execut|run|eval|content|code|source|body|text|shell|bash|javascript|python|sql|yaml|json|lines?\b|commands?\b|arguments?\b)/i;
export const CODE_PARAMETERS = new Set(['code', 'expression', 'source', 'snippet']);
export const QUERY_PARAMETERS = new Set(['query', 'statement']);
export const ACTION_PARAMETERS = new Set(['action', 'actions', 'operation', 'operations', 'op', 'command', 'subcommand', 'verb', 'method', 'mode']);
export const CONFIRM_PARAMETERS = new Set(['confirm', 'confirmed', 'confirmation', 'force', 'forced']);
export const RUNS_CODE = /\b(?:execut|evaluat|run|javascript|python|shell|script)/i;
/** Query languages: SQL and the others named after it (GraphQL, InstaQL, PromQL, KQL …), Cypher, Gremlin, SPARQL. */
export const SQL = /\b(?:[a-z]*ql|cypher|gremlin|sparql)\b/i;
/** Words that name a kind of data: a value or a title ending in one names what is read ("trade_data", "Liquidation data."). */
export const DATA_NOUNS = new Set(
  'data history info information details stats statistics metrics overview summary feed snapshot analytics'.split(' '),
);
/** In an action enum these take an entry out of a set (detach it), a bounded change. */
export const SOFT_ACTIONS = new Set(['remove', 'clear', 'reset', 'drop', 'discard', 'flush', 'evict', 'detach', 'unlink']);
