// The agent client against the recording Foundry stand-in over real loopback HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  approvalItem, FoundryStandIn, hang, messageItem, RESPONSES_PATH, responseObject, sendEvents, sendJson, streamEvents,
} from './foundry-standin.js';
import { AgentClient, AgentError, userTokenCredential, type AgentClientOptions } from '../../../lib-services/chat-app/agent-client.js';
import { freePort } from '../../../lib-services/shared/net.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.user-token-under-test.signature';
let standIn: FoundryStandIn;

beforeAll(async () => {
  standIn = await FoundryStandIn.start();
});
afterAll(() => standIn.stop());
beforeEach(() => standIn.reset());

function client(options: Partial<AgentClientOptions> = {}): AgentClient {
  return new AgentClient({ projectEndpoint: standIn.projectEndpoint, agentName: 'orders-assistant', timeoutMs: 5000, ...options });
}

const credential = userTokenCredential(TOKEN, Date.now() + 3600_000);

async function failure(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

describe('request to the Responses API', () => {
  it('posts to <project>/openai/v1/responses as the user, with agent_reference and the input', async () => {
    const answer = await client().run({ credential, input: 'List my orders' });
    expect(standIn.requests).toHaveLength(1);
    const [req] = standIn.requests;
    expect(req.path).toBe(RESPONSES_PATH);
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.body).toEqual({ agent_reference: { type: 'agent_reference', name: 'orders-assistant' }, input: 'List my orders' });
    expect(answer).toEqual({ response_id: 'resp_000001', text: 'You said: List my orders', approvals: [], tool_calls: [] });
  });

  it('sends previous_response_id to continue a conversation', async () => {
    await client().run({ credential, input: 'and the next?', previousResponseId: 'resp_abc' });
    expect(standIn.requests[0].body.previous_response_id).toBe('resp_abc');
  });

  it('uses the older `agent` key when configured', async () => {
    await client({ agentReferenceKey: 'agent' }).run({ credential, input: 'hi' });
    expect(standIn.requests[0].body.agent).toEqual({ type: 'agent_reference', name: 'orders-assistant' });
    expect(standIn.requests[0].body).not.toHaveProperty('agent_reference');
  });

  it('returns approval requests with parsed arguments and "" text', async () => {
    const answer = await client().run({ credential, input: 'delete ORD-001' });
    expect(answer.text).toBe('');
    expect(answer.approvals).toEqual([{ id: expect.stringMatching(/^mcpr_/), name: 'delete-order', server_label: 'orders_mcp', arguments: { order_id: 'ORD-001' } }]);
  });

  it('continues with mcp_approval_response items and previous_response_id', async () => {
    const asked = await client().run({ credential, input: 'delete ORD-001' });
    const answer = await client().run({ credential, input: [{ id: asked.approvals[0].id, approve: false }], previousResponseId: asked.response_id });
    expect(standIn.requests[1].body).toEqual({
      agent_reference: { type: 'agent_reference', name: 'orders-assistant' },
      input: [{ type: 'mcp_approval_response', approval_request_id: asked.approvals[0].id, approve: false }],
      previous_response_id: asked.response_id,
    });
    expect(answer.text).toBe('I did not delete order ORD-001.');
  });

  it('joins the texts of several message items', async () => {
    standIn.next((_req, res) => sendJson(res, 200, responseObject('resp_x', [messageItem('First.'), { type: 'mcp_call', id: 'mcp_1' }, messageItem('Second.')])));
    expect((await client().run({ credential, input: 'x' })).text).toBe('First.\n\nSecond.');
  });

  it('the credential gives the user token only for the agent service audience', async () => {
    await expect(credential.getToken('https://ai.azure.com/.default')).resolves.toMatchObject({ token: TOKEN });
    await expect(credential.getToken('https://management.azure.com/.default')).rejects.toThrow(/not for/);
  });
});

