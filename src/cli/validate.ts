// `policylayer validate`: checks a policy file and prints every problem with file:line:column and a hint.
import { ConfigError, formatProblems, loadConfigWithSource } from '../config/load.js';
import { parseVerbArgs, usageError } from './args.js';

const USAGE = `usage: policylayer validate [-c policylayer.yaml]

Checks the policy file (YAML syntax, schema, \${VAR} references, rules) and reports every problem at once.
Exit status: 0 when the file is valid, 1 when it has problems, 2 on a usage error.`;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'validate',
    args,
    { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    USAGE,
  );
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  // `validate FILE` is accepted too, as people type it; but not both forms at once.
  if (positionals.length > 1 || (positionals.length === 1 && values.config !== undefined)) {
    throw usageError('validate: give one file, with -c FILE', USAGE);
  }
  const file = values.config ?? positionals[0] ?? 'policylayer.yaml';
  try {
    const { config, warnings } = await loadConfigWithSource(file);
    const n = Object.keys(config.servers).length;
    // Warnings do not fail the check: what they point at may be right (an agent added with `agents add`).
    if (warnings.length > 0) io.stderr.write(`${formatProblems(warnings.map((w) => ({ ...w, message: `warning: ${w.message}` })))}\n`);
    io.stdout.write(`${file}: ok (${n} ${n === 1 ? 'server' : 'servers'}${warnings.length > 0 ? `, ${warnings.length} ${warnings.length === 1 ? 'warning' : 'warnings'}` : ''})\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const n = err.problems.length;
    io.stderr.write(`${err.message}\n${file}: ${n} ${n === 1 ? 'problem' : 'problems'}\n`);
    return 1;
  }
}
