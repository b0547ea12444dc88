// Demo MCP server over stdio: a fake voice-AI service ("Vapi"-like) whose tools span read, write, destructive and financial risk.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

interface Assistant {
  id: string;
  name: string;
  firstMessage: string;
  voice: string;
  model: string;
  updatedAt: string;
}

interface Call {
  id: string;
  assistantId: string;
  customerNumber: string;
  status: 'queued' | 'ringing' | 'in-progress' | 'ended';
  startedAt: string;
  durationSeconds: number;
  costUsd: number;
}

interface Payment {
  id: string;
  amount: number;
  currency: string;
  refunded: number;
}

// All state lives in memory so every run of the demo starts from the same account.
const state = {
  apiKey: 'sk_demo_4f9a1c2e7b' as string | null,
  assistants: new Map<string, Assistant>([
    ['asst_support', { id: 'asst_support', name: 'Support line', firstMessage: 'Hi, how can I help?', voice: 'jennifer', model: 'gpt-4o-mini', updatedAt: '2026-10-01T09:00:00Z' }],
    ['asst_sales', { id: 'asst_sales', name: 'Outbound sales', firstMessage: 'Hello! Do you have a minute?', voice: 'ryan', model: 'gpt-4o', updatedAt: '2026-10-03T14:30:00Z' }],
  ]),
  calls: new Map<string, Call>([
    ['call_001', { id: 'call_001', assistantId: 'asst_support', customerNumber: '+14155550101', status: 'ended', startedAt: '2026-10-20T10:02:11Z', durationSeconds: 184, costUsd: 0.42 }],
    ['call_002', { id: 'call_002', assistantId: 'asst_sales', customerNumber: '+14155550177', status: 'ended', startedAt: '2026-10-21T16:45:03Z', durationSeconds: 61, costUsd: 0.15 }],
    ['call_003', { id: 'call_003', assistantId: 'asst_support', customerNumber: '+442071838750', status: 'in-progress', startedAt: '2026-10-22T08:12:40Z', durationSeconds: 0, costUsd: 0 }],
  ]),
  payments: new Map<string, Payment>([
    ['pay_1001', { id: 'pay_1001', amount: 49, currency: 'USD', refunded: 0 }],
    ['pay_1002', { id: 'pay_1002', amount: 250, currency: 'EUR', refunded: 0 }],
  ]),
  nextCall: 4,
};

function json(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
}

function fail(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

// Like the real service, every API call needs a valid key; after vapi_logout the agent sees auth errors.
function requireAuth(): CallToolResult | undefined {
  return state.apiKey ? undefined : fail('Unauthorized: no Vapi API key is stored. Log in again to continue.');
}

const server = new McpServer({ name: 'vapi-demo', version: '0.1.0' });

server.registerTool(
  'list_calls',
  {
    title: 'List calls',
    description: 'List recent phone calls handled by your Vapi assistants, newest first. Optionally filter by assistant or status.',
    inputSchema: {
      assistantId: z.string().optional().describe('Only calls handled by this assistant'),
      status: z.enum(['queued', 'ringing', 'in-progress', 'ended']).optional().describe('Only calls in this state'),
      limit: z.number().int().min(1).max(100).default(20).describe('Maximum number of calls to return'),
    },
    annotations: { readOnlyHint: true, openWorldHint: true },
  },
  async ({ assistantId, status, limit }) => {
    const denied = requireAuth();
    if (denied) return denied;
    const calls = [...state.calls.values()]
      .filter((c) => (!assistantId || c.assistantId === assistantId) && (!status || c.status === status))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, limit);
    return json({ calls });
  },
);

server.registerTool(
  'get_call',
  {
    title: 'Get call',
    description: 'Get the details of one call: assistant, customer number, status, duration and cost.',
    inputSchema: { callId: z.string().describe('Call id, e.g. call_001') },
    annotations: { readOnlyHint: true, openWorldHint: true },
  },
  async ({ callId }) => {
    const denied = requireAuth();
    if (denied) return denied;
    const call = state.calls.get(callId);
    return call ? json(call) : fail(`Call not found: ${callId}`);
  },
);

server.registerTool(
  'list_assistants',
  {
    title: 'List assistants',
    description: 'List the voice assistants configured in your Vapi organisation.',
    inputSchema: { limit: z.number().int().min(1).max(100).default(50).describe('Maximum number of assistants to return') },
    annotations: { readOnlyHint: true, openWorldHint: true },
  },
  async ({ limit }) => {
    const denied = requireAuth();
    if (denied) return denied;
    return json({ assistants: [...state.assistants.values()].slice(0, limit) });
  },
);

