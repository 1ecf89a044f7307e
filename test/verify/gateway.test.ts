// verify's API Management checks against the local chain behind a gateway stand-in (API
// Management is the Azure boundary: the stand-in answers what the stack's policies answer: the
// RFC 9728 documents at both MCP forms and /orders-api, a 401 naming them, and the forwarded call).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ordersApiSource, userSource } from './local-sources';
import { startLocalChain, type LocalChain, type LocalChainOptions } from '../../lib-services/local/chain';
import { localOutputs } from '../../lib-services/local/outputs';
import { freePort } from '../../lib-services/shared/net';
import { parseOutputs, type StackOutputs } from '../../lib-services/verify/outputs';
import { runVerify, type VerifyReport } from '../../lib-services/verify/run';

const ready = existsSync('lib-services/dist/orders-api/server.mjs') && existsSync('lib-services/dist/chat-app/server.mjs');

/** What the gateway's policies serve and forward (src/gateway/gateway.ts, policies.ts), on loopback. */
function gatewayStandIn(gateway: string, backend: () => string, issuer: () => string, scopes: () => string[]) {
  const app = new Hono();
  const doc = (resource: string) => ({ resource, authorization_servers: [issuer()], bearer_methods_supported: ['header'], scopes_supported: scopes() });
  const mcpMetadata = `${gateway}/.well-known/oauth-protected-resource/orders-mcp/mcp`;
  const restMetadata = `${gateway}/.well-known/oauth-protected-resource/orders-api`;
  app.get('/.well-known/oauth-protected-resource/orders-mcp/mcp', (c) => c.json(doc(`${gateway}/orders-mcp/mcp`)));
  app.get('/.well-known/oauth-protected-resource/orders-api', (c) => c.json(doc(`${gateway}/orders-api`)));
  app.get('/orders-mcp/.well-known/oauth-protected-resource', (c) => c.json(doc(`${gateway}/orders-mcp/mcp`)));
  const forward = (prefix: string, metadata: string) => async (c: { req: { raw: Request; header(n: string): string | undefined } }) => {
    if (!c.req.header('authorization')) {
      return Response.json({ error: 'unauthorized', message: 'A bearer token is required.' }, { status: 401, headers: { 'WWW-Authenticate': `Bearer resource_metadata="${metadata}"` } });
    }
    const url = new URL(c.req.raw.url);
    const headers = new Headers(c.req.raw.headers);
    headers.delete('x-gateway-authorization');
    headers.delete('host');
    const method = c.req.raw.method;
    const res = await fetch(`${backend()}${url.pathname.slice(prefix.length)}${url.search}`, {
      method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : await c.req.raw.arrayBuffer(),
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  };
  app.all('/orders-mcp/mcp', forward('/orders-mcp', mcpMetadata));
  app.all('/orders-api/*', forward('/orders-api', restMetadata));
  // API Management's own answer for a path no API serves.
  app.notFound(() => Response.json({ statusCode: 404, message: 'Resource not found' }, { status: 404 }));
  return app;
}

describe.skipIf(!ready && !process.env.CI)('verify behind API Management (stand-in)', () => {
  let chain: LocalChain;
  let server: ServerType;
  let gateway: string;
  const dirs: string[] = [];
  const overrides: NonNullable<LocalChainOptions['serviceEnvOverrides']> = {};
  const issued: string[] = [];

  const outputs = (proof: boolean): StackOutputs => parseOutputs(JSON.stringify({
    ...localOutputs(chain),
    apim_gateway_url: { value: gateway, type: 'string', sensitive: false },
    mcp_endpoint: { value: `${gateway}/orders-mcp/mcp`, type: 'string', sensitive: false },
    orders_api_gateway_proof: { value: proof, type: 'bool', sensitive: false },
  }), 'test outputs');
  // Alice, and (the chain's default, audience-bound mode) her token for the Orders API as the agent runtime obtains it.
  const verify = (o: StackOutputs) => runVerify({ outputs: o, tokenSource: userSource(chain, 'alice', { issued }), mcpTokenSource: ordersApiSource(chain, 'alice', { issued }), chatTimeoutMs: 20_000 });
  const statuses = (r: VerifyReport) => Object.fromEntries(r.results.map((x) => [x.id, x.status]));
  const result = (r: VerifyReport, id: string) => r.results.find((x) => x.id === id)!;
  // The Orders API's public bases as the stack sets them behind the gateway.
  const asDeployed = () => ({ PUBLIC_BASE_URL: `${gateway}/orders-mcp`, PUBLIC_REST_BASE_URL: `${gateway}/orders-api` });

  beforeAll(async () => {
    const port = await freePort();
    gateway = `http://127.0.0.1:${port}`;
    const scopes = () => localOutputs(chain).orders_api_scopes.value as string[];
    const app = gatewayStandIn(gateway, () => chain.urls.ordersApi, () => chain.oidc.issuer, scopes);
    server = await new Promise<ServerType>((ok) => { const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => ok(s)); });
    dirs.push(mkdtempSync(join(tmpdir(), 'verify-gw-')));
    // As deployed: the Orders API names the gateway in its metadata (MCP and REST bases), and the agent calls the gateway.
    overrides['orders-api'] = asDeployed();
    chain = await startLocalChain({ stateDir: dirs[0], onServiceLine: () => undefined, serviceEnvOverrides: overrides, agentMcpUrl: `${gateway}/orders-mcp/mcp` });
    setDefaultCACertificates([...getCACertificates('default'), readFileSync(chain.oidc.caCertPath, 'utf8')]);
  }, 60_000);

  afterAll(async () => {
    await chain?.stop();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('passes the gateway\'s metadata (both MCP forms, /orders-api) and challenges, MCP and the chat through it', async () => {
    const report = await verify(outputs(false));
    expect(statuses(report)).toMatchObject({
      'apim.tls': 'pass',
      'metadata.mcp': 'pass',
      'metadata.mcp-appended': 'pass',
      'metadata.orders-rest': 'pass',
      'metadata.orders-api': 'pass',
      'challenge.mcp': 'pass',
      'challenge.orders-rest': 'pass',
      'challenge.orders-api-mcp': 'pass',
      'token.user': 'pass',
      'token.mcp': 'pass',
      'orders-api.gateway-proof': 'skip',
      'foundry.agent': 'pass',
      'mcp.user-token-refused': 'pass',
      'mcp.tools-list': 'pass',
      'chat.round-trip': 'pass',
    });
    expect(result(report, 'challenge.mcp').detail).toContain(`401 names ${gateway}/.well-known/oauth-protected-resource/orders-mcp/mcp`);
    expect(result(report, 'metadata.mcp-appended').url).toBe(`${gateway}/orders-mcp/.well-known/oauth-protected-resource`);
    // Through the gateway too, the user's own token is refused and the Orders API token is served.
    expect(result(report, 'mcp.user-token-refused').hop).toBe('API Management');
    expect(result(report, 'mcp.tools-list').detail).toContain('list-orders');
    // The Orders API's own REST challenge names the gateway's /orders-api metadata (PUBLIC_REST_BASE_URL), which it serves.
    const rest = result(report, 'challenge.orders-api-rest');
    expect([rest.status, rest.detail]).toEqual(['pass', `401 names ${gateway}/.well-known/oauth-protected-resource/orders-api (resource ${gateway}/orders-api)`]);
    expect(result(report, 'metadata.orders-api').detail).toContain(`resources ${gateway}/orders-api and ${gateway}/orders-mcp/mcp`);
    expect(report.firstFailure).toBeUndefined();
  }, 60_000);

  it('without PUBLIC_REST_BASE_URL (REST on the MCP base): the Orders API\'s REST challenge names a URL the gateway does not serve', async () => {
    overrides['orders-api'] = { PUBLIC_BASE_URL: `${gateway}/orders-mcp` };
    await chain.startService('orders-api');
    try {
      const report = await verify(outputs(false));
      const rest = result(report, 'challenge.orders-api-rest');
      expect(rest.status).toBe('fail');
      expect(rest.detail).toContain(`the challenge names ${gateway}/.well-known/oauth-protected-resource/orders-mcp, which answers 404`);
      expect(rest.hint).toContain(`PUBLIC_REST_BASE_URL, which must be ${gateway}/orders-api`);
      const own = result(report, 'metadata.orders-api');
      expect([own.status, own.detail]).toEqual(['fail', expect.stringContaining(`resource is "${gateway}/orders-mcp", expected ${gateway}/orders-api`)]);
    } finally {
      overrides['orders-api'] = asDeployed();
      await chain.startService('orders-api');
    }
  }, 60_000);

  it('gateway proof in the outputs but not enforced: fails, the Orders API served a direct call with the Orders API token', async () => {
    const report = await verify(outputs(true));
    const proof = result(report, 'orders-api.gateway-proof');
    expect([proof.status, proof.httpStatus]).toEqual(['fail', 200]);
    expect(proof.detail).toContain('a direct call with the user\'s Orders API token was served');
    expect(proof.hint).toContain('set GATEWAY_AUDIENCE and GATEWAY_PRINCIPAL_IDS');
  }, 60_000);

  it('gateway proof enforced but the gateway attaches no token: the direct call is refused, MCP through the gateway fails with gateway_required', async () => {
    overrides['orders-api'] = { ...overrides['orders-api'], GATEWAY_AUDIENCE: 'api://orders-gateway', GATEWAY_PRINCIPAL_IDS: '9a7e0000-0000-4000-8000-0000000000a1' };
    await chain.startService('orders-api');
    try {
      const report = await verify(outputs(true));
      const proof = result(report, 'orders-api.gateway-proof');
      expect([proof.status, proof.httpStatus, proof.code]).toEqual(['pass', 403, 'gateway_required']);
      const mcp = result(report, 'mcp.tools-list');
      expect([mcp.status, mcp.httpStatus, mcp.code]).toEqual(['fail', 403, 'gateway_required']);
      expect(mcp.hint).toContain('API Management did not attach its gateway token');
      expect(result(report, 'chat.round-trip').status).toBe('warn');
    } finally {
      overrides['orders-api'] = asDeployed();
      await chain.startService('orders-api');
    }
    expect(issued.length).toBeGreaterThan(0);
  }, 60_000);
});
