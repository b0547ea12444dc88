// The recommended rule for a classified tool, and a whole recommended policy file for scanned servers.
import { Document, isCollection, isMap, YAMLMap, type Pair } from 'yaml';
import { ErrorCode, GatewayError } from '../errors.js';
import { validatePolicyText, type ServerSpec } from '../config/edit.js';
import { formatProblems } from '../config/problems.js';
import { SERVER_NAME, type RuleInput } from '../config/schema.js';
import { isGlob } from '../policy/names.js';
import type { Category, Risk } from './classify.js';
import { CATEGORY_ORDER, RISK_ORDER } from './entry.js';

export interface RecommendedRule {
  rule: RuleInput;
  /** One line for people: what the rule does to the tool. */
  summary: string;
}

export interface ScannedTool {
  name: string;
  category: Category;
  risk: Risk;
  evidence: string[];
  confidence: number;
}

export interface ScannedServer {
  name: string;
  spec: ServerSpec;
  tools: ScannedTool[];
}

/** Writes are allowed but bounded, so that a looping agent cannot change much before someone notices. */
export const WRITE_RATE_LIMIT = { max: 30, window: '60s', scope: 'session' } as const;

const WHY_CONFIRM: Record<Exclude<Category, 'Read' | 'Write'>, string> = {
  Execute: 'runs commands, code or queries that the agent writes',
  Destructive: 'removes data, resources or access, which may not be recoverable',
  Financial: 'moves money or changes a financial commitment',
};

/**
 * Read: allow. Write: allow, at most 30 calls a minute per session. Execute, Destructive, Financial: hold for a
 * person's approval. A Read or Write tool whose risk the evidence raised to High or Critical (a destructiveHint
 * annotation, a `confirm` parameter) is held too, as `default: by_risk` would hold it.
 */
export function recommendRule(category: Category, risk: Risk, toolName: string): RecommendedRule {
  if (category !== 'Read' && category !== 'Write') {
    return {
      rule: { action: 'require_approval', reason: `${category} tool: it ${WHY_CONFIRM[category]}; a person confirms each call` },
      summary: `hold each call of ${toolName} for a person's approval (${category}, ${risk} risk)`,
    };
  }
  if (RISK_ORDER.indexOf(risk) >= RISK_ORDER.indexOf('High')) {
    return {
      rule: {
        action: 'require_approval',
        reason: `${category} tool raised to ${risk} risk by its evidence (it may overwrite data or asks for confirmation); a person confirms each call`,
      },
      summary: `hold each call of ${toolName} for a person's approval (${category}, raised to ${risk} risk by its evidence)`,
    };
  }
  if (category === 'Read') return { rule: 'allow', summary: `allow ${toolName} (Read: no side effects)` };
  return {
    rule: { action: 'allow', rate_limit: { ...WRITE_RATE_LIMIT } },
    summary: `allow ${toolName}, at most ${WRITE_RATE_LIMIT.max} calls a minute per session (Write)`,
  };
}

/** A rule as the YAML a person pastes under a server: `tools:\n  name:\n    action: …`. */
export function ruleYaml(toolName: string, rule: RuleInput): string {
  const doc = new Document();
  const tools = new YAMLMap();
  tools.items.push(rulePair(doc, toolName, rule));
  const root = new YAMLMap();
  root.items.push(doc.createPair('tools', tools));
  doc.contents = root;
  return stringify(doc);
}

const COMMENT_MAX = 240;
const EVIDENCE_MAX = 120;
// Line and paragraph separators, control and format characters (bidi overrides included): none may reach a comment.
const NOT_FOR_COMMENTS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu;

