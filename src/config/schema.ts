// The policylayer.yaml schema: the single source of truth for what a policy file may contain.
import { z } from 'zod';
import { AllToolsSchema, QuotasSchema, RateLimitsSchema, WindowSchema } from './limits-schema.js';
import { AUDIT_URL, AuditSettingsSchema } from './audit-schema.js';
import { AGENT_NAME, AGENT_NAME_RULE, AgentsSchema, checkAgents } from './agents-schema.js';
import { AuthSchema } from './auth-schema.js';
import { AdminTokensSchema } from './admin-tokens-schema.js';

export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const ActionSchema = z.enum(['allow', 'require_approval', 'deny', 'hide']).describe(
  'allow: forward the call; require_approval: hold it until a person approves (or deny it); deny: answer with a [POLICY DENIED] result; hide: remove the tool from tools/list and answer calls as unknown tool',
);
export type Action = z.infer<typeof ActionSchema>;

// The fields of a rule in mapping form; a rule under `tools:` may also name the agents it applies to.
const ruleFields = {
  action: ActionSchema,
  reason: z.string().min(1).optional().describe('Shown to the agent in the [POLICY DENIED] text'),
  rate_limit: RateLimitsSchema.optional(),
  quota: QuotasSchema.optional(),
  approval_timeout: WindowSchema.optional().describe('require_approval: how long a call waits for a person before it is denied (default 10m)'),
  approval_mode: z
    .enum(['hold', 'async'])
    .optional()
    .describe('require_approval: hold keeps the call open until decided; async answers at once that approval is pending, and admits the identical call once approved'),
  approval_ttl: WindowSchema.optional().describe('require_approval: an approval also admits identical calls for this long (default: used once)'),
};

function approvalKeysOnlyWhenHeld(rule: { action: Action; approval_timeout?: unknown; approval_mode?: unknown; approval_ttl?: unknown }, ctx: z.RefinementCtx): void {
  if (rule.action === 'require_approval') return;
  for (const key of ['approval_timeout', 'approval_mode', 'approval_ttl'] as const) {
    if (rule[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `\`${key}\` applies only to \`action: require_approval\`` });
  }
}

export const RuleSchema = z.union([ActionSchema, z.object(ruleFields).strict().superRefine(approvalKeysOnlyWhenHeld)]);
export type RuleInput = z.infer<typeof RuleSchema>;

/** A rule under `tools:`: one for everyone, or (`agents: [...]`) one that applies only to the agents it names. */
export const ToolRuleSchema = z.union([
  ActionSchema,
  z
    .object({
      ...ruleFields,
      agents: z
        .array(z.string().regex(AGENT_NAME, AGENT_NAME_RULE))
        .min(1)
        .optional()
        .describe('The agents this rule applies to (others fall through to the next rule); absent: every agent'),
    })
    .strict()
    .superRefine(approvalKeysOnlyWhenHeld),
]);
export type ToolRuleInput = z.infer<typeof ToolRuleSchema>;

/** One rule, or a list of them: for each agent, the first rule naming it wins, else the rule without `agents`. */
export const ToolRulesSchema = z.union([ToolRuleSchema, z.array(ToolRuleSchema).min(1)]);
export type ToolRulesInput = z.infer<typeof ToolRulesSchema>;

const stringMap = z.record(z.string(), z.string());

export const DefaultActionSchema = z.enum([...ActionSchema.options, 'by_risk']);

/** `default: by_risk`: the rule for a tool no rule names, by the risk class the catalogue gives it. */
export const ByRiskSchema = z
  .object({
    Low: RuleSchema.default('allow'),
    Medium: RuleSchema.default('allow'),
    High: RuleSchema.default('require_approval'),
    Critical: RuleSchema.default('require_approval'),
  })
  .strict()
  .describe('With `default: by_risk`: the rule per risk class (Low/Medium: allow, High/Critical: require_approval unless set)');

