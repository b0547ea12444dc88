// Which rule of each `tools:` key applies to which agent: a key holds one rule or a list, and a rule may name the
// agents it applies to. Resolved once per compile into one plain rule table per agent named in the file, plus one for
// every other agent, so that deciding a call stays what it was without agents: exact name, glob, default; pure.
import type { RuleInput, ToolRuleInput, ToolRulesInput } from '../config/schema.js';

/** One rule that applies to an agent, with the path a Decision reports (`servers.s.tools.k` or `…tools.k[1]`). */
export interface TableRule {
  key: string;
  path: string;
  rule: RuleInput;
}

export interface AgentTables {
  /** A table for each agent that some rule names. */
  byAgent: ReadonlyMap<string, readonly TableRule[]>;
  /** The table of every agent no rule names (and of callers without one): the rules for everyone. */
  others: readonly TableRule[];
}

const rulesOf = (input: ToolRulesInput): readonly ToolRuleInput[] => (Array.isArray(input) ? input : [input]);
const agentsOf = (rule: ToolRuleInput): readonly string[] | undefined => (typeof rule === 'string' ? undefined : rule.agents);

/**
 * At each key, for agent `agent` (undefined: an agent no rule names): the first rule naming it, else the first rule
 * without `agents`, else none — the key then does not apply to it, and its call falls through to globs and the
 * default. Per-agent rules come first whatever their place in the list (validate refuses a list written otherwise).
 */
function pick(input: ToolRulesInput, agent: string | undefined): { rule: ToolRuleInput; index: number } | undefined {
  const rules = rulesOf(input);
  let index = agent === undefined ? -1 : rules.findIndex((r) => agentsOf(r)?.includes(agent));
  if (index < 0) index = rules.findIndex((r) => agentsOf(r) === undefined);
  return index < 0 ? undefined : { rule: rules[index]!, index };
}

export function agentTables(server: string, tools: Readonly<Record<string, ToolRulesInput>>): AgentTables {
  const named = new Set<string>();
  for (const input of Object.values(tools)) for (const r of rulesOf(input)) for (const a of agentsOf(r) ?? []) named.add(a);
  const table = (agent: string | undefined): TableRule[] => {
    const out: TableRule[] = [];
    for (const [key, input] of Object.entries(tools)) {
      const hit = pick(input, agent);
      if (!hit) continue;
      const path = `servers.${server}.tools.${key}${Array.isArray(input) ? `[${hit.index}]` : ''}`;
      out.push({ key, path, rule: withoutAgents(hit.rule) });
    }
    return out;
  };
  return { byAgent: new Map([...named].map((a) => [a, table(a)])), others: table(undefined) };
}

function withoutAgents(rule: ToolRuleInput): RuleInput {
  if (typeof rule === 'string' || rule.agents === undefined) return rule;
  const { agents: _agents, ...rest } = rule;
  return rest;
}
