// Combines the decisions one tool call gets under two readings of its name — as written, and folded (names.ts's
// skeleton) onto a rule — into one that is at least as strict as each; pure.
import { RESTRICTIVENESS, type ApprovalRule, type Decision } from './decision.js';
import type { CompiledLimit } from './limits.js';

const REFUSED_NOTE =
  'the name differs from the rule only by case, spacing, separators or look-alike characters; tool names must match exactly';

/**
 * The decision for a name that folds onto the rule behind `folded`. A careless server may run that rule's tool for
 * this name, so the call must satisfy both readings: the stricter action; when it goes through, every limit of
 * both (limits are counted by their path, so the spelling spends the same budget as the tool it imitates) and, when
 * held, the stricter approval. `named` comes back unchanged when the folded rule adds nothing to it.
 * `exactName`: `named` is the rule of this exact name, which is then the rule reported on a tie of actions;
 * otherwise the folded rule is reported (it is the rule the spelling imitates).
 */
export function bindFolded(named: Decision, folded: Decision, exactName = false): Decision {
  const combined = combine(named, folded, exactName);
  if (combined === named) return named;
  const refused = combined.action === 'deny' || combined.action === 'hide';
  const note = refused ? REFUSED_NOTE : `the name differs from ${folded.rule} only by case, spacing, separators or look-alike characters, so that rule binds it too`;
  return { ...combined, reason: combined.reason ? `${combined.reason} (${note})` : note };
}

/** `bindFolded` without the note: also used to merge the rules of names that fold together. */
export function combine(named: Decision, folded: Decision, exactName = false): Decision {
  if (folded === named) return named;
  const n = RESTRICTIVENESS[named.action];
  const f = RESTRICTIVENESS[folded.action];
  // A refusal is final: nothing a second reading adds can make it looser.
  if (named.action === 'deny' || named.action === 'hide') return f > n ? folded : named;
  if (folded.action === 'deny' || folded.action === 'hide') return folded;
  // Both let the call through (allow or require_approval).
  const base = f > n || (f === n && !exactName) ? folded : named;
  const other = base === folded ? named : folded;
  const limits = unionLimits(base.limits, other.limits);
  const approval = base.approval && other.approval ? stricterApproval(base.approval, other.approval) : base.approval;
  if (base.action === named.action && sameLimits(limits, named.limits) && sameApproval(approval, named.approval)) return named;
  const out: Decision = { ...base };
  if (limits) out.limits = limits;
  if (approval) out.approval = approval;
  const classified = base.classified ?? other.classified;
  if (classified) out.classified = classified;
  return out;
}

/** Every limit of both, each once (by path: shared limits such as all_tools appear in both), `a`'s first. */
function unionLimits(a: readonly CompiledLimit[] | undefined, b: readonly CompiledLimit[] | undefined): readonly CompiledLimit[] | undefined {
  if (!b || b.length === 0) return a;
  if (!a || a.length === 0) return b;
  const paths = new Set(a.map((l) => l.path));
  const extra = b.filter((l) => !paths.has(l.path));
  return extra.length === 0 ? a : [...a, ...extra];
}

function sameLimits(a: readonly CompiledLimit[] | undefined, b: readonly CompiledLimit[] | undefined): boolean {
  if ((a?.length ?? 0) !== (b?.length ?? 0)) return false;
  const paths = new Set((b ?? []).map((l) => l.path));
  return (a ?? []).every((l) => paths.has(l.path));
}

/**
 * The stricter of two approval rules: the shorter timeout; `hold` unless both are `async` (a held call is bound to
 * the very request, an async approval admits a later one); an approval reused for identical calls only if both
 * allow it, for the shorter time.
 */
function stricterApproval(a: ApprovalRule, b: ApprovalRule): ApprovalRule {
  const out: ApprovalRule = { timeoutMs: Math.min(a.timeoutMs, b.timeoutMs), mode: a.mode === 'async' && b.mode === 'async' ? 'async' : 'hold' };
  if (a.ttlMs !== undefined && b.ttlMs !== undefined) out.ttlMs = Math.min(a.ttlMs, b.ttlMs);
  if (a.askClient || b.askClient) out.askClient = true;
  return out;
}

function sameApproval(a: ApprovalRule | undefined, b: ApprovalRule | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.timeoutMs === b.timeoutMs && a.mode === b.mode && a.ttlMs === b.ttlMs && a.askClient === b.askClient;
}