server.registerTool(
  'create_call',
  {
    title: 'Create call',
    description: 'Start an outbound phone call from an assistant to a customer number (E.164). The call is placed immediately unless scheduledAt is given.',
    inputSchema: {
      assistantId: z.string().describe('Assistant that will speak on the call'),
      customerNumber: z.string().regex(/^\+[1-9]\d{6,14}$/).describe('Number to call, E.164 format, e.g. +14155550123'),
      scheduledAt: z.iso.datetime().optional().describe('ISO 8601 time to place the call; omit to call now'),
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  },
  async ({ assistantId, customerNumber, scheduledAt }) => {
    const denied = requireAuth();
    if (denied) return denied;
    if (!state.assistants.has(assistantId)) return fail(`Assistant not found: ${assistantId}`);
    const id = `call_${String(state.nextCall++).padStart(3, '0')}`;
    const call: Call = {
      id,
      assistantId,
      customerNumber,
      status: 'queued',
      startedAt: scheduledAt ?? new Date().toISOString(),
      durationSeconds: 0,
      costUsd: 0,
    };
    state.calls.set(id, call);
    return json(call);
  },
);

server.registerTool(
  'update_assistant',
  {
    title: 'Update assistant',
    description: "Change an assistant's name, first message, voice or model. Fields you omit are left unchanged.",
    inputSchema: {
      assistantId: z.string().describe('Assistant to update'),
      name: z.string().min(1).optional(),
      firstMessage: z.string().optional().describe('What the assistant says when the call connects'),
      voice: z.string().optional().describe('Voice id, e.g. jennifer, ryan'),
      model: z.string().optional().describe('LLM used for the conversation, e.g. gpt-4o'),
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  },
  async ({ assistantId, ...changes }) => {
    const denied = requireAuth();
    if (denied) return denied;
    const assistant = state.assistants.get(assistantId);
    if (!assistant) return fail(`Assistant not found: ${assistantId}`);
    for (const [key, value] of Object.entries(changes)) {
      if (value !== undefined) (assistant as unknown as Record<string, string>)[key] = value;
    }
    assistant.updatedAt = new Date().toISOString();
    return json(assistant);
  },
);

server.registerTool(
  'delete_assistant',
  {
    title: 'Delete assistant',
    description: 'Permanently delete an assistant. Phone numbers routed to it stop answering. This cannot be undone.',
    inputSchema: { assistantId: z.string().describe('Assistant to delete') },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  },
  async ({ assistantId }) => {
    const denied = requireAuth();
    if (denied) return denied;
    if (!state.assistants.delete(assistantId)) return fail(`Assistant not found: ${assistantId}`);
    return json({ deleted: assistantId });
  },
);

server.registerTool(
  'vapi_logout',
  {
    title: 'Log out',
    description: 'Log out of Vapi and clear stored credentials. Use this if your auth token is stale or you want to switch accounts.',
    inputSchema: {},
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  },
  async () => {
    state.apiKey = null;
    return json({ loggedOut: true, message: 'Stored credentials cleared. Every further call will fail until you log in again.' });
  },
);

server.registerTool(
  'refund_payment',
  {
    title: 'Refund payment',
    description: 'Refund all or part of a customer payment. The money is returned to the original payment method.',
    inputSchema: {
      paymentId: z.string().describe('Payment to refund, e.g. pay_1001'),
      amount: z.number().positive().describe('Amount to refund, in major units (e.g. 12.50)'),
      currency: z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217 currency code; must match the payment'),
      reason: z.string().optional().describe('Shown on the customer receipt'),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  },
  async ({ paymentId, amount, currency }) => {
    const denied = requireAuth();
    if (denied) return denied;
    const payment = state.payments.get(paymentId);
    if (!payment) return fail(`Payment not found: ${paymentId}`);
    if (payment.currency !== currency) return fail(`Currency mismatch: payment is in ${payment.currency}`);
    if (payment.refunded + amount > payment.amount) {
      return fail(`Refund exceeds payment: ${payment.amount - payment.refunded} ${payment.currency} left to refund`);
    }
    payment.refunded += amount;
    return json({ refundId: `re_${Date.now()}`, paymentId, amount, currency, totalRefunded: payment.refunded });
  },
);

server.registerTool(
  'debug_dump_state',
  {
    title: 'Dump internal state',
    description: "Debugging aid: dump the server's entire internal state, including the stored API key, as JSON.",
    inputSchema: {},
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async () =>
    json({
      apiKey: state.apiKey,
      assistants: [...state.assistants.values()],
      calls: [...state.calls.values()],
      payments: [...state.payments.values()],
    }),
);

await server.connect(new StdioServerTransport());
