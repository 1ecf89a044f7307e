// The checks, in the order a request travels: endpoints, the identity provider, the RFC 9728
// metadata and challenges, then (with a user token) the token, the agent, MCP and a real chat.
import { aadstsHint, foundryForbiddenHint } from './hints';
import { challengeParams, isTlsOrLoopback, metadataUrlOf, request, serviceError, transportHint, TransportError, type Answer } from './http';
import { listMcpTools, McpRefusal } from './mcp-client';
import type { StackOutputs } from './outputs';
import { claimsOf, OIDC_SCOPES, TokenError } from './tokens';

export type Status = 'pass' | 'fail' | 'warn' | 'skip';

export interface Outcome {
  status: Status;
  detail: string;
  hint?: string;
  url?: string;
  httpStatus?: number;
  /** The service's own error code (AADSTS…, Foundry's error.code, APIM's, the services' `error`). */
  code?: string;
}

export interface VerifyContext {
  outputs: StackOutputs;
  /** The user's token for the Chat App and Foundry; undefined when none was given. */
  userToken?: () => Promise<string>;
  /**
   * The token for the MCP endpoint: in audience-bound mode one for the Orders API's audience,
   * obtained by the agent's client (undefined when none was given); else the user's token.
   */
  mcpToken?: () => Promise<string>;
  chatMessage: string;
  chatTimeoutMs: number;
  /** Facts earlier checks learned for later ones. */
  state: {
    issuer?: string;
    acceptedIssuers?: string[];
    userOid?: string;
    userClientMatches?: boolean;
  };
}

export interface Check {
  id: string;
  hop: string;
  title: string;
  /** Ids of checks that must not have failed or been skipped. */
  needs?: string[];
  /** A reason to skip, or undefined to run. */
  skip?(ctx: VerifyContext): string | undefined;
  run(ctx: VerifyContext): Promise<Outcome>;
}

const pass = (detail: string, extra: Partial<Outcome> = {}): Outcome => ({ status: 'pass', detail, ...extra });
const fail = (detail: string, hint: string | undefined, extra: Partial<Outcome> = {}): Outcome => ({ status: 'fail', detail, hint, ...extra });

/** A failed answer as an outcome: the status, the service's code and message. */
function refused(answer: Answer, what: string, hint: string): Outcome {
  const { code, message } = serviceError(answer);
  return fail(`${what} answered ${answer.status}${code ? ` ${code}` : ''}${message ? `: ${message.slice(0, 240)}` : ''}`, aadstsHint(code?.startsWith('AADSTS') ? code : undefined) ?? hint,
    { httpStatus: answer.status, code, url: answer.url });
}

/** Runs a check body; transport and token failures become outcomes with their hints. */
export async function guarded(what: string, body: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof TransportError) return fail(err.message, transportHint(err, what), { url: err.url, code: err.code });
    if (err instanceof TokenError) return fail(err.message, aadstsHint(err.code) ?? 'check the token source (--token-command, --token-file or --device-code).', { code: err.code });
    return fail(`${what}: ${(err as Error).message}`, undefined);
  }
}

const ENTRA_HOSTS = /^login\.(microsoftonline\.(com|us)|partner\.microsoftonline\.cn|chinacloudapi\.cn)$/;
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
const stripMcp = (url: string) => url.replace(/\/mcp$/, '');

function authorityOf(o: StackOutputs): string | undefined {
  return o.authority ?? (o.tenantId ? `https://login.microsoftonline.com/${o.tenantId}` : undefined);
}

function userAudiences(o: StackOutputs): string[] {
  return o.chatAppAudiences ?? ['https://ai.azure.com'];
}

/** Resource scopes for the user's token (the sign-in scopes are the token source's business). */
export function userScopes(o: StackOutputs): string[] {
  const scopes = (o.spaScopes ?? []).filter((s) => !OIDC_SCOPES.has(s));
  return scopes.length ? scopes : [`${userAudiences(o)[0]}/.default`];
}

/** The scope verify asks for to call the MCP endpoint in audience-bound mode (the read scope, else `.default`). */
export function mcpScopes(o: StackOutputs): string[] {
  const read = o.ordersApiScopes?.find((s) => /read/i.test(s) && !/write/i.test(s)) ?? o.ordersApiScopes?.[0];
  return [read ?? `${(o.mcpAudiences ?? userAudiences(o))[0]}/.default`];
}

async function health(name: string, base: string): Promise<Outcome> {
  return guarded(name, async () => {
    if (!isTlsOrLoopback(base)) return fail(`${base} is not https`, `${name} must be served over TLS: check the Container App ingress (allowInsecure off) and the output.`);
    const answer = await request(`${base}/health`);
    const body = answer.json as { status?: unknown } | undefined;
    if (answer.status === 200 && body?.status === 'healthy') return pass(`${new URL(base).protocol === 'https:' ? 'TLS, ' : 'loopback http, '}GET /health 200 healthy`, { httpStatus: 200, url: answer.url });
    return refused(answer, `${name} /health`, answer.status === 403
      ? `${name} ingress refused this machine (IP restrictions such as containerApps.ordersApiAllowedIpRanges): run verify from an allowed network.`
      : `${name} is up but not healthy: read its logs (Container Apps console logs, or the [${name}] lines of npm run local).`);
  });
}

