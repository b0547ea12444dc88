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

/**
 * Field names whose values never reach a log line, at the top level or one object down (pino's redact paths);
 * messages themselves never carry call arguments or credentials.
 */
const SECRET_FIELDS = ['password', 'token', 'secret', 'authorization', 'api_key', 'apiKey', 'cookie', 'arguments', 'args', 'headers'];
const REDACT_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`)];

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
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    out === process.stderr ? pino.destination({ fd: 2, sync: true }) : out,
  );
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (message: string, fields?: LogFields) => {
    if (fields) base[lvl](fields, message);
    else base[lvl](message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function prettyFields(fields: LogFields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const text = SECRET_FIELDS.includes(k) ? '[REDACTED]' : typeof v === 'string' ? v : JSON.stringify(v, hideSecrets);
    parts.push(`${k}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.length > 0 ? ` ${parts.join(' ')}` : '';
}

const hideSecrets = (key: string, value: unknown): unknown => (SECRET_FIELDS.includes(key) ? '[REDACTED]' : value);
