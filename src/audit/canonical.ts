// Canonical JSON (keys sorted, no whitespace) and sha256: the one byte form that audit hashes are computed over.
import { createHash } from 'node:crypto';

/** `text` is emitted verbatim; `leave` marks a container as closed, so a cycle is told from a shared reference. */
type Work = { text: string } | { value: unknown; inArray: boolean } | { leave: object };

/**
 * The JSON text of `value` with object keys sorted by UTF-16 code unit (as RFC 8785 does) and no whitespace, so
 * the same data always gives the same bytes whatever order its keys were written in. Otherwise it follows
 * JSON.stringify: undefined/function/symbol members are dropped from objects and become null in arrays,
 * non-finite numbers become null, toJSON() is honoured; a top-level undefined gives "null" (no arguments at all).
 * Iterative rather than recursive: JSON.parse accepts nesting far deeper than the call stack allows, and the
 * arguments of any call must be hashable.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const open = new Set<object>();
  const work: Work[] = [{ value, inArray: true }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    if ('leave' in item) {
      open.delete(item.leave);
      continue;
    }
    const v = jsonValue(item.value);
    if (v === undefined) {
      if (item.inArray) out.push('null');
      continue;
    }
    if (v === null || typeof v !== 'object') {
      out.push(scalarJson(v));
      continue;
    }
    if (open.has(v)) throw new TypeError('canonicalJson: the value contains a cycle');
    open.add(v);
    // Pushed last-first because the stack pops in reverse.
    work.push({ leave: v });
    if (Array.isArray(v)) {
      work.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        work.push({ value: v[i], inArray: true });
        if (i > 0) work.push({ text: ',' });
      }
      out.push('[');
      continue;
    }
    const record = v as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => jsonValue(record[k]) !== undefined)
      .sort();
    work.push({ text: '}' });
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      work.push({ value: record[key], inArray: false });
      work.push({ text: `${JSON.stringify(key)}:` });
      if (i > 0) work.push({ text: ',' });
    }
    out.push('{');
  }
  return out.join('');
}

/** sha256 of a string's UTF-8 bytes, as lowercase hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** What JSON.stringify would serialise for `value`: undefined when it would be skipped. */
function jsonValue(value: unknown): unknown {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
  return v;
}

function scalarJson(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'bigint') throw new TypeError('canonicalJson: a bigint has no JSON form');
  return JSON.stringify(v);
}

// U+0000 and unpaired surrogates cannot be stored by every sink (Postgres text and jsonb reject them). Records
// replace them with U+FFFD before they are hashed or written, so every sink stores, and the chain covers, the same text.
const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(text: string): string {
  return text.replace(UNSTORABLE_TEXT, '\ufffd');
}
