// Reasoning by an OpenAI-compatible chat-completions endpoint with tool calling (LOCAL_MODEL_URL):
// the Orders tools are offered as functions with the input schemas the MCP server publishes.
import type { ChatMessage, Reasoner, ReasoningContext, Step } from './types';

export interface ModelOptions {
  /** Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 (`/chat/completions` is appended). */
  url: string;
  model?: string;
  apiKey?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface Completion {
  choices?: { message?: { content?: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[] } }[];
}

export function modelReasoner(options: ModelOptions): Reasoner {
  const endpoint = `${options.url.replace(/\/+$/, '')}/chat/completions`;
  const doFetch = options.fetch ?? fetch;
  return {
    async next(messages: ChatMessage[], context: ReasoningContext): Promise<Step> {
      const tools = (await context.tools()).map((t) => ({
        type: 'function',
        function: { name: t.name, description: t.description ?? t.name, parameters: t.inputSchema },
      }));
      const res = await doFetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
        body: JSON.stringify({ model: options.model ?? 'local', messages, tools, tool_choice: 'auto' }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
      if (!res.ok) throw new Error(`model endpoint answered ${res.status}`);
      const message = ((await res.json()) as Completion).choices?.[0]?.message;
      if (!message) throw new Error('model endpoint answered without a message');
      if (message.tool_calls?.length) {
        return {
          kind: 'tools',
          calls: message.tool_calls.map((tc) => {
            let args: Record<string, unknown> = {};
            try { args = JSON.parse(tc.function.arguments || '{}'); } catch { /* the tool reports the bad input */ }
            return { id: tc.id, name: tc.function.name, arguments: args };
          }),
        };
      }
      return { kind: 'answer', text: message.content ?? '' };
    },
  };
}
