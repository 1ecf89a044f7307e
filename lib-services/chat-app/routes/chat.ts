// POST /api/chat and POST /api/chat/approve: the token was verified by the bearer
// middleware before these run; they validate the body, call the agent as the user, and
// answer JSON or, when the browser asks for text/event-stream, an event stream.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AuthVariables } from '../../shared/auth/index.js';
import type { Logger } from '../../shared/observability.js';
import {
  AgentError, userTokenCredential,
  type AgentCall, type AgentClient, type ApprovalDecision,
} from '../agent-client.js';
import { readJsonBody, RequestError } from '../request.js';

export const MAX_MESSAGE_CHARS = 8000;
export const MAX_APPROVALS = 20;
const ID = /^[A-Za-z0-9_.:-]{1,256}$/;

export interface ChatRouterDeps {
  agent: Pick<AgentClient, 'start'>;
  logger: Logger;
}

type Env = { Variables: AuthVariables };

export function chatRouter(deps: ChatRouterDeps): Hono<Env> {
  return new Hono<Env>()
    .post('/', async (c) => {
      const body = await readJsonBody(c);
      const message = body.message;
      if (typeof message !== 'string') throw new RequestError('message is required and must be a string');
      const chars = [...message].length;
      if (!message.trim() || chars > MAX_MESSAGE_CHARS) {
        throw new RequestError(`message must be 1 to ${MAX_MESSAGE_CHARS} characters`);
      }
      const previousResponseId = optionalId(body.previous_response_id);
      return answer(c, deps, { input: message, previousResponseId });
    })
    .post('/approve', async (c) => {
      const body = await readJsonBody(c);
      const previousResponseId = optionalId(body.previous_response_id);
      if (!previousResponseId) throw new RequestError('previous_response_id is required: the response that asked for approval');
      return answer(c, deps, { input: approvalsFrom(body.approvals), previousResponseId });
    });
}

function optionalId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !ID.test(value)) throw new RequestError('previous_response_id must be a response id');
  return value;
}

function approvalsFrom(value: unknown): ApprovalDecision[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_APPROVALS) {
    throw new RequestError(`approvals must be a list of 1 to ${MAX_APPROVALS} {id, approve} items`);
  }
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    const o = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof o.id !== 'string' || !ID.test(o.id)) throw new RequestError(`approvals[${i}].id must be an approval request id`);
    if (typeof o.approve !== 'boolean') throw new RequestError(`approvals[${i}].approve must be true or false`);
    if (seen.has(o.id)) throw new RequestError(`approvals[${i}].id repeats an earlier id`);
    seen.add(o.id);
    return { id: o.id, approve: o.approve };
  });
}

function wantsStream(c: Context): boolean {
  return (c.req.header('accept') ?? '').toLowerCase().includes('text/event-stream');
}

async function answer(c: Context<Env>, deps: ChatRouterDeps, call: Pick<AgentCall, 'input' | 'previousResponseId'>): Promise<Response> {
  const principal = c.var.principal;
  const stream = wantsStream(c);
  const started = Date.now();
  let run;
  try {
    run = await deps.agent.start({
      ...call,
      credential: userTokenCredential(principal.token, principal.expiresAt * 1000),
      stream,
      signal: c.req.raw.signal,
    });
  } catch (error) {
    return agentFailure(c, deps, error, started);
  }
  if (!stream) {
    try {
      return c.json(await run.read());
    } catch (error) {
      return agentFailure(c, deps, error, started);
    }
  }
  c.header('X-Accel-Buffering', 'no');
  return streamSSE(c, async (sse) => {
    sse.onAbort(() => run.cancel());
    try {
      const result = await run.read((text) => sse.writeSSE({ event: 'delta', data: JSON.stringify({ text }) }));
      await sse.writeSSE({ event: 'done', data: JSON.stringify(result) });
    } catch (error) {
      const failure = asAgentError(error);
      logFailure(deps, failure, started);
      if (failure.code !== 'client_closed') {
        await sse.writeSSE({ event: 'error', data: JSON.stringify({ error: failure.code, message: failure.message }) });
      }
    }
  });
}

function asAgentError(error: unknown): AgentError {
  return error instanceof AgentError ? error : new AgentError(502, 'upstream_error', 'The agent call failed.');
}

function logFailure(deps: ChatRouterDeps, failure: AgentError, started: number): void {
  deps.logger.log(failure.code === 'client_closed' ? 'info' : 'warn', 'agent call failed', { code: failure.code, duration_ms: Date.now() - started });
}

function agentFailure(c: Context, deps: ChatRouterDeps, error: unknown, started: number): Response {
  const failure = asAgentError(error);
  logFailure(deps, failure, started);
  if (failure.retryAfter) c.header('Retry-After', failure.retryAfter);
  // 499 (client closed) is only for the log: nobody is left to read it.
  return c.json({ error: failure.code, message: failure.message }, failure.status as ContentfulStatusCode);
}
