// approval_via: client — asks the person at the MCP client to approve a held call, through elicitation/create,
// and turns their answer into a decision. The question is the gateway's own request: the client's answer is
// taken here and never reaches the server.
//
// Trust: the client application (not the model) shows the question and sends the answer. A compromised or
// automated client could answer yes, so this channel suits clients whose user is the approver; the other
// channels (CLI, admin API, webhook) stay open and the first decision wins.
import type { Gatekeeper } from '../approvals/gatekeeper.js';
import { paramsText } from '../approvals/held-call.js';
import type { ApprovalRecord } from '../approvals/store.js';
import type { MessagePipe } from '../transport/message-pipe.js';

const ID_PREFIX = 'policylayer-approval-';

export interface ClientApprovals {
  /** Notes whether the client declared the elicitation capability in its initialize request. */
  noteInitialize(message: Record<string, unknown>): void;
  /** Asks the client's user about a held call (when the client can be asked). */
  ask(record: ApprovalRecord): void;
  /** The call was decided some other way: withdraw the question. */
  retract(approvalId: string): void;
  /** True when `message` is the client's answer to one of the questions (it must not be forwarded). */
  takeAnswer(message: Record<string, unknown>): boolean;
}

export function createClientApprovals(client: MessagePipe, gatekeeper: Gatekeeper): ClientApprovals {
  let elicits = false;
  /** Our request id → the approval it asks about. */
  const asking = new Map<string, string>();
  return {
    noteInitialize(message) {
      const caps = (message.params as { capabilities?: { elicitation?: unknown } } | undefined)?.capabilities;
      elicits = typeof caps?.elicitation === 'object' && caps.elicitation !== null;
    },
    ask(record) {
      if (!elicits) return;
      const id = `${ID_PREFIX}${record.id}`;
      asking.set(id, record.id);
      const why = record.reason ? ` (${record.reason})` : '';
      const message = `The agent wants to run "${record.tool}" on "${record.server}" with ${paramsText(record)}. Rule ${record.rule} needs your approval${why}. Allow this call?`;
      client.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'elicitation/create',
          params: {
            message,
            requestedSchema: {
              type: 'object',
              properties: { approve: { type: 'boolean', title: 'Allow this call', description: `Approval ${record.id}` } },
              required: ['approve'],
            },
          },
        }),
      );
    },
    retract(approvalId) {
      const id = `${ID_PREFIX}${approvalId}`;
      if (!asking.delete(id)) return;
      client.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'the call was decided' } }));
    },
    takeAnswer(message) {
      const id = message.id;
      if (message.method !== undefined || typeof id !== 'string' || !id.startsWith(ID_PREFIX)) return false;
      const approvalId = asking.get(id);
      // Ours in form but not asked (or already answered): swallowed all the same, the server never sent it.
      if (approvalId === undefined) return true;
      asking.delete(id);
      const result = message.result as { action?: unknown; content?: { approve?: unknown } } | undefined;
      // An error (the client could not ask) leaves the call to the other channels and the timeout.
      if (!result) return true;
      const approve = result.action === 'accept' && result.content?.approve === true;
      const reason = approve ? undefined : result.action === 'accept' ? 'not approved at the client' : result.action === 'decline' ? 'declined at the client' : 'dismissed at the client';
      void gatekeeper
        .decide(approvalId, { status: approve ? 'approved' : 'denied', by: 'client user', via: 'client', ...(reason && { reason }) })
        .catch(() => undefined);
      return true;
    },
  };
}
