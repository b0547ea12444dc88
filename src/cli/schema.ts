// `policylayer schema`: prints the policy file's JSON Schema, for editor completion and CI checks.
import { configJsonSchema } from '../config/schema.js';
import { parseVerbArgs, usageError } from './args.js';

const USAGE = `usage: policylayer schema > policylayer.schema.json

Prints the JSON Schema of policylayer.yaml. Editors with the YAML language server use it with a first line
  # yaml-language-server: $schema=./policylayer.schema.json`;

export async function run(args: string[], io: { stdout: { write(text: string): unknown } } = process): Promise<number> {
  const { values, positionals } = parseVerbArgs('schema', args, { help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length > 0) throw usageError(`schema: unexpected argument "${positionals[0]}"`, USAGE);
  io.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  return 0;
}
