// Schema of the audit log settings in policylayer.yaml: where records go (gateway.audit) and what they keep (audit:).
import { z } from 'zod';
import { createRedactor } from '../audit/redact.js';
import { WindowSchema } from './limits-schema.js';

export const AUDIT_URL = /^(off|stdout|sqlite:.+|jsonl:.+|postgres(ql)?:\/\/.+)$/;

export const AuditSettingsSchema = z
  .object({
    durability: z
      .enum(['batched', 'strict'])
      .default('batched')
      .describe(
        'batched: records are written in the background every flush_ms (a crash loses at most the last flush_ms of records); strict: a call is forwarded only after its record is committed',
      ),
    flush_ms: z.number().int().positive().max(60_000).default(200).describe('How often batched records are written'),
    arguments: z
      .enum(['full', 'keys', 'none'])
      .default('full')
      .describe('full: arguments with secrets redacted; keys: only their keys and value types; none: only their hash'),
    redact: z
      .object({
        keys: z
          .array(z.string().min(1))
          .default([])
          .describe('More key patterns whose values are redacted (besides password, token, secret, authorization, api_key…); /regex/i allowed'),
        paths: z.array(z.string().min(1)).default([]).describe('Argument paths whose values are redacted, e.g. card.number, items.*.iban'),
      })
      .strict()
      .default({ keys: [], paths: [] })
      .superRefine((redact, ctx) => {
        // A bad pattern is a config problem (file:line), not something the first recorded call discovers.
        for (const field of ['keys', 'paths'] as const) {
          redact[field].forEach((entry, i) => {
            try {
              createRedactor(field === 'keys' ? { keys: [entry] } : { paths: [entry] });
            } catch (err) {
              ctx.addIssue({ code: 'custom', path: [field, i], message: (err as Error).message });
            }
          });
        }
      }),
    retention: WindowSchema.optional().describe('Records older than this are deleted in the background, e.g. 30d'),
    hash_chain: z.boolean().default(false).describe('Each record carries the hash of the previous one; `policylayer audit verify` checks the chain'),
    postgres_table: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,39}$/, '1–40 lowercase letters, digits or _, not starting with a digit')
      .default('policylayer_audit_events')
      .describe('Table of a postgres:// audit log (created and migrated by the gateway); several gateways may share it'),
    jsonl: z
      .object({
        max_bytes: z.number().int().positive().default(10 * 1024 * 1024).describe('A jsonl: log rotates when it would grow past this'),
        keep: z.number().int().min(0).max(1000).default(5).describe('Rotated files kept (FILE.1 … FILE.N)'),
      })
      .strict()
      .default({ max_bytes: 10 * 1024 * 1024, keep: 5 }),
  })
  .strict();
export type AuditSettings = z.infer<typeof AuditSettingsSchema>;
