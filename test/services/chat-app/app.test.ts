// The Chat App in-process (app.request): real token verification against a loopback issuer's
// JWKS, the real agent client against the recording Foundry stand-in.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approvalItem, FoundryStandIn, hang, messageItem, sendEvents, sendJson, streamEvents } from './foundry-standin.js';
import { AgentClient } from '../../../lib-services/chat-app/agent-client.js';
import { createApp } from '../../../lib-services/chat-app/app.js';
import { chatSettingsFromEnv, type ChatSettings } from '../../../lib-services/chat-app/config.js';
import { readSseEvents } from '../../../lib-services/chat-app/sse.js';
import { staticFile } from '../../../lib-services/chat-app/static-files.js';
import { createTokenVerifier } from '../../../lib-services/shared/auth/index.js';
import { createLogger } from '../../../lib-services/shared/observability.js';
import { badTokenCases } from '../../support/bad-tokens.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

let issuer: TestIssuer;
let standIn: FoundryStandIn;
let settings: ChatSettings;
let app: ReturnType<typeof createApp>;
const logLines: string[] = [];

function envFor(extra: Record<string, string> = {}): Record<string, string> {
  const { AUTH_ALLOWED_CLIENT_IDS: _ignored, ...auth } = issuer.env();
  return {
    ...auth,
    SPA_CLIENT_ID: issuer.clientId,
    AUTH_AUTHORITY: 'https://login.example.test/tenant',
    FOUNDRY_PROJECT_ENDPOINT: standIn.projectEndpoint,
    AGENT_TIMEOUT_MS: '1500',
    ...extra,
  };
}

function build(s: ChatSettings) {
  return createApp({
    settings: s,
    verifier: createTokenVerifier(s.auth),
    agent: new AgentClient({ projectEndpoint: s.foundryProjectEndpoint, agentName: s.agentName, timeoutMs: s.agentTimeoutMs }),
    staticFiles: new Map([
      ['/', staticFile('<!DOCTYPE html><title>t</title>', 'text/html; charset=utf-8')],
      ['/app.js', staticFile('console.log(1)', 'text/javascript; charset=utf-8')],
    ]),
    logger: createLogger('chat-app', (line) => logLines.push(line)),
  });
}

beforeAll(async () => {
  [issuer, standIn] = await Promise.all([TestIssuer.start(), FoundryStandIn.start()]);
  settings = chatSettingsFromEnv(envFor());
  app = build(settings);
});
afterAll(async () => {
  await Promise.all([issuer.stop(), standIn.stop()]);
});
beforeEach(() => standIn.reset());

async function chat(body: unknown, init: { authorization?: string; stream?: boolean; path?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.authorization !== undefined) headers.authorization = init.authorization;
  if (init.stream) headers.accept = 'text/event-stream';
  return app.request(init.path ?? '/api/chat', { method: 'POST', headers, body: JSON.stringify(body) });
}

async function events(res: Response): Promise<{ event: string; data: any }[]> {
  const out: { event: string; data: any }[] = [];
  for await (const e of readSseEvents(res.body!)) out.push({ event: e.event, data: JSON.parse(e.data) });
  return out;
}

