// The local stand-in for a Foundry prompt agent: the Responses API subset the Chat App uses,
// at the path Foundry serves it. It validates nothing beyond requiring a bearer token. With a
// token exchange (the default chain), it trades that token for one for the Orders API's own
// audience, for the same user, and calls the Orders API only with that (what Foundry's
// UserEntraToken connection does); without one, it hands the caller's token on as is (the
// original's mode). The Orders API validates whichever token arrives.
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { decodeJwt } from 'jose';
import { mcpToolSession, type ToolSession } from './agent/mcp-tools';
import { intentRouter } from './agent/router';
import type { TokenExchanger } from './agent/token-exchange';
import {
  APPROVAL_REQUIRED, SYSTEM_PROMPT, toolMessage,
  type ChatMessage, type Reasoner, type ToolCall, type ToolOutcome,
} from './agent/types';

export const RESPONSES_PATH = '/api/projects/local/openai/v1/responses';

export interface AgentRuntimeDeps {
  /** The Orders API's MCP endpoint, `<orders>/mcp`. */
  ordersMcpUrl: string;
  /** The one agent this runtime serves. @default orders-assistant */
  agentName?: string;
  /** @default the deterministic intent router */
  reasoner?: Reasoner;
  /** Label of the MCP server in output items. @default orders */
  serverLabel?: string;
  toolTimeoutMs?: number;
  /** Responses kept for `previous_response_id`. @default 500 */
  maxStoredResponses?: number;
  /** One JSON object per line; never receives a token. */
  log?: (entry: Record<string, unknown>) => void;
  /** Tool session factory (tests may wrap it); default is the MCP client. */
  toolSession?: (mcpUrl: string, bearer: string, requestId: string) => ToolSession;
  /**
   * Obtains, for the caller, a token for the Orders API (RFC 8693 token exchange); the runtime
   * then sends only that token. Unset: the caller's own token is passed on.
   */
  tokenExchange?: TokenExchanger;
  /**
   * Object ids that may use the agent, as Foundry's role on the project decides; others get
   * Foundry's 403 PermissionDenied. @default anyone with a bearer token
   */
  allowedCallerOids?: string[];
  /** The MCP project connection the tool names (`project_connection_id`). @default LOCAL_MCP_CONNECTION */
  connectionName?: string;
}

/** The connection name the local agent's tool names, as the stack's default (`foundry.mcpConnectionName`). */
export const LOCAL_MCP_CONNECTION = 'mcp-entra';
export const AGENTS_PATH = '/api/projects/local/agents';
const AGENT_CREATED_AT = Math.floor(Date.now() / 1000);

interface StoredResponse {
  owner: string;
  messages: ChatMessage[];
  /** Calls of the last assistant turn still waiting for approval, by approval request id. */
  pending?: { calls: ToolCall[]; approvals: Record<string, string> };
}

type Item = Record<string, unknown> & { id: string; type: string };

const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;

function apiError(status: number, code: string, message: string, param?: string) {
  return Response.json({ error: { code, message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: param ?? null } }, { status });
}

/** Splits an answer into a few word groups, so streaming clients see several deltas. */
function chunks(text: string): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 4) out.push(words.slice(i, i + 4).join(''));
  return out;
}

interface ParsedInput { text?: string; approvals?: { id: string; approve: boolean }[] }

function parseInput(input: unknown): ParsedInput | string {
  if (typeof input === 'string') {
    if (!input.trim()) return 'input must not be empty';
    if (input.length > 32_000) return 'input is too long';
    return { text: input };
  }
  if (!Array.isArray(input) || input.length === 0) return 'input must be a string or a non-empty array of items';
  const approvals: { id: string; approve: boolean }[] = [];
  const texts: string[] = [];
  for (const item of input as Record<string, unknown>[]) {
    if (item?.type === 'mcp_approval_response') {
      if (typeof item.approval_request_id !== 'string' || typeof item.approve !== 'boolean') {
        return 'mcp_approval_response needs approval_request_id (string) and approve (boolean)';
      }
      approvals.push({ id: item.approval_request_id, approve: item.approve });
    } else if (item?.role === 'user' && (item.type === undefined || item.type === 'message')) {
      const content = typeof item.content === 'string' ? item.content
        : Array.isArray(item.content) ? item.content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('') : '';
      if (!content.trim()) return 'user message content must be text';
      texts.push(content);
    } else {
      return `unsupported input item type ${JSON.stringify(item?.type ?? item?.role ?? null)}`;
    }
  }
  if (approvals.length && texts.length) return 'send approval responses and a new message in separate requests';
  return approvals.length ? { approvals } : { text: texts.join('\n') };
}

