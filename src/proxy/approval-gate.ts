// Puts a call whose rule says require_approval through the gatekeeper: the same verdict, approved, or an answer
// ([POLICY DENIED] with the approver's reason, the timeout, or the pending approval's id; nothing when withdrawn).
import type { Gatekeeper } from '../approvals/gatekeeper.js';
import type { ApprovalRecord } from '../approvals/store.js';
import type { Decision } from '../policy/decision.js';
import type { Identity } from './admission.js';
import { denialResponse } from './denial.js';
import type { Verdict } from './inspect.js';
import type { JsonRpcId } from './jsonrpc.js';

type ToolVerdict = Extract<Verdict, { kind: 'forward' }> & { tool: NonNullable<Extract<Verdict, { kind: 'forward' }>['tool']> };

/** True for a forwarded tools/call whose rule holds it for a person's approval. */
export const needsApproval = (v: Verdict): v is ToolVerdict => v.kind === 'forward' && v.tool?.decision.action === 'require_approval';

export async function gateVerdict(
  verdict: ToolVerdict,
  gatekeeper: Gatekeeper | undefined,
  server: string,
  identity: Identity,
  signal?: AbortSignal,
  onWaiting?: (waitedMs: number, id: string) => void,
  onHeld?: (record: ApprovalRecord) => void,
): Promise<Verdict> {
  const { name, decision } = verdict.tool;
  const params = verdict.message.params as Record<string, unknown> | undefined;
  const refuse = (reason: string, approved?: Decision['approved']): Verdict => {
    const refusal: Decision = { action: 'deny', rule: decision.rule, reason, ...(approved && { approved }) };
    return { kind: 'answer', reply: denialResponse(verdict.message.id as JsonRpcId, server, name, refusal, params), tool: { name, decision: refusal }, params };
  };
  // Fail closed: a gateway without approvals never forwards a call that needs one.
  if (!gatekeeper || !decision.approval) return refuse('this call needs a person\'s approval, and approvals are not available in this gateway');
  const result = await gatekeeper.request(
    {
      server,
      tool: name,
      // All of them, not only arguments: the approval covers everything the server receives (see held-call.ts).
      params,
      agent: identity.agent,
      session: identity.session,
      rule: decision.rule,
      reason: decision.reason,
      classified: decision.classified,
      approval: decision.approval,
    },
    signal,
    onWaiting,
    onHeld,
  );
  if (result.ok) return { ...verdict, tool: { name, decision: { ...decision, action: 'allow', approved: { id: result.id, state: 'approved' } } } };
  const approved = result.id === undefined || result.state === 'unavailable' ? undefined : { id: result.id, state: result.state };
  if (result.state === 'withdrawn') {
    const withdrawn: Decision = { action: 'deny', rule: decision.rule, reason: result.reason, ...(approved && { approved }) };
    return { kind: 'answer', reply: null, tool: { name, decision: withdrawn }, params };
  }
  return refuse(result.reason, approved);
}
