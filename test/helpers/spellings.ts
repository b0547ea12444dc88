// Other spellings of a tool name or method that a careless server may resolve to the real one (case, spacing,
// separators, invisible characters, full-width and compatibility forms, look-alike letters of other scripts),
// generated from the name so that tests cover the class rather than a handful of strings.

/** Look-alikes of Latin small letters in other scripts (Cyrillic, Greek, Armenian, Latin small capitals). */
const LOOKALIKES: Record<string, string[]> = {
  a: ['\u0430', '\u03B1', '\u0251'], // Cyrillic а, Greek α, Latin alpha ɑ
  b: ['\u0432'], // в
  c: ['\u0441', '\u03F2'], // с, lunate sigma ϲ
  d: ['\u0501'], // ԁ
  e: ['\u0435', '\u03B5'], // е, ε
  g: ['\u0261', '\u0581'], // ɡ, Armenian ց
  h: ['\u04BB', '\u0570'], // һ, Armenian հ
  i: ['\u0456', '\u03B9', '\u0131'], // і, ι, dotless ı
  j: ['\u0458', '\u03F3'], // ј, ϳ
  k: ['\u043A', '\u03BA'], // к, κ
  l: ['\u04CF', '\u2113'], // ӏ, ℓ
  m: ['\u043C'], // м
  n: ['\u0578'], // Armenian ո
  o: ['\u043E', '\u03BF', '\u0585'], // о, ο, Armenian օ
  p: ['\u0440', '\u03C1'], // р, ρ
  q: ['\u051B'], // ԛ
  s: ['\u0455'], // ѕ
  t: ['\u0442', '\u03C4', '\u1D1B'], // т, τ, small capital ᴛ
  u: ['\u03C5', '\u057D'], // υ, Armenian ս
  v: ['\u03BD', '\u0475'], // ν, ѵ
  w: ['\u051D'], // ԝ
  x: ['\u0445', '\u03C7'], // х, χ
  y: ['\u0443', '\u04AF'], // у, ү
};
/** Capitals of other scripts that look like Latin capitals (their small letters may look different). */
const CAPITAL_LOOKALIKES: Record<string, string[]> = {
  A: ['\u0410', '\u0391'], B: ['\u0412', '\u0392'], C: ['\u0421'], E: ['\u0415', '\u0395'], H: ['\u041D', '\u0397'],
  I: ['\u0406', '\u0399'], K: ['\u041A', '\u039A'], M: ['\u041C', '\u039C'], N: ['\u039D'], O: ['\u041E', '\u039F'],
  P: ['\u0420', '\u03A1'], S: ['\u0405'], T: ['\u0422', '\u03A4'], X: ['\u0425', '\u03A7'], Y: ['\u04AE', '\u03A5'],
  Z: ['\u0396'],
};
/** Characters that render as nothing. */
const INVISIBLE = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u200E', '\u202E', '\u2066', '\u034F', '\uFE0F', '\u180E', '\u{E0041}'];
/** Padding a lenient server trims. */
const PADDING = [' ', '\t', '\n', '\u00A0', '\u2002', '\u3000', '\r\n'];
/** What a lenient server treats as "no character" between words. */
export const SEPARATORS = ['_', '-', '.', '/', '\\', ':', ' ', '~', '+', '|', ',', '#', '//', '::', '__', '\uFF0F', '\u2215', '\u2044', '\u2010', '\u2013', '\u2212', '\uFF3F', '\u30FB'];

const fullWidth = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0));
const mathBold = (s: string) =>
  s.replace(/[a-z]/g, (c) => String.fromCodePoint(0x1d41a + c.charCodeAt(0) - 97)).replace(/[A-Z]/g, (c) => String.fromCodePoint(0x1d400 + c.charCodeAt(0) - 65));
const circled = (s: string) => s.replace(/[a-z]/g, (c) => String.fromCodePoint(0x24d0 + c.charCodeAt(0) - 97));

