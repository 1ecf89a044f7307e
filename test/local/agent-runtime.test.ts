import { createServer, type AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { decodeJwt, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOrdersMcp, type FakeOrders } from './fake-orders-mcp';
import { modelReasoner } from '../../lib-services/local/agent/model';
import { describeOutcome, routeIntent } from '../../lib-services/local/agent/router';
import { createApp, RESPONSES_PATH } from '../../lib-services/local/agent-runtime';

const token = (oid: string, name: string) => new UnsecuredJWT({ oid, name, jti: `${oid}-${Math.random()}` }).encode();
const ALICE = token('oid-alice', 'Alice Johnson');
const BOB = token('oid-bob', 'Bob Smith');

let orders: FakeOrders;
beforeAll(async () => { orders = await startFakeOrdersMcp(); });
afterAll(async () => { await orders?.close(); });

function ask(app: Hono, bearer: string | undefined, body: Record<string, unknown>) {
  return app.request(RESPONSES_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ agent_reference: { type: 'agent_reference', name: 'orders-assistant' }, ...body }),
  });
}

const textOf = (response: { output: { type: string; content?: { text: string }[] }[] }) =>
  response.output.filter((i) => i.type === 'message').flatMap((i) => i.content!.map((p) => p.text)).join('');

describe('intent router', () => {
  it.each([
    ['show my orders', 'list-orders', {}],
    ['List all orders.', 'list-orders', {}],
    ['order 3 webcams', 'create-order', { product: 'webcams', quantity: 3, customer_name: 'Alice' }],
    ['buy a standing desk', 'create-order', { product: 'standing desk', quantity: 1 }],
    ['mark ORD-004 shipped', 'update-order', { order_id: 'ORD-004', status: 'shipped' }],
    ['change the quantity of ORD-002 to 5', 'update-order', { order_id: 'ORD-002', quantity: 5 }],
    ['delete ORD-009', 'delete-order', { order_id: 'ORD-009' }],
    ['get ORD-001', 'get-order', { order_id: 'ORD-001' }],
    ['what about ord-7?', 'get-order', { order_id: 'ORD-007' }],
    ['delete ORD-KK8CYAXCT5', 'delete-order', { order_id: 'ORD-KK8CYAXCT5' }],
    ['get ord-kk8cyaxct5', 'get-order', { order_id: 'ORD-KK8CYAXCT5' }],
  ])('%s -> %s', (text, name, args) => {
    const routed = routeIntent(text, 'Alice');
    expect(routed?.name).toBe(name);
    expect(routed?.arguments).toMatchObject(args);
  });

  it('does not guess at what it does not understand', () => {
    expect(routeIntent('tell me a joke')).toBeUndefined();
  });
});

