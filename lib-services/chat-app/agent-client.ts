// Calls the Foundry agent through the Responses API AS THE SIGNED-IN USER: the bearer
// comes from a TokenCredential that hands out the request's own token, never from a
// managed identity. Every failure becomes an AgentError with a status the Chat App can
// answer with as is, and a message safe to show (no upstream body, no token).
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { toolCallFrom, type ToolCallSummary } from './receipts.js';
import { readSseEvents } from './sse.js';

/** The audience of the tokens the agent service accepts. */
export const AGENT_AUDIENCE = 'https://ai.azure.com';

export interface Approval {
  id: string;
  name: string;
  server_label: string;
  arguments: Record<string, unknown>;
}

export interface AgentAnswer {
  response_id: string;
  text: string;
  approvals: Approval[];
  /** One per MCP call of this answer, with the identity receipt when the agent service passed it on. */
  tool_calls: ToolCallSummary[];
}

export interface ApprovalDecision {
  id: string;
  approve: boolean;
}

export type AgentErrorCode = 'agent_forbidden' | 'rate_limited' | 'upstream_error' | 'agent_timeout' | 'client_closed';

export class AgentError extends Error {
  readonly name = 'AgentError';
  constructor(
    readonly status: 403 | 429 | 499 | 502 | 504,
    readonly code: AgentErrorCode,
    message: string,
    readonly retryAfter?: string,
  ) {
    super(message);
  }
}

/**
 * A credential that returns the caller's own access token. The token was issued for
 * https://ai.azure.com, so asking it for any other resource is a programming error.
 */
export function userTokenCredential(token: string, expiresOnTimestamp: number): TokenCredential {
  return {
    async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
      for (const scope of typeof scopes === 'string' ? [scopes] : scopes) {
        if (scope !== AGENT_AUDIENCE && !scope.startsWith(`${AGENT_AUDIENCE}/`)) {
          throw new Error(`the user's token is for ${AGENT_AUDIENCE}, not for ${scope}`);
        }
      }
      return { token, expiresOnTimestamp, tokenType: 'Bearer' };
    },
  };
}

export interface AgentClientOptions {
  /** `https://<account>.services.ai.azure.com/api/projects/<project>` */
  projectEndpoint: string;
  agentName: string;
  /** Upper bound of one call, streaming included. */
  timeoutMs: number;
  /**
   * Body key of the agent reference: `agent_reference` (the GA v1 API) or `agent`
   * (the 2025-11-15-preview key).
   * @default 'agent_reference'
   */
  agentReferenceKey?: 'agent_reference' | 'agent';
  fetch?: typeof fetch;
}

export interface AgentCall {
  credential: TokenCredential;
  /** The user's message, or the answers to the approval requests of `previousResponseId`. */
  input: string | ApprovalDecision[];
  previousResponseId?: string;
  /** Ask the agent service to stream; text then arrives through `AgentRun.read`'s callback. */
  stream?: boolean;
  /** Aborted when the browser goes away. */
  signal?: AbortSignal;
}

/** An agent call whose upstream answered 2xx: its body is read with `read`. */
export interface AgentRun {
  read(onText?: (text: string) => void | Promise<void>): Promise<AgentAnswer>;
  /** Abort the upstream request and release the timer (for a caller that stops early). */
  cancel(): void;
}

const SCOPE = `${AGENT_AUDIENCE}/.default`;