const jtiOf = (token: string) => {
  try {
    const jti = decodeJwt(token).jti;
    return typeof jti === 'string' ? jti : undefined;
  } catch {
    return undefined;
  }
};

/**
 * An mcp_call item carries the tool result where Foundry puts tool output: `output` (or `error`)
 * is a string; here it is the result's JSON (text content and `_meta`, whose `identity` is the
 * Orders API's receipt), so the Chat App can show what was verified.
 */
function itemResult(outcome: ToolOutcome): Record<string, unknown> {
  if (outcome.insufficientScope) {
    return { error: JSON.stringify({ error: 'insufficient_scope', scope: outcome.insufficientScope, message: outcome.text }), status: 'failed' };
  }
  const serialized = outcome.receipt
    ? JSON.stringify({ content: [{ type: 'text', text: outcome.text }], ...(outcome.ok ? {} : { isError: true }), _meta: { identity: outcome.receipt } })
    : outcome.text;
  return outcome.ok ? { output: serialized, status: 'completed' } : { error: serialized, status: 'failed' };
}

/** A session whose bearer (the exchanged token) is obtained on first use, so a turn without tools exchanges nothing. */
function deferredSession(open: () => Promise<ToolSession>): ToolSession {
  let session: Promise<ToolSession> | undefined;
  const get = () => (session ??= open().catch((err: unknown) => {
    session = undefined;
    throw err;
  }));
  return {
    list: async () => (await get()).list(),
    call: async (name, args) => {
      let s: ToolSession;
      try {
        s = await get();
      } catch (err) {
        // Foundry fails the tool call when it cannot obtain the user's token for the connection.
        return { ok: false, text: `no token for the Orders service could be obtained for you (${(err as Error).message})` };
      }
      return s.call(name, args);
    },
    close: async () => {
      const opened = await session?.catch(() => undefined);
      await opened?.close();
    },
  };
}

function callerOf(token: string): { owner: string; name?: string; jti?: string } {
  // Not a validation: the Orders API validates the token. This only keeps conversations apart.
  try {
    const claims = decodeJwt(token);
    return {
      owner: String(claims.oid ?? claims.sub ?? 'anonymous'),
      name: typeof claims.name === 'string' ? claims.name : undefined,
      jti: typeof claims.jti === 'string' ? claims.jti : undefined,
    };
  } catch {
    return { owner: 'anonymous' };
  }
}

