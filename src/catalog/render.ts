// How the catalogue reads to a person: the scan table grouped by category, a server summary, and a tool's page
// (text or Markdown) with what it does, why it needs a policy, the recommended rule and the evidence.
import { formatTable } from '../cli/table.js';
import type { CatalogEntry } from './entry.js';
import { CATEGORY_ORDER, RISK_ORDER } from './entry.js';
import { recommendRule, ruleYaml } from './recommend.js';

const REASON_WIDTH = 100;
const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** `3 tools: 1 Critical, 2 Low`, most dangerous first. */
export function riskSummary(entries: readonly CatalogEntry[]): string {
  const counts = RISK_ORDER.map((risk) => [risk, entries.filter((e) => e.risk === risk).length] as const)
    .filter(([, n]) => n > 0)
    .reverse()
    .map(([risk, n]) => `${n} ${risk}`);
  const changed = entries.filter((e) => e.status === 'changed').length;
  return `${entries.length} ${entries.length === 1 ? 'tool' : 'tools'}${counts.length ? `: ${counts.join(', ')}` : ''}${changed ? `; ${changed} CHANGED since accepted` : ''}`;
}

/** The evidence that best says why: a Read tool's first line only says that nothing else was found. */
const reason = (e: CatalogEntry): string => (e.category === 'Read' && e.evidence.length > 1 && e.evidence[0]!.startsWith('no ') ? e.evidence[1]! : (e.evidence[0] ?? ''));

/** One server's tools as tables, one per category, most dangerous category first. */
export function scanTable(server: string, entries: readonly CatalogEntry[]): string {
  const out = [`${server}: ${riskSummary(entries)}\n`];
  for (const category of [...CATEGORY_ORDER].reverse()) {
    const group = entries.filter((e) => e.category === category);
    if (group.length === 0) continue;
    const rows = group
      .sort((a, b) => RISK_ORDER.indexOf(b.risk) - RISK_ORDER.indexOf(a.risk) || (a.tool < b.tool ? -1 : 1))
      .map((e) => [e.status === 'changed' ? `${e.tool} (CHANGED)` : e.tool, e.risk, e.confidence.toFixed(2), oneLine(reason(e), REASON_WIDTH)]);
    out.push(`\n  ${category} (${group.length})\n`);
    out.push(indent(formatTable(['TOOL', 'RISK', 'CONF', 'REASON'], rows, new Set([2])), '  '));
  }
  return out.join('');
}

const indent = (text: string, pad: string): string =>
  text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');

export function requiredParameters(entry: CatalogEntry): string[] {
  const schema = entry.definition.inputSchema as { required?: unknown } | undefined;
  return Array.isArray(schema?.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [];
}

const WHAT_IT_MEANS: Record<CatalogEntry['category'], string> = {
  Read: 'It retrieves or computes information and changes nothing; it is safe to allow, though what it returns reaches the agent.',
  Write: 'It creates or changes state in a bounded way; allow it with a rate limit so that a looping agent cannot do much before someone notices.',
  Execute: 'It runs commands, code, queries, jobs or workflows: its effect depends on what the agent asks it to run, not on the tool.',
  Destructive: 'It removes data, resources or access, which may not be recoverable; a person should confirm each call.',
  Financial: 'It moves money or changes a financial commitment; a person should confirm each call.',
};

/** Breaks a paragraph into lines of at most `width` characters (a longer word gets a line of its own). */
function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/** What the category means for this tool, the words that decided it, and how little a call needs. */
export function whatItDoes(entry: CatalogEntry, required: readonly string[] = requiredParameters(entry)): string {
  const basis = entry.evidence.filter((e) => !e.startsWith('no write') && !e.startsWith('annotation readOnlyHint: true')).slice(0, 3);
  const parts = [WHAT_IT_MEANS[entry.category]];
  if (basis.length > 0) parts.push(`Labelled ${entry.category} from ${basis.join('; ')}.`);
  if (entry.category !== 'Read' && required.length === 0) parts.push('It needs no input: any call, with no arguments at all, does it.');
  return parts.join(' ');
}

export type PageFormat = 'text' | 'md';

/** A tool's catalogue page, the basis for deciding its rule. */
export function toolPage(entry: CatalogEntry, format: PageFormat): string {
  const md = format === 'md';
  const { rule, summary } = recommendRule(entry.category, entry.risk, entry.tool);
  const required = requiredParameters(entry);
  const description = entry.definition.description?.trim() || '(no description)';
  const lines: string[] = [];
  const heading = (text: string): void => void lines.push('', md ? `## ${text}` : `${text}:`);
  lines.push(md ? `# ${entry.tool}` : `${entry.tool}  (server ${entry.server})`);
  if (md) lines.push('', `Server: \`${entry.server}\``);
  lines.push('', md ? `**${entry.category}**, risk class **${entry.risk}** (confidence ${entry.confidence})` : `${entry.category}, risk class ${entry.risk} (confidence ${entry.confidence})`);
  if (entry.status === 'changed') {
    lines.push('', `${md ? '**' : ''}CHANGED${md ? '**' : ''} since it was accepted (${entry.changedAt ?? 'unknown time'}): review it, then run \`policylayer catalog accept ${entry.server} ${entry.tool}\`.`);
  }
  heading('Description');
  lines.push(md ? description.split('\n').map((l) => `> ${l}`).join('\n') : indent(description, '  '));
  heading('Required parameters');
  lines.push(required.length ? required.map((p) => (md ? `- \`${p}\`` : `  ${p}`)).join('\n') : md ? 'none' : '  none');
  heading('What it does and why it needs a policy');
  const what = whatItDoes(entry, required);
  lines.push(md ? what : indent(wrapWords(what, 98), '  '));
  heading('Recommended rule');
  lines.push(md ? summary : `  ${summary}`);
  const yaml = ruleYaml(entry.tool, rule).trimEnd();
  lines.push(md ? `\n\`\`\`yaml\n${yaml}\n\`\`\`` : `\n${indent(yaml, '    ')}`);
  heading('Evidence');
  lines.push(entry.evidence.map((e) => (md ? `- ${e}` : `  - ${e}`)).join('\n'));
  if (entry.status === 'changed' && entry.acceptedDefinition) {
    heading('Accepted definition (before the change)');
    const before = entry.acceptedDefinition.description?.trim() || '(no description)';
    lines.push(md ? before.split('\n').map((l) => `> ${l}`).join('\n') : indent(before, '  '));
  }
  return lines.join('\n') + '\n';
}
