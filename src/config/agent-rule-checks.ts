// Checks of the rules that name agents (`tools: { k: [{ agents: [...], … }, …] }`), which the schema cannot express:
// rules that can never apply, lists written in another order than the one they apply in, and agent names the file
// does not declare. Pure: problems with file:line, from the parsed (not yet validated) data.
import { formatPath, type ConfigProblem } from './problems.js';
import type { ConfigSource, PathSeg } from './source.js';

export interface AgentRuleProblems {
  /** The file is refused: the rule the author wrote is not the rule that applies. */
  errors: ConfigProblem[];
  /** Reported, the file still loads: e.g. an agent not declared here may be a stored one or come with a JWT. */
  warnings: ConfigProblem[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const agentsOf = (rule: unknown): unknown[] | undefined => (isRecord(rule) && Array.isArray(rule['agents']) ? rule['agents'] : undefined);

export function agentRuleProblems(source: ConfigSource, data: unknown): AgentRuleProblems {
  const out: AgentRuleProblems = { errors: [], warnings: [] };
  const problem = (path: PathSeg[], message: string, hint: string): ConfigProblem => ({
    file: source.file,
    ...(source.locate(path, 'value') ?? { line: 1, column: 1 }),
    path: formatPath(path),
    message,
    hint,
  });
  if (!isRecord(data) || !isRecord(data['servers'])) return out;
  const declared = isRecord(data['agents']) ? data['agents'] : {};
  for (const [server, cfg] of Object.entries(data['servers'])) {
    if (!isRecord(cfg) || !isRecord(cfg['tools'])) continue;
    for (const [key, value] of Object.entries(cfg['tools'])) {
      const base: PathSeg[] = ['servers', server, 'tools', key];
      const rules = Array.isArray(value) ? value : [value];
      const at = (i: number): PathSeg[] => (Array.isArray(value) ? [...base, i] : base);
      // For every agent, the first rule naming it; and the first rule for everyone.
      const firstFor = new Map<string, number>();
      let everyone: number | undefined;
      rules.forEach((rule, i) => {
        const agents = agentsOf(rule);
        if (agents === undefined) {
          if (everyone === undefined) everyone = i;
          else {
            out.errors.push(
              problem(at(i), `this rule can never apply: \`${formatPath(at(everyone))}\` already applies to every agent`, 'remove it, or give it `agents: [...]`'),
            );
          }
          return;
        }
        if (everyone !== undefined) {
          out.errors.push(
            problem(
              at(i),
              `a rule for certain agents comes after \`${formatPath(at(everyone))}\`, the rule for every agent; rules naming an agent apply first, so the list does not read in the order it applies`,
              'move the rule without `agents` to the end of the list',
            ),
          );
        }
        agents.forEach((agent, j) => {
          if (typeof agent !== 'string') return;
          const first = firstFor.get(agent);
          if (first !== undefined) {
            out.errors.push(
              problem([...at(i), 'agents', j], `this rule never applies to agent \`${agent}\`: \`${formatPath(at(first))}\` names it first`, `remove \`${agent}\` here, or merge the two rules`),
            );
            return;
          }
          firstFor.set(agent, i);
          if (!Object.hasOwn(declared, agent)) {
            out.warnings.push(
              problem(
                [...at(i), 'agents', j],
                `agent \`${agent}\` is not declared under \`agents:\` in this file`,
                'fine if it is added with `policylayer agents add` or named by a JWT; otherwise check the spelling, as the rule applies to no one else',
              ),
            );
          }
        });
      });
    }
  }
  return out;
}