describe('local agent runtime', () => {
  const app = () => createApp({ ordersMcpUrl: orders.url });

  it('requires a bearer token and a known agent, and rejects bad input', async () => {
    const a = app();
    expect((await ask(a, undefined, { input: 'show my orders' })).status).toBe(401);
    expect((await ask(a, ALICE, { input: '' })).status).toBe(400);
    expect((await ask(a, ALICE, { input: [{ type: 'function_call_output' }] })).status).toBe(400);
    const unknown = await a.request(RESPONSES_PATH, {
      method: 'POST',
      headers: { 'authorization': `Bearer ${ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_reference: { name: 'someone-else' }, input: 'hi' }),
    });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.message).toContain('someone-else');
    expect(orders.calls).toEqual([]);
  });

  it('answers a read through MCP with the caller\'s own token, no approval', async () => {
    const before = orders.bearers.length;
    const lines: string[] = [];
    const logged = createApp({ ordersMcpUrl: orders.url, log: (entry) => lines.push(JSON.stringify(entry)) });
    const res = await ask(logged, ALICE, { input: 'show my orders' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ object: 'response', status: 'completed' });
    expect(body.id).toMatch(/^resp_/);
    expect(body.output.map((i: { type: string }) => i.type)).toEqual(['mcp_call', 'message']);
    expect(textOf(body)).toContain('ORD-001');
    const seen = orders.bearers.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([ALICE]));
    // The log names the token by its jti, never the token itself.
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ tool: 'list-orders', caller_oid: 'oid-alice', token_jti: decodeJwt(ALICE).jti });
    expect(lines.join('')).not.toContain(ALICE);
  });

  it('accepts the older `agent` key and input items', async () => {
    const res = await app().request(RESPONSES_PATH, {
      method: 'POST',
      headers: { 'authorization': `Bearer ${ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: { name: 'orders-assistant' }, input: [{ role: 'user', content: [{ type: 'input_text', text: 'get ORD-001' }] }] }),
    });
    expect(textOf(await res.json())).toContain('ORD-001: 1 × Laptop');
  });

  it('holds a delete for approval, then runs it only when approved', async () => {
    const a = app();
    const create = await (await ask(a, ALICE, { input: 'order 2 webcams' })).json();
    const id = /ORD-\d+/.exec(textOf(create))![0];
    const first = await (await ask(a, ALICE, { input: `delete ${id}`, previous_response_id: create.id })).json();
    expect(first.output).toHaveLength(1);
    const request = first.output[0];
    expect(request).toMatchObject({ type: 'mcp_approval_request', name: 'delete-order', server_label: 'orders' });
    expect(JSON.parse(request.arguments)).toEqual({ order_id: id });
    expect(request.id).toMatch(/^mcpr_/);
    expect(orders.calls).not.toContain('delete-order');

    // Another user cannot answer alice's approval request.
    expect((await ask(a, BOB, { previous_response_id: first.id, input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }] })).status).toBe(404);
    expect(orders.calls).not.toContain('delete-order');

    const approved = await (await ask(a, ALICE, {
      previous_response_id: first.id, input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
    })).json();
    expect(approved.output[0]).toMatchObject({ type: 'mcp_call', name: 'delete-order', approval_request_id: request.id, status: 'completed' });
    expect(textOf(approved)).toBe(`Done: I deleted ${id}.`);
    expect(orders.calls.filter((c) => c === 'delete-order')).toHaveLength(1);
  });

  it('does not run a denied update', async () => {
    const a = app();
    const first = await (await ask(a, ALICE, { input: 'mark ORD-001 shipped' })).json();
    const denied = await (await ask(a, ALICE, {
      previous_response_id: first.id, input: [{ type: 'mcp_approval_response', approval_request_id: first.output[0].id, approve: false }],
    })).json();
    expect(textOf(denied)).toContain('you declined it');
    expect(orders.calls).not.toContain('update-order');
    expect((await ask(a, ALICE, { previous_response_id: first.id, input: [{ type: 'mcp_approval_response', approval_request_id: 'mcpr_nope', approve: true }] })).status).toBe(400);
  });

  it('streams Responses API events whose deltas add up to the answer', async () => {
    const res = await ask(app(), ALICE, { input: 'show my orders', stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = (await res.text()).split('\n\n').filter(Boolean).map((block) => {
      const event = /^event: (.*)$/m.exec(block)![1];
      return { event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) };
    });
    const types = events.map((e) => e.event);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_text.delta');
    expect(events.every((e, i) => e.data.type === e.event && e.data.sequence_number === i)).toBe(true);
    const deltas = events.filter((e) => e.event === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThan(1);
    const final = events.at(-1)!.data.response;
    expect(deltas.map((e) => e.data.delta).join('')).toBe(textOf(final));
  });

  it('says clearly when the Orders service cannot be reached', async () => {
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((ok) => probe.close(ok));
    const down = createApp({ ordersMcpUrl: `http://127.0.0.1:${port}/mcp` });
    const body = await (await ask(down, ALICE, { input: 'show my orders' })).json();
    expect(textOf(body)).toMatch(/could not reach the Orders service: connection refused/);
    expect(body.output[0]).toMatchObject({ type: 'mcp_call', status: 'failed' });
    expect(JSON.stringify(body)).not.toContain(ALICE);
  });
});

