// Compiles a validated config into per-server indexes and decides tool calls; pure, no I/O.
import type { Config, RuleInput, ServerConfig } from '../config/schema.js';
import { windowMs } from '../config/limits-schema.js';
import { RESTRICTIVENESS, type Decision } from './decision.js';
import { compileLimits, type CompiledLimit } from './limits.js';
import { folds, globToRegExp, isGlob, literalLength, skeletonGlob } from './names.js';
import type { CatalogLookup } from '../catalog/view.js';
import { catalogDecider, type CatalogDecider } from './catalog-rules.js';
import { agentTables, type TableRule } from './agent-rules.js';
import { bindFolded, combine } from './combine.js';

interface PatternRule {
  decision: Decision;
  /** Order in the file, the last tie-breaker. */
  order: number;
  regex: RegExp;
  skeletonRegex: RegExp;
  specificity: number;
}

/** A name's two readings: as written (exact, glob or default) and folded onto a rule, when that is another rule. */
interface Readings {
  named: Decision;
  folded?: Decision;
  /** Both bound together (what decide() returns when no catalogue has a say in `named`). */
  bound: Decision;
}

export interface ServerPolicy {
  readonly server: string;
  /**
   * The decision for a `tools/call` of `tool` (the name exactly as the client sent it) by `agent` (the identity's
   * agent; omitted: `anonymous`, the agent of a caller without credentials).
   */
  decide(tool: string, agent?: string): Decision;
  /** Whether `tools/list` may show the tool to `agent`. */
  isVisible(tool: string, agent?: string): boolean;
}

/** One agent's reading of a server's rules. */
interface View {
  decide(tool: string): Decision;
  isVisible(tool: string): boolean;
}

/** The agent of a caller without credentials (auth off or optional), as the proxy's identities name it. */
const NO_AGENT = 'anonymous';

export interface Policy {
  readonly config: Config;
  server(name: string): ServerPolicy | undefined;
}

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
  const askClient = cfg.approval_via === 'client';
  const compileRule = (path: string, rule: RuleInput) => ruleDecision(path, rule, shared, askClient);
  // by_risk: the fallback is decided per tool from the catalogue (see catalog-rules.ts); this one marks "no rule".
  const fallback = compileRule(`servers.${server}.default`, cfg.default === 'by_risk' ? 'allow' : cfg.default);
  const byCatalog = catalogDecider(server, cfg, catalog, compileRule);
  const hides = cfg.hide.map((key, i): [string, Decision] => [key, { action: 'hide', rule: `servers.${server}.hide[${i}]` }]);
  const view = (table: readonly TableRule[]) =>
    compileView([...table.map((r): [string, Decision] => [r.key, compileRule(r.path, r.rule)]), ...hides], fallback, byCatalog);
  // One view per agent some rule names, one for everyone else: the agents a view exists for are bounded by the file,
  // and an agent named nowhere (whatever its credential says) shares the last one, with its cache.
  const tables = agentTables(server, cfg.tools);
  const views = new Map([...tables.byAgent].map(([agent, table]) => [agent, view(table)]));
  const others = view(tables.others);
  const of = (agent: string) => views.get(agent) ?? others;
  return { server, decide: (tool, agent = NO_AGENT) => of(agent).decide(tool), isVisible: (tool, agent = NO_AGENT) => of(agent).isVisible(tool) };
}

/** What one agent's rules decide: exact names, then the most specific glob, then the default; folded names bind. */
function compileView(rules: readonly [string, Decision][], fallback: Decision, byCatalog: CatalogDecider | undefined): View {
  // Exact keys: the rules of one key combined (a name both ruled and hidden is hidden).
  const exact = new Map<string, Decision>();
  const patterns: PatternRule[] = [];
  let order = 0;
  for (const [key, decision] of rules) {
    if (isGlob(key)) {
      patterns.push({ decision, order: order++, regex: globToRegExp(key), skeletonRegex: skeletonGlob(key), specificity: literalLength(key) });
    } else {
      const prior = exact.get(key);
      exact.set(key, prior ? combine(prior, decision, true) : decision);
    }
  }
  // Most specific pattern first; on a tie the more restrictive, then the earlier in the file.
  patterns.sort(
    (a, b) =>
      b.specificity - a.specificity ||
      RESTRICTIVENESS[b.decision.action] - RESTRICTIVENESS[a.decision.action] ||
      a.order - b.order,
  );
  // Exact keys that fold together (read_file and Read_File) are one tool to a careless server: each of those names,
  // and every other spelling of them, is bound by all of their rules. Done once here, so an exact hit costs a lookup.
  const byFold = new Map<string, Decision>();
  for (const [key, d] of exact) {
    for (const f of folds(key)) {
      const prior = byFold.get(f);
      byFold.set(f, prior ? combine(prior, d) : d);
    }
  }
  const combined = (decisions: (Decision | undefined)[]): Decision | undefined =>
    decisions.reduce<Decision | undefined>((acc, d) => (acc && d ? combine(acc, d) : (acc ?? d)), undefined);
  for (const [key, d] of exact) exact.set(key, bindFolded(d, combined(folds(key).map((f) => byFold.get(f)))!, true));
  const cache = new Map<string, Readings>();

  const read = (tool: string): Readings => {
    const hit = exact.get(tool);
    if (hit) return { named: hit, bound: hit };
    const named = patterns.find((p) => p.regex.test(tool))?.decision ?? fallback;
    // Each folded form of the name is decided with the same precedence (exact keys, then the most specific glob). A
    // careless server may run that rule's tool for this name, so the call is bound by that rule too (combine.ts).
    const folded = combined(folds(tool).map((f) => byFold.get(f) ?? patterns.find((p) => p.skeletonRegex.test(f))?.decision));
    if (!folded || folded === named) return { named, bound: named };
    return { named, folded, bound: bindFolded(named, folded) };
  };

  const readings = (tool: string): Readings => {
    let r = cache.get(tool);
    if (r === undefined) {
      r = read(tool);
      if (cache.size >= DECISION_CACHE_LIMIT) cache.clear();
      cache.set(tool, r);
    }
    return r;
  };
  const decide = (tool: string): Decision => readings(tool).bound;
  if (!byCatalog) return { decide, isVisible: (tool) => decide(tool).action !== 'hide' };
  // The catalogue decides the name as written (by_risk for an unnamed tool, pins); the folded rule binds the result.
  const decideWithCatalog = (tool: string): Decision => {
    const { named, folded } = readings(tool);
    const d = byCatalog.decide(tool, named, fallback);
    return folded ? bindFolded(d, folded) : d;
  };
  return { decide: decideWithCatalog, isVisible: (tool) => decideWithCatalog(tool).action !== 'hide' && byCatalog.isVisible(tool) };
}