export class AgentClient {
  private readonly url: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: AgentClientOptions) {
    this.url = `${options.projectEndpoint.replace(/\/+$/, '')}/openai/v1/responses`;
    // Reading globalThis.fetch loads Node's HTTP client (~35 ms): defer it to the first call.
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** One whole call: start it and read the answer. */
  async run(call: AgentCall, onText?: (text: string) => void | Promise<void>): Promise<AgentAnswer> {
    const run = await this.start(call);
    return run.read(onText);
  }

  /**
   * Sends the request and waits for the upstream status. Rejects with an AgentError when
   * the upstream refuses, fails, times out or the caller goes away, so that a route can
   * still answer with a plain HTTP status before it commits to an event stream.
   */
  async start(call: AgentCall): Promise<AgentRun> {
    const deadline = new Deadline(this.options.timeoutMs, call.signal);
    try {
      const tokenResult = await call.credential.getToken(SCOPE, { abortSignal: deadline.signal });
      if (!tokenResult) throw new AgentError(502, 'upstream_error', 'No token was available for the agent service.');
      let response: Response;
      try {
        response = await this.fetch(this.url, {
          method: 'POST',
          headers: {
            'authorization': `Bearer ${tokenResult.token}`,
            'content-type': 'application/json',
            'accept': call.stream ? 'text/event-stream' : 'application/json',
          },
          body: JSON.stringify(this.requestBody(call)),
          signal: deadline.signal,
          redirect: 'error',
        });
      } catch (error) {
        throw deadline.explain(error) ?? new AgentError(502, 'upstream_error', 'The agent service could not be reached.');
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw statusError(response);
      }
      const streamed = (response.headers.get('content-type') ?? '').includes('text/event-stream');
      return {
        read: async (onText) => {
          try {
            return streamed
              ? await readStream(response, onText)
              : await readJson(response, onText);
          } catch (error) {
            throw deadline.explain(error) ?? asAgentError(error);
          } finally {
            deadline.clear();
          }
        },
        cancel: () => deadline.cancel(),
      };
    } catch (error) {
      deadline.cancel();
      throw deadline.explain(error) ?? asAgentError(error, 'The agent call failed.');
    }
  }

  private requestBody(call: AgentCall): Record<string, unknown> {
    const body: Record<string, unknown> = {
      [this.options.agentReferenceKey ?? 'agent_reference']: { type: 'agent_reference', name: this.options.agentName },
      input: typeof call.input === 'string'
        ? call.input
        : call.input.map((d) => ({ type: 'mcp_approval_response', approval_request_id: d.id, approve: d.approve })),
    };
    if (call.previousResponseId) body.previous_response_id = call.previousResponseId;
    if (call.stream) body.stream = true;
    return body;
  }
}

/** One timer over the whole call, and the caller's signal, behind one AbortSignal. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private timedOut = false;
  private callerGone = false;
  private readonly onCallerAbort: () => void;

  constructor(private readonly ms: number, private readonly caller?: AbortSignal) {
    this.onCallerAbort = () => {
      this.callerGone = true;
      this.controller.abort(new Error('client closed'));
    };
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error('agent timeout'));
    }, ms);
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** An AgentError for an abort this deadline caused, else undefined. */
  explain(error: unknown): AgentError | undefined {
    if (error instanceof AgentError) return error;
    if (this.timedOut) {
      return new AgentError(504, 'agent_timeout', `The agent did not answer within ${Math.round(this.ms / 1000)} seconds.`);
    }
    if (this.callerGone) return new AgentError(499, 'client_closed', 'The client closed the connection.');
    return undefined;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }

  cancel(): void {
    this.clear();
    if (!this.controller.signal.aborted) this.controller.abort(new Error('cancelled'));
  }
}

function statusError(response: Response): AgentError {
  const status = response.status;
  if (status === 401 || status === 403) {
    return new AgentError(403, 'agent_forbidden',
      'You may not run this agent: the agent service refused your sign-in. Ask an administrator to grant you access to the agent.');
  }
  if (status === 429) {
    return new AgentError(429, 'rate_limited', 'The agent service is busy. Try again shortly.', retryAfterValue(response.headers.get('retry-after')));
  }
  return new AgentError(502, 'upstream_error', `The agent service failed (HTTP ${status}).`);
}