describe('streaming', () => {
  it('relays text deltas in order and ends with the whole answer', async () => {
    const chunks = ['Your ', 'orders: ', 'ORD-001, ', 'ORD-002.'];
    standIn.next((_req, res) => sendEvents(res, streamEvents('resp_s1', [messageItem(chunks.join(''))], chunks), 5));
    const seen: string[] = [];
    const answer = await client().run({ credential, input: 'orders?', stream: true }, (t) => {
      seen.push(t);
    });
    expect(standIn.requests[0].body.stream).toBe(true);
    expect(standIn.requests[0].headers.accept).toBe('text/event-stream');
    expect(seen).toEqual(chunks);
    expect(answer).toEqual({ response_id: 'resp_s1', text: chunks.join(''), approvals: [], tool_calls: [] });
  });

  it('collects approval requests from output_item.done', async () => {
    standIn.next((_req, res) => sendEvents(res, streamEvents('resp_s2', [approvalItem('mcpr_1', 'update-order', { order_id: 'ORD-002', status: 'shipped' })])));
    const answer = await client().run({ credential, input: 'ship it', stream: true });
    expect(answer).toEqual({
      response_id: 'resp_s2',
      text: '',
      approvals: [{ id: 'mcpr_1', name: 'update-order', server_label: 'orders_mcp', arguments: { order_id: 'ORD-002', status: 'shipped' } }],
      tool_calls: [],
    });
  });

  it('a response.failed event gives 502', async () => {
    standIn.next((_req, res) => sendEvents(res, [
      { type: 'response.created', response: responseObject('resp_f', [], { status: 'in_progress' }) },
      { type: 'response.failed', response: responseObject('resp_f', [], { status: 'failed', error: { code: 'server_error', message: 'secret detail' } }) },
    ]));
    const error = await failure(client().run({ credential, input: 'x', stream: true }));
    expect([error.status, error.code]).toEqual([502, 'upstream_error']);
    expect(error.message).toContain('server_error');
    expect(error.message).not.toContain('secret detail');
  });

  it('a stream that ends before response.completed gives 502', async () => {
    standIn.next((_req, res) => sendEvents(res, streamEvents('resp_cut', [messageItem('half an answer')]).slice(0, 4)));
    expect((await failure(client().run({ credential, input: 'x', stream: true }))).status).toBe(502);
  });
});

describe('failures', () => {
  it.each([401, 403])('upstream %i gives 403 saying the user may not run the agent', async (status) => {
    standIn.next((_req, res) => sendJson(res, status, { error: { code: 'PermissionDenied', message: 'principal lacks data action' } }));
    const error = await failure(client().run({ credential, input: 'x' }));
    expect([error.status, error.code]).toEqual([403, 'agent_forbidden']);
    expect(error.message).toMatch(/may not run this agent/);
  });

  it('upstream 429 passes through with Retry-After', async () => {
    standIn.next((_req, res) => sendJson(res, 429, { error: { code: 'rate_limit' } }, { 'retry-after': '17' }));
    const error = await failure(client().run({ credential, input: 'x' }));
    expect([error.status, error.retryAfter]).toEqual([429, '17']);
  });

  it.each([500, 503, 400, 404])('upstream %i gives 502 with a sanitized message', async (status) => {
    standIn.next((_req, res) => sendJson(res, status, { error: { message: `internal stack trace ${TOKEN}` } }));
    const error = await failure(client().run({ credential, input: 'x' }));
    expect([error.status, error.code]).toEqual([502, 'upstream_error']);
    expect(error.message).toBe(`The agent service failed (HTTP ${status}).`);
  });

  it('a refused connection gives 502', async () => {
    const port = await freePort();
    const error = await failure(client({ projectEndpoint: `http://127.0.0.1:${port}/api/projects/p` }).run({ credential, input: 'x' }));
    expect([error.status, error.message]).toEqual([502, 'The agent service could not be reached.']);
  });

  it('a body that is not a response gives 502', async () => {
    standIn.next((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>proxy error</html>');
    });
    expect((await failure(client().run({ credential, input: 'x' }))).status).toBe(502);
  });

  it('the timeout bounds a silent upstream: 504, and the upstream request is aborted', async () => {
    standIn.next(hang);
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 300 }).run({ credential, input: 'x' }));
    expect([error.status, error.code]).toEqual([504, 'agent_timeout']);
    expect(Date.now() - started).toBeLessThan(2000);
    await standIn.waitFor(() => standIn.requests[0]?.aborted);
  });

  it('the timeout also bounds a stream that stalls after it started', async () => {
    standIn.next(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const [created, , added, part, delta] = streamEvents('resp_stall', [messageItem('never finished')]);
      for (const e of [created, added, part, delta]) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    });
    const seen: string[] = [];
    const error = await failure(client({ timeoutMs: 400 }).run({ credential, input: 'x', stream: true }, (t) => {
      seen.push(t);
    }));
    expect(seen).toEqual(['never ']);
    expect(error.status).toBe(504);
    await standIn.waitFor(() => standIn.requests[0]?.aborted);
  });

  it('the caller going away aborts the upstream request', async () => {
    standIn.next(hang);
    const caller = new AbortController();
    const pending = failure(client().run({ credential, input: 'x', signal: caller.signal }));
    await standIn.waitFor(() => standIn.requests.length === 1);
    caller.abort();
    expect((await pending).code).toBe('client_closed');
    await standIn.waitFor(() => standIn.requests[0].aborted);
  });
});

