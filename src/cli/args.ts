// Shared argument parsing for the verbs: node's parseArgs with usage errors that say what to type instead.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCode, GatewayError } from '../errors.js';

export function parseVerbArgs<T extends NonNullable<ParseArgsConfig['options']>>(verb: string, args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new GatewayError(ErrorCode.USAGE, `${verb}: ${(err as Error).message}\n\n${usage}`);
  }
}

export function usageError(message: string, usage: string): GatewayError {
  return new GatewayError(ErrorCode.USAGE, `${message}\n\n${usage}`);
}

/** `--timeout SECONDS` as milliseconds (the default when absent); a usage error when it is not a positive number. */
export function timeoutMs(seconds: string | undefined, defaultMs: number, usage: string): number {
  if (seconds === undefined) return defaultMs;
  const ms = Number(seconds) * 1000;
  if (!(ms > 0)) throw usageError(`--timeout "${seconds}" is not a number of seconds`, usage);
  return ms;
}

/** Parses repeated `--header "Name: value"` options. */
export function parseHeaders(values: string[] | undefined, usage: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of values ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw usageError(`--header "${h}" is not "Name: value"`, usage);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  return headers;
}