/** Retry-After passes through when it is a delay in seconds or an HTTP date; otherwise a short default. */
function retryAfterValue(value: string | null): string {
  const trimmed = value?.trim() ?? '';
  if (/^\d{1,6}$/.test(trimmed)) return trimmed;
  if (trimmed.length <= 40 && /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return trimmed;
  return '5';
}

function asAgentError(error: unknown, message = 'The agent service sent an answer that could not be read.'): AgentError {
  if (error instanceof AgentError) return error;
  return new AgentError(502, 'upstream_error', message);
}

function runFailed(response: Record<string, unknown> | undefined): AgentError {
  const code = isRecord(response?.error) ? response.error.code : undefined;
  // Only a short code-like value is echoed: upstream messages may carry anything.
  const detail = typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? ` (${code})` : '';
  return new AgentError(502, 'upstream_error', `The agent run failed${detail}.`);
}

async function readJson(response: Response, onText?: (text: string) => void | Promise<void>): Promise<AgentAnswer> {
  const body: unknown = await response.json();
  if (!isRecord(body)) throw asAgentError(undefined);
  if (body.status === 'failed' || isRecord(body.error)) throw runFailed(body);
  const answer = answerFrom(body);
  if (answer.text && onText) await onText(answer.text);
  return answer;
}

async function readStream(response: Response, onText?: (text: string) => void | Promise<void>): Promise<AgentAnswer> {
  if (!response.body) throw asAgentError(undefined);
  let responseId = '';
  let streamedText = '';
  let messages = 0;
  const approvals = new Map<string, Approval>();
  const toolCalls = new Map<string, ToolCallSummary>();
  const emit = async (text: string) => {
    streamedText += text;
    if (onText) await onText(text);
  };
  for await (const { event, data } of readSseEvents(response.body)) {
    let payload: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!isRecord(parsed)) continue;
      payload = parsed;
    } catch {
      continue; // e.g. a `[DONE]` sentinel
    }
    const type = typeof payload.type === 'string' ? payload.type : event;
    const responseObject = isRecord(payload.response) ? payload.response : undefined;
    if (typeof responseObject?.id === 'string') responseId = responseObject.id;
    switch (type) {
      case 'response.output_item.added':
        // Separate the texts of successive messages (before and after a tool call).
        if (isRecord(payload.item) && payload.item.type === 'message' && messages++ > 0 && streamedText) await emit('\n\n');
        break;
      case 'response.output_text.delta':
        if (typeof payload.delta === 'string' && payload.delta) await emit(payload.delta);
        break;
      case 'response.output_item.done': {
        const approval = isRecord(payload.item) ? approvalFrom(payload.item) : undefined;
        if (approval) approvals.set(approval.id, approval);
        const call = isRecord(payload.item) ? toolCallFrom(payload.item) : undefined;
        if (call) toolCalls.set(itemKey(payload.item as Record<string, unknown>, payload.output_index), call);
        break;
      }
      case 'response.completed':
      case 'response.incomplete': {
        const final = responseObject ? answerFrom(responseObject) : undefined;
        for (const approval of final?.approvals ?? []) approvals.set(approval.id, approval);
        // The final object's items are complete: they replace what the events said.
        (Array.isArray(responseObject?.output) ? responseObject.output : []).forEach((item: unknown, index: number) => {
          const call = isRecord(item) ? toolCallFrom(item) : undefined;
          if (call) toolCalls.set(itemKey(item as Record<string, unknown>, index), call);
        });
        // A service that sends the text only in the final object still gets it relayed.
        if (!streamedText && final?.text) await emit(final.text);
        if (!responseId) throw asAgentError(undefined);
        return { response_id: responseId, text: streamedText, approvals: [...approvals.values()], tool_calls: [...toolCalls.values()] };
      }
      case 'response.failed':
        throw runFailed(responseObject);
      case 'error':
        throw runFailed({ error: payload });
      default:
        break;
    }
  }
  throw new AgentError(502, 'upstream_error', 'The agent service ended the stream before the answer was complete.');
}

/** The Chat App's answer from a Responses API `response` object. */
export function answerFrom(response: Record<string, unknown>): AgentAnswer {
  const texts: string[] = [];
  const approvals: Approval[] = [];
  const toolCalls: ToolCallSummary[] = [];
  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (!isRecord(item)) continue;
    const call = toolCallFrom(item);
    if (call) toolCalls.push(call);
    if (item.type === 'message' && Array.isArray(item.content)) {
      const text = item.content
        .filter((part): part is Record<string, unknown> => isRecord(part) && typeof part.text === 'string')
        .map((part) => part.text as string)
        .join('');
      if (text) texts.push(text);
    }
    const approval = approvalFrom(item);
    if (approval) approvals.push(approval);
  }
  let text = texts.join('\n\n');
  if (!text && typeof response.output_text === 'string') text = response.output_text;
  if (typeof response.id !== 'string' || !response.id) throw asAgentError(undefined);
  return { response_id: response.id, text, approvals, tool_calls: toolCalls };
}

/** Items are matched by id; an item without one by its position. */
function itemKey(item: Record<string, unknown>, index: unknown): string {
  return typeof item.id === 'string' && item.id ? `id:${item.id}` : `at:${String(index)}`;
}

function approvalFrom(item: Record<string, unknown>): Approval | undefined {
  if (item.type !== 'mcp_approval_request' || typeof item.id !== 'string') return undefined;
  return {
    id: item.id,
    name: typeof item.name === 'string' ? item.name : '',
    server_label: typeof item.server_label === 'string' ? item.server_label : '',
    arguments: parseArguments(item.arguments),
  };
}

/** Tool arguments arrive as a JSON string; the SPA gets the parsed object. */
function parseArguments(value: unknown): Record<string, unknown> {
  if (isRecord(value)) return value;
  if (typeof value !== 'string' || !value.trim()) return {};
  try {
    const parsed: unknown = JSON.parse(value);
    return isRecord(parsed) ? parsed : { value: parsed };
  } catch {
    return { raw: value };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
