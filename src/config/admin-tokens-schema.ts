// Schema of `gateway.admin_tokens`: named admin credentials (a token hash or an environment variable) and their role.
import { z } from 'zod';
import { AGENT_NAME, AGENT_NAME_RULE, oneTokenSource, tokenSourceFields } from './agents-schema.js';

/** Lowest to highest: each role may do what the roles before it may. */
export const ADMIN_ROLES = ['viewer', 'approver', 'admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** The name `gateway.admin_token` goes by (in audit records and approvals' `by`); no named token may take it. */
export const LEGACY_ADMIN_NAME = 'admin';

export const AdminTokenSchema = z
  .object({
    ...tokenSourceFields('admin'),
    role: z.enum(ADMIN_ROLES).describe('viewer: read audit, approvals, metrics; approver: also decide approvals; admin: everything'),
  })
  .strict()
  .superRefine(oneTokenSource('an admin token'));
export type AdminTokenConfig = z.infer<typeof AdminTokenSchema>;

export const AdminTokensSchema = z
  .record(z.string().regex(AGENT_NAME, AGENT_NAME_RULE), AdminTokenSchema)
  // `when`: these checks run even if an entry has its own problem, so that `validate` reports everything in one pass;
  // entries may then be partly invalid, so only what is present is tested.
  .superRefine(
    (tokens, ctx) => {
      if (Object.hasOwn(tokens, LEGACY_ADMIN_NAME)) {
        ctx.addIssue({
          code: 'custom',
          path: [LEGACY_ADMIN_NAME],
          params: { at: 'key', hint: 'pick another name; `gateway.admin_token` is the token named admin' },
          message: `the admin token name \`${LEGACY_ADMIN_NAME}\` is taken by \`gateway.admin_token\``,
        });
      }
      // A token must prove one admin: two names for one hash would make the audit's "who" a guess.
      const seen = new Map<string, string>();
      for (const [name, t] of Object.entries(tokens as Record<string, unknown>)) {
        const hash = typeof t === 'object' && t !== null ? (t as { token_sha256?: unknown }).token_sha256 : undefined;
        if (typeof hash !== 'string') continue;
        const other = seen.get(hash.toLowerCase());
        if (other === undefined) seen.set(hash.toLowerCase(), name);
        else {
          ctx.addIssue({
            code: 'custom',
            path: [name, 'token_sha256'],
            params: { at: 'value', hint: 'give each admin their own token' },
            message: `admin tokens \`${other}\` and \`${name}\` have the same token`,
          });
        }
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
  )
  .describe('Named admin API tokens with a role (besides gateway.admin_token, which is the admin named `admin`): who may read, decide approvals, or change things');
