// Summarises a V8 .cpuprofile (node --cpu-prof) as the functions with the most self and total time, busy time only.
//
//   node dist/bench/cpu-profile.js FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)', '(program)']);

/** A markdown table of the top `n` functions by self time, with their inclusive time, as % of busy samples. */
export function summariseProfile(file: string, n = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

  const keyOf = (node: ProfileNode): string => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${shorten(url)}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    const node = byId.get(id);
    if (!node || IDLE.has(node.callFrame.functionName)) return;
    busy += dt;
    const key = keyOf(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    const file = node.callFrame.url ? shorten(node.callFrame.url) : `(${node.callFrame.functionName || 'native'})`;
    byFile.set(file, (byFile.get(file) ?? 0) + dt);
    // Inclusive time: each function once per sample, however deep the recursion.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  const pct = (us: number): string => ((100 * us) / busy).toFixed(1);
  const lines = [
    `busy ${(busy / 1000).toFixed(0)} ms of ${(all / 1000).toFixed(0)} ms profiled`,
    '',
    '| self % | total % | function (file:line) |',
    '|---:|---:|---|',
  ];
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) lines.push(`| ${pct(us)} | ${pct(total.get(k) ?? 0)} | ${k} |`);
  lines.push('', '| self % by file |   |', '|---:|---|');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`| ${pct(us)} | ${k} |`);
  lines.push('', 'policylayer functions by total time:', '', '| total % | self % | function |', '|---:|---:|---|');
  const ours = [...total].filter(([k]) => k.includes('dist/src/')).sort((a, b) => b[1] - a[1]).slice(0, n);
  for (const [k, us] of ours) lines.push(`| ${pct(us)} | ${pct(self.get(k) ?? 0)} | ${k} |`);
  return lines.join('\n');
}

function shorten(url: string): string {
  const p = url.startsWith('file://') ? fileURLToPath(url) : url;
  const i = p.indexOf('/dist/');
  const j = p.indexOf('/node_modules/');
  if (j !== -1) return p.slice(j + 1);
  return i !== -1 ? p.slice(i + 1) : p.startsWith('node:') ? p : path.basename(p);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: cpu-profile.js FILE.cpuprofile [N]\n');
    process.exitCode = 2;
  } else process.stdout.write(summariseProfile(file, Number(n ?? 25)) + '\n');
}
