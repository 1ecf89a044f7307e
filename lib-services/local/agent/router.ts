// Deterministic "reasoning" for the local agent: plain requests map to one Orders tool call,
// and tool results map to a short answer. No model, so the chain is testable and offline.
import { randomUUID } from 'node:crypto';
import type { ChatMessage, Reasoner, ReasoningContext, Step, ToolCall, ToolOutcome } from './types';

export const HELP_TEXT = 'I can help with your orders. Try: "show my orders", "get ORD-001", "order 3 webcams", '
  + '"mark ORD-004 shipped", "change the quantity of ORD-002 to 5" or "delete ORD-009".';

const NUMBER_WORDS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
};

const call = (name: string, args: Record<string, unknown>): ToolCall => ({ id: `call_${randomUUID().replace(/-/g, '')}`, name, arguments: args });

/** The tool call a plain request asks for, or undefined when it is not understood. */
export function routeIntent(text: string, userName = 'Customer'): ToolCall | undefined {
  const said = text.trim().replace(/[.!?]+$/, '');
  const lower = said.toLowerCase();
  // Seed ids are ORD-001…; new ones are ORD- plus Crockford base32 (ORD-KK8CYAXCT5).
  const id = /\bord-([0-9a-z]{1,32})\b/i.exec(said);
  if (id) {
    const order_id = `ORD-${/^\d+$/.test(id[1]) ? id[1].padStart(3, '0') : id[1].toUpperCase()}`;
    if (/\b(delete|remove|cancel|drop)\b/.test(lower)) return call('delete-order', { order_id });
    const status = /\b(pending|shipped|delivered)\b/.exec(lower);
    if (status) return call('update-order', { order_id, status: status[1] });
    const quantity = /\bquantity\b.*?\b(\d+)\b/.exec(lower.replace(id[0].toLowerCase(), ''));
    if (quantity) return call('update-order', { order_id, quantity: Number(quantity[1]) });
    return call('get-order', { order_id });
  }
  const create = /^(?:please\s+)?(?:order|buy|purchase|i(?:'d| would) like|i want|get me)\s+(.+)$/i.exec(said);
  if (create && !/^(?:my|all|the)?\s*orders?$/i.test(create[1].trim())) {
    const item = /^(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s*(?:x\s+)?(.+)$/i.exec(create[1].trim());
    const quantity = item ? Number(item[1]) || NUMBER_WORDS[item[1].toLowerCase()] : 1;
    const product = (item ? item[2] : create[1]).trim();
    return call('create-order', { customer_name: userName.slice(0, 200), product: product.slice(0, 200), quantity });
  }
  if (/\b(health|status of the (?:service|api))\b/.test(lower)) return call('health-check', {});
  if (/\borders?\b/.test(lower) || /\b(list|show)\b/.test(lower)) return call('list-orders', {});
  return undefined;
}

const CHANGES: Record<string, string> = {
  'create-order': 'create the order',
  'update-order': 'change the order',
  'delete-order': 'delete the order',
};

interface OrderView { id?: string; product?: string; quantity?: number; status?: string; customer_name?: string }

const describe = (o: OrderView) => `${o.id}: ${o.quantity} × ${o.product} for ${o.customer_name} (${o.status})`;

function parse(text: string): unknown {
  try { return JSON.parse(text); } catch { return undefined; }
}

/** A short answer for one tool call and what it produced. */
export function describeOutcome(toolCall: ToolCall, outcome: ToolOutcome): string {
  const orderId = String(toolCall.arguments.order_id ?? '');
  if (outcome.unreachable) return `Sorry, I could not reach the Orders service: ${outcome.text}. Please try again later.`;
  if (outcome.denied) return `OK, I did not run ${toolCall.name}${orderId ? ` for ${orderId}` : ''}: you declined it.`;
  if (outcome.insufficientScope) {
    const change = Object.hasOwn(CHANGES, toolCall.name) ? CHANGES[toolCall.name] : undefined;
    return change
      ? `You may read orders but not change them, so I could not ${change}: that needs the permission ${outcome.insufficientScope}, which your sign-in does not have.`
      : `You may not read orders: that needs the permission ${outcome.insufficientScope}, which your sign-in does not have.`;
  }
  const body = parse(outcome.text) as (OrderView & OrderView[] & { error?: string; message?: string; status?: string }) | undefined;
  if (!outcome.ok) {
    if (body?.error === 'not_found') return `I could not find order ${orderId}.`;
    return `The Orders service refused ${toolCall.name}: ${body?.message ?? outcome.text}`;
  }
  switch (toolCall.name) {
    case 'list-orders': {
      const orders = Array.isArray(body) ? body as OrderView[] : [];
      if (!orders.length) return 'You have no orders.';
      return [`You have ${orders.length} order${orders.length === 1 ? '' : 's'}:`, ...orders.map((o) => `- ${describe(o)}`)].join('\n');
    }
    case 'get-order': return `Order ${describe(body ?? {})}`;
    case 'create-order': return `Done: I created ${describe(body ?? {})}.`;
    case 'update-order': return `Done: ${describe(body ?? {})}.`;
    case 'delete-order': return `Done: I deleted ${orderId}.`;
    case 'health-check': return `The Orders service says: ${body?.status ?? outcome.text}.`;
    default: return outcome.text;
  }
}

/** The router as a Reasoner: a user turn becomes one tool call; tool results become the answer. */
export const intentRouter: Reasoner = {
  async next(messages: ChatMessage[], context: ReasoningContext): Promise<Step> {
    const last = messages[messages.length - 1];
    if (last?.role === 'user') {
      const routed = routeIntent(last.content, context.userName);
      return routed ? { kind: 'tools', calls: [routed] } : { kind: 'answer', text: HELP_TEXT };
    }
    // Answer for the tool results that follow the latest assistant tool call turn.
    const turn = [...messages].reverse().find((m) => m.role === 'assistant' && m.tool_calls?.length);
    if (!turn || turn.role !== 'assistant') return { kind: 'answer', text: HELP_TEXT };
    const answers = (turn.tool_calls ?? []).map((tc) => {
      const result = messages.find((m) => m.role === 'tool' && m.tool_call_id === tc.id);
      const outcome: ToolOutcome = result?.role === 'tool' ? JSON.parse(result.content) : { ok: false, text: 'no result' };
      const args = (parse(tc.function.arguments) ?? {}) as Record<string, unknown>;
      return describeOutcome({ id: tc.id, name: tc.function.name, arguments: args }, outcome);
    });
    return { kind: 'answer', text: answers.join('\n') };
  },
};
