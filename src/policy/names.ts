// Tool-name matching: exact globs, plus a folded "skeleton" that exposes case, spacing and look-alike tricks.

/** Compiles a glob (`*` any run, `?` one character) into an anchored RegExp; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  let source = '^';
  for (const ch of glob) {
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(source + '$', 'u');
}

export function isGlob(key: string): boolean {
  return key.includes('*') || key.includes('?');
}

/** Number of literal characters: among patterns, the more specific one (more literals) wins. */
export function literalLength(glob: string): number {
  let n = 0;
  for (const ch of glob) if (ch !== '*' && ch !== '?') n++;
  return n;
}

// Characters that render as nothing: zero-width, bidi controls, BOM, soft hyphen, variation selectors, fillers.
const HIDDEN = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\p{Cf}/gu;
// Common cross-script look-alikes of Latin small letters (Cyrillic, Greek, Armenian, Latin small capitals and
// variants) and of separators; NFKC/NFKD handle full-width, mathematical and circled forms.
const CONFUSABLES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ѕ: 's', і: 'i',
  ј: 'j', ԁ: 'd', ɡ: 'g', һ: 'h', ӏ: 'l', ο: 'o', ν: 'v', α: 'a', ε: 'e', ι: 'i', κ: 'k', ρ: 'p', τ: 't', υ: 'u',
  χ: 'x', ı: 'i', ℓ: 'l', ԛ: 'q', ԝ: 'w', ү: 'y', ѵ: 'v', ϲ: 'c', ϳ: 'j', ɑ: 'a', ɩ: 'i', ȷ: 'j', օ: 'o', ս: 'u',
  ց: 'g', հ: 'h', ո: 'n', ᴀ: 'a', ʙ: 'b', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ɢ: 'g', ʜ: 'h', ɪ: 'i', ᴊ: 'j', ᴋ: 'k', ʟ: 'l',
  ᴍ: 'm', ɴ: 'n', ᴏ: 'o', ᴘ: 'p', ʀ: 'r', ꜱ: 's', ᴛ: 't', ᴜ: 'u', ᴠ: 'v', ᴡ: 'w', ʏ: 'y', ᴢ: 'z',
  '‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '−': '-', '﹘': '-', '＿': '_', '٠': '0', '۰': '0', '߀': '0',
};
// Greek capitals that look like a Latin capital other than the one their small letter looks like (Ν is N, ν is v).
// Lunate sigma (Ϲ ϲ) is here and in the small table because NFKD turns it into σ, which looks like neither.
const CAPITALS: Record<string, string> = { Β: 'b', Ζ: 'z', Η: 'h', Μ: 'm', Ν: 'n', Υ: 'y', Ϲ: 'c' };
const classOf = (table: Record<string, string>) => `[${Object.keys(table).join('').replace(/[-\]\\^]/g, '\\$&')}]`;
const CONFUSABLE_ANY_CASE = new RegExp(`${classOf(CAPITALS)}|${classOf(CONFUSABLES)}`, 'giu');
// Both tables at once, case-sensitive: what folding maps (to Latin small letters).
const TO_LATIN: Record<string, string> = { ...CONFUSABLES, ...CAPITALS };
const TO_LATIN_RE = new RegExp(classOf(TO_LATIN), 'gu');
// What a skeleton keeps: letters and digits, minus the Hangul fillers (letters that render as nothing).
const NOT_KEPT = /[^\p{L}\p{N}]|[\u115F\u1160\u3164\uFFA0]/gu;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NOT_ASCII_ALNUM = /[^A-Za-z0-9]+/g;
const NOT_LATIN_ALNUM = /[^a-z0-9]+/g;

/** Text as it renders: NFKC (full-width and compatibility forms), without characters that render as nothing. */
export function visibleText(text: string): string {
  return text.normalize('NFKC').replace(HIDDEN, '');
}

/** Look-alike letters of other scripts mapped to the Latin ones they imitate, case kept ("dЕlete" → "dElete"). */
export function latinLookalikes(text: string): string {
  return text.replace(CONFUSABLE_ANY_CASE, (c) => {
    const capital = CAPITALS[c];
    if (capital !== undefined) return capital.toUpperCase();
    const lower = c.toLowerCase();
    const latin = CONFUSABLES[lower] ?? lower;
    return c === lower ? latin : latin.toUpperCase();
  });
}

/**
 * Folds a name to the form a careless server might resolve it to: NFKD (full-width, mathematical, circled forms;
 * accents split off), look-alikes mapped to Latin, lower case, and nothing but letters and digits — no spaces,
 * separators, punctuation, accents or invisible characters. Two names with one skeleton are "the same tool" (or the
 * same method) for the purpose of refusing tricks; allow rules never match through it. Folding too much only ever
 * makes a decision stricter; folding too little lets a careless server run what the policy never saw.
 */
export function skeleton(name: string): string {
  // Printable ASCII has no compatibility forms, look-alikes or invisible characters: the common case stays cheap.
  if (PRINTABLE_ASCII.test(name)) return name.replace(NOT_ASCII_ALNUM, '').toLowerCase();
  return fold(toLatin(name), 'NFKD').replace(NOT_KEPT, '');
}

/**
 * Every folded form of a name: its skeleton and, for a name beyond ASCII, what an ASCII-only slugifier keeps of it
 * (NFKC, look-alikes mapped, then every letter or digit outside a–z 0–9 dropped, so "payé" and "paдy" are "pay").
 * An empty ASCII form is left out: it would make every name in another script one tool.
 */
export function folds(name: string): string[] {
  if (PRINTABLE_ASCII.test(name)) return [name.replace(NOT_ASCII_ALNUM, '').toLowerCase()];
  const latin = toLatin(name);
  const sk = fold(latin, 'NFKD').replace(NOT_KEPT, '');
  const ascii = fold(latin, 'NFKC').replace(NOT_LATIN_ALNUM, '');
  return ascii === sk || ascii === '' ? [sk] : [sk, ascii];
}

/**
 * `latin` (look-alikes already mapped: normalising would turn some into other letters) with compatibility forms
 * normalised, and look-alikes mapped again after it (it produces some) and after lower-casing (capitals of other
 * scripts become small look-alikes).
 */
function fold(latin: string, form: 'NFKC' | 'NFKD'): string {
  return toLatin(toLatin(latin.normalize(form)).toLowerCase());
}
const toLatin = (text: string) => text.replace(TO_LATIN_RE, (c) => TO_LATIN[c] ?? c);

/**
 * The skeleton of a glob, as a RegExp over skeletons: literal runs folded like names, `*` any run, and `?` at most
 * one character (the one it stands for may be a separator, which folding removes).
 */
export function skeletonGlob(glob: string): RegExp {
  let source = '^';
  for (const part of glob.split(/([*?])/)) {
    if (part === '*') source += '[\\s\\S]*';
    else if (part === '?') source += '[\\s\\S]?';
    else source += skeleton(part); // letters and digits only: nothing to escape
  }
  return new RegExp(source + '$', 'u');
}