export function createApp(deps: AgentRuntimeDeps) {
  const agentName = deps.agentName ?? 'orders-assistant';
  const reasoner = deps.reasoner ?? intentRouter;
  const serverLabel = deps.serverLabel ?? 'orders';
  const maxStored = deps.maxStoredResponses ?? 500;
  const log = deps.log ?? (() => undefined);
  const openSession = deps.toolSession
    ?? ((url: string, bearer: string, requestId: string) => mcpToolSession(url, bearer, { timeoutMs: deps.toolTimeoutMs, requestId }));
  const stored = new Map<string, StoredResponse>();

  const remember = (id: string, value: StoredResponse) => {
    stored.set(id, value);
    while (stored.size > maxStored) stored.delete(stored.keys().next().value as string);
  };

  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'healthy' }));

  // Foundry's RBAC stand-in: the data action its PermissionDenied names for each operation.
  const forbidden = (token: string, action: string, operation: string) => {
    if (!deps.allowedCallerOids) return undefined;
    const { owner } = callerOf(token);
    if (deps.allowedCallerOids.includes(owner)) return undefined;
    return apiError(403, 'PermissionDenied', `The principal \`${owner}\` lacks the required data action \`${action}\` to perform \`${operation}\` operation.`);
  };

  // GET {project}/agents/{name}: the agent object Foundry returns (Agent -> versions.latest -> definition).
  app.get(`${AGENTS_PATH}/:name`, (c) => {
    const match = /^bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (!match) return apiError(401, 'unauthorized', 'A bearer token is required.');
    const denied = forbidden(match[1], 'Microsoft.CognitiveServices/accounts/AIServices/agents/read', 'GET /api/projects/{projectName}/agents/{agentName}');
    if (denied) return denied;
    if (c.req.param('name') !== agentName) return apiError(404, 'not_found', `Agent ${c.req.param('name')} was not found.`);
    const version = {
      object: 'agent.version',
      id: `${agentName}:1`,
      name: agentName,
      version: '1',
      description: 'Local stand-in for the Foundry prompt agent.',
      created_at: AGENT_CREATED_AT,
      metadata: {},
      definition: {
        kind: 'prompt',
        model: 'local',
        instructions: SYSTEM_PROMPT,
        tools: [{
          type: 'mcp',
          server_label: serverLabel,
          server_url: deps.ordersMcpUrl,
          require_approval: { always: { tool_names: [...APPROVAL_REQUIRED] } },
          project_connection_id: deps.connectionName ?? LOCAL_MCP_CONNECTION,
        }],
      },
    };
    return c.json({ object: 'agent', id: agentName, name: agentName, versions: { latest: version } });
  });

  app.post(RESPONSES_PATH, async (c) => {
    const auth = c.req.header('authorization') ?? '';
    const match = /^bearer\s+(\S+)$/i.exec(auth);
    if (!match) return apiError(401, 'unauthorized', 'A bearer token is required.');
    const token = match[1];
    const denied = forbidden(token, 'Microsoft.CognitiveServices/accounts/AIServices/agents/write', 'POST /api/projects/{projectName}/openai/v1/responses');
    if (denied) return denied;

    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      return apiError(400, 'invalid_payload', 'The body must be JSON.');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return apiError(400, 'invalid_payload', 'The body must be a JSON object.');
    const ref = (body.agent_reference ?? body.agent) as { name?: unknown } | undefined;
    if (!ref || typeof ref.name !== 'string') return apiError(400, 'invalid_payload', 'agent_reference.name is required.', 'agent_reference');
    if (ref.name !== agentName) return apiError(404, 'not_found', `Agent ${ref.name} was not found.`, 'agent_reference');
    const input = parseInput(body.input);
    if (typeof input === 'string') return apiError(400, 'invalid_payload', input, 'input');
    const previousId = body.previous_response_id;
    if (previousId !== undefined && previousId !== null && typeof previousId !== 'string') {
      return apiError(400, 'invalid_payload', 'previous_response_id must be a string.', 'previous_response_id');
    }
    const caller = callerOf(token);
    const previous = typeof previousId === 'string' ? stored.get(previousId) : undefined;
    if (typeof previousId === 'string' && (!previous || previous.owner !== caller.owner)) {
      return apiError(404, 'not_found', `Response ${previousId} was not found.`, 'previous_response_id');
    }
    if (input.approvals && !previous?.pending) {
      return apiError(400, 'invalid_payload', 'There is no pending approval request to answer.', 'input');
    }
    if (input.approvals && !input.approvals.some((a) => a.id in previous!.pending!.approvals)) {
      return apiError(400, 'invalid_payload', 'No mcp_approval_response matches a pending approval request.', 'input');
    }

    const responseId = newId('resp');
    const createdAt = Math.floor(Date.now() / 1000);
    const output: Item[] = [];
    const shell = (status: string, error: unknown = null) => ({
      id: responseId,
      object: 'response',
      created_at: createdAt,
      status,
      error,
      incomplete_details: null,
      model: 'local',
      agent_reference: { type: 'agent_reference', name: agentName },
      previous_response_id: previousId ?? null,
      output,
      usage: null,
    });

    // Runs the agent loop; `emit` receives stream events (a no-op for JSON answers).
    const run = async (emit: (type: string, data: Record<string, unknown>) => Promise<void>) => {
      const messages: ChatMessage[] = previous ? [...previous.messages] : [{ role: 'system', content: SYSTEM_PROMPT }];
      const ordersRequestId = randomUUID();
      // The jti of the token the Orders API receives: the caller's own, or the exchanged one.
      let sentJti = caller.jti;
      const tools = deferredSession(async () => {
        const bearer = deps.tokenExchange ? (await deps.tokenExchange(token)).accessToken : token;
        sentJti = jtiOf(bearer);
        return openSession(deps.ordersMcpUrl, bearer, ordersRequestId);
      });
      let pending: StoredResponse['pending'];
      const context = { userName: caller.name, tools: () => tools.list() };

      const addItem = async (item: Item) => {
        output.push(item);
        await emit('response.output_item.added', { output_index: output.length - 1, item });
        return output.length - 1;
      };
      const doneItem = (index: number) => emit('response.output_item.done', { output_index: index, item: output[index] });

      const execute = async (call: ToolCall, approvalId?: string) => {
        const item: Item = {
          type: 'mcp_call',
          id: newId('mcp'),
          server_label: serverLabel,
          name: call.name,
          arguments: JSON.stringify(call.arguments),
          output: null,
          error: null,
          status: 'in_progress',
          ...(approvalId ? { approval_request_id: approvalId } : {}),
        };
        const index = await addItem(item);
        await emit('response.mcp_call.in_progress', { output_index: index, item_id: item.id });
        const started = Date.now();
        const outcome = await tools.call(call.name, call.arguments);
        // The token's id (not the token) lets a test match this call to the token the browser obtained.
        log({
          msg: 'tool call',
          tool: call.name,
          ok: outcome.ok,
          response_id: responseId,
          orders_request_id: ordersRequestId,
          caller_oid: caller.owner,
          caller_jti: caller.jti,
          token_jti: sentJti,
          // Identifiers only: what the Orders API says it verified.
          receipt: outcome.receipt,
          ms: Date.now() - started,
        });
        Object.assign(item, itemResult(outcome));
        await emit(outcome.ok ? 'response.mcp_call.completed' : 'response.mcp_call.failed', { output_index: index, item_id: item.id });
        await doneItem(index);
        messages.push(toolMessage(call.id, outcome));
      };

      try {
        if (previous?.pending) {
          // Answer every call of the held turn: approved ones run, others are reported as declined.
          const decisions = new Map((input.approvals ?? []).map((a) => [a.id, a.approve]));
          const approvalFor = Object.fromEntries(Object.entries(previous.pending.approvals).map(([aid, cid]) => [cid, aid]));
          for (const call of previous.pending.calls) {
            const approvalId = approvalFor[call.id];
            if (!approvalId || decisions.get(approvalId) === true) await execute(call, approvalId);
            else messages.push(toolMessage(call.id, { ok: false, denied: true, text: 'The user declined this tool call.' } satisfies ToolOutcome));
          }
        }
        if (input.text !== undefined) messages.push({ role: 'user', content: input.text });

        for (let round = 0; round < 6; round++) {
          const step = await reasoner.next(messages, context);
          if (step.kind === 'answer') {
            messages.push({ role: 'assistant', content: step.text });
            const item: Item = { type: 'message', id: newId('msg'), role: 'assistant', status: 'in_progress', content: [] };
            const index = await addItem(item);
            const part = { type: 'output_text', text: '', annotations: [] };
            await emit('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part });
            for (const delta of chunks(step.text)) {
              await emit('response.output_text.delta', { item_id: item.id, output_index: index, content_index: 0, delta });
            }
            const done = { ...part, text: step.text };
            await emit('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text: step.text });
            await emit('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part: done });
            Object.assign(item, { status: 'completed', content: [done] });
            await doneItem(index);
            break;
          }
          messages.push({
            role: 'assistant',
            content: null,
            tool_calls: step.calls.map((tc) => ({ id: tc.id, type: 'function' as const, function: { name: tc.name, arguments: JSON.stringify(tc.arguments) } })),
          });
          const held = step.calls.filter((tc) => APPROVAL_REQUIRED.has(tc.name));
          if (held.length) {
            pending = { calls: step.calls, approvals: {} };
            for (const tc of held) {
              const item: Item = { type: 'mcp_approval_request', id: newId('mcpr'), server_label: serverLabel, name: tc.name, arguments: JSON.stringify(tc.arguments) };
              pending.approvals[item.id] = tc.id;
              await doneItem(await addItem(item));
            }
            break;
          }
          for (const tc of step.calls) await execute(tc);
        }
        remember(responseId, { owner: caller.owner, messages, pending });
      } finally {
        await tools.close();
      }
    };

    if (body.stream === true) {
      return streamSSE(c, async (stream) => {
        let seq = 0;
        const emit = (type: string, data: Record<string, unknown>) =>
          stream.writeSSE({ event: type, data: JSON.stringify({ type, sequence_number: seq++, ...data }) });
        await emit('response.created', { response: shell('in_progress') });
        await emit('response.in_progress', { response: shell('in_progress') });
        try {
          await run(emit);
          await emit('response.completed', { response: shell('completed') });
        } catch (err) {
          log({ msg: 'agent run failed', error: (err as Error).message });
          await emit('response.failed', { response: shell('failed', { code: 'server_error', message: `The agent failed: ${(err as Error).message}` }) });
        }
      });
    }
    try {
      await run(async () => undefined);
    } catch (err) {
      log({ msg: 'agent run failed', error: (err as Error).message });
      return apiError(500, 'server_error', `The agent failed: ${(err as Error).message}`);
    }
    return c.json(shell('completed'));
  });

  app.notFound(() => apiError(404, 'not_found', 'No such route.'));
  return app;
}