export const ServerSchema = z
  .object({
    command: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Local server started as a child process over stdio: [program, arg, ...]'),
    env: stringMap.optional().describe('Extra environment for the child (values may use ${VAR})'),
    cwd: z.string().optional().describe('Working directory of the child'),
    url: z.url({ protocol: /^https?$/ }).optional().describe('Remote server: Streamable HTTP, falling back to legacy SSE'),
    headers: stringMap.optional().describe('HTTP headers sent to the remote server (values may use ${VAR})'),
    transport: z
      .enum(['auto', 'streamable-http', 'sse'])
      .default('auto')
      .describe('For url servers: auto tries Streamable HTTP, then legacy SSE'),
    shared: z.boolean().default(false).describe('stdio servers: one child for all client sessions instead of one each'),
    default: DefaultActionSchema.default('allow').describe(
      'Action for tools that no rule names; by_risk applies `by_risk` to the risk class in the catalogue (a tool not in it counts as Critical)',
    ),
    by_risk: ByRiskSchema.default(() => ByRiskSchema.parse({})),
    on_tool_change: z
      .enum(['record', 'block'])
      .default('record')
      .describe(
        'When a tool definition differs from the one first seen or accepted: record marks it changed in the catalogue and the audit log; block also hides it and refuses its calls until `policylayer catalog accept SERVER TOOL`',
      ),
    tools: z
      .record(z.string().min(1), ToolRulesSchema)
      .default({})
      .describe('Rules by exact tool name or glob (* and ?); a list of rules per name when some apply only to certain agents'),
    hide: z.array(z.string().min(1)).default([]).describe('Tool names or globs removed from tools/list'),
    approval_via: z
      .enum(['gateway', 'client'])
      .optional()
      .describe('client: also ask the person at the MCP client (elicitation) to approve held calls, when the client supports it'),
    all_tools: AllToolsSchema.optional(),
  })
  .strict()
  // `when` makes these cross-field checks run even if a field has its own problem, so that `validate` reports
  // everything in one pass. The value may then be partly invalid: the checks only test presence.
  // `params.at: 'key'` asks the loader to point at the key rather than at its value.
  .superRefine(
    (s, ctx) => {
      if (!s.command && !s.url) {
        ctx.addIssue({
          code: 'custom',
          params: { hint: 'add `command: [program, arg, …]` for a local server, or `url: http://…` for a remote one' },
          message: 'a server needs one of `command` (stdio) or `url` (remote)',
        });
      } else if (s.command && s.url) {
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          params: { at: 'key', hint: 'keep `command` for a local stdio server or `url` for a remote one, not both' },
          message: 'a server has either `command` or `url`, not both',
        });
      }
      for (const key of ['env', 'cwd'] as const) {
        if (s.url && !s.command && s[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            params: { at: 'key', hint: `remove \`${key}\`, or use \`command\` instead of \`url\`` },
            message: `\`${key}\` only applies to \`command\` servers`,
          });
        }
      }
      if (s.command && !s.url && s.headers !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['headers'],
          params: { at: 'key', hint: 'remove `headers`; pass secrets to a local server through `env`' },
          message: '`headers` only apply to `url` servers',
        });
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
  );
export type ServerConfig = z.infer<typeof ServerSchema>;

const HttpUrlSchema = z.url({ protocol: /^https?$/ });