describe('local agent runtime with a token exchange (audience-bound mode)', () => {
  it('calls the Orders API only with the exchanged token, exchanging once per caller token', async () => {
    const exchanged = token('oid-alice', 'Alice Johnson');
    const subjects: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const a = createApp({
      ordersMcpUrl: orders.url,
      tokenExchange: async (subject) => { subjects.push(subject); return { accessToken: exchanged, expiresAt: 0, scope: '' }; },
      log: (entry) => lines.push(entry),
    });
    const before = orders.bearers.length;
    const body = await (await ask(a, ALICE, { input: 'show my orders' })).json();
    expect(textOf(body)).toContain('ORD-001');
    expect(subjects).toEqual([ALICE]);
    const seen = orders.bearers.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([exchanged]));
    expect(lines[0]).toMatchObject({ tool: 'list-orders', caller_jti: decodeJwt(ALICE).jti, token_jti: decodeJwt(exchanged).jti });
    // A turn without tools exchanges nothing.
    await ask(a, ALICE, { input: 'tell me a joke' });
    expect(subjects).toHaveLength(1);
  });

  it('a failed exchange fails the tool call with a clear message, and nothing reaches the Orders API', async () => {
    const a = createApp({ ordersMcpUrl: orders.url, tokenExchange: async () => { throw new Error('invalid_grant: subject_token is not valid'); } });
    const before = orders.bearers.length;
    const body = await (await ask(a, ALICE, { input: 'show my orders' })).json();
    expect(body.output[0]).toMatchObject({ type: 'mcp_call', status: 'failed', error: expect.stringContaining('invalid_grant') });
    expect(textOf(body)).toContain('no token for the Orders service could be obtained for you');
    expect(orders.bearers.length).toBe(before);
  });

  it('says plainly when a change needs a scope the user lacks', () => {
    const text = describeOutcome({ id: 'c', name: 'create-order', arguments: {} }, { ok: false, text: 'x', insufficientScope: 'api://o/Orders.ReadWrite' });
    expect(text).toBe('You may read orders but not change them, so I could not create the order: that needs the permission api://o/Orders.ReadWrite, which your sign-in does not have.');
    expect(describeOutcome({ id: 'c', name: 'list-orders', arguments: {} }, { ok: false, text: 'x', insufficientScope: 'api://o/Orders.Read' }))
      .toMatch(/^You may not read orders/);
  });
});

describe('local agent runtime with a model endpoint (LOCAL_MODEL_URL)', () => {
  let model: ServerType;
  let modelUrl: string;
  const seen: { tools: { function: { name: string; parameters: unknown } }[]; messages: { role: string }[] }[] = [];

  beforeAll(async () => {
    // A tiny stand-in for an OpenAI-compatible endpoint: one tool call, then an answer.
    const stub = new Hono();
    stub.post('/v1/chat/completions', async (c) => {
      const req = await c.req.json();
      seen.push(req);
      const last = req.messages.at(-1);
      const message = last.role === 'user'
        ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'list-orders', arguments: '{}' } }] }
        : { role: 'assistant', content: `Model saw: ${JSON.parse(last.content).text}` };
      return c.json({ choices: [{ index: 0, message, finish_reason: 'stop' }] });
    });
    model = await new Promise((ok) => { const s = serve({ fetch: stub.fetch, hostname: '127.0.0.1', port: 0 }, () => ok(s)); });
    modelUrl = `http://127.0.0.1:${(model.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => { model?.close(); });

  it('offers the MCP tools as functions and runs the calls the model asks for', async () => {
    const a = createApp({ ordersMcpUrl: orders.url, reasoner: modelReasoner({ url: modelUrl }) });
    const body = await (await ask(a, ALICE, { input: 'what have I ordered?' })).json();
    expect(body.output.map((i: { type: string }) => i.type)).toEqual(['mcp_call', 'message']);
    expect(textOf(body)).toContain('ORD-001');
    expect(seen[0].tools.map((t) => t.function.name)).toEqual(expect.arrayContaining(['list-orders', 'delete-order']));
    expect(seen[0].tools.find((t) => t.function.name === 'get-order')!.function.parameters).toMatchObject({ properties: { order_id: { type: 'string' } } });
    expect(seen[1].messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
  });
});
