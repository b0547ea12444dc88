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