/** Reachable over TLS; any HTTP answer counts (the service has no health route of ours). */
async function answersOverTls(name: string, url: string): Promise<Outcome> {
  return guarded(name, async () => {
    if (!isTlsOrLoopback(url)) return fail(`${url} is not https`, `${name} must be reached over TLS: the output is wrong.`);
    const answer = await request(url);
    return pass(`${new URL(url).protocol === 'https:' ? 'TLS' : 'loopback http'}, answers (${answer.status})`, { httpStatus: answer.status, url });
  });
}

interface MetadataExpectation { resource: string; where: string; fixResource: string }

async function metadata(ctx: VerifyContext, url: string, e: MetadataExpectation): Promise<Outcome> {
  return guarded(e.where, async () => {
    const answer = await request(url);
    if (answer.status !== 200) {
      return refused(answer, e.where, answer.status === 404
        ? `nothing serves RFC 9728 metadata at ${url}: ${e.fixResource}`
        : `the metadata must be served anonymously with 200: ${e.fixResource}`);
    }
    const doc = answer.json as Record<string, unknown> | undefined;
    if (!doc || typeof doc !== 'object') return fail(`${url} answered 200 but not JSON`, `the metadata must be application/json: ${e.fixResource}`, { httpStatus: 200, url });
    const problems: string[] = [];
    const hints: string[] = [];
    if (doc.resource !== e.resource) {
      problems.push(`resource is ${JSON.stringify(doc.resource)}, expected ${e.resource} (RFC 9728 §3.3: the URL clients call)`);
      hints.push(e.fixResource);
    }
    const servers = Array.isArray(doc.authorization_servers) ? doc.authorization_servers.map(String) : [];
    const tenant = ctx.outputs.tenantId;
    const before = problems.length;
    if (servers.length === 0) {
      problems.push('authorization_servers is empty');
    } else {
      if (ctx.state.issuer && !servers.includes(ctx.state.issuer)) problems.push(`authorization_servers ${servers.join(', ')} lack the tenant's issuer ${ctx.state.issuer}`);
      const foreign = servers.filter((s) => s !== ctx.state.issuer && !(tenant && s.includes(tenant)));
      if (foreign.length && (tenant || ctx.state.issuer)) problems.push(`authorization_servers name issuers of another tenant: ${foreign.join(', ')}`);
    }
    if (problems.length > before) {
      hints.push('the accepted issuers come from the tenant (AUTH_TENANT_ID / AUTH_ISSUERS of the Orders API, the APIM named value orders-tenant-id): they must be the stack\'s tenant_id');
    }
    const scopes = Array.isArray(doc.scopes_supported) ? doc.scopes_supported.map(String) : [];
    if (ctx.outputs.ordersApiScopes && !sameSet(scopes, ctx.outputs.ordersApiScopes)) {
      problems.push(`scopes_supported is [${scopes.join(', ')}], the stack expects [${ctx.outputs.ordersApiScopes.join(', ')}]`);
      hints.push('the scopes a client is told to ask for must be the ones the API checks: align the Orders API\'s AUTH_REQUIRED_SCOPES / ORDERS_READ_SCOPES / ORDERS_WRITE_SCOPES, the gateway\'s requiredScopes and the registration\'s scopes (orders_api_scopes output)');
    }
    if (problems.length) return fail(problems.join('; '), hints.join('; ') || undefined, { httpStatus: 200, url });
    return pass(`resource ${e.resource}, ${servers.length} authorization server(s), scopes ${scopes.join(' ') || '(none)'}`, { httpStatus: 200, url });
  });
}

/** A call without a token must get 401 with a challenge whose metadata URL serves a document for one of `resources`. */
async function challenge(url: string, init: RequestInit, resources: string[], where: string, fix: string): Promise<Outcome> {
  return guarded(where, async () => {
    const answer = await request(url, init);
    if (answer.status >= 200 && answer.status < 300) {
      return fail(`${where} answered ${answer.status} without a token`, `${where} must refuse anonymous calls: its bearer validation is off or bypassed (${fix}).`, { httpStatus: answer.status, url });
    }
    if (answer.status !== 401) return refused(answer, where, `a request without a token must get 401 with a Bearer challenge (${fix}).`);
    const header = answer.headers.get('www-authenticate');
    const named = challengeParams(header).resource_metadata;
    if (!named) {
      return fail(`401 without resource_metadata (WWW-Authenticate: ${header ?? 'absent'})`, `the 401 must name the RFC 9728 metadata (MCP authorization, RFC 9728 §5.1): ${fix}.`, { httpStatus: 401, url, code: serviceError(answer).code });
    }
    let doc: Answer;
    try {
      doc = await request(named);
    } catch (err) {
      if (err instanceof TransportError) return fail(`the challenge names ${named}, which cannot be reached: ${err.message}`, fix, { httpStatus: 401, url });
      throw err;
    }
    const resource = (doc.json as { resource?: unknown } | undefined)?.resource;
    if (doc.status !== 200 || typeof resource !== 'string') {
      return fail(`the challenge names ${named}, which answers ${doc.status}${typeof resource === 'string' ? '' : ' without a resource'}`, `the 401 must name a metadata URL that is served: ${fix}.`, { httpStatus: doc.status, url: named });
    }
    if (!resources.includes(resource)) {
      return fail(`the challenge names ${named}, whose resource ${resource} is not ${resources.join(' or ')}`, fix, { httpStatus: 401, url });
    }
    return pass(`401 names ${named} (resource ${resource})`, { httpStatus: 401, url });
  });
}

