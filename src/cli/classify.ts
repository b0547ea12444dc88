// `policylayer classify`: MCP tools as JSON Lines on stdin → one risk classification per line on stdout, in order.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { classifyTool, type ToolAnnotations } from '../catalog/classify.js';
import { parseVerbArgs, usageError } from './args.js';

const USAGE = `usage: policylayer classify < tools.jsonl

Reads one MCP tool per line ({"name", "description", "inputSchema", "annotations", "server"}) and writes one line per
tool, in the same order: {"name", "category", "risk", "confidence", "evidence"}. A line that is not a tool is answered
with {"line": N, "error": "…"} in its place; the others go on. Exit status: 0, or 1 when any line was bad.`;

export interface Io {
  stdin: Readable;
  stdout: { write(text: string): boolean; once(event: 'drain', listener: () => void): unknown };
  stderr: { write(text: string): unknown };
}

/** Classifies one input line, or says why it is not a tool. */
export function classifyLine(line: string, lineNumber: number): { output: string; ok: boolean } {
  let tool: unknown;
  try {
    tool = JSON.parse(line);
  } catch (err) {
    return { output: JSON.stringify({ line: lineNumber, error: `not JSON: ${(err as Error).message}` }), ok: false };
  }
  const problem = toolProblem(tool);
  if (problem) return { output: JSON.stringify({ line: lineNumber, error: problem }), ok: false };
  const t = tool as { name: string; description?: string; inputSchema?: unknown; annotations?: ToolAnnotations };
  const result = classifyTool(t);
  return { output: JSON.stringify({ name: t.name, ...result }), ok: true };
}

function toolProblem(tool: unknown): string | undefined {
  if (typeof tool !== 'object' || tool === null || Array.isArray(tool)) return 'expected a JSON object (an MCP Tool)';
  const t = tool as Record<string, unknown>;
  if (typeof t['name'] !== 'string' || t['name'] === '') return 'missing "name" (a non-empty string)';
  if (t['description'] !== undefined && typeof t['description'] !== 'string') return '"description" must be a string';
  if (t['annotations'] !== undefined && (typeof t['annotations'] !== 'object' || t['annotations'] === null)) return '"annotations" must be an object';
  return undefined;
}

export async function run(args: string[], io: Io = process): Promise<number> {
  const { values, positionals } = parseVerbArgs('classify', args, { help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length > 0) throw usageError('classify: reads tools from stdin; it takes no arguments', USAGE);
  let lineNumber = 0;
  let bad = 0;
  // Line by line with backpressure: a catalogue of any size streams through in constant memory.
  for await (const line of createInterface({ input: io.stdin, crlfDelay: Infinity })) {
    lineNumber++;
    if (line.trim() === '') continue;
    const { output, ok } = classifyLine(line, lineNumber);
    if (!ok) bad++;
    if (!io.stdout.write(output + '\n')) await new Promise<void>((resolve) => io.stdout.once('drain', resolve));
  }
  if (bad > 0) io.stderr.write(`policylayer classify: ${bad} of ${lineNumber} ${lineNumber === 1 ? 'line' : 'lines'} could not be classified\n`);
  return bad > 0 ? 1 : 0;
}
