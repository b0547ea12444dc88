// Compiles a validated config into per-server indexes and decides tool calls; pure, no I/O.
import type { Action, Config, RuleInput, ServerConfig } from '../config/schema.js';
import { windowMs } from '../config/limits-schema.js';
import { RESTRICTIVENESS, type Decision } from './decision.js';
import { compileLimits, type CompiledLimit } from './limits.js';
import { globToRegExp, isGlob, literalLength, skeleton } from './names.js';
import type { CatalogLookup } from '../catalog/view.js';
import { catalogDecider } from './catalog-rules.js';

interface CompiledRule {
  decision: Decision;
  /** Order in the file, the last tie-breaker. */
  order: number;
}
interface PatternRule extends CompiledRule {
  regex: RegExp;
  skeletonRegex: RegExp;
  specificity: number;
}

export interface ServerPolicy {
  readonly server: string;
  /** The decision for a `tools/call` of `tool` (the name exactly as the client sent it). */
  decide(tool: string): Decision;
  /** Whether `tools/list` may show the tool. */
  isVisible(tool: string): boolean;
}

export interface Policy {
  readonly config: Config;
  server(name: string): ServerPolicy | undefined;
}

const LOOKALIKE_NOTE =
  'the name differs from the rule only by case, spacing, separators or look-alike characters; tool names must match exactly';
const DECISION_CACHE_LIMIT = 4096;
const DEFAULT_APPROVAL_TIMEOUT_MS = 10 * 60 * 1000;

/** `catalog`: what the risk catalogue knows (for `default: by_risk` and `on_tool_change: block`); none, nothing known. */
export function compilePolicy(config: Config, catalog?: CatalogLookup): Policy {
  const servers = new Map<string, ServerPolicy>();
  const gatewayLimits = compileLimits('gateway.all_tools', config.gateway.all_tools);
  for (const [name, server] of Object.entries(config.servers)) servers.set(name, compileServer(name, server, gatewayLimits, catalog));
  return { config, server: (name) => servers.get(name) };
}

export function ruleDecision(path: string, input: RuleInput, shared: readonly CompiledLimit[], askClient = false): Decision {
  const action = typeof input === 'string' ? input : input.action;
  const decision: Decision = { action, rule: path };
  if (typeof input !== 'string' && input.reason !== undefined) decision.reason = input.reason;
  if (action === 'allow' || action === 'require_approval') {
    const limits = [...(typeof input === 'string' ? [] : compileLimits(path, input)), ...shared];
    if (limits.length > 0) decision.limits = limits;
  }
  if (action === 'require_approval') {
    const rule = typeof input === 'string' ? undefined : input;
    decision.approval = {
      timeoutMs: rule?.approval_timeout === undefined ? DEFAULT_APPROVAL_TIMEOUT_MS : windowMs(rule.approval_timeout),
      mode: rule?.approval_mode ?? 'hold',
      ...(rule?.approval_ttl !== undefined && { ttlMs: windowMs(rule.approval_ttl) }),
      ...(askClient && { askClient }),
    };
  }
  return decision;
}

function compileServer(server: string, cfg: ServerConfig, gatewayLimits: readonly CompiledLimit[], catalog?: CatalogLookup): ServerPolicy {
  // Limits every allowed call of this server must also fit in: the server's all_tools, then the gateway's.
  const shared = [...compileLimits(`servers.${server}.all_tools`, cfg.all_tools), ...gatewayLimits];
  const exact = new Map<string, CompiledRule>();
  const patterns: PatternRule[] = [];
  const bySkeleton = new Map<string, CompiledRule>();
  let order = 0;

  const add = (key: string, decision: Decision): void => {
    const rule = { decision, order: order++ };
    if (isGlob(key)) {
      patterns.push({ ...rule, regex: globToRegExp(key), skeletonRegex: globToRegExp(skeleton(key)), specificity: literalLength(key) });
    } else {
      const prior = exact.get(key);
      if (!prior || stricter(decision.action, prior.decision.action)) exact.set(key, rule);
      const sk = skeleton(key);
      const priorSk = bySkeleton.get(sk);
      if (!priorSk || stricter(decision.action, priorSk.decision.action)) bySkeleton.set(sk, rule);
    }
  };
  const askClient = cfg.approval_via === 'client';
  for (const [key, input] of Object.entries(cfg.tools)) add(key, ruleDecision(`servers.${server}.tools.${key}`, input, shared, askClient));
  cfg.hide.forEach((key, i) => add(key, { action: 'hide', rule: `servers.${server}.hide[${i}]` }));
  // Most specific pattern first; on a tie the more restrictive, then the earlier in the file.
  patterns.sort(
    (a, b) =>
      b.specificity - a.specificity ||
      RESTRICTIVENESS[b.decision.action] - RESTRICTIVENESS[a.decision.action] ||
      a.order - b.order,
  );
  // by_risk: the fallback is decided per tool from the catalogue (see catalog-rules.ts); this one marks "no rule".
  const fallback = ruleDecision(`servers.${server}.default`, cfg.default === 'by_risk' ? 'allow' : cfg.default, shared, askClient);
  const cache = new Map<string, Decision>();

  const decideUncached = (tool: string): Decision => {
    const hit = exact.get(tool);
    if (hit) return hit.decision;
    const byName = patterns.find((p) => p.regex.test(tool))?.decision ?? fallback;
    // The folded name is decided with the same precedence; if that lands on a stricter rule, the name is a
    // trick (or a typo) and the stricter rule applies. Folding never loosens a decision.
    const folded = skeleton(tool);
    const byFold = bySkeleton.get(folded)?.decision ?? patterns.find((p) => p.skeletonRegex.test(folded))?.decision;
    if (byFold && stricter(byFold.action, byName.action)) {
      return { ...byFold, reason: byFold.reason ? `${byFold.reason} (${LOOKALIKE_NOTE})` : LOOKALIKE_NOTE };
    }
    return byName;
  };

  const decide = (tool: string): Decision => {
    let d = cache.get(tool);
    if (d === undefined) {
      d = decideUncached(tool);
      if (cache.size >= DECISION_CACHE_LIMIT) cache.clear();
      cache.set(tool, d);
    }
    return d;
  };
  const byCatalog = catalogDecider(server, cfg, catalog, (path, rule) => ruleDecision(path, rule, shared, askClient));
  if (!byCatalog) return { server, decide, isVisible: (tool) => decide(tool).action !== 'hide' };
  const decideWithCatalog = (tool: string): Decision => byCatalog.decide(tool, decide(tool), fallback);
  return { server, decide: decideWithCatalog, isVisible: (tool) => decideWithCatalog(tool).action !== 'hide' && byCatalog.isVisible(tool) };
}

function stricter(a: Action, b: Action): boolean {
  return RESTRICTIVENESS[a] > RESTRICTIVENESS[b];
}
