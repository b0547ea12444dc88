// Word tables for the risk classifier: general verbs and nouns per category, built once at module load.

/** Category ranks: a higher rank is more dangerous and wins (Financial > Destructive > Execute > Write > Read). */
export const READ = 0;
export const WRITE = 1;
export const EXECUTE = 2;
export const DESTRUCTIVE = 3;
export const FINANCIAL = 4;

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
    'enqueue scale promote release~ request~ draft~ store~ rotate go goto',
  [EXECUTE]: 'exec execute run~ rerun eval evaluate invoke trigger launch deploy~ redeploy spawn shell~ bash~ call~ sql~',
  [DESTRUCTIVE]:
    'delete del remove rm drop destroy purge wipe clear truncate prune revoke logout logoff signout uninstall terminate ' +
    'erase discard flush reset~ kill overwrite evict expunge nuke shred unregister deregister decommission cleanup forget',
  [FINANCIAL]: 'pay charge~ refund~ payout~ purchase~ buy sell checkout~ trade~ withdraw~ deposit~ bill~ tip~ donate',
};

function buildNameVerbs(): Map<string, VerbEntry> {
  const map = new Map<string, VerbEntry>();
  for (const [rank, words] of Object.entries(NAME_WORDS)) {
    for (const raw of words.split(' ')) {
      const nounToo = raw.endsWith('~');
      map.set(nounToo ? raw.slice(0, -1) : raw, { rank: Number(rank), nounToo });
    }
  }
  return map;
}
export const NAME_VERBS = buildNameVerbs();

/** After "evaluate"/"eval" in a name, what makes it running code; any other object is assessed ("evaluate_policies"). */
export const CODE_OBJECTS = new Set(
  'js javascript ts typescript python code script scripts expression expressions snippet snippets cell cells notebook function functions sql command commands in on page browser'.split(
    ' ',
  ),
);

/** Verbs that only say when something begins ("start_search"): the verb after them names the activity. */
export const ASPECT_VERBS = new Set(['start', 'begin']);

/** Nouns that turn a state change (create, send, cancel, delete …) into a financial commitment. */
export const FINANCIAL_NOUNS = new Set(
  ('invoice invoices subscription subscriptions payment payments charge charges refund refunds payout payouts transfer ' +
    'transfers price prices coupon coupons billing checkout wallet wallets money funds dispute disputes order orders').split(' '),
);
/**
 * After a financial noun these name the thing acted on, which is not the commitment itself: an invoice reminder, a
 * saved payment method, subscription updates. Reminding, saving or deleting those moves no money.
 */
export const NOT_THE_COMMITMENT = new Set(
  ('method methods reminder reminders notification notifications setting settings report reports note notes message messages ' +
    'email emails template templates comment comments address addresses update updates event events log logs portal').split(' '),
);
/** Before a financial noun these make it something else: a notification subscription, a webhook event charge. */
export const NOT_BILLING = new Set(
  'notification notifications event events webhook webhooks topic topics resource resources push repository repo channel channels feed feeds calendar newsletter thread threads'.split(
    ' ',
  ),
);
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

/** Putting these live runs what they describe (a deploy): publish a workflow, install a chart, apply a manifest. */
export const DEPLOY_VERBS = new Set('publish promote release install upgrade apply rollout'.split(' '));
export const DEPLOY_OBJECTS = new Set(
  ('workflow workflows pipeline pipelines function functions lambda lambdas chart charts manifest manifests release releases ' +
    'package packages deployment deployments migration migrations infrastructure stack stacks').split(' '),
);

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
  /** 0 base ("get"), 1 third person ("gets"), 2 -ing ("getting"): verbs joined by "and" share their form. */
  form: number;
  /** report, end, store …: often a noun or a "return" later on ("start and end dates"); a verb only opening the lead. */
  firstOnly: boolean;
}

const DESCRIPTION_WORDS: Record<number, string> = {
  [READ]:
    'get list search find fetch read retrieve return show describe query check count analyze analyse validate suggest ' +
    'inspect summarize preview download export generate look browse scrape crawl simulate compress decompress convert ' +
    'calculate compute estimate enumerate discover recommend explain resolve translate parse render verify provide scan dry-run',
  [WRITE]:
    'create update edit add set send post upload move rename merge fork star cancel navigate click type start stop write ' +
    'modify change insert save publish assign invite reply push commit close open press fill hover drag scroll enable ' +
    'disable archive restore install apply approve reject schedule book replace append import copy share connect submit ' +
    'record upsert transfer toggle configure upgrade restart finalize finalise void issue register report end resize ' +
    'highlight hide forward activate deactivate revise replay resend accept annotate enqueue mark detach attach promote undo redo ' +
    'request draft store rotate queue go',
  [EXECUTE]: 'trigger launch deploy spawn',
  [DESTRUCTIVE]:
    'delete remove drop destroy purge wipe clear truncate prune revoke uninstall terminate erase discard flush reset kill ' +
    'overwrite evict expunge logout unregister deregister forget',
  [FINANCIAL]: 'pay charge refund purchase buy trade',
};
const NEEDS_OBJECT = 'run execute eval evaluate invoke call';
const SOFT_DESTRUCTIVE = new Set('remove clear drop discard flush reset evict'.split(' '));
const FIRST_ONLY = new Set('report end queue request draft store go record'.split(' '));