describe('public routes', () => {
  it('GET /health', async () => {
    const res = await app.request('/health');
    expect([res.status, await res.json()]).toEqual([200, { status: 'healthy' }]);
  });

  it('GET /api/config gives what MSAL needs and nothing else', async () => {
    const res = await app.request('/api/config');
    const body = await res.json();
    expect(body).toEqual({
      clientId: issuer.clientId,
      authority: 'https://login.example.test/tenant',
      scopes: ['https://ai.azure.com/.default'],
      knownAuthorities: ['login.example.test'],
      protocolMode: 'OIDC',
    });
    const text = JSON.stringify(body).toLowerCase();
    for (const word of ['secret', 'password', 'key', 'token', 'connection']) expect(text).not.toContain(word);
  });

  it('Entra authority: AAD protocol mode, no known authorities needed', async () => {
    const entra = build(chatSettingsFromEnv({ ...envFor(), AUTH_AUTHORITY: '' }));
    expect(await (await entra.request('/api/config')).json()).toMatchObject({
      authority: `https://login.microsoftonline.com/${issuer.tenantId}`, protocolMode: 'AAD', knownAuthorities: [],
    });
  });

  it('serves the SPA with revalidation and 304 on a matching ETag', async () => {
    const res = await app.request('/');
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const etag = res.headers.get('etag')!;
    expect((await app.request('/', { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('publishes RFC 9728 metadata for /api', async () => {
    const res = await app.request('http://chat.example.test/.well-known/oauth-protected-resource/api');
    expect(await res.json()).toEqual({
      resource: 'http://chat.example.test/api',
      authorization_servers: settings.auth.issuers,
      bearer_methods_supported: ['header'],
      scopes_supported: ['https://ai.azure.com/user_impersonation'],
    });
  });

  it('unknown routes and wrong methods answer {error, message}', async () => {
    const missing = await app.request('/nope');
    expect([missing.status, (await missing.json()).error]).toEqual([404, 'not_found']);
    const wrong = await app.request('/api/chat');
    expect([wrong.status, wrong.headers.get('allow'), (await wrong.json()).error]).toEqual([405, 'POST', 'method_not_allowed']);
  });
});

describe('security headers', () => {
  const requests: [string, () => Response | Promise<Response>][] = [
    ['GET /', () => app.request('/')],
    ['GET /app.js', () => app.request('/app.js')],
    ['GET /api/config', () => app.request('/api/config')],
    ['GET /health', () => app.request('/health')],
    ['GET /missing', () => app.request('/missing')],
    ['POST /api/chat without token', () => chat({ message: 'hi' })],
    ['POST /api/chat with a bad body', async () => chat('x', { authorization: await issuer.bearer() })],
  ];
  it.each(requests)('%s carries the strict headers', async (_name, send) => {
    const res = await send();
    const csp = res.headers.get('content-security-policy')!;
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'", 'https://login.example.test']);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers no CORS preflight', async () => {
    const res = await app.request('/api/chat', {
      method: 'OPTIONS', headers: { 'origin': 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('token checks before anything goes upstream', () => {
  it('every bad token is refused and the stand-in receives nothing', async () => {
    const cases = await badTokenCases(issuer);
    expect(cases.length).toBeGreaterThanOrEqual(20);
    for (const c of cases) {
      for (const path of ['/api/chat', '/api/chat/approve']) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (c.authorization !== undefined) headers.authorization = c.authorization;
        const res = await app.request(`${path}${c.query ? `?${c.query}` : ''}`, {
          method: 'POST', headers, body: JSON.stringify({ message: 'hi', previous_response_id: 'resp_1', approvals: [{ id: 'mcpr_1', approve: true }] }),
        });
        expect(res.status, `${c.name} on ${path}`).toBe(c.status);
        const challenge = res.headers.get('www-authenticate') ?? '';
        expect(challenge, c.name).toMatch(/^Bearer /);
        expect(challenge, c.name).toContain('resource_metadata="http://localhost/.well-known/oauth-protected-resource/api"');
        if (c.error) expect(challenge, c.name).toContain(`error="${c.error}"`);
        else expect(challenge, c.name).not.toContain('error=');
      }
    }
    expect(standIn.requests).toHaveLength(0);
  });

  it('a token from another client (azp) is refused even when everything else is right', async () => {
    const res = await chat({ message: 'hi' }, { authorization: await issuer.bearer({ claims: { azp: 'some-other-app' } }) });
    expect(res.status).toBe(401);
    expect(standIn.requests).toHaveLength(0);
  });

  it('never logs the token', async () => {
    const token = await issuer.mint();
    await chat({ message: 'hi' }, { authorization: `Bearer ${token}` });
    await chat({ message: 'hi' }, { authorization: `Bearer ${token}x` });
    expect(logLines.join('\n')).not.toContain(token.split('.')[2]);
  });
});

describe('POST /api/chat', () => {
  it('forwards exactly the user\'s token, the agent reference, input and previous_response_id', async () => {
    const token = await issuer.mint({ user: USERS.bob });
    const res = await chat({ message: 'List my orders', previous_response_id: 'resp_prev' }, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_id: expect.any(String), text: 'You said: List my orders', approvals: [], tool_calls: [] });
    expect(standIn.requests).toHaveLength(1);
    expect(standIn.requests[0].headers.authorization).toBe(`Bearer ${token}`);
    expect(standIn.requests[0].body).toEqual({
      agent_reference: { type: 'agent_reference', name: 'orders-assistant' },
      input: 'List my orders',
      previous_response_id: 'resp_prev',
    });
  });

  it.each([
    ['no message', {}],
    ['empty message', { message: '' }],
    ['blank message', { message: '   ' }],
    ['message not a string', { message: 42 }],
    ['message over 8000 characters', { message: 'x'.repeat(8001) }],
    ['bad previous_response_id', { message: 'hi', previous_response_id: 'a b<script>' }],
  ])('400 for %s, nothing forwarded', async (_name, body) => {
    const res = await chat(body, { authorization: await issuer.bearer() });
    expect(res.status).toBe(400);
    const json = await res.json();
    expect(json.error).toBe('invalid_request');
    expect(json.message).toMatch(/message|previous_response_id/);
    expect(standIn.requests).toHaveLength(0);
  });

  it('accepts exactly 8000 characters (code points)', async () => {
    const res = await chat({ message: '😀'.repeat(8000) }, { authorization: await issuer.bearer() });
    expect(res.status).toBe(200);
  });

  it('400 for a body that is not JSON, 413 for a huge body', async () => {
    const authorization = await issuer.bearer();
    const notJson = await app.request('/api/chat', { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: '{oops' });
    expect([notJson.status, (await notJson.json()).error]).toEqual([400, 'invalid_request']);
    const huge = await app.request('/api/chat', { method: 'POST', headers: { authorization }, body: JSON.stringify({ message: 'x'.repeat(70_000) }) });
    expect(huge.status).toBe(413);
    expect(standIn.requests).toHaveLength(0);
  });

  it('streams delta events in order, then one done event', async () => {
    const chunks = ['ORD-001 ', 'is ', 'delivered.'];
    standIn.next((_req, res) => sendEvents(res, streamEvents('resp_stream', [messageItem(chunks.join(''))], chunks), 2));
    const res = await chat({ message: 'status?' }, { authorization: await issuer.bearer(), stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await events(res)).toEqual([
      ...chunks.map((text) => ({ event: 'delta', data: { text } })),
      { event: 'done', data: { response_id: 'resp_stream', text: chunks.join(''), approvals: [], tool_calls: [] } },
    ]);
    expect(standIn.requests[0].body.stream).toBe(true);
  });

  it('a failure after the stream started ends it with one error event', async () => {
    standIn.next((_req, res) => sendEvents(res, [
      ...streamEvents('resp_e', [messageItem('partial')]).slice(0, 5),
      { type: 'error', code: 'server_error', message: 'boom', sequence_number: 9 },
    ]));
    const res = await chat({ message: 'x' }, { authorization: await issuer.bearer(), stream: true });
    const all = await events(res);
    expect(all.at(-1)).toEqual({ event: 'error', data: { error: 'upstream_error', message: expect.stringContaining('agent run failed') } });
    expect(all.filter((e) => e.event === 'error' || e.event === 'done')).toHaveLength(1);
  });

  it('the timeout ends a stalled stream with an error event and aborts upstream', async () => {
    standIn.next(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: response.created\ndata: ${JSON.stringify(streamEvents('resp_t', [])[0])}\n\n`);
    });
    const res = await chat({ message: 'x' }, { authorization: await issuer.bearer(), stream: true });
    expect((await events(res)).at(-1)).toEqual({ event: 'error', data: { error: 'agent_timeout', message: expect.stringMatching(/did not answer/) } });
    await standIn.waitFor(() => standIn.requests[0].aborted);
  });
});

describe('upstream failures', () => {
  it('timeout: 504 JSON, upstream aborted', async () => {
    standIn.next(hang);
    const res = await chat({ message: 'x' }, { authorization: await issuer.bearer() });
    expect([res.status, (await res.json()).error]).toEqual([504, 'agent_timeout']);
    await standIn.waitFor(() => standIn.requests[0].aborted);
  });

  it.each([401, 403])('upstream %i: 403, the user may not run the agent', async (status) => {
    standIn.next((_req, res) => sendJson(res, status, { error: { code: 'PermissionDenied' } }));
    const res = await chat({ message: 'x' }, { authorization: await issuer.bearer(), stream: true });
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body).toEqual({ error: 'agent_forbidden', message: expect.stringMatching(/may not run this agent/) });
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('upstream 429: 429 with Retry-After', async () => {
    standIn.next((_req, res) => sendJson(res, 429, {}, { 'retry-after': '30' }));
    const res = await chat({ message: 'x' }, { authorization: await issuer.bearer() });
    expect([res.status, res.headers.get('retry-after'), (await res.json()).error]).toEqual([429, '30', 'rate_limited']);
  });

  it('upstream 500: 502 with a clear message and nothing from upstream', async () => {
    standIn.next((_req, res) => sendJson(res, 500, { error: { message: 'Traceback: db password=hunter2' } }));
    const res = await chat({ message: 'x' }, { authorization: await issuer.bearer() });
    const body = await res.json();
    expect([res.status, body.error]).toEqual([502, 'upstream_error']);
    expect(JSON.stringify(body)).not.toContain('hunter2');
  });
});

describe('POST /api/chat/approve', () => {
  it('round trip: approval request to the SPA, decision back to the agent', async () => {
    const authorization = await issuer.bearer();
    const asked = await (await chat({ message: 'delete ORD-001' }, { authorization })).json();
    expect(asked).toEqual({
      response_id: expect.any(String),
      text: '',
      approvals: [{ id: expect.stringMatching(/^mcpr_/), name: 'delete-order', server_label: 'orders_mcp', arguments: { order_id: 'ORD-001' } }],
      tool_calls: [],
    });
    const res = await chat({ previous_response_id: asked.response_id, approvals: [{ id: asked.approvals[0].id, approve: true }] },
      { authorization, path: '/api/chat/approve', stream: true });
    const all = await events(res);
    expect(all.at(-1)).toEqual({ event: 'done', data: { response_id: expect.any(String), text: 'Deleted order ORD-001.', approvals: [], tool_calls: [] } });
    expect(standIn.requests[1].body).toEqual({
      agent_reference: { type: 'agent_reference', name: 'orders-assistant' },
      input: [{ type: 'mcp_approval_response', approval_request_id: asked.approvals[0].id, approve: true }],
      previous_response_id: asked.response_id,
      stream: true,
    });
    expect(standIn.requests[1].headers.authorization).toBe(authorization);
  });

  it('streams an approval request as part of done', async () => {
    standIn.next((_req, res) => sendEvents(res, streamEvents('resp_a', [messageItem('Checking.'), approvalItem('mcpr_9', 'delete-order', { order_id: 'ORD-003' })])));
    const res = await chat({ message: 'remove 3' }, { authorization: await issuer.bearer(), stream: true });
    expect((await events(res)).at(-1)?.data.approvals).toEqual([{ id: 'mcpr_9', name: 'delete-order', server_label: 'orders_mcp', arguments: { order_id: 'ORD-003' } }]);
  });

  it.each([
    ['no previous_response_id', { approvals: [{ id: 'mcpr_1', approve: true }] }],
    ['no approvals', { previous_response_id: 'resp_1' }],
    ['empty approvals', { previous_response_id: 'resp_1', approvals: [] }],
    ['approve not boolean', { previous_response_id: 'resp_1', approvals: [{ id: 'mcpr_1', approve: 'yes' }] }],
    ['id missing', { previous_response_id: 'resp_1', approvals: [{ approve: true }] }],
    ['duplicate ids', { previous_response_id: 'resp_1', approvals: [{ id: 'a', approve: true }, { id: 'a', approve: false }] }],
  ])('400 for %s', async (_name, body) => {
    const res = await chat(body, { authorization: await issuer.bearer(), path: '/api/chat/approve' });
    expect([res.status, (await res.json()).error]).toEqual([400, 'invalid_request']);
    expect(standIn.requests).toHaveLength(0);
  });
});

describe('configuration', () => {
  const base = () => envFor();
  it.each([
    ['SPA_CLIENT_ID', { SPA_CLIENT_ID: '' }],
    ['FOUNDRY_PROJECT_ENDPOINT', { FOUNDRY_PROJECT_ENDPOINT: '' }],
    ['FOUNDRY_PROJECT_ENDPOINT', { FOUNDRY_PROJECT_ENDPOINT: 'http://foundry.example.com/api/projects/p' }],
    ['AUTH_AUTHORITY', { AUTH_AUTHORITY: '', AUTH_TENANT_ID: '' }],
    ['AUTH_AUTHORITY', { AUTH_AUTHORITY: 'http://127.0.0.1:4443' }],
    ['AUTH_TENANT_ID', { AUTH_TENANT_ID: '', AUTH_ISSUERS: '' }],
    ['AUTH_ALLOWED_CLIENT_IDS', { AUTH_ALLOWED_CLIENT_IDS: 'another-client' }],
    ['AGENT_TIMEOUT_MS', { AGENT_TIMEOUT_MS: '-5' }],
    ['PORT', { PORT: 'eighty' }],
    ['AGENT_NAME', { AGENT_NAME: 'bad name' }],
  ])('refuses to start: %s', (variable, override) => {
    let error: any;
    try {
      chatSettingsFromEnv({ ...base(), ...override });
    } catch (e) {
      error = e;
    }
    expect(error?.name).toBe('ConfigError');
    expect(error.variable).toBe(variable);
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain(variable);
  });

  it('defaults', () => {
    const s = chatSettingsFromEnv({ SPA_CLIENT_ID: 'spa', AUTH_TENANT_ID: issuer.tenantId, FOUNDRY_PROJECT_ENDPOINT: 'https://a.services.ai.azure.com/api/projects/p/' });
    expect(s).toMatchObject({
      port: 8080,
      agentName: 'orders-assistant',
      agentTimeoutMs: 120_000,
      agentReferenceKey: 'agent_reference',
      foundryProjectEndpoint: 'https://a.services.ai.azure.com/api/projects/p',
      msal: { authority: `https://login.microsoftonline.com/${issuer.tenantId}`, scopes: ['https://ai.azure.com/.default'], protocolMode: 'AAD', knownAuthorities: [] },
    });
    expect(s.auth).toMatchObject({ audiences: ['https://ai.azure.com'], allowedClientIds: ['spa'] });
  });
});
