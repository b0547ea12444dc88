// Diagnostics on stderr (stdout may be the MCP channel): JSON lines through pino for log collectors, or one
// readable line per event on a terminal. POLICYLAYER_LOG sets the level, POLICYLAYER_LOG_FORMAT the format.
import { pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Field names (any case, any depth) whose values never reach a log line; messages never carry call arguments. */
const SECRET_FIELD = /password|passwd|token|secret|authorization|api_?key|cookie|credential|^(arguments|args|headers)$/i;
const MAX_FIELD_DEPTH = 8;

export interface LoggerOptions {
  level?: string | undefined;
  /** json: pino JSON lines; pretty: "policylayer: message key=value"; auto (default): pretty on a terminal. */
  format?: string | undefined;
  /** Where lines go; default stderr. */
  destination?: NodeJS.WritableStream & { fd?: number };
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = (opts.level ?? process.env.POLICYLAYER_LOG ?? 'info') as LogLevel;
  const min = ORDER[level] ?? ORDER.info;
  const out = opts.destination ?? process.stderr;
  const format = opts.format ?? process.env.POLICYLAYER_LOG_FORMAT ?? 'auto';
  const json = format === 'json' || (format !== 'pretty' && !(out as { isTTY?: boolean }).isTTY);
  if (json) return jsonLogger(level in ORDER ? level : 'info', out);

  const at = (lvl: Exclude<LogLevel, 'silent'>) => {
    const prefix = lvl === 'info' ? 'policylayer: ' : `policylayer ${lvl}: `;
    return (message: string, fields?: LogFields) => {
      if (ORDER[lvl] < min) return;
      out.write(prefix + message + (fields ? prettyFields(fields) : '') + '\n');
    };
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function jsonLogger(level: LogLevel, out: NodeJS.WritableStream): Logger {
  const base = pino(
    {
      level,
      base: { name: 'policylayer', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    out === process.stderr ? pino.destination({ fd: 2, sync: true }) : out,
  );
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (message: string, fields?: LogFields) => {
    if (fields) base[lvl](scrub(fields, 0) as LogFields, message);
    else base[lvl](message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function prettyFields(fields: LogFields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(scrub(fields, 0) as LogFields)) {
    if (v === undefined) continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    parts.push(`${k}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.length > 0 ? ` ${parts.join(' ')}` : '';
}

/** A copy of log fields with secret-named values replaced at any depth, errors as their message. */
function scrub(value: unknown, depth: number): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_FIELD_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? '[REDACTED]' : scrub(v, depth + 1);
  return out;
}
