// What the catalogue knows about one tool of one registered server, and the recommended rule for it.
import type { Category, Risk } from './classify.js';

/** accepted: the definition is the one first seen or accepted; changed: it differs, until `catalog accept`. */
export type PinStatus = 'accepted' | 'changed';

/** The parts of an MCP Tool the catalogue keeps and pins (what an agent reads and what a call can carry). */
export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: Record<string, unknown>;
}

export interface CatalogEntry {
  server: string;
  tool: string;
  /** The definition last seen. */
  definition: ToolDefinition;
  /** sha256 of the canonical definition last seen. */
  hash: string;
  /** sha256 of the definition first seen or last accepted; differs from `hash` while `status` is changed. */
  acceptedHash: string;
  /** The accepted definition, kept while the tool is changed so that the change can be shown. */
  acceptedDefinition?: ToolDefinition;
  status: PinStatus;
  category: Category;
  risk: Risk;
  confidence: number;
  evidence: string[];
  /** The classifier revision that labelled the entry; a listing under a newer one relabels it. */
  classifier?: number;
  /** ISO 8601 times. */
  firstSeen: string;
  updatedAt: string;
  changedAt?: string;
}

export const RISK_ORDER: readonly Risk[] = ['Low', 'Medium', 'High', 'Critical'];
export const CATEGORY_ORDER: readonly Category[] = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'];
