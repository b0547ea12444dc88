// JSONL AuditSink: one JSON object per line in a local file, fsynced per batch and rotated by size; queries read the files.
import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { queryLimit } from './rows.js';
import type { AuditEvent, AuditFilter, AuditSink } from './sink.js';

export interface JsonlSinkOptions {
  /** The file rotates when a batch would take it past this size; default 10 MiB. */
  maxBytes?: number;
  /** Rotated files kept (FILE.1 newest … FILE.keep oldest); default 5, 0 keeps none. */
  keep?: number;
}

const NEWLINE = 0x0a;

// Sinks of this process on one file take turns, so that a rotation or a prune never runs under another's write or
// read. (Processes do not coordinate: a jsonl: log is meant for one gateway process; see createJsonlSink.)
const turns = new Map<string, Promise<unknown>>();
function inTurn<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const run = (turns.get(file) ?? Promise.resolve()).then(fn);
  const settled = run.catch(() => {});
  turns.set(file, settled);
  void settled.then(() => {
    if (turns.get(file) === settled) turns.delete(file);
  });
  return run;
}

/**
 * Opens (creating its directory) an append-only JSONL audit log. Each write() is one append of whole lines followed
 * by an fsync. Several sinks of one process may share the file; several processes may append to it (appends are
 * atomic) but their rotations and prunes are not coordinated, so give each process its own file.
 */
export function createJsonlSink(file: string, opts: JsonlSinkOptions = {}): AuditSink {
  const where = path.resolve(file);
  const dir = path.dirname(where);
  const fail = (what: string, err: unknown): Error =>
    new Error(`jsonl audit log ${where}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const keep = opts.keep ?? 5;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw fail('opening', new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`));
  if (!Number.isSafeInteger(keep) || keep < 0) throw fail('opening', new RangeError(`keep must be a non-negative integer, got ${keep}`));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw fail('opening', err);
  }

  let handle: FileHandle | undefined;
  /** dev:ino of the file `handle` has open: another sink's rotation or a prune replaces the file at `where`. */
  let handleIdentity = '';
  /** Whether the file ends inside a line (a write torn by a crash); undefined until looked at. */
  let endsMidLine: boolean | undefined;
  let closed = false;

  const dropHandle = async (): Promise<void> => {
    const h = handle;
    handle = undefined;
    handleIdentity = '';
    await h?.close();
  };

  /** The file at `where`, open for appending; (re)opened when it is not the one open. */
  const current = async (): Promise<FileHandle> => {
    const onDisk = await stat(where).catch(unlessMissing);
    if (handle && onDisk && `${onDisk.dev}:${onDisk.ino}` === handleIdentity) return handle;
    await dropHandle();
    const h = await open(where, 'a');
    const opened = await h.stat();
    handle = h;
    handleIdentity = `${opened.dev}:${opened.ino}`;
    endsMidLine = undefined;
    if (!onDisk) await syncDir(dir);
    return h;
  };

  /** Existing rotated files as numbers, oldest (highest) first; gaps are possible after a prune. */
  const rotated = async (): Promise<number[]> => {
    const prefix = `${path.basename(where)}.`;
    return (await readdir(dir))
      .filter((name) => name.startsWith(prefix) && /^[1-9]\d*$/.test(name.slice(prefix.length)))
      .map((name) => Number(name.slice(prefix.length)))
      .sort((a, b) => b - a);
  };
  const filesOldestFirst = async (): Promise<string[]> => [...(await rotated()).map((n) => `${where}.${n}`), where];

  /** FILE → FILE.1 → FILE.2 …; files numbered `keep` or more are deleted (also those left by a larger `keep`). */
  const rotate = async (): Promise<void> => {
    await dropHandle();
    for (const n of await rotated()) {
      if (n >= keep) await rm(`${where}.${n}`, { force: true });
      else await rename(`${where}.${n}`, `${where}.${n + 1}`);
    }
    if (keep > 0) await rename(where, `${where}.1`).catch(unlessMissing);
    else await rm(where, { force: true });
    await syncDir(dir);
  };

  const ensureOpen = (what: string): void => {
    if (closed) throw fail(what, new Error('the sink is closed'));
  };

  return {
    kind: 'jsonl',
    write(events) {
      if (events.length === 0) return closed ? Promise.reject(fail('write', new Error('the sink is closed'))) : Promise.resolve();
      return inTurn(where, async () => {
        ensureOpen('write');
        const lines = Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
        try {
          let h = await current();
          const size = (await h.stat()).size;
          endsMidLine ??= await endsInsideLine(where, size);
          // The torn line stays a line of its own (skipped when read) instead of swallowing this batch's first event.
          let bytes = endsMidLine ? Buffer.concat([Buffer.of(NEWLINE), lines]) : lines;
          // A batch is never split; one larger than maxBytes goes whole into a fresh file.
          if (size > 0 && size + bytes.length > maxBytes) {
            await rotate();
            h = await current();
            bytes = lines;
          }
          endsMidLine = undefined; // until the append is known to be complete
          for (let offset = 0; offset < bytes.length; ) offset += (await h.write(bytes, offset, bytes.length - offset)).bytesWritten;
          endsMidLine = false;
          await h.sync();
        } catch (err) {
          throw fail(`write of ${events.length} events`, err);
        }
      });
    },
    query(filter) {
      return inTurn(where, async () => {
        ensureOpen('query');
        const limit = queryLimit(filter);
        const matches = matcher(filter);
        const found: AuditEvent[] = [];
        try {
          for (const f of await filesOldestFirst()) {
            for (const line of await readLines(f)) {
              const event = parseEvent(line);
              if (event && matches(event)) found.push(event);
            }
          }
        } catch (err) {
          throw fail('query', err);
        }
        found.sort(filter.newest_first ? (a, b) => compareEvents(b, a) : compareEvents);
        return found.slice(0, limit);
      });
    },
    prune(before) {
      return inTurn(where, async () => {
        ensureOpen('prune');
        let removed = 0;
        try {
          for (const f of await filesOldestFirst()) {
            const kept: string[] = [];
            let dropped = 0;
            for (const line of await readLines(f)) {
              const event = parseEvent(line);
              if (event && event.time < before) dropped++;
              else if (event) kept.push(line); // unreadable lines go with the rewrite
            }
            if (dropped === 0) continue;
            removed += dropped;
            if (f === where) await dropHandle();
            if (kept.length === 0 && f !== where) await rm(f, { force: true });
            else await replaceFile(f, kept);
          }
          await syncDir(dir);
        } catch (err) {
          throw fail(`prune (after removing ${removed} events)`, err);
        }
        return removed;
      });
    },
    close() {
      return inTurn(where, async () => {
        if (closed) return;
        closed = true;
        await dropHandle();
      });
    },
  };
}

