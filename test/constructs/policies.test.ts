import { describe, expect, test } from 'vitest';
import { descendants, findAll, parseXml } from './xml';
import {
  aiGatewayPolicy, csharpString, el, namedValue, namedValueReferences, protectedApiPolicy, protectedResourceMetadataPolicy, renderXml,
} from '../../src/gateway/policies';

const TENANT = '11111111-2222-3333-4444-555555555555';
const bearer = {
  tenantId: namedValue('orders-tenant-id'),
  audiences: ['https://ai.azure.com', 'api://orders'],
  allowedClientIds: ['aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000002'],
  requiredScopes: ['user_impersonation'],
};
const mcp = protectedApiPolicy({ ...bearer, resourceMetadataUrl: namedValue('orders-mcp-metadata-url'), streaming: true });

describe('the XML checker itself', () => {
  test.each([
    ['<a>', /not closed/],
    ['<a></b>', /closes <a>/],
    ['<a x="1" x="2"/>', /duplicate attribute/],
    ['<a>x & y</a>', /bare "&"/],
    ['<a x=1/>', /quoted value/],
    ['<a/><b/>', /after the root/],
    ['<a>&bogus;</a>', /unknown entity/],
  ])('rejects %s', (xml, error) => {
    expect(() => parseXml(xml)).toThrow(error);
  });

  test('decodes entities', () => {
    expect(parseXml('<a t="&quot;&amp;&#65;">&lt;x&gt;</a>')).toMatchObject({ attributes: { t: '"&A' }, text: '<x>' });
  });
});