const MCP_INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'verify', version: '0' } } });
const MCP_POST: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json', 'accept': 'application/json, text/event-stream' }, body: MCP_INITIALIZE };

const needsToken = (ctx: VerifyContext) => (ctx.userToken ? undefined : 'no user token given (--token-command, --token-file, --device-code or --local)');

/** Audience-bound mode without a token for the Orders API: why the direct MCP checks cannot run. */
function needsMcpToken(ctx: VerifyContext): string | undefined {
  const o = ctx.outputs;
  if (ctx.mcpToken || o.mcpAuthMode !== 'audience-bound') return undefined;
  const clients = o.mcpAllowedClientIds?.length ? `the client(s) ${o.mcpAllowedClientIds.join(', ')}` : 'the agent\'s client (in Azure: the one Foundry uses for the UserEntraToken connection; which app id that is remains unproven)';
  return `no token for the Orders API given: in audience-bound mode the MCP endpoint accepts only a token for ${(o.mcpAudiences ?? ['the Orders API']).join(' or ')} obtained for the user by ${clients}, which a user cannot request for themselves. `
    + 'Pass one with --mcp-token-file or --mcp-token-command to check the endpoint directly (--local obtains one by the agent runtime\'s token exchange); the chat round trip checks this hop through the agent.';
}

function describeClaims(c: Record<string, unknown>): string {
  const exp = typeof c.exp === 'number' ? Math.round((c.exp * 1000 - Date.now()) / 60_000) : undefined;
  return [`aud ${JSON.stringify(c.aud)}`, `tid ${c.tid}`, `scp "${c.scp ?? ''}"`, `azp ${c.azp ?? c.appid}`, `oid ${c.oid}`,
    ...(c.name || c.preferred_username ? [`user ${c.name ?? c.preferred_username}`] : []), ...(exp !== undefined ? [`expires in ${exp} min`] : [])].join(', ');
}

/** Problems of a token's claims against what a hop accepts. */
function claimProblems(
  c: Record<string, unknown>, o: StackOutputs, ctx: VerifyContext, audiences: string[], scopes: string[] | undefined, scopeHint: string,
): { problems: string[]; hints: string[] } {
  const problems: string[] = [];
  const hints: string[] = [];
  const aud = Array.isArray(c.aud) ? c.aud.map(String) : [String(c.aud)];
  if (!aud.some((a) => audiences.includes(a))) {
    problems.push(`aud is ${aud.join(', ')}, expected ${audiences.join(' or ')}`);
    hints.push(`ask for a token for ${audiences[0]} (scope ${audiences[0]}/.default or a scope it defines)`);
  }
  if (o.tenantId && c.tid !== o.tenantId) {
    problems.push(`tid is ${c.tid}, expected ${o.tenantId}`);
    hints.push(`sign in to the stack's tenant ${o.tenantId}`);
  }
  if (ctx.state.acceptedIssuers && !ctx.state.acceptedIssuers.includes(String(c.iss))) {
    problems.push(`iss is ${c.iss}, the stack accepts ${ctx.state.acceptedIssuers.join(', ')}`);
    hints.push('get the token from the stack\'s tenant (authority output)');
  }
  const granted = String(c.scp ?? '').split(' ').filter(Boolean);
  const appOnly = granted.length === 0 && (c.idtyp === 'app' || (!c.name && !c.preferred_username && !c.upn));
  if (appOnly) {
    problems.push('no scp: an app-only token, which no hop accepts');
    hints.push('use a delegated token, signed in as a user');
  } else if (granted.length === 0 && !scopes?.length) {
    problems.push('no scp: the token carries no delegated scope');
    hints.push(scopeHint);
  } else if (scopes?.length && !scopes.some((s) => granted.includes(s))) {
    problems.push(`scp "${granted.join(' ')}" holds none of ${scopes.join(', ')}`);
    hints.push(scopeHint);
  }
  if (typeof c.exp === 'number' && c.exp * 1000 < Date.now()) {
    problems.push('the token has expired');
    hints.push('get a fresh token');
  }
  return { problems, hints };
}

