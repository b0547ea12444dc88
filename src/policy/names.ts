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
// ... and, in a name, spaces and control characters too.
const INVISIBLE = new RegExp(`\\s|\\p{Cc}|${HIDDEN.source}`, 'gu');
// Common cross-script look-alikes of Latin letters and separators (NFKC handles full-width forms).
const CONFUSABLES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ѕ: 's', і: 'i',
  ј: 'j', ԁ: 'd', ɡ: 'g', һ: 'h', ӏ: 'l', ο: 'o', ν: 'v', α: 'a', ε: 'e', ι: 'i', κ: 'k', ρ: 'p', τ: 't', υ: 'u',
  χ: 'x', ı: 'i', ℓ: 'l', '‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '−': '-', '﹘': '-', '＿': '_',
  '٠': '0', '۰': '0', '߀': '0',
};
const CONFUSABLE_CLASS = `[${Object.keys(CONFUSABLES).join('').replace(/[-\]\\^]/g, '\\$&')}]`;
const CONFUSABLE_RE = new RegExp(CONFUSABLE_CLASS, 'gu');
const CONFUSABLE_ANY_CASE = new RegExp(CONFUSABLE_CLASS, 'giu');

/** Text as it renders: NFKC (full-width and compatibility forms), without characters that render as nothing. */
export function visibleText(text: string): string {
  return text.normalize('NFKC').replace(HIDDEN, '');
}

/** Look-alike letters of other scripts mapped to the Latin ones they imitate, case kept ("dЕlete" → "dElete"). */
export function latinLookalikes(text: string): string {
  return text.replace(CONFUSABLE_ANY_CASE, (c) => {
    const lower = c.toLowerCase();
    const latin = CONFUSABLES[lower] ?? lower;
    return c === lower ? latin : latin.toUpperCase();
  });
}

/**
 * Folds a name to the form a careless server might resolve it to: NFKC, no invisible characters, lower case,
 * look-alikes mapped to Latin, and `-`/`_`/`.`/space treated alike. Two names with one skeleton are "the same
 * tool" for the purpose of refusing tricks; allow rules never match through it.
 */
export function skeleton(name: string): string {
  return name
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .toLowerCase()
    .replace(CONFUSABLE_RE, (c) => CONFUSABLES[c] ?? c)
    .replace(/[-_.]/g, '_');
}