describe('builders escape what they are given', () => {
  test('text and attributes with markup characters stay well-formed and round-trip', () => {
    const nasty = 'a<b>&"c\'</policies>';
    const xml = renderXml(el('root', { v: nasty }, el('child', {}, nasty)));
    const root = parseXml(xml);
    expect(root.attributes.v).toBe(nasty);
    expect(root.children[0].text).toBe(nasty);
  });

  test('C# string literals escape quotes and backslashes', () => {
    expect(csharpString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  test('a client id with quotes cannot break out of the policy expression', () => {
    const xml = protectedApiPolicy({ ...bearer, allowedClientIds: ['x") || true || ("'], resourceMetadataUrl: 'u', streaming: false });
    const condition = descendants(parseXml(xml), 'when')[0].attributes.condition;
    expect(condition).toContain('"x\\") || true || (\\""');
  });

  test('invalid element and named value names are refused', () => {
    expect(() => el('a b')).toThrow(/invalid XML element name/);
    expect(() => namedValue('a}}b')).toThrow(/invalid named value name/);
  });
});

describe('protected API policy (/orders-mcp, /orders-api)', () => {
  const root = parseXml(mcp);

  test('is well-formed, with the four sections in order', () => {
    expect(root.name).toBe('policies');
    expect(root.children.map((c) => c.name)).toEqual(['inbound', 'backend', 'outbound', 'on-error']);
  });

  test('validate-jwt: header, scheme, OpenID configuration of the tenant, audiences, both issuers, tenant claim', () => {
    const [jwt] = findAll(root, 'inbound/validate-jwt');
    expect(jwt.attributes).toMatchObject({
      'header-name': 'Authorization',
      'failed-validation-httpcode': '401',
      'require-scheme': 'Bearer',
      'require-expiration-time': 'true',
      'require-signed-tokens': 'true',
      'output-token-variable-name': 'jwt',
    });
    expect(findAll(jwt, 'openid-config')[0].attributes.url).toBe('https://login.microsoftonline.com/{{orders-tenant-id}}/v2.0/.well-known/openid-configuration');
    expect(findAll(jwt, 'audiences/audience').map((a) => a.text)).toEqual(['https://ai.azure.com', 'api://orders']);
    expect(findAll(jwt, 'issuers/issuer').map((a) => a.text)).toEqual([
      'https://login.microsoftonline.com/{{orders-tenant-id}}/v2.0',
      'https://sts.windows.net/{{orders-tenant-id}}/',
    ]);
    const [tid] = findAll(jwt, 'required-claims/claim');
    expect(tid.attributes).toEqual({ name: 'tid', match: 'all' });
    expect(findAll(tid, 'value')[0].text).toBe('{{orders-tenant-id}}');
  });

  test('allowed client ids are checked in azp, else appid; app-only tokens (no scp) are refused with a 401 challenge', () => {
    const [clientCheck, scopeCheck] = findAll(root, 'inbound/choose/when');
    const condition = clientCheck.attributes.condition;
    expect(condition).toContain('!((Jwt)context.Variables["jwt"]).Claims.ContainsKey("scp")');
    expect(condition).toContain('GetValueOrDefault("azp", ((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("appid", ""))');
    for (const id of bearer.allowedClientIds) expect(condition).toContain(`"${id}"`);
    expect(findAll(clientCheck, 'return-response/set-status')[0].attributes.code).toBe('401');
    const header = findAll(clientCheck, 'return-response/set-header').find((h) => h.attributes.name === 'WWW-Authenticate')!;
    expect(findAll(header, 'value')[0].text).toBe('Bearer error="invalid_token", resource_metadata="{{orders-mcp-metadata-url}}"');
    // Missing scope: 403 insufficient_scope naming the scope.
    expect(scopeCheck.attributes.condition).toContain('Split(\' \').Intersect(new string[] { "user_impersonation" }).Any()');
    expect(findAll(scopeCheck, 'return-response/set-status')[0].attributes.code).toBe('403');
    const challenge = findAll(scopeCheck, 'return-response/set-header').find((h) => h.attributes.name === 'WWW-Authenticate')!;
    expect(findAll(challenge, 'value')[0].text).toBe('Bearer error="insufficient_scope", scope="user_impersonation", resource_metadata="{{orders-mcp-metadata-url}}"');
  });

  test('without allowed clients or scopes, only app-only tokens are refused and no scope check exists', () => {
    const open = parseXml(protectedApiPolicy({ ...bearer, allowedClientIds: [], requiredScopes: [], resourceMetadataUrl: 'u', streaming: false }));
    const whens = findAll(open, 'inbound/choose/when');
    expect(whens).toHaveLength(1);
    expect(whens[0].attributes.condition).toBe('@(!((Jwt)context.Variables["jwt"]).Claims.ContainsKey("scp"))');
  });

  test('validate-jwt failures: 401 with the challenge naming the metadata, error code only when a token was sent', () => {
    const whens = findAll(root, 'on-error/choose/when');
    const challenge = (w: typeof whens[0]) => findAll(findAll(w, 'return-response/set-header').find((h) => h.attributes.name === 'WWW-Authenticate')!, 'value')[0].text;
    expect(whens[0].attributes.condition).toContain('string.IsNullOrEmpty(context.Request.Headers.GetValueOrDefault("Authorization", ""))');
    expect(challenge(whens[0])).toBe('Bearer resource_metadata="{{orders-mcp-metadata-url}}"');
    expect(whens[1].attributes.condition).toBe('@(context.Response.StatusCode == 401)');
    expect(challenge(whens[1])).toBe('Bearer error="invalid_token", resource_metadata="{{orders-mcp-metadata-url}}"');
    for (const w of whens) {
      expect(findAll(w, 'return-response/set-status')[0].attributes.code).toBe('401');
      expect(JSON.parse(findAll(w, 'return-response/set-body')[0].text)).toHaveProperty('error');
    }
  });

  test('streaming APIs forward unbuffered; others keep the default backend', () => {
    expect(findAll(root, 'backend/forward-request')[0].attributes).toEqual({ 'buffer-response': 'false' });
    expect(findAll(root, 'backend/base')).toHaveLength(0);
    const rest = parseXml(protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'u', streaming: false }));
    expect(findAll(rest, 'backend/forward-request')).toHaveLength(0);
    expect(findAll(rest, 'backend/base')).toHaveLength(1);
  });

  test('never touches the response body (it would buffer MCP streams)', () => {
    expect(findAll(root, 'outbound').flatMap((o) => descendants(o, 'set-body'))).toHaveLength(0);
    expect(mcp).not.toContain('context.Response.Body');
  });

  test('references exactly the named values the gateway defines', () => {
    expect(namedValueReferences(mcp)).toEqual(['orders-mcp-metadata-url', 'orders-tenant-id']);
  });
});

describe('protected API policy with the gateway proof', () => {
  const xml = protectedApiPolicy({ ...bearer, resourceMetadataUrl: namedValue('orders-mcp-metadata-url'), streaming: true, gatewayProof: { resource: namedValue('orders-gateway-audience') } });
  const root = parseXml(xml);
  const inbound = findAll(root, 'inbound')[0].children;

  test('is well-formed; the client-sent header goes first, the managed identity token comes after the caller\'s checks', () => {
    // The second choose is the MCP tool trace; the proof comes last, after every check.
    expect(inbound.map((c) => c.name)).toEqual(['base', 'set-header', 'set-header', 'validate-jwt', 'choose', 'choose', 'authentication-managed-identity', 'set-header']);
    expect(inbound[1].attributes).toEqual({ 'name': 'X-Gateway-Authorization', 'exists-action': 'delete' });
    expect(inbound[1].children).toHaveLength(0);
  });

  test('the header is set from the managed identity token for that resource; errors are not ignored', () => {
    const [mi] = findAll(root, 'inbound/authentication-managed-identity');
    expect(mi.attributes).toEqual({ 'resource': '{{orders-gateway-audience}}', 'output-token-variable-name': 'gatewayToken', 'ignore-error': 'false' });
    const header = inbound[inbound.length - 1];
    expect(header.attributes).toEqual({ 'name': 'X-Gateway-Authorization', 'exists-action': 'override' });
    expect(findAll(header, 'value')[0].text).toBe('@("Bearer " + (string)context.Variables["gatewayToken"])');
  });

  test('the caller\'s Authorization is passed through unchanged; the token does not replace it', () => {
    expect(descendants(root, 'set-header').filter((h) => h.attributes.name.toLowerCase() === 'authorization')).toHaveLength(0);
    expect(descendants(root, 'authentication-managed-identity').every((m) => m.attributes['output-token-variable-name'] === 'gatewayToken')).toBe(true);
  });

  test('a resource with markup characters stays well-formed; the named value is referenced', () => {
    const nasty = parseXml(protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'u', streaming: false, gatewayProof: { resource: 'api://x"<&>' } }));
    expect(findAll(nasty, 'inbound/authentication-managed-identity')[0].attributes.resource).toBe('api://x"<&>');
    expect(namedValueReferences(xml)).toEqual(['orders-gateway-audience', 'orders-mcp-metadata-url', 'orders-tenant-id']);
  });

  test('without it, the policy has no proof at all', () => {
    expect(mcp).not.toContain('X-Gateway-Authorization');
    expect(descendants(root, 'authentication-managed-identity')).toHaveLength(1);
    expect(descendants(parseXml(mcp), 'authentication-managed-identity')).toHaveLength(0);
  });
});

