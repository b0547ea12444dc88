// How deeply a JSON text nests: frames nested deeper than any tool's arguments need are refused before code that
// walks them recursively (JSON.stringify, redaction, hashing) runs out of stack.

/** Deeper than any real MCP message (envelope + params + arguments) and far from where recursion overflows. */
export const MAX_JSON_DEPTH = 128;

/** True when `raw` (JSON text) opens more than `max` arrays or objects inside one another. */
export function nestsDeeperThan(raw: string, max = MAX_JSON_DEPTH): boolean {
  // Fast path, native searches: a frame with few brackets in all cannot nest deeply.
  let brackets = 0;
  for (const open of ['{', '[']) {
    for (let i = raw.indexOf(open); i !== -1 && brackets <= max; i = raw.indexOf(open, i + 1)) brackets++;
  }
  if (brackets <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
