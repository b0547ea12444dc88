// The two rules that come from the risk catalogue rather than from names in the file: `default: by_risk` (the rule
// for an unnamed tool follows its risk class) and `on_tool_change: block` (a tool whose definition changed since it
// was accepted is hidden and refused).
import type { RuleInput, ServerConfig } from '../config/schema.js';
import type { Risk } from '../catalog/classify.js';
import type { CatalogLookup, ViewEntry } from '../catalog/view.js';
import type { Decision } from './decision.js';
import { folds } from './names.js';

export interface CatalogDecider {
  /** `ruled`: the decision by the file's names; `fallback`: the decision object that means "no rule named it". */
  decide(tool: string, ruled: Decision, fallback: Decision): Decision;
  isVisible(tool: string): boolean;
}

const RISKS: readonly Risk[] = ['Low', 'Medium', 'High', 'Critical'];
const NONE: readonly string[] = [];
const NOTHING_KNOWN: CatalogLookup = { lookup: () => undefined, recheck: () => undefined, changed: () => [], loaded: () => true };

const classifiedOf = (e: ViewEntry) => ({ category: e.category, risk: e.risk, evidence: e.evidence });

export function catalogDecider(
  server: string,
  cfg: ServerConfig,
  catalog: CatalogLookup | undefined,
  compileRule: (path: string, rule: RuleInput) => Decision,
): CatalogDecider | undefined {
  const byRisk = cfg.default === 'by_risk';
  const block = cfg.on_tool_change === 'block';
  // Without a catalogue and without these settings, nothing here can change a decision.
  if (!byRisk && !block && !catalog) return undefined;
  const known = catalog ?? NOTHING_KNOWN;
  const riskRules = new Map<Risk, Decision>(RISKS.map((r) => [r, compileRule(`servers.${server}.by_risk.${r}`, cfg.by_risk[r])]));
  // One decision per catalogue entry: entries are replaced, never edited, when the catalogue changes.
  const byEntry = new WeakMap<ViewEntry, Decision>();
  const unknownRule = riskRules.get('Critical')!;
  const unknown: Decision = {
    ...unknownRule,
    reason: unknownRule.reason ?? 'the tool is not in the risk catalogue (the gateway has not seen it listed), so it counts as Critical',
  };

  const unreadable: Decision = {
    action: 'deny',
    rule: `servers.${server}.on_tool_change`,
    reason: 'the risk catalogue could not be read yet, so this tool\'s definition cannot be checked against its pin; calls are refused until it can (see the gateway log)',
  };

  const changed = (tool: string): Decision => ({
    action: 'deny',
    rule: `servers.${server}.on_tool_change`,
    reason: `the definition of tool "${tool}" changed since it was accepted; calls are refused until it is reviewed and accepted with \`policylayer catalog accept ${server} ${tool}\``,
  });

  const riskDecision = (tool: string, entry: ViewEntry): Decision => {
    let d = byEntry.get(entry);
    if (!d) {
      const rule = riskRules.get(entry.risk)!;
      const why = `${tool} is ${entry.category}, risk ${entry.risk}${entry.evidence[0] ? ` (${entry.evidence[0]})` : ''}`;
      d = { ...rule, reason: rule.reason ? `${rule.reason} (${why})` : why, classified: classifiedOf(entry) };
      byEntry.set(entry, d);
    }
    return d;
  };

  return {
    decide(tool, ruled, fallback) {
      if (!block && !byRisk && ruled.action !== 'require_approval') return ruled;
      let entry = known.lookup(server, tool);
      // Only a blocked call reads the store: it may have been accepted by another process a moment ago.
      if (block && entry?.status === 'changed' && (entry = known.recheck(server, tool))?.status === 'changed') return changed(tool);
      // A name the catalogue does not know may be a case, separator or look-alike variant of a changed tool.
      if (block && !entry && !known.loaded()) return unreadable;
      const changedTools = block && !entry ? known.changed(server) : NONE;
      if (changedTools.length > 0) {
        const mine = folds(tool);
        const original = changedTools.find((name) => folds(name).some((f) => mine.includes(f)));
        if (original && known.recheck(server, original)?.status === 'changed') return changed(original);
      }
      // A call held for a person carries the catalogue's label, so that the approver sees how dangerous it is.
      if (ruled.action === 'require_approval' && (!byRisk || ruled !== fallback)) return entry ? { ...ruled, classified: classifiedOf(entry) } : ruled;
      if (!byRisk || ruled !== fallback) return ruled;
      entry ??= known.recheck(server, tool);
      return entry ? riskDecision(tool, entry) : unknown;
    },
    isVisible: (tool) => !block || (known.lookup(server, tool)?.status ?? 'accepted') !== 'changed',
  };
}