describe('protected resource metadata policy', () => {
  const xml = protectedResourceMetadataPolicy({
    resource: 'https://apim.example.net/orders-mcp/mcp',
    authorizationServers: [`https://login.microsoftonline.com/${TENANT}/v2.0`, `https://sts.windows.net/${TENANT}/`],
    scopesSupported: ['https://ai.azure.com/user_impersonation'],
  });
  const root = parseXml(xml);

  test('answers 200 JSON from the gateway, cacheable, without calling the backend', () => {
    const [response] = findAll(root, 'inbound/return-response');
    expect(findAll(response, 'set-status')[0].attributes).toEqual({ code: '200', reason: 'OK' });
    const headers = Object.fromEntries(findAll(response, 'set-header').map((h) => [h.attributes.name, findAll(h, 'value')[0].text]));
    expect(headers).toEqual({ 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' });
    expect(descendants(root, 'validate-jwt')).toHaveLength(0);
  });

  test('the document: resource exactly as given, issuers, header bearer method, scopes', () => {
    const body = JSON.parse(findAll(root, 'inbound/return-response/set-body')[0].text);
    expect(body).toEqual({
      resource: 'https://apim.example.net/orders-mcp/mcp',
      authorization_servers: [`https://login.microsoftonline.com/${TENANT}/v2.0`, `https://sts.windows.net/${TENANT}/`],
      bearer_methods_supported: ['header'],
      scopes_supported: ['https://ai.azure.com/user_impersonation'],
    });
  });
});

describe('AI gateway policy (/openai)', () => {
  const xml = aiGatewayPolicy({
    caller: { tenantId: namedValue('orders-tenant-id'), audiences: ['https://cognitiveservices.azure.com'], allowedClientIds: [], requiredScopes: [] },
    tokensPerMinute: 5000,
    metricNamespace: 'ai-gateway',
  });
  const root = parseXml(xml);

  test('validates the caller, then swaps in the managed identity token for Azure OpenAI', () => {
    const names = findAll(root, 'inbound')[0].children.map((c) => c.name);
    expect(names).toEqual(['base', 'validate-jwt', 'authentication-managed-identity', 'llm-token-limit', 'llm-emit-token-metric']);
    expect(findAll(root, 'inbound/authentication-managed-identity')[0].attributes.resource).toBe('https://cognitiveservices.azure.com');
    expect(findAll(root, 'inbound/validate-jwt/issuers/issuer').map((i) => i.text)).toEqual([
      'https://login.microsoftonline.com/{{orders-tenant-id}}/v2.0', 'https://sts.windows.net/{{orders-tenant-id}}/',
    ]);
  });

  test('token limit keyed on the token oid, else the IP; token metrics per caller', () => {
    const [limit] = findAll(root, 'inbound/llm-token-limit');
    expect(limit.attributes['tokens-per-minute']).toBe('5000');
    expect(limit.attributes['counter-key']).toBe('@(context.Variables.GetValueOrDefault<Jwt>("jwt")?.Claims.GetValueOrDefault("oid", context.Request.IpAddress) ?? context.Request.IpAddress)');
    const [metric] = findAll(root, 'inbound/llm-emit-token-metric');
    expect(metric.attributes.namespace).toBe('ai-gateway');
    expect(findAll(metric, 'dimension').map((d) => d.attributes.name)).toEqual(['API ID', 'Operation ID', 'Caller']);
    expect(namedValueReferences(xml)).toEqual(['orders-tenant-id']);
  });

  test('rejects a non-positive token limit', () => {
    expect(() => aiGatewayPolicy({ caller: bearer, tokensPerMinute: 0, metricNamespace: 'x' })).toThrow(/tokensPerMinute/);
  });
});

describe('per-operation scopes (audience-bound mode)', () => {
  const operationScopes = { scopes: { read: 'Orders.Read', write: 'Orders.ReadWrite' }, scopeUri: (s: string) => `api://orders/${s}` };
  const rest = parseXml(protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'https://gw/.well-known/oauth-protected-resource/orders-api', streaming: false, operationScopes }));
  const mcpRoot = parseXml(protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'https://gw/.well-known/oauth-protected-resource/orders-mcp/mcp', streaming: true, operationScopes }));
  /** The choose whose whens answer insufficient_scope for an operation (not the token-wide required scopes). */
  const scopeChoose = (root: ReturnType<typeof parseXml>) => findAll(root, 'inbound/choose').find((c) => findAll(c, 'when').some((w) => w.attributes.condition.includes('Orders.ReadWrite')))!;
  const answer = (when: ReturnType<typeof parseXml>) => ({
    status: findAll(when, 'return-response/set-status')[0].attributes.code,
    challenge: findAll(findAll(when, 'return-response/set-header').find((h) => h.attributes.name === 'WWW-Authenticate')!, 'value')[0].text,
    body: JSON.parse(findAll(when, 'return-response/set-body')[0].text),
  });

  test('REST: anything but GET and HEAD needs the write scope; everything needs read or write; 403 names the scope and the metadata', () => {
    const [changes, reads] = findAll(scopeChoose(rest), 'when');
    expect(changes.attributes.condition).toBe('@((context.Request.Method != "GET" && context.Request.Method != "HEAD") && '
      + '!((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("scp", "").Split(\' \').Contains("Orders.ReadWrite"))');
    expect(answer(changes)).toMatchObject({
      status: '403',
      challenge: 'Bearer error="insufficient_scope", scope="api://orders/Orders.ReadWrite", resource_metadata="https://gw/.well-known/oauth-protected-resource/orders-api"',
      body: { error: 'insufficient_scope' },
    });
    expect(reads.attributes.condition).toBe('@(!((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("scp", "").Split(\' \').Intersect(new string[] { "Orders.Read", "Orders.ReadWrite" }).Any())');
    expect(answer(reads).challenge).toBe('Bearer error="insufficient_scope", scope="api://orders/Orders.Read", resource_metadata="https://gw/.well-known/oauth-protected-resource/orders-api"');
    expect(answer(reads).body.message).toMatch(/Orders\.Read or the Orders\.ReadWrite scope/);
    // After validate-jwt and the caller checks: the jwt variable exists when they run.
    const names = findAll(rest, 'inbound')[0].children.map((c) => c.name);
    expect(names.indexOf('validate-jwt')).toBeLessThan(names.lastIndexOf('choose'));
  });

  test('MCP: the tools called (Mcp-Name header and every tools/call of the body) decide; write tools need the write scope', () => {
    const inbound = findAll(mcpRoot, 'inbound')[0].children;
    const variable = inbound.find((c) => c.name === 'set-variable')!;
    expect(variable.attributes.name).toBe('mcpTools');
    const expression = variable.attributes.value;
    expect(expression).toContain('context.Request.Headers.GetValueOrDefault("Mcp-Name", "")');
    expect(expression).toContain('context.Request.Body.As<JToken>(preserveContent: true)');
    expect(expression).toContain('(string)m["method"] == "tools/call"');
    expect(expression).toContain('body is JArray');
    // Balanced, so APIM can compile it (strings stripped first).
    const code = expression.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const [open, close] of [['{', '}'], ['(', ')'], ['[', ']']]) expect(code.split(open).length, open).toBe(code.split(close).length);
    expect(inbound.indexOf(variable)).toBeLessThan(inbound.indexOf(scopeChoose(mcpRoot)));
    const [changes, reads] = findAll(scopeChoose(mcpRoot), 'when');
    expect(changes.attributes.condition).toContain('((string)context.Variables["mcpTools"]).Split(\',\').Intersect(new string[] { "create-order", "update-order", "delete-order" }).Any()');
    expect(changes.attributes.condition).toContain('.Contains("Orders.ReadWrite")');
    expect(answer(changes).challenge).toBe('Bearer error="insufficient_scope", scope="api://orders/Orders.ReadWrite", resource_metadata="https://gw/.well-known/oauth-protected-resource/orders-mcp/mcp"');
    expect(reads.attributes.condition).toContain('Intersect(new string[] { "Orders.Read", "Orders.ReadWrite" })');
    // The request body is read with preserveContent (forwarded intact); the response body is never touched.
    expect(descendants(mcpRoot, 'set-body').every((b) => !b.text.includes('context.'))).toBe(true);
  });

  test('without operation scopes there is no per-operation check and the body is not read', () => {
    const plain = protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'u', streaming: true });
    expect(plain).not.toContain('mcpTools');
    expect(plain).not.toContain('Orders.ReadWrite');
    expect(plain).not.toContain('context.Request.Body');
  });
});

