// Schema of the policy file's `agents:` (agents declared in the file, for GitOps) and the checks that tie them to `servers:`.
import { z } from 'zod';

/** Agent names become budget keys and metric labels: short, and nothing a key or a label would have to escape. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const AGENT_NAME_RULE = 'agent names are 1–64 letters, digits, ., _ and -, starting with a letter or digit';

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** How the file names a bearer token without holding it: its SHA-256, or the gateway's environment variable with it. */
export function tokenSourceFields(whose: string) {
  return {
    token_sha256: z
      .string()
      .regex(SHA256_HEX, 'expected the SHA-256 of the token as 64 hex digits, e.g. from `printf %s "$TOKEN" | sha256sum`')
      .optional()
      .describe(`SHA-256 (hex) of the ${whose} bearer token; the token itself never appears in the file`),
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name: letters, digits and _')
      .optional()
      .describe(`Name of an environment variable of the gateway holding the ${whose} token (its SHA-256 is what is compared); unset: it cannot authenticate`),
  };
}

/** Exactly one of the two token sources (`what`: "an agent", "an admin token"). */
export function oneTokenSource(what: string) {
  return (a: { token_sha256?: string | undefined; token_env?: string | undefined }, ctx: z.RefinementCtx): void => {
    if ((a.token_sha256 === undefined) === (a.token_env === undefined)) {
      ctx.addIssue({
        code: 'custom',
        params: { hint: 'give `token_sha256: <64 hex digits>` (e.g. from `printf %s "$TOKEN" | sha256sum`) or `token_env: VAR`' },
        message: `${what} needs exactly one of \`token_sha256\` or \`token_env\``,
      });
    }
  };
}

export const AgentSchema = z
  .object({
    ...tokenSourceFields("agent's"),
    servers: z
      .union([z.literal('*'), z.array(z.string().min(1)).min(1)])
      .describe('The servers the agent may use: a list of names under `servers:`, or "*" for all'),
  })
  .strict()
  .superRefine(oneTokenSource('an agent'));
export type AgentConfig = z.infer<typeof AgentSchema>;

export const AgentsSchema = z
  .record(z.string().regex(AGENT_NAME, AGENT_NAME_RULE), AgentSchema)
  .default({})
  .describe('Agents declared in the file (besides those added with `policylayer agents add`): their token and the servers they are granted');

/**
 * Cross-field checks of `agents:` against the whole file: every granted server exists, and no two agents share a
 * token (a token must prove one agent). Only tests what is present, so it can run on a partly invalid file.
 */
export function checkAgents(data: { agents?: unknown; servers?: unknown }, ctx: z.RefinementCtx): void {
  const agents = isRecord(data.agents) ? data.agents : {};
  const servers = isRecord(data.servers) ? data.servers : {};
  const hashes = new Map<string, string>();
  for (const [name, agent] of Object.entries(agents)) {
    if (!isRecord(agent)) continue;
    if (Array.isArray(agent['servers'])) {
      agent['servers'].forEach((server: unknown, i: number) => {
        if (typeof server !== 'string' || Object.hasOwn(servers, server)) return;
        const known = Object.keys(servers);
        ctx.addIssue({
          code: 'custom',
          path: ['agents', name, 'servers', i],
          params: { at: 'value', hint: known.length ? `grant one of the configured servers: ${known.join(', ')}` : 'add the server under `servers:` first' },
          message: `agent \`${name}\` is granted server \`${server}\`, which is not under \`servers:\``,
        });
      });
    }
    const hash = agent['token_sha256'];
    if (typeof hash !== 'string') continue;
    const other = hashes.get(hash.toLowerCase());
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'token_sha256'],
        params: { at: 'value', hint: 'give each agent its own token' },
        message: `agents \`${other}\` and \`${name}\` have the same token`,
      });
    } else hashes.set(hash.toLowerCase(), name);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
