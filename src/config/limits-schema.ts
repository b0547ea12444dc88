// Schema of rate limits and spend caps (quotas) in policylayer.yaml, and the window notation they share.
import { z } from 'zod';

const WINDOW_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WINDOW_WORDS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const WINDOW_TEXT = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export const WindowSchema = z
  .union([
    z.number().positive(),
    z.string().refine((w) => WINDOW_TEXT.test(w) || Object.hasOwn(WINDOW_WORDS, w), {
      message: 'a window is seconds (60), a duration (30s, 1m, 1h, 1d) or second | minute | hour | day',
    }),
  ])
  .describe('Length of the sliding window: seconds as a number, or 30s / 1m / 1h / 1d, or second|minute|hour|day');
export type WindowInput = z.infer<typeof WindowSchema>;

/** Window length in milliseconds; the schema has already checked the notation. */
export function windowMs(window: WindowInput): number {
  if (typeof window === 'number') return window * 1000;
  const word = WINDOW_WORDS[window];
  if (word !== undefined) return word;
  const m = WINDOW_TEXT.exec(window);
  return m ? Number(m[1]) * (WINDOW_UNITS[m[2]!] ?? 1000) : NaN;
}

export const ScopeSchema = z
  .enum(['session', 'agent', 'server', 'global'])
  .describe('Whose budget: session (the MCP session), agent (the calling agent), server (all callers of this server), global (the whole gateway)');
export type Scope = z.infer<typeof ScopeSchema>;

export const RateLimitSchema = z
  .object({
    max: z.number().int().positive().describe('Calls admitted in any window'),
    window: WindowSchema,
    scope: ScopeSchema.default('session'),
  })
  .strict();
export type RateLimitConfig = z.infer<typeof RateLimitSchema>;

/** `args.amount` or `args.payment.total`: a number taken from the call's arguments. */
const COST_PATH = /^args(\.[A-Za-z_$][\w$-]*)+$/;

export const QuotaSchema = z
  .object({
    max: z.number().positive().describe('Total cost admitted in any window'),
    window: WindowSchema,
    cost: z
      .union([z.number().positive(), z.string().regex(COST_PATH, 'cost is a number or a path into the arguments, e.g. args.amount')])
      .describe('What one call costs: a number, or a path into the arguments such as args.amount (missing or not a number: refused)'),
    scope: ScopeSchema.default('server'),
  })
  .strict();
export type QuotaConfig = z.infer<typeof QuotaSchema>;

const oneOrMany = <T extends z.ZodType>(schema: T) => z.union([schema, z.array(schema).min(1)]);
export const RateLimitsSchema = oneOrMany(RateLimitSchema).describe('One limit or a list (e.g. 10 per minute and 100 per day)');
export const QuotasSchema = oneOrMany(QuotaSchema).describe('One spend cap or a list');

export const AllToolsSchema = z
  .object({ rate_limit: RateLimitsSchema.optional(), quota: QuotasSchema.optional() })
  .strict()
  .describe('Limits applied to every tool call on this server, in addition to the tool rules');