describe('per-user rate limit', () => {
  const limited = parseXml(protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'u', streaming: false, callsPerMinute: 30 }));

  test('rate-limit-by-key on the validated token\'s oid, 60-second window, Retry-After and remaining-calls headers', () => {
    const [limit] = findAll(limited, 'inbound/rate-limit-by-key');
    expect(limit.attributes).toEqual({
      'calls': '30',
      'renewal-period': '60',
      'counter-key': '@("orders:" + ((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("oid", context.Request.IpAddress))',
      'retry-after-header-name': 'Retry-After',
      'retry-after-variable-name': 'retryAfter',
      'remaining-calls-header-name': 'X-RateLimit-Remaining',
    });
    const names = findAll(limited, 'inbound')[0].children.map((c) => c.name);
    expect(names.indexOf('validate-jwt')).toBeLessThan(names.indexOf('rate-limit-by-key'));
  });

  test('over the limit: 429 with Retry-After and the services\' JSON error body, no challenge', () => {
    const when = findAll(limited, 'on-error/choose/when').find((w) => w.attributes.condition.includes('429'))!;
    expect(when.attributes.condition).toBe('@(context.Response.StatusCode == 429 || context.LastError.Reason == "RateLimitExceeded")');
    expect(findAll(when, 'return-response/set-status')[0].attributes).toEqual({ code: '429', reason: 'Too Many Requests' });
    const headers = Object.fromEntries(findAll(when, 'return-response/set-header').map((h) => [h.attributes.name, findAll(h, 'value')[0].text]));
    expect(headers['Retry-After']).toBe('@(context.Variables.GetValueOrDefault<object>("retryAfter", 60).ToString())');
    expect(headers['WWW-Authenticate']).toBeUndefined();
    expect(JSON.parse(findAll(when, 'return-response/set-body')[0].text)).toMatchObject({ error: 'rate_limited' });
  });

  test('0 or undefined: no limit', () => {
    for (const callsPerMinute of [0, undefined]) {
      const xml = protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'u', streaming: false, callsPerMinute });
      expect(xml).not.toContain('rate-limit-by-key');
      expect(xml).not.toContain('429');
    }
  });
});

