// The conversation as the agent runtime keeps it: OpenAI chat-completions messages, so the
// deterministic router and a real model read and extend the same history.

export interface ToolCall { id: string; name: string; arguments: Record<string, unknown> }

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/** An MCP tool as `tools/list` describes it. */
export interface ToolInfo { name: string; description?: string; inputSchema: Record<string, unknown> }

/** The next step of the agent: call tools, or answer. */
export type Step = { kind: 'tools'; calls: ToolCall[] } | { kind: 'answer'; text: string };

export interface ReasoningContext {
  /** Display name of the caller (from the token's `name`, for order forms only; never trusted for access). */
  userName?: string;
  tools: () => Promise<ToolInfo[]>;
}

export interface Reasoner {
  next(messages: ChatMessage[], context: ReasoningContext): Promise<Step>;
}

/** Tools that change or remove data wait for the user's approval, as the deployed agent is configured. */
export const APPROVAL_REQUIRED = new Set(['update-order', 'delete-order']);

export const SYSTEM_PROMPT = 'You are the orders assistant. You act as the signed-in user through the Orders tools. '
  + 'Use list-orders, get-order, create-order, update-order and delete-order; never invent orders. '
  + 'Answer briefly and mention order ids.';

/** What a tool call produced, as stored in the `tool` message (JSON text). */
export interface ToolOutcome {
  ok: boolean;
  denied?: boolean;
  unreachable?: boolean;
  text: string;
  /** The tool result's `_meta.identity`: what the Orders API verified for the call. */
  receipt?: Record<string, unknown>;
  /** Refused with 403 insufficient_scope: the scope(s) the challenge names. */
  insufficientScope?: string;
}

export function toolMessage(id: string, outcome: ToolOutcome): ChatMessage {
  return { role: 'tool', tool_call_id: id, content: JSON.stringify(outcome) };
}
