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

  // Speed: after half a second of warm-up (so the JIT has optimised the classifier), seven windows of 0.3 s each of
  // classifying the whole fixture, alternated with windows of JSON.parse of the same tools' JSON lines (what
  // `policylayer classify` does to each line anyway) as the baseline run beside it; medians, and the range.
  const texts = tools.map((t) => JSON.stringify(t));
  const rate = (work: () => void, ms: number): number => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < ms * 1e6) {
      work();
      n += tools.length;
      elapsed = Number(process.hrtime.bigint() - t0);
    }
    return n / (elapsed / 1e9);
  };
  const classifyAll = () => {
    for (const t of tools) classifyTool(t);
  };
  const parseAll = () => {
    for (const t of texts) JSON.parse(t);
  };
  rate(classifyAll, 500);
  rate(parseAll, 200);
  const rates: number[] = [];
  const parses: number[] = [];
  for (let i = 0; i < 7; i++) {
    rates.push(rate(classifyAll, 300));
    parses.push(rate(parseAll, 300));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const perSecond = median(rates);
  const parseRatio = median(parses) / perSecond;

  const lines: string[] = [];
  lines.push(`\n## Classifier on ${tools.length} labelled real tools (${path.relative(ROOT, FIXTURE)}), node ${process.version}\n`);
  const speedRange = `${Math.round(Math.min(...rates)).toLocaleString('en')}–${Math.round(Math.max(...rates)).toLocaleString('en')}`;
  lines.push(`Accuracy **${f((100 * right) / tools.length, 1)} %** (${right} of ${tools.length}); **${Math.round(perSecond).toLocaleString('en')} tools/s** (median of 7 windows, ${speedRange}); one classification costs **${f(parseRatio, 1)} ×** a JSON.parse of the tool's JSON line in the same run\n`);
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
