// `bench/classifier`: how well and how fast the risk classifier labels real tools. Reads the labelled fixture
// (test/fixtures/tools-labelled.jsonl, gathered from real MCP servers; sources in tools-labelled.md) and prints
// accuracy, per-category precision and recall, the confusion matrix, the dangerous tools it called Read, and
// tools per second.
//
//   node dist/bench/classifier.js [--fixture FILE] [--show-misses]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { classifyTool } from '../src/catalog/classify.js';
import { f, ROOT } from './common.js';

const CATEGORIES = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'] as const;
type Category = (typeof CATEGORIES)[number];

interface Labelled {
  server?: string;
  name: string;
  description?: string;
  inputSchema?: unknown;
  annotations?: Record<string, boolean>;
  label: Category;
}

const { values: opts } = parseArgs({
  options: { fixture: { type: 'string' }, 'show-misses': { type: 'boolean', default: false } },
});
const FIXTURE = opts.fixture ?? path.join(ROOT, 'test/fixtures/tools-labelled.jsonl');

function load(file: string): Labelled[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const t = JSON.parse(l) as Labelled;
      if (!CATEGORIES.includes(t.label)) throw new Error(`${file}:${i + 1}: label "${t.label}" is not one of ${CATEGORIES.join(', ')}`);
      return t;
    });
}

function main(): void {
  const tools = load(FIXTURE);
  const matrix = new Map<string, number>();
  const misses: string[] = [];
  let right = 0;
  for (const t of tools) {
    const got = classifyTool(t).category as Category;
    matrix.set(`${t.label}>${got}`, (matrix.get(`${t.label}>${got}`) ?? 0) + 1);
    if (got === t.label) right++;
    else misses.push(`| ${t.server ?? ''} | ${t.name} | ${t.label} | ${got} | ${(t.description ?? '').replace(/\s+/g, ' ').slice(0, 90)} |`);
  }
  const cell = (label: Category, got: Category) => matrix.get(`${label}>${got}`) ?? 0;

  // Speed: the whole fixture classified again and again for about a second, after a warm-up.
  for (let i = 0; i < 3; i++) for (const t of tools) classifyTool(t);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1e9) {
    for (const t of tools) classifyTool(t);
    n += tools.length;
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  const perSecond = n / (elapsed / 1e9);

  const lines: string[] = [];
  lines.push(`\n## Classifier on ${tools.length} labelled real tools (${path.relative(ROOT, FIXTURE)}), node ${process.version}\n`);
  lines.push(`Accuracy **${f((100 * right) / tools.length, 1)} %** (${right} of ${tools.length}); **${Math.round(perSecond).toLocaleString('en')} tools/s**\n`);
  lines.push('| category | tools | precision | recall |');
  lines.push('|---|---:|---:|---:|');
  for (const c of CATEGORIES) {
    const labelled = CATEGORIES.reduce((s, g) => s + cell(c, g), 0);
    const called = CATEGORIES.reduce((s, l) => s + cell(l, c), 0);
    lines.push(`| ${c} | ${labelled} | ${f((100 * cell(c, c)) / called, 1)} % | ${f((100 * cell(c, c)) / labelled, 1)} % |`);
  }
  lines.push('\nConfusion matrix (rows: label, columns: classifier):\n');
  lines.push(`| label \\ got | ${CATEGORIES.join(' | ')} |`);
  lines.push(`|---|${CATEGORIES.map(() => '---:').join('|')}|`);
  for (const l of CATEGORIES) lines.push(`| ${l} | ${CATEGORIES.map((g) => String(cell(l, g))).join(' | ')} |`);

  const dangerousAsRead = (['Execute', 'Destructive', 'Financial'] as const).reduce((s, l) => s + cell(l, 'Read'), 0);
  const recall = (c: Category) => cell(c, c) / CATEGORIES.reduce((s, g) => s + cell(c, g), 0);
  const check = (ok: boolean, text: string) => `- ${ok ? 'MET' : 'MISSED'} ${text}`;
  lines.push('\n### Targets (issue 6)\n');
  lines.push(check(right / tools.length >= 0.95, `accuracy ≥ 95 %: ${f((100 * right) / tools.length, 1)} %`));
  lines.push(check(recall('Destructive') >= 0.98, `Destructive recall ≥ 98 %: ${f(100 * recall('Destructive'), 1)} %`));
  lines.push(check(recall('Financial') >= 0.98, `Financial recall ≥ 98 %: ${f(100 * recall('Financial'), 1)} %`));
  lines.push(check(dangerousAsRead === 0, `no Destructive, Financial or Execute tool labelled Read: ${dangerousAsRead}`));
  lines.push(check(perSecond >= 50_000, `≥ 50 000 tools/s: ${Math.round(perSecond).toLocaleString('en')}`));
  if (opts['show-misses'] && misses.length > 0) {
    lines.push('\n### Misses\n\n| server | tool | label | classifier | description |\n|---|---|---|---|---|');
    lines.push(...misses);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main();