// A few general verbs in German, French and Spanish (infinitive and common conjugated forms).
const FOREIGN_WORDS: Record<number, string> = {
  [WRITE]: 'erstellen erstellt aktualisieren aktualisiert senden sendet créer crée envoyer envoie modifier modifie crear crea enviar envía actualizar actualiza',
  [EXECUTE]: 'ausführen exécuter exécute ejecutar ejecuta',
  [DESTRUCTIVE]: 'löschen löscht lösche entfernen entfernt supprimer supprime effacer efface eliminar elimina borrar borra',
  [FINANCIAL]: 'zahlen zahlt bezahlen bezahlt überweisen überweist payer paie paye rembourser rembourse pagar paga reembolsar reembolsa',
};

function buildDescriptionVerbs(): Map<string, DescriptionVerb> {
  const map = new Map<string, DescriptionVerb>();
  const add = (rank: number, base: string, needsObject: boolean, anywhere: boolean): void => {
    const soft = SOFT_DESTRUCTIVE.has(base);
    const deploys = DEPLOY_VERBS.has(base);
    const firstOnly = FIRST_ONLY.has(base);
    const words = anywhere ? [base] : forms(base);
    words.forEach((word, form) => map.set(word, { rank, needsObject, anywhere, soft, deploys, form, firstOnly }));
  };
  for (const [rank, words] of Object.entries(DESCRIPTION_WORDS)) for (const base of words.split(' ')) add(Number(rank), base, false, false);
  for (const base of NEEDS_OBJECT.split(' ')) add(EXECUTE, base, true, false);
  for (const [rank, words] of Object.entries(FOREIGN_WORDS)) for (const word of words.split(' ')) add(Number(rank), word, false, true);
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
  /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,4}?(?:arbitrary|any|custom|raw|shell|commands?|scripts?|code|sql|graphql|mutations?|cli|javascript|js|python|workflows?|pipelines?|functions?|lambdas?|jobs?|tasks?|containers?|programs?|processes|migrations?|expressions?|api|endpoints?|requests?|tests?|builds?|notebooks?|playbooks?|snippets?)(?![\p{L}])/uy;

/** What a deploy verb puts live ("publishes a workflow draft", "install a chart", "apply a YAML manifest"). */
export const DEPLOY_OBJECT =
  /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,3}?(?:workflows?|pipelines?|functions?|lambdas?|charts?|manifests?|releases?|packages?|deployments?|migrations?|infrastructure|stacks?)(?![\p{L}])/uy;

/** A write whose target is an interactive shell runs what it sends ("send input to an existing terminal"). */
export const SHELL_TARGET = /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,5}?(?:terminals?|shells?|repls?|consoles?)(?![\p{L}])/uy;

/**
 * Financial objects after a state-changing verb in a description ("creates an invoice", "transfers funds"), unless
 * the financial noun only qualifies what follows ("sends an invoice reminder").
 */
export const FINANCIAL_OBJECT = new RegExp(
  String.raw`[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,3}?(?:invoices?|subscriptions?|payments?|charges?|refunds?|payouts?|money|funds|disputes?|(?:billing|pricing) plans?)` +
    String.raw`(?![\p{L}])(?![ \t]+(?:${[...NOT_THE_COMMITMENT].join('|')})\b)`,
  'uy',
);
/** Found before the financial noun, one of these makes it something else ("delete a notification thread subscription"). */
export const NOT_BILLING_WORD = new RegExp(String.raw`\b(?:${[...NOT_BILLING].join('|')})\b`, 'g');

/** A drop onto something is a pointer gesture, not a removal ("drop files onto an element", "drag and drop between"). */
export const DROP_TARGET = /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,4}?(?:onto|into|between)(?![\p{L}])/uy;

/** Phrases that mark an irreversible effect whatever the verb, anywhere in the description. */
export const IRREVERSIBLE =
  /\b(?:cannot be undone|can ?not be reversed|irreversibl[ey]|permanently (?:delet|remov|destroy|eras|purg|wip)\w*)\b/;

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
export const ACTION_PARAMETERS = new Set(['action', 'operation', 'op', 'command', 'verb', 'method']);
export const CONFIRM_PARAMETERS = new Set(['confirm', 'confirmed', 'confirmation', 'force', 'forced']);
export const RUNS_CODE = /\b(?:execut|evaluat|run|javascript|python|shell|script)/i;
export const SQL = /\bsql\b/i;
/** In an action enum these take an entry out of a set (detach it), a bounded change. */
export const SOFT_ACTIONS = new Set(['remove', 'clear', 'reset', 'drop', 'discard', 'flush', 'evict', 'detach', 'unlink']);