describe('MCP tool name in Application Insights', () => {
  test('/orders-mcp traces the Mcp-Name header where present, never a credential header', () => {
    const [trace] = descendants(parseXml(mcp), 'trace');
    expect(trace.attributes).toEqual({ source: 'orders-mcp', severity: 'information' });
    const when = findAll(parseXml(mcp), 'inbound/choose').find((c) => descendants(c, 'trace').length > 0)!;
    expect(findAll(when, 'when')[0].attributes.condition).toBe('@(context.Request.Headers.GetValueOrDefault("Mcp-Name", "") != "")');
    expect(findAll(trace, 'message')[0].text).toContain('GetValueOrDefault("Mcp-Name", "")');
    expect(findAll(trace, 'metadata')[0].attributes).toEqual({ name: 'mcp-tool', value: '@(context.Request.Headers.GetValueOrDefault("Mcp-Name", ""))' });
    const traced = JSON.stringify(trace).toLowerCase();
    for (const secret of ['authorization', 'cookie', 'x-gateway-authorization']) expect(traced).not.toContain(secret);
  });

  test('the REST API has no MCP trace', () => {
    expect(descendants(parseXml(protectedApiPolicy({ ...bearer, resourceMetadataUrl: 'u', streaming: false })), 'trace')).toHaveLength(0);
  });
});
