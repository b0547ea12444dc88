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
    'render ping query~ status~ screenshot~ snapshot~ head peek tail watch verify test~ generate lint format~',
  [WRITE]:
    'create update edit add set send post~ upload move~ rename merge~ fork~ star~ cancel navigate click type~ start stop write ' +
    'put patch insert modify change save publish assign invite reply push commit~ close open fill press hover drag scroll ' +
    'enable disable archive restore install apply approve reject mark tag~ schedule book register record~ replace append ' +
    'import sync copy lock unlock pin unpin share connect disconnect login signin comment~ upsert submit transfer~ make ' +
    'unarchive unstar follow unfollow like react mention attach detach resume pause select~ choose toggle configure upgrade ' +
    'rollback revert~ restart reboot clone duplicate link unassign label~ favorite subscribe unsubscribe finalize finalise void issue~',
  [EXECUTE]: 'exec execute run~ eval evaluate invoke trigger launch deploy~ spawn shell~ bash~ call~ sql~',
  [DESTRUCTIVE]:
    'delete del remove rm drop destroy purge wipe clear truncate prune revoke logout logoff signout uninstall terminate ' +
    'erase discard flush reset~ kill overwrite evict expunge nuke shred unregister deregister decommission cleanup',
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

/** Nouns that turn a state change (create, send, cancel, delete …) into a financial commitment. */
export const FINANCIAL_NOUNS = new Set(
  ('invoice invoices subscription subscriptions payment payments charge charges refund refunds payout payouts transfer ' +
    'transfers price prices coupon coupons billing checkout wallet wallets money funds').split(' '),
);
/** After run/execute in a name these are fixed analytics or searches the tool defines, not caller code (Read). */
export const FIXED_RESULT_NOUNS = new Set('query report search analysis analytics funnel funnels insight insights trends retention'.split(' '));

/** English verb forms for descriptions: base, third person, -ing. */
function forms(base: string): string[] {
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
}

const DESCRIPTION_WORDS: Record<number, string> = {
  [READ]:
    'get list search find fetch read retrieve return show describe query check count analyze analyse validate suggest ' +
    'inspect summarize preview download export generate look',
  [WRITE]:
    'create update edit add set send post upload move rename merge fork star cancel navigate click type start stop write ' +
    'modify change insert save publish assign invite reply push commit close open press fill hover drag scroll enable ' +
    'disable archive restore install apply approve reject schedule book replace append import copy share connect submit ' +
    'record upsert transfer toggle configure upgrade restart finalize finalise void issue',
  [EXECUTE]: 'trigger launch deploy spawn',
  [DESTRUCTIVE]:
    'delete remove drop destroy purge wipe clear truncate prune revoke uninstall terminate erase discard flush reset kill ' +
    'overwrite evict expunge logout unregister deregister',
  [FINANCIAL]: 'pay charge refund purchase buy trade',
};
const NEEDS_OBJECT = 'run execute eval evaluate invoke call';

// A few general verbs in German, French and Spanish (infinitive and common conjugated forms).
const FOREIGN_WORDS: Record<number, string> = {
  [WRITE]: 'erstellen erstellt aktualisieren aktualisiert senden sendet créer crée envoyer envoie modifier modifie crear crea enviar envía actualizar actualiza',
  [EXECUTE]: 'ausführen exécuter exécute ejecutar ejecuta',
  [DESTRUCTIVE]: 'löschen löscht lösche entfernen entfernt supprimer supprime effacer efface eliminar elimina borrar borra',
  [FINANCIAL]: 'zahlen zahlt bezahlen bezahlt überweisen überweist payer paie paye rembourser rembourse pagar paga reembolsar reembolsa',
};

function buildDescriptionVerbs(): Map<string, DescriptionVerb> {
  const map = new Map<string, DescriptionVerb>();
  for (const [rank, words] of Object.entries(DESCRIPTION_WORDS)) {
    for (const base of words.split(' ')) {
      for (const form of forms(base)) map.set(form, { rank: Number(rank), needsObject: false, anywhere: false });
    }
  }
  for (const base of NEEDS_OBJECT.split(' ')) {
    for (const form of forms(base)) map.set(form, { rank: EXECUTE, needsObject: true, anywhere: false });
  }
  for (const [rank, words] of Object.entries(FOREIGN_WORDS)) {
    for (const word of words.split(' ')) map.set(word, { rank: Number(rank), needsObject: false, anywhere: true });
  }
  return map;
}
export const DESCRIPTION_VERBS = buildDescriptionVerbs();

/** Words after which the next word is in verb position ("… and clear", "to delete", "will permanently remove"). */
export const VERB_POSITION = new Set(
  ('and or to then also will can may might must should it this that which who you we tool permanently irreversibly ' +
    'immediately automatically first directly simply completely entirely fully forcibly forcefully instantly optionally ' +
    'et ou pour y o para und oder zu').split(' '),
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
  /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,4}?(?:arbitrary|any|custom|raw|shell|commands?|scripts?|code|sql|javascript|js|python|workflows?|pipelines?|functions?|lambdas?|jobs?|tasks?|containers?|programs?|processes|expressions?|api|endpoints?|requests?|tests?|builds?|notebooks?|playbooks?|snippets?)(?![\p{L}])/uy;

/** Financial objects after a state-changing verb in a description ("creates an invoice", "transfers funds"). */
export const FINANCIAL_OBJECT =
  /[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,3}?(?:invoices?|subscriptions?|payments?|charges?|refunds?|payouts?|money|funds)(?![\p{L}])/uy;

/** Phrases that mark an irreversible effect whatever the verb. */
export const IRREVERSIBLE = /\b(?:cannot be undone|can ?not be reversed|irreversibl[ey])\b/;
