// Tool-call receipts from the mcp_call items of a Responses API answer, JSON and streamed, against
// the Foundry stand-in over loopback: what is there is shown, what is absent degrades to no receipt.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FoundryStandIn, messageItem, responseObject, sendEvents, sendJson, streamEvents } from './foundry-standin.js';
import { AgentClient, userTokenCredential } from '../../../lib-services/chat-app/agent-client.js';
import { toolCallFrom } from '../../../lib-services/chat-app/receipts.js';

const identity = {
  service: 'orders-api',
  oid: 'a11ce000-0000-4000-8000-000000000001',
  name: 'Alice Johnson',
  aud: '0de5a000-0000-4000-8000-0000000a0e01',
  azp: 'agent-runtime',
  scopes: ['Orders.Read', 'Orders.ReadWrite'],
  token_id: 'jti-1',
};
const result = (meta: unknown, isError = false) => JSON.stringify({ content: [{ type: 'text', text: '[]' }], ...(isError ? { isError } : {}), _meta: meta });
const mcpCall = (id: string, fields: Record<string, unknown>) => ({
  type: 'mcp_call', id, server_label: 'orders', name: 'list-orders', arguments: '{}', output: null, error: null, status: 'completed', ...fields,
});

const ITEMS = [
  mcpCall('mcp_1', { output: result({ identity, etag: '"x"' }) }),
  // Plain text output, as the OpenAI Responses API documents it: no receipt.
  mcpCall('mcp_2', { output: '[{"id":"ORD-001"}]' }),
  mcpCall('mcp_3', { name: 'create-order', status: 'failed', error: JSON.stringify({ error: 'insufficient_scope', scope: 'api://x/Orders.ReadWrite', message: 'no' }) }),
  mcpCall('mcp_4', { name: 'get-order', status: 'failed', error: result({ identity }, true) }),
  // A challenge quoted in an error string, and an error object of some other shape.
  mcpCall('mcp_5', { name: 'delete-order', status: 'failed', error: 'HTTP 403: Bearer error="insufficient_scope", scope="api://x/Orders.ReadWrite"' }),
  mcpCall('mcp_6', { error: { type: 'mcp_tool_execution_error', content: [] }, status: 'failed' }),
];
const EXPECTED = [
  { name: 'list-orders', server_label: 'orders', status: 'completed', receipt: { ...identity } },
  { name: 'list-orders', server_label: 'orders', status: 'completed' },
  { name: 'create-order', server_label: 'orders', status: 'failed', insufficient_scope: 'api://x/Orders.ReadWrite' },
  { name: 'get-order', server_label: 'orders', status: 'failed', receipt: { ...identity } },
  { name: 'delete-order', server_label: 'orders', status: 'failed', insufficient_scope: 'api://x/Orders.ReadWrite' },
  { name: 'list-orders', server_label: 'orders', status: 'failed' },
];

let standIn: FoundryStandIn;
beforeAll(async () => { standIn = await FoundryStandIn.start(); });
afterAll(() => standIn.stop());
beforeEach(() => standIn.reset());

const client = () => new AgentClient({ projectEndpoint: standIn.projectEndpoint, agentName: 'orders-assistant', timeoutMs: 5000 });
const credential = userTokenCredential('eyJ.a.b', Date.now() + 3600_000);

describe('tool-call receipts', () => {
  it('JSON answers: one summary per mcp_call, with the receipt or the refused scope when present', async () => {
    standIn.next((_req, res) => sendJson(res, 200, responseObject('resp_r1', [...ITEMS, messageItem('Done.')])));
    const answer = await client().run({ credential, input: 'x' });
    expect(answer.tool_calls).toEqual(EXPECTED);
    expect(answer.text).toBe('Done.');
  });

  it('streamed answers: the same summaries, once each, though items arrive in events and again in the final object', async () => {
    standIn.next((_req, res) => sendEvents(res, streamEvents('resp_r2', [...ITEMS, messageItem('Done.')])));
    const answer = await client().run({ credential, input: 'x', stream: true });
    expect(answer.tool_calls).toEqual(EXPECTED);
  });

  it('degrades, never throws, on absent or odd fields', () => {
    for (const odd of [
      { type: 'mcp_call' },
      { type: 'mcp_call', name: 7, server_label: null, output: '{not json', error: 42 },
      { type: 'mcp_call', output: JSON.stringify({ _meta: { identity: { service: 'orders-api' } } }) }, // no oid: no receipt
      { type: 'mcp_call', output: JSON.stringify({ _meta: { identity: { ...identity, name: 'x'.repeat(5000), scopes: 'Orders.Read' } } }) },
    ]) {
      const summary = toolCallFrom(odd);
      expect(summary).toBeDefined();
      expect(summary!.insufficient_scope).toBeUndefined();
    }
    expect(toolCallFrom({ type: 'mcp_call' })).toEqual({ name: '', server_label: '' });
    const long = toolCallFrom({ type: 'mcp_call', output: JSON.stringify({ _meta: { identity: { ...identity, name: 'x'.repeat(5000), scopes: 'Orders.Read' } } }) });
    expect(long!.receipt).toEqual({ ...identity, name: undefined, scopes: [] });
    expect(toolCallFrom({ type: 'message' })).toBeUndefined();
  });
});
