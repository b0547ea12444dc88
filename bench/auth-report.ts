// The "token checks" section of `npm run bench`: each gateway configuration with an agent token against the same
// configuration with authentication off, measured in the same rotating rounds, as ratios (issue 14: within 5 %).
import { CONCURRENCY } from './common.js';

/** What the section needs of one configuration at one concurrency. */
export interface AuthStats {
  /** Calls per second over all rounds, and per round (the rounds of both rows are the same slices of time). */
  rate: number;
  rounds: number[];
  /** CPU of the proxy process per call, µs. */
  proxyUs: number;
}

/** The target: auth-on throughput and CPU per call within this fraction of auth-off. */
const TOLERANCE = 0.05;

export function authReport(
  chosen: readonly { key: string; label: string; authOff?: string | undefined }[],
  get: (key: string, concurrency: number) => AuthStats | undefined,
): string {
  const pairs = chosen.filter((s) => s.authOff !== undefined && chosen.some((o) => o.key === s.authOff));
  if (pairs.length === 0) return '';
  const f = (n: number, d = 3): string => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const lines = [
    '\n### Token checks: agent token on / authentication off (same configuration, same rounds)\n',
    '| configuration | C | calls/s ratio (per-round range) | proxy CPU µs/call on / off | CPU ratio |',
    '|---|---:|---|---:|---:|',
  ];
  const checks: string[] = [];
  for (const s of pairs) {
    for (const c of CONCURRENCY) {
      const on = get(s.key, c);
      const off = get(s.authOff!, c);
      if (!on || !off) continue;
      const rate = on.rate / off.rate;
      // Round i of both rows ran back to back, so their ratio cancels most of what the machine did meanwhile.
      const perRound = on.rounds.map((r, i) => r / (off.rounds[i] ?? Number.NaN));
      const cpu = on.proxyUs / off.proxyUs;
      lines.push(`| ${s.label} | ${c} | **${f(rate)}** (${f(Math.min(...perRound))}–${f(Math.max(...perRound))}) | ${f(on.proxyUs, 0)} / ${f(off.proxyUs, 0)} | **${f(cpu)}** |`);
      const met = rate >= 1 - TOLERANCE && cpu <= 1 + TOLERANCE;
      checks.push(`- ${met ? 'MET ' : 'MISSED '} within ${TOLERANCE * 100} % of auth off, ${s.key} C=${c}: throughput ×${f(rate)}, CPU per call ×${f(cpu)}`);
    }
  }
  return [...lines, '\n### Targets (issue 14)\n', ...checks].join('\n') + '\n';
}
