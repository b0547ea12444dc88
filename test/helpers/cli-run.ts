// Runs the built policylayer CLI as a user would, and reads tool results as text: shared by the integration tests.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from './gateway.js';

const run = promisify(execFile);

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `policylayer VERB ARGS…`; resolves with the exit code and output whatever the code. */
export async function runCli(verb: string, ...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, verb, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The text content of a CallToolResult, joined. */
export const toolText = (result: unknown): string =>
  (((result as { content?: unknown }).content as { text?: string }[] | undefined) ?? []).map((c) => c.text ?? '').join('');
