// Human-readable diagnostics on stderr (stdout may be the MCP channel); structured logs come with the audit work.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(level: string = process.env.POLICYLAYER_LOG ?? 'info'): Logger {
  const min = ORDER[level as LogLevel] ?? ORDER.info;
  const at = (lvl: LogLevel) => {
    const prefix = lvl === 'info' ? 'policylayer: ' : `policylayer ${lvl}: `;
    return (message: string) => {
      if (ORDER[lvl] >= min) process.stderr.write(prefix + message + '\n');
    };
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