const shortScope = (s: string) => s.split('/').pop() ?? s;

export function buildChecks(o: StackOutputs): Check[] {
  const apim = o.apimGatewayUrl;
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const ordersBase = stripMcp(o.mcpEndpoint);
  // Behind API Management the REST routes' public base is /orders-api (PUBLIC_REST_BASE_URL), not /orders-mcp.
  const restBase = apim ? `${apim}/orders-api` : ordersBase;
  const authority = authorityOf(o);
  const idp = !authority || ENTRA_HOSTS.test(new URL(authority).hostname) ? 'Entra ID' : 'OpenID provider';

  // 1. Every endpoint answers over TLS; the services' health routes are healthy.
  add({ id: 'chat-app.health', hop: 'Chat App', title: 'Chat App answers over TLS and is healthy', run: () => health('the Chat App', o.chatAppUrl) });
  add({ id: 'orders-api.health', hop: 'Orders API', title: 'Orders API answers over TLS and is healthy', run: () => health('the Orders API', o.ordersApiUrl) });
  if (apim) add({ id: 'apim.tls', hop: 'API Management', title: 'API Management answers over TLS', run: () => answersOverTls('API Management', apim) });
  add({ id: 'foundry.tls', hop: 'Foundry', title: 'Foundry project endpoint answers over TLS', run: () => answersOverTls('the Foundry project endpoint', o.foundryProjectEndpoint) });

  // 2. The tenant's OpenID configuration.
  add({
    id: 'openid.configuration',
    hop: idp,
    title: 'the tenant\'s OpenID configuration and keys',
    skip: () => (authority ? undefined : 'needs the tenant_id or authority output'),
    run: (ctx) => guarded('the identity provider', async () => {
      const base = authority!.replace(/\/+$/, '');
      const entra = ENTRA_HOSTS.test(new URL(base).hostname);
      // MSAL's discovery rule: Entra authorities use the v2.0 endpoint, other OpenID providers the authority itself.
      const url = `${base}${entra ? '/v2.0' : ''}/.well-known/openid-configuration`;
      const answer = await request(url);
      if (answer.status !== 200) return refused(answer, 'the OpenID configuration', 'the authority or tenant_id output is wrong');
      const doc = answer.json as Record<string, unknown> | undefined;
      const issuer = typeof doc?.issuer === 'string' ? doc.issuer : undefined;
      const expected = entra ? `${new URL(base).origin}/${o.tenantId ?? new URL(base).pathname.split('/')[1]}/v2.0` : base;
      if (!issuer || issuer !== expected) return fail(`issuer is ${JSON.stringify(issuer)}, expected ${expected}`, 'the authority names another tenant or provider: check the authority and tenant_id outputs', { httpStatus: 200, url });
      const jwksUri = typeof doc?.jwks_uri === 'string' ? doc.jwks_uri : undefined;
      if (!jwksUri) return fail('the configuration has no jwks_uri', 'not an OpenID provider configuration', { httpStatus: 200, url });
      const keys = await request(jwksUri);
      const count = Array.isArray((keys.json as { keys?: unknown[] } | undefined)?.keys) ? (keys.json as { keys: unknown[] }).keys.length : 0;
      if (keys.status !== 200 || count === 0) return refused(keys, 'the JWKS', 'the provider publishes no signing keys: tokens cannot be validated');
      ctx.state.issuer = issuer;
      // Entra issues v1 or v2 tokens depending on the resource: both issuers are the tenant's.
      ctx.state.acceptedIssuers = entra && o.tenantId ? [issuer, `https://sts.windows.net/${o.tenantId}/`] : [issuer];
      return pass(`issuer ${issuer}, ${count} signing key(s)`, { httpStatus: 200, url });
    }),
  });

  // 3. What the Chat App tells MSAL.
  add({
    id: 'chat-app.config',
    hop: 'Chat App',
    title: 'Chat App /api/config agrees with the outputs',
    needs: ['chat-app.health'],
    run: () => guarded('the Chat App', async () => {
      const answer = await request(`${o.chatAppUrl}/api/config`);
      if (answer.status !== 200) return refused(answer, 'GET /api/config', 'the Chat App image may be older than this library: rebuild and apply');
      const cfg = (answer.json ?? {}) as { clientId?: unknown; authority?: unknown; scopes?: unknown };
      const problems: string[] = [];
      if (cfg.clientId !== o.spaClientId) problems.push(`clientId is ${JSON.stringify(cfg.clientId)}, the SPA registration is ${o.spaClientId}`);
      if (authority && String(cfg.authority ?? '').replace(/\/+$/, '') !== authority.replace(/\/+$/, '')) problems.push(`authority is ${JSON.stringify(cfg.authority)}, expected ${authority}`);
      const scopes = Array.isArray(cfg.scopes) ? cfg.scopes.map(String) : [];
      if (o.spaScopes && !sameSet(scopes, o.spaScopes)) problems.push(`scopes are [${scopes.join(', ')}], expected [${o.spaScopes.join(', ')}]`);
      if (problems.length) return fail(problems.join('; '), 'the Chat App runs with other settings than the stack outputs (SPA_CLIENT_ID, AUTH_AUTHORITY, AUTH_SCOPES): a stale revision or hand-edited settings; apply again', { httpStatus: 200, url: answer.url });
      return pass(`clientId ${o.spaClientId}, scopes ${scopes.join(' ')}`, { httpStatus: 200, url: answer.url });
    }),
  });

  // 4. RFC 9728 metadata at every URL the stack serves.
  const mcpFix = apim
    ? 'API Management serves it from the oauth-protected-resource API (named values orders-mcp-resource / orders-mcp-metadata-url): re-apply the gateway'
    : `the Orders API derives it from PUBLIC_BASE_URL, which must be ${ordersBase}`;
  add({ id: 'metadata.mcp', hop: apim ? 'API Management' : 'Orders API', title: 'RFC 9728 metadata of the MCP endpoint (path-inserted)', run: (ctx) => metadata(ctx, metadataUrlOf(o.mcpEndpoint), { resource: o.mcpEndpoint, where: 'the MCP metadata', fixResource: mcpFix }) });
  if (apim) {
    add({ id: 'metadata.mcp-appended', hop: 'API Management', title: 'RFC 9728 metadata of the MCP endpoint (path-appended, original form)', run: (ctx) => metadata(ctx, `${ordersBase}/.well-known/oauth-protected-resource`, { resource: o.mcpEndpoint, where: 'the path-appended MCP metadata', fixResource: 'API Management serves it from the orders-mcp-well-known API: re-apply the gateway' }) });
    add({ id: 'metadata.orders-rest', hop: 'API Management', title: 'RFC 9728 metadata of /orders-api', run: (ctx) => metadata(ctx, metadataUrlOf(`${apim}/orders-api`), { resource: `${apim}/orders-api`, where: 'the /orders-api metadata', fixResource: 'API Management serves it from the oauth-protected-resource API (named value orders-api-resource): re-apply the gateway' }) });
  }
  const ownFix = `the Orders API derives it from PUBLIC_BASE_URL, which must be ${ordersBase}${apim ? ' (the gateway\'s /orders-mcp)' : ''}`;
  const ownRestFix = apim ? `the Orders API derives it from PUBLIC_REST_BASE_URL, which must be ${restBase} (the gateway's /orders-api)` : ownFix;
  add({
    id: 'metadata.orders-api',
    hop: 'Orders API',
    title: 'the Orders API\'s own RFC 9728 metadata',
    needs: ['orders-api.health'],
    run: async (ctx) => {
      const root = await metadata(ctx, `${o.ordersApiUrl}/.well-known/oauth-protected-resource`, { resource: restBase, where: 'the Orders API\'s metadata', fixResource: ownRestFix });
      if (root.status !== 'pass') return root;
      const mcp = await metadata(ctx, `${o.ordersApiUrl}/.well-known/oauth-protected-resource/mcp`, { resource: o.mcpEndpoint, where: 'the Orders API\'s MCP metadata', fixResource: ownFix });
      return mcp.status === 'pass' ? pass(`both documents: resources ${restBase} and ${o.mcpEndpoint}`, { httpStatus: 200, url: o.ordersApiUrl }) : mcp;
    },
  });

  // 5. The 401 challenges name the right metadata.
  const mcpChallengeFix = apim ? 'the /orders-mcp policy\'s challenge (named value orders-mcp-metadata-url)' : ownFix;
  add({ id: 'challenge.mcp', hop: apim ? 'API Management' : 'Orders API', title: 'MCP endpoint: 401 challenge names its metadata', run: () => challenge(o.mcpEndpoint, MCP_POST, [o.mcpEndpoint], 'the MCP endpoint', mcpChallengeFix) });
  if (apim) {
    add({ id: 'challenge.orders-rest', hop: 'API Management', title: '/orders-api: 401 challenge names its metadata', run: () => challenge(`${apim}/orders-api/orders`, {}, [`${apim}/orders-api`], '/orders-api', 'the /orders-api policy\'s challenge (named value orders-api-metadata-url)') });
    add({ id: 'challenge.orders-api-mcp', hop: 'Orders API', title: 'Orders API /mcp: 401 challenge names its metadata', needs: ['orders-api.health'], run: () => challenge(`${o.ordersApiUrl}/mcp`, MCP_POST, [o.mcpEndpoint], 'the Orders API /mcp', ownFix) });
  }
  add({ id: 'challenge.orders-api-rest', hop: 'Orders API', title: 'Orders API /orders: 401 challenge names its metadata', needs: ['orders-api.health'], run: () => challenge(`${o.ordersApiUrl}/orders`, {}, [restBase], 'the Orders API /orders', ownRestFix) });

  // 6. With the user's token.
  add({
    id: 'token.user',
    hop: idp,
    title: 'a user token for the Chat App',
    skip: needsToken,
    run: (ctx) => guarded('the token source', async () => {
      const c = claimsOf(await ctx.userToken!());
      ctx.state.userOid = typeof c.oid === 'string' ? c.oid : undefined;
      const { problems, hints } = claimProblems(c, o, ctx, userAudiences(o), o.chatAppRequiredScopes,
        `the SPA registration needs the delegated permission${o.chatAppRequiredScopes ? ` ${o.chatAppRequiredScopes.join('/')}` : ''} and consent; ask for ${userScopes(o).join(' ')}`);
      if (problems.length) return fail(problems.join('; '), hints.join('; '));
      const client = String(c.azp ?? c.appid ?? '');
      ctx.state.userClientMatches = client === o.spaClientId;
      if (!ctx.state.userClientMatches) {
        return { status: 'warn', detail: `${describeClaims(c)}: issued to client ${client}, not the SPA ${o.spaClientId}`, hint: 'the Chat App accepts only tokens the SPA obtained (azp = spa_client_id), so the chat round trip is skipped; pass such a token (--token-file, or --device-code --client-id when the SPA allows public-client flows) to run it' };
      }
      return pass(describeClaims(c));
    }),
  });
  if (o.mcpAuthMode === 'audience-bound') {
    add({
      id: 'token.mcp',
      hop: idp,
      title: 'the user\'s token for the Orders API\'s audience (the agent\'s client obtains it)',
      needs: ['token.user'],
      skip: (ctx) => needsToken(ctx) ?? needsMcpToken(ctx),
      run: (ctx) => guarded('the MCP token source', async () => {
        const audiences = o.mcpAudiences ?? [];
        if (!audiences.length) return fail('the mcp_audiences output is missing', 'add the mcp_audiences output (the Orders API\'s accepted audiences)');
        const c = claimsOf(await ctx.mcpToken!());
        const { problems, hints } = claimProblems(c, o, ctx, audiences, o.ordersApiScopes?.map(shortScope),
          `the agent's client needs the Orders API's delegated scopes (${(o.ordersApiScopes ?? []).join(', ')}) and consent`);
        const client = String(c.azp ?? c.appid ?? '');
        const allowed = o.mcpAllowedClientIds ?? [];
        if (allowed.length && !allowed.includes(client)) {
          problems.push(`issued to client ${client}, but the MCP endpoint accepts only ${allowed.join(', ')}`);
          hints.push('a token the user obtained for themselves is refused by design: pass one the agent\'s client obtained (locally: npm run local:token -- --for orders-api)');
        }
        if (ctx.state.userOid && c.oid !== ctx.state.userOid) {
          problems.push(`oid is ${c.oid}, the user token's is ${ctx.state.userOid}`);
          hints.push('both tokens must be the same signed-in user\'s');
        }
        if (problems.length) return fail(problems.join('; '), hints.join('; '));
        return pass(describeClaims(c));
      }),
    });
  }
  const tokenChecks = o.mcpAuthMode === 'audience-bound' ? ['token.user', 'token.mcp'] : ['token.user'];

  if (apim) {
    add({
      id: 'orders-api.gateway-proof',
      hop: 'Orders API',
      title: 'the Orders API refuses calls that bypass API Management',
      needs: ['orders-api.health', tokenChecks[tokenChecks.length - 1]],
      skip: (ctx) => needsToken(ctx) ?? needsMcpToken(ctx) ?? (o.ordersApiGatewayProof === false ? 'the gateway proof is off (ordersApiGatewayProof: false): the Orders API relies on its own token validation' : undefined),
      run: (ctx) => guarded('the Orders API', async () => {
        const answer = await request(`${o.ordersApiUrl}/orders`, { headers: { authorization: `Bearer ${await ctx.mcpToken!()}` } });
        const { code } = serviceError(answer);
        if (answer.status === 403 && code === 'gateway_required') return pass('403 gateway_required for a direct call with a valid user token', { httpStatus: 403, code, url: answer.url });
        const which = o.mcpAuthMode === 'audience-bound' ? 'the user\'s Orders API token' : 'the user\'s token';
        if (answer.status >= 200 && answer.status < 300) return fail(`a direct call with ${which} was served (${answer.status})`, 'the Orders API serves requests that did not come through API Management: set GATEWAY_AUDIENCE and GATEWAY_PRINCIPAL_IDS (gateway.ordersApiGatewayProof, on by default) and apply', { httpStatus: answer.status, url: answer.url });
        return refused(answer, 'the Orders API', 'the Orders API refused the token itself before the gateway proof could be tested: compare the token\'s claims with AUTH_AUDIENCES / AUTH_ALLOWED_CLIENT_IDS');
      }),
    });
  }

  add({
    id: 'foundry.agent',
    hop: 'Foundry',
    title: 'the agent\'s MCP tool points at the stack\'s MCP endpoint',
    needs: ['token.user'],
    skip: needsToken,
    run: (ctx) => guarded('Foundry', async () => {
      const url = `${o.foundryProjectEndpoint}/agents/${encodeURIComponent(o.agentName)}?api-version=v1`;
      const answer = await request(url, { headers: { authorization: `Bearer ${await ctx.userToken!()}` } });
      if (answer.status === 401) return refused(answer, 'Foundry', 'Foundry accepts user tokens for https://ai.azure.com of its tenant: check the token\'s aud and tid');
      if (answer.status === 403) return { ...refused(answer, 'Foundry', ''), hint: foundryForbiddenHint(serviceError(answer).message, ctx.state.userOid) };
      if (answer.status === 404) return refused(answer, 'Foundry', `the project has no agent ${o.agentName}: terraform apply creates it (azapi Microsoft.Foundry/agents@v1); agent_name and the Chat App's AGENT_NAME must agree`);
      if (answer.status !== 200) return refused(answer, 'Foundry', 'Foundry failed to read the agent: retry; a new project may need a few minutes');
      type AgentObject = { versions?: { latest?: { version?: unknown; definition?: { tools?: Array<Record<string, unknown>> } } } };
      const agent = answer.json as AgentObject | undefined;
      const latest = agent?.versions?.latest;
      const tools = (latest?.definition?.tools ?? []).filter((t) => t.type === 'mcp');
      if (tools.length === 0) return fail('the agent has no MCP tool', 'the agent was created without the Orders MCP tool: apply again (foundry.agent)', { httpStatus: 200, url });
      const tool = tools.find((t) => String(t.server_url ?? '').replace(/\/+$/, '') === o.mcpEndpoint);
      if (!tool) {
        return fail(`the agent's MCP tool points at ${tools.map((t) => t.server_url).join(', ')}, not the stack's MCP endpoint ${o.mcpEndpoint}`,
          'the agent calls another MCP server than this stack\'s: apply again so the agent gets a new version with the stack\'s MCP URL (or the agent was changed by hand)', { httpStatus: 200, url });
      }
      const connection = String(tool.project_connection_id ?? '');
      if (o.mcpConnectionName && connection !== o.mcpConnectionName && !connection.endsWith(`/connections/${o.mcpConnectionName}`)) {
        return fail(`the MCP tool uses connection ${JSON.stringify(connection)}, not ${o.mcpConnectionName}`, 'without the UserEntraToken connection Foundry sends no user token to the MCP server: apply again (foundry.mcpConnectionName)', { httpStatus: 200, url });
      }
      return pass(`version ${latest?.version ?? '?'}: tool ${tool.server_label} -> ${tool.server_url}${connection ? ` via ${connection}` : ''}`, { httpStatus: 200, url });
    }),
  });

  if (o.mcpAuthMode === 'audience-bound') {
    add({
      id: 'mcp.user-token-refused',
      hop: apim ? 'API Management' : 'Orders API',
      title: 'the MCP endpoint refuses the user\'s own token (audience bound)',
      needs: ['token.user'],
      skip: needsToken,
      run: (ctx) => guarded('the MCP endpoint', async () => {
        const answer = await request(o.mcpEndpoint, { ...MCP_POST, headers: { ...MCP_POST.headers as Record<string, string>, authorization: `Bearer ${await ctx.userToken!()}` } });
        const { code } = serviceError(answer);
        const extra = { httpStatus: answer.status, code, url: answer.url };
        const bind = `in audience-bound mode the MCP endpoint must accept only ${(o.mcpAudiences ?? ['the Orders API\'s audience']).join(' or ')} (MCP authorization: a server accepts only tokens issued for itself): `
          + `${apim ? 'API Management\'s validate-jwt audiences and ' : ''}the Orders API's AUTH_AUDIENCES must name only those, and AUTH_ALLOWED_CLIENT_IDS only the agent's client`;
        if (answer.status === 401) return pass(`401${code ? ` ${code}` : ''} for a token for ${userAudiences(o).join(', ')}`, extra);
        if (answer.status >= 200 && answer.status < 300) return fail(`the MCP endpoint accepted the user's token for ${userAudiences(o).join(', ')} (${answer.status})`, bind, extra);
        if (answer.status === 403 && code === 'insufficient_scope') return fail('403 insufficient_scope: the user\'s token passed the audience check and failed only the scope check', bind, extra);
        return refused(answer, 'the MCP endpoint', 'a token for another audience must get 401 invalid_token: see the service\'s logs');
      }),
    });
  }

  add({
    id: 'mcp.tools-list',
    hop: apim ? 'API Management' : 'Orders API',
    title: o.mcpAuthMode === 'audience-bound' ? 'MCP tools/list through the MCP endpoint with the Orders API token' : 'MCP tools/list through the MCP endpoint with the user\'s token',
    needs: [tokenChecks[tokenChecks.length - 1]],
    skip: (ctx) => needsToken(ctx) ?? needsMcpToken(ctx),
    run: (ctx) => guarded('the MCP endpoint', async () => {
      try {
        const tools = await listMcpTools(o.mcpEndpoint, await ctx.mcpToken!());
        if (!tools.includes('list-orders')) return fail(`tools/list gave [${tools.join(', ')}] without list-orders`, 'the endpoint is not the Orders MCP server: check mcp_endpoint', { url: o.mcpEndpoint });
        return pass(`${tools.length} tools: ${tools.join(', ')}`, { httpStatus: 200, url: o.mcpEndpoint });
      } catch (err) {
        if (!(err instanceof McpRefusal)) throw err;
        const params = challengeParams(err.challenge ?? null);
        let code = params.error;
        try { code = (JSON.parse(err.body ?? '') as { error?: string }).error ?? code; } catch { /* not JSON */ }
        const extra = { httpStatus: err.status, code, url: o.mcpEndpoint };
        const where = apim ? 'API Management or the Orders API' : 'the Orders API';
        if (err.status === 401) {
          const clients = o.mcpAllowedClientIds?.length ? ` (${o.mcpAllowedClientIds.join(', ')})` : '';
          return fail(`401 ${code ?? ''}`.trim(), `${where} refused the token: its aud must be one of ${(o.mcpAuthMode === 'audience-bound' ? o.mcpAudiences : userAudiences(o))?.join(', ')} and its client allowed${clients} (validate-jwt, AUTH_AUDIENCES, AUTH_ALLOWED_CLIENT_IDS)`, extra);
        }
        if (err.status === 403 && code === 'insufficient_scope') return fail(`403 insufficient_scope (needs ${params.scope ?? 'a scope'})`, `the token lacks the scope ${params.scope ?? ''}: ask for it and grant the client that delegated permission`, extra);
        if (err.status === 403 && code === 'gateway_required') return fail('403 gateway_required behind API Management', 'API Management did not attach its gateway token: check its authentication-managed-identity policy and the gateway proof registration', extra);
        if (err.status === 429) return fail('429 rate limited', 'the per-user rate limit was hit: wait a minute or raise RATE_LIMIT_PER_MINUTE', extra);
        return fail(`MCP exchange failed: ${err.message}`, err.status === 404 ? 'nothing serves MCP at mcp_endpoint' : undefined, extra);
      }
    }),
  });

  add({
    id: 'chat.round-trip',
    hop: 'Chat App → Foundry → MCP',
    title: 'a real chat through the Chat App, the agent and MCP',
    needs: ['chat-app.health', 'token.user'],
    skip: (ctx) => needsToken(ctx) ?? (ctx.state.userClientMatches === false ? 'the token was not issued to the SPA' : undefined),
    run: (ctx) => guarded('the Chat App', async () => {
      const answer = await request(`${o.chatAppUrl}/api/chat`, {
        method: 'POST',
        headers: { 'authorization': `Bearer ${await ctx.userToken!()}`, 'content-type': 'application/json', 'accept': 'application/json' },
        body: JSON.stringify({ message: ctx.chatMessage }),
        timeoutMs: ctx.chatTimeoutMs,
      });
      if (answer.status === 401) return refused(answer, 'the Chat App', 'the Chat App refused the token: aud must be in its AUTH_AUDIENCES, azp its SPA_CLIENT_ID');
      if (answer.status === 403) return { ...refused(answer, 'the Chat App', ''), hint: `Foundry refused the user (the Chat App passes Foundry's 401/403 on as 403): ${foundryForbiddenHint(undefined, ctx.state.userOid)}` };
      if (answer.status === 502) return refused(answer, 'the Chat App', 'the Chat App could not reach the agent: check FOUNDRY_PROJECT_ENDPOINT and the agent (foundry.agent check)');
      if (answer.status === 504) return refused(answer, 'the Chat App', 'the agent did not answer within AGENT_TIMEOUT_MS: look at the run in the Foundry portal');
      if (answer.status !== 200) return refused(answer, 'the Chat App', 'see the Chat App\'s logs');
      const body = (answer.json ?? {}) as { text?: unknown; approvals?: unknown[] };
      const text = typeof body.text === 'string' ? body.text : '';
      const shown = text.replace(/\s+/g, ' ').slice(0, 160);
      if (!text && !body.approvals?.length) return fail('the agent answered with no text', 'look at the run in the Foundry portal (model deployment, tool errors)', { httpStatus: 200, url: answer.url });
      if (/could not reach|rejected your sign-in|denied the call|unable to (access|reach|connect)|unauthori[sz]ed|forbidden/i.test(text)) {
        return { status: 'warn', detail: `the agent answered but reports a tool failure: "${shown}"`, hint: 'the agent could not use the MCP tool: see the foundry.agent and mcp.tools-list checks', httpStatus: 200, url: answer.url };
      }
      return pass(`answer: "${shown}${text.length > 160 ? '…' : ''}"`, { httpStatus: 200, url: answer.url });
    }),
  });

  return checks;
}