/** Text that stays one comment line: no line breaks or invisible characters, at most `max` characters. */
export function commentLine(text: string, max = COMMENT_MAX): string {
  const flat = text.replace(NOT_FOR_COMMENTS, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= max ? flat : chars.slice(0, max - 1).join('') + '…';
}

/**
 * A complete policy file for scanned servers: each server with `default: by_risk`, `on_tool_change: block` and one
 * rule per tool, most dangerous category first, each under a comment with its category, risk and evidence. A tool
 * whose name cannot be an exact rule key (a glob character, brackets, outer spaces…) gets a comment instead of a
 * rule; `default: by_risk` decides it. The text is checked with the loader before it is returned.
 */
/** `options.gateway`: a `gateway:` block to carry over as written (from the scanned file), so the policy runs where it did. */
export function recommendedPolicy(servers: ScannedServer[], options: { date?: Date; gateway?: Record<string, unknown> } = {}): string {
  const seen = new Set<string>();
  for (const { name } of servers) {
    if (!SERVER_NAME.test(name)) throw new GatewayError(ErrorCode.USAGE, `invalid server name "${name}": use letters, digits, _ and -, starting with a letter or digit`);
    if (seen.has(name)) throw new GatewayError(ErrorCode.USAGE, `server "${name}" is listed twice`);
    seen.add(name);
  }
  const date = (options.date ?? new Date()).toISOString().slice(0, 10);
  const doc = new Document();
  doc.commentBefore = [
    ` Generated by \`policylayer scan\` on ${date} from the tools the servers listed.`,
    ' A starting point to review, not a finished policy: check each rule against the evidence above it.',
  ].join('\n');
  const serverMap = new YAMLMap();
  for (const server of servers) {
    const pair = doc.createPair(server.name, serverNode(doc, server));
    if (serverMap.items.length > 0) (pair.key as { spaceBefore?: boolean }).spaceBefore = true;
    serverMap.items.push(pair);
  }
  const root = new YAMLMap();
  root.items.push(doc.createPair('version', 1));
  if (options.gateway) root.items.push(doc.createPair('gateway', options.gateway));
  root.items.push(doc.createPair('servers', serverMap));
  doc.contents = root;
  const text = stringify(doc);
  const problems = validatePolicyText(text, 'recommended policy');
  if (problems.length > 0) {
    throw new GatewayError(ErrorCode.CONFIG_INVALID, `the recommended policy is not valid (check the servers' command or url):\n${formatProblems(problems)}`);
  }
  return text;
}

function serverNode(doc: Document, server: ScannedServer): YAMLMap {
  const node = new YAMLMap();
  const { spec } = server;
  if (spec.command !== undefined) {
    const command = doc.createNode(spec.command);
    command.flow = true;
    node.items.push(doc.createPair('command', command));
  }
  if (spec.url !== undefined) node.items.push(doc.createPair('url', spec.url));
  if (spec.env !== undefined) node.items.push(doc.createPair('env', spec.env));
  if (spec.headers !== undefined) node.items.push(doc.createPair('headers', spec.headers));

  const byDefault = doc.createPair('default', 'by_risk');
  (byDefault.key as { commentBefore?: string }).commentBefore =
    ' A tool with no rule below (one added later, say): Low/Medium risk allowed, High/Critical held for approval.';
  const onChange = doc.createPair('on_tool_change', 'block');
  (onChange.key as { commentBefore?: string }).commentBefore =
    ` A tool whose definition changes is hidden and refused until \`policylayer catalog accept ${server.name} TOOL\`.`;
  node.items.push(byDefault, onChange);

  const { rules, unnamed } = toolRules(doc, server.tools);
  const toolsPair = doc.createPair('tools', rules);
  if (rules.items.length === 0) rules.flow = true;
  if (unnamed.length > 0) {
    (toolsPair.key as { commentBefore?: string }).commentBefore = unnamed
      .map((t) => ` ${commentLine(`No rule for ${JSON.stringify(t.name)} (${t.category}, ${t.risk} risk): the name cannot be written as an exact rule`)}`)
      .join('\n');
  }
  node.items.push(toolsPair);
  return node;
}

const DANGER_FIRST = [...CATEGORY_ORDER].reverse();

function toolRules(doc: Document, tools: ScannedTool[]): { rules: YAMLMap; unnamed: ScannedTool[] } {
  const unique = new Map<string, ScannedTool>();
  for (const tool of tools) if (!unique.has(tool.name)) unique.set(tool.name, tool);
  const ordered = [...unique.values()].sort(
    (a, b) =>
      DANGER_FIRST.indexOf(a.category) - DANGER_FIRST.indexOf(b.category) ||
      RISK_ORDER.indexOf(b.risk) - RISK_ORDER.indexOf(a.risk) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const rules = new YAMLMap();
  const unnamed: ScannedTool[] = [];
  let category: Category | undefined;
  for (const tool of ordered) {
    if (!isExactRuleKey(tool.name)) {
      unnamed.push(tool);
      continue;
    }
    const pair = rulePair(doc, tool.name, recommendRule(tool.category, tool.risk, tool.name).rule);
    const key = pair.key as { commentBefore?: string; spaceBefore?: boolean };
    key.commentBefore = ` ${ruleComment(tool)}`;
    // A blank line between categories, so that the groups show.
    if (category !== undefined && category !== tool.category) key.spaceBefore = true;
    category = tool.category;
    rules.items.push(pair);
  }
  return { rules, unnamed };
}

function ruleComment(tool: ScannedTool): string {
  const evidence = tool.evidence.map((e) => commentLine(e, EVIDENCE_MAX)).filter((e) => e !== '');
  const head = `${tool.category}, ${tool.risk} risk, confidence ${tool.confidence}`;
  return commentLine(evidence.length > 0 ? `${head}: ${evidence.join('; ')}` : head);
}

/**
 * Whether `name` works as a rule key that names exactly this tool: no glob characters, and nothing the loader
 * refuses in a tool key (asked of the loader itself, so that the two cannot drift apart).
 */
function isExactRuleKey(name: string): boolean {
  if (isGlob(name)) return false;
  const doc = new Document();
  const tools = new YAMLMap();
  tools.items.push(doc.createPair(name, 'allow'));
  doc.contents = doc.createNode({ version: 1, servers: { probe: { command: ['probe'] } } });
  doc.setIn(['servers', 'probe', 'tools'], tools);
  return validatePolicyText(stringify(doc), 'probe').length === 0;
}

function rulePair(doc: Document, toolName: string, rule: RuleInput): Pair {
  const value = doc.createNode(rule);
  // Limits read best on one line each: `rate_limit: {max: 30, window: 60s, scope: session}`.
  if (isMap(value)) for (const item of value.items as Pair[]) if (isCollection(item.value)) item.value.flow = true;
  return doc.createPair(toolName, value);
}

function stringify(doc: Document): string {
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