export const ApprovalWebhookSchema = z
  .object({
    url: HttpUrlSchema.describe('Where every new approval is POSTed (JSON; a Slack incoming webhook reads its `text`)'),
    secret: z
      .string()
      .min(16, 'a webhook secret needs at least 16 characters; generate one with `openssl rand -hex 24`')
      .describe('Signs each delivery (X-Policylayer-Signature) and the approve/deny links; write ${POLICYLAYER_WEBHOOK_SECRET} to keep it out of the file'),
    public_url: HttpUrlSchema.refine((u) => !/[?#]/.test(u), 'a base URL, without ?query or #fragment (links are PUBLIC_URL/approvals/link/…)')
      .optional()
      .describe("Base URL at which people's browsers reach this gateway, for the approve/deny links (default: the listen address)"),
    link_ttl: WindowSchema.optional().describe('How long the approve/deny links work (default: until the approval expires)'),
  })
  .strict();
export type ApprovalWebhookConfig = z.infer<typeof ApprovalWebhookSchema>;

// Caps on the listener's resources, so that one client (or a reconnect storm) cannot exhaust processes, memory or
// file descriptors. Defaults: generous for a team's agents, small enough that a flood is refused rather than run.
export const SessionsSchema = z
  .object({
    max: z.number().int().positive().default(1000).describe('Open sessions in total (each stdio session is a child process); more are refused with HTTP 503'),
    max_per_client: z
      .number()
      .int()
      .positive()
      .default(100)
      .describe('Open sessions per client address (the TCP peer: behind a reverse proxy, every client is the proxy)'),
    spawn_rate: z.number().positive().default(20).describe('New sessions per second that start a child process (stdio servers without `shared: true`)'),
    spawn_burst: z.number().int().positive().default(40).describe('How many such sessions may start at once before `spawn_rate` applies (a reconnect storm)'),
    idle_timeout: WindowSchema.default('30m').describe('A session with no request and no open stream for this long is closed (its child stopped)'),
  })
  .strict();
export type SessionsConfig = z.infer<typeof SessionsSchema>;

export const GatewaySchema = z
  .object({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8787')
      .default('127.0.0.1:8787')
      .describe('host:port to listen on; port 0 picks a free port'),
    allowed_hosts: z
      .array(z.string())
      .default([])
      .describe('Extra Host header values accepted besides the listen address and localhost (DNS-rebinding guard)'),
    allowed_origins: z
      .array(z.string())
      .default([])
      .describe('Browser origins accepted besides localhost ones (DNS-rebinding guard)'),
    max_message_bytes: z.number().int().positive().default(4 * 1024 * 1024).describe('Larger frames are refused'),
    sessions: SessionsSchema.default(() => SessionsSchema.parse({})).describe('Caps on open sessions and started children, and the idle timeout'),
    state: z
      .string()
      .regex(/^(memory:|sqlite:.+|rediss?:\/\/.+)$/, 'expected memory:, sqlite:PATH or redis://host:port')
      .default('sqlite:.policylayer/state.db')
      .describe('Where rate limits and spend caps are counted: memory:, sqlite:PATH (one host), redis://host:port (replicas)'),
    catalog: z
      .string()
      .regex(/^(memory:|sqlite:.+|rediss?:\/\/.+)$/, 'expected memory:, sqlite:PATH or redis://host:port')
      .optional()
      .describe('Where the risk catalogue and tool pins are kept: sqlite:PATH, redis://host:port (shared by replicas) or memory: (default: the same store as `state`)'),
    state_prefix: z.string().default('policylayer:').describe('Prefix of every key written to the state store'),
    all_tools: AllToolsSchema.optional().describe('Limits on every tool call through the gateway, whatever the server'),
    fail_mode: z
      .enum(['closed', 'open'])
      .default('closed')
      .describe('When the state store is unreachable: closed refuses calls that need it, open lets them through (logged)'),
    auth: AuthSchema.optional(),
    admin_token: z
      .string()
      .min(16, 'an admin token needs at least 16 characters; generate one with `openssl rand -hex 24`')
      .optional()
      .describe('Bearer token of the admin API (/admin/…), role admin, named `admin`; write ${POLICYLAYER_ADMIN_TOKEN} to keep it out of the file. No admin token at all, no admin API'),
    admin_tokens: AdminTokensSchema.optional(),
    audit: z
      .string()
      .regex(AUDIT_URL, 'expected sqlite:PATH, postgres://…, jsonl:PATH, stdout or off')
      .default('sqlite:.policylayer/audit.db')
      .describe('Where every decision is recorded: sqlite:PATH, postgres://user@host/db, jsonl:PATH, stdout, or off'),
    approvals: z
      .object({ webhook: ApprovalWebhookSchema.optional().describe('Tell people about every new approval, with signed approve/deny links') })
      .strict()
      .optional()
      .describe('How people hear about calls held by require_approval (besides `policylayer approvals list` and the admin API)'),
  })
  .strict();
export type GatewayConfig = z.infer<typeof GatewaySchema>;

export const ConfigSchema = z
  .object({
    version: z.literal(1).describe('Format version of this file; always 1'),
    gateway: GatewaySchema.default(() => GatewaySchema.parse({})).describe('The HTTP listener of `policylayer start`'),
    audit: AuditSettingsSchema.default(() => AuditSettingsSchema.parse({})).describe('What the audit log keeps and how it writes'),
    servers: z
      .record(z.string().regex(SERVER_NAME, 'server names use letters, digits, _ and - (they appear in URLs)'), ServerSchema)
      .default({})
      .describe('MCP servers by name; each is served at /mcp/<name>'),
    agents: AgentsSchema,
  })
  .strict()
  // Runs even when other parts have problems (see ServerSchema), so that validate reports everything in one pass.
  .superRefine((c, ctx) => checkAgents(c, ctx), { when: (payload) => typeof payload.value === 'object' && payload.value !== null })
  .meta({ title: 'policylayer.yaml', description: 'Policy file of the policylayer MCP gateway' });
export type Config = z.infer<typeof ConfigSchema>;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' });
}