/** The filter as a predicate (the SQL sinks say the same in rows.ts's filterSql). */
function matcher(filter: AuditFilter): (event: AuditEvent) => boolean {
  const equal = (['server', 'tool', 'agent', 'session', 'decision', 'kind'] as const).filter((k) => filter[k] !== undefined);
  const calls = filter.call_ids && new Set(filter.call_ids);
  return (e) =>
    equal.every((k) => e[k] === filter[k]) &&
    (!calls || calls.has(e.id) || (e.call_id !== undefined && calls.has(e.call_id))) &&
    (filter.since === undefined || e.time >= filter.since) &&
    (filter.until === undefined || e.time < filter.until);
}

/** time, then instance, then seq; instances compare by UTF-16 code units (bytewise in the SQL sinks: the same for ASCII). */
function compareEvents(a: AuditEvent, b: AuditEvent): number {
  return a.time - b.time || (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0) || a.seq - b.seq;
}

/** A line as an event; undefined for what is not one (a line torn by a crash, garbage). */
function parseEvent(line: string): AuditEvent | undefined {
  if (line === '') return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const e = value as Partial<AuditEvent>;
    return typeof e.id === 'string' && typeof e.time === 'number' && typeof e.instance === 'string' && typeof e.seq === 'number'
      ? (e as AuditEvent)
      : undefined;
  } catch {
    return undefined;
  }
}

async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(unlessMissing);
  return text ? text.split('\n') : [];
}

async function endsInsideLine(file: string, size: number): Promise<boolean> {
  if (size === 0) return false;
  const h = await open(file, 'r');
  try {
    const last = Buffer.alloc(1);
    await h.read(last, 0, 1, size - 1);
    return last[0] !== NEWLINE;
  } finally {
    await h.close();
  }
}

/** Writes `lines` to a temporary file and renames it over `file`: a crash leaves the old file or the new one. */
async function replaceFile(file: string, lines: string[]): Promise<void> {
  const temp = `${file}.prune-${process.pid}-${randomBytes(4).toString('hex')}`;
  const h = await open(temp, 'w');
  try {
    await h.writeFile(lines.map((l) => `${l}\n`).join(''));
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(temp, file);
}

/** Makes renames and new files in `dir` durable; best effort (some platforms cannot fsync a directory). */
async function syncDir(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // The data itself was fsynced; only the directory entry's durability is left to the OS.
  }
}

function unlessMissing(err: unknown): undefined {
  if ((err as { code?: string }).code === 'ENOENT') return undefined;
  throw err;
}
