// What every benchmark runner shares: paths, the round settings from the command line, and the rotating rounds.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ECHO = path.join(ROOT, 'dist/bench/echo-server.js');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');
export const NODE = process.execPath;
export const CONCURRENCY = [1, 32] as const;
export const PROFILE_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

/** Rounds, slice and warm-up lengths from `--quick`, `--rounds N`, `--seconds S`. */
export function roundSettings(opts: { quick?: boolean | undefined; rounds?: string | undefined; seconds?: string | undefined }) {
  return {
    rounds: Number(opts.rounds ?? (opts.quick ? 1 : 4)),
    sliceMs: 1000 * Number(opts.seconds ?? (opts.quick ? 0.7 : 2.2)),
    warmMs: opts.quick ? 400 : 1500,
  };
}

/**
 * Measures every item at every concurrency, round after round; the order of items rotates and the order of the
 * concurrencies alternates each round, so that slow moments of a noisy machine fall on all of them alike.
 */
export async function rotatingRounds<T>(rounds: number, items: readonly T[], measureOne: (item: T, concurrency: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const order = items.map((_, i) => items[(i + round) % items.length]!);
    const levels = round % 2 === 0 ? CONCURRENCY : [...CONCURRENCY].reverse();
    for (const item of order) for (const level of levels) await measureOne(item, level);
    log(`round ${round + 1}/${rounds} done`);
  }
}

export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
export const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