/** Each way of writing `name` with one character swapped for a look-alike (small letters, then capitals of the upper-cased name). */
function lookalikeSwaps(name: string): string[] {
  const out: string[] = [];
  const chars = [...name];
  chars.forEach((c, i) => {
    for (const l of LOOKALIKES[c] ?? []) out.push([...chars.slice(0, i), l, ...chars.slice(i + 1)].join(''));
  });
  const upper = [...name.toUpperCase()];
  upper.forEach((c, i) => {
    for (const l of CAPITAL_LOOKALIKES[c] ?? []) out.push([...upper.slice(0, i), l, ...upper.slice(i + 1)].join(''));
  });
  // Every swappable letter at once, with the first look-alike of each.
  out.push(chars.map((c) => LOOKALIKES[c]?.[0] ?? c).join(''));
  out.push(upper.map((c) => CAPITAL_LOOKALIKES[c]?.[0] ?? c).join(''));
  return out;
}

/** Other spellings of a tool name (ASCII letters, digits and separators), never the name itself. */
export function toolSpellings(name: string): string[] {
  const out: string[] = [];
  const chars = [...name];
  const gaps = chars.length - 1;
  out.push(name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1), chars.map((c, i) => (i % 2 ? c.toUpperCase() : c)).join(''));
  for (const p of PADDING) out.push(name + p, p + name);
  for (const [k, inv] of INVISIBLE.entries()) {
    const at = 1 + (k % Math.max(gaps, 1));
    out.push(name.slice(0, at) + inv + name.slice(at));
  }
  out.push(INVISIBLE[0] + name, name + INVISIBLE[4]);
  // A separator between two letters, in every gap for the first few separators, and one gap for the rest.
  for (const [k, sep] of SEPARATORS.entries()) {
    const gapsFor = k < 3 ? Array.from({ length: gaps }, (_, g) => g + 1) : [1 + (k % Math.max(gaps, 1))];
    for (const at of gapsFor) out.push(name.slice(0, at) + sep + name.slice(at));
  }
  // Separators of the name itself swapped for others or dropped.
  if (/[_.-]/.test(name)) for (const sep of ['', ...SEPARATORS]) out.push(name.replace(/[_.-]/g, sep));
  out.push(fullWidth(name), fullWidth(name.toUpperCase()), mathBold(name), circled(name));
  out.push(name.replace(/[a-z]/, (c) => c + '\u0301'), name.normalize('NFD').replace(/e/, '\u00E9'));
  out.push(...lookalikeSwaps(name));
  // Letters of other scripts that an ASCII-only slugifier drops, put in or on.
  out.push(`${name[0]}\u0434${name.slice(1)}`, `${name}\u4E2D`, `${name}\u00E9`, `\u00F1${name}`, `${name.slice(0, 2)}\u05D0${name.slice(2)}`);
  // Combinations: capitals + a separator + a look-alike, full-width + invisible.
  out.push(` ${name.toUpperCase().replace(/A/, '\u0410')}_`, `${fullWidth(name)}\u200B`, `${name[0]}-${name.slice(1).toUpperCase()}\u00A0`);
  return [...new Set(out)].filter((s) => s !== name);
}

/**
 * Other spellings of a governed method ("tools/call"): its words with other separators or none, in either order,
 * singular or plural, in other cases, padded, with invisible characters, full-width or look-alike letters.
 * Never the method itself.
 */
export function methodSpellings(method: string): string[] {
  const [noun, verb] = method.split('/') as [string, string];
  const singular = noun.replace(/s$/, '');
  const out: string[] = [];
  for (const n of [noun, singular]) {
    for (const [a, b] of [[n, verb], [verb, n], [verb, noun], [verb, singular]] as const) {
      for (const sep of ['', ...SEPARATORS]) out.push(`${a}${sep}${b}`);
      out.push(`${a[0]!.toUpperCase()}${a.slice(1)}${b[0]!.toUpperCase()}${b.slice(1)}`, `${a}${b[0]!.toUpperCase()}${b.slice(1)}`);
    }
  }
  out.push(`${noun}/${verb}s`, `/${method}`, `${method}/`, `${method}?`, `${method}.`, `${noun}//${verb}`, `${noun}/./${verb}`);
  out.push(...toolSpellings(method));
  return [...new Set(out)].filter((s) => s !== method);
}
