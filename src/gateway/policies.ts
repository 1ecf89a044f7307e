import type { OrdersApiScopes } from '../orders-api-access/scopes';

/**
 * Typed builders of the API Management policy documents. Every value passes through an
 * escaper (XML, and C# string literals inside policy expressions), so the output is
 * well-formed whatever the input, and `{{name}}` references point at named values that the
 * gateway defines.
 */

/** An XML element: name, attributes and children (elements or text). */
export interface XmlElement {
  readonly name: string;
  readonly attributes: { [name: string]: string };
  readonly children: XmlNode[];
}
export type XmlNode = XmlElement | string;

const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Builds an element; `undefined` attributes are left out. */
export function el(name: string, attributes: { [name: string]: string | number | boolean | undefined } = {}, ...children: XmlNode[]): XmlElement {
  if (!XML_NAME.test(name)) throw new Error(`invalid XML element name: ${name}`);
  const attrs: { [name: string]: string } = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!XML_NAME.test(key)) throw new Error(`invalid XML attribute name: ${key}`);
    if (value !== undefined) attrs[key] = String(value);
  }
  return { name, attributes: attrs, children };
}

export function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A C# string literal, for values placed inside policy expressions. */
export function csharpString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
}

/** Serializes an element tree, two spaces per level. */
export function renderXml(node: XmlNode, depth = 0): string {
  const pad = '  '.repeat(depth);
  if (typeof node === 'string') return pad + escapeXml(node);
  const attrs = Object.entries(node.attributes).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  if (node.children.length === 0) return `${pad}<${node.name}${attrs} />`;
  if (node.children.length === 1 && typeof node.children[0] === 'string') {
    return `${pad}<${node.name}${attrs}>${escapeXml(node.children[0])}</${node.name}>`;
  }
  return [`${pad}<${node.name}${attrs}>`, ...node.children.map((c) => renderXml(c, depth + 1)), `${pad}</${node.name}>`].join('\n');
}

/** `{{name}}`: a reference to an APIM named value. */
export function namedValue(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`invalid named value name: ${name}`);
  return `{{${name}}}`;
}

/** Every `{{name}}` an XML document references. */
export function namedValueReferences(xml: string): string[] {
  return [...new Set([...xml.matchAll(/\{\{([^{}]+)\}\}/g)].map((m) => m[1]))].sort();
}

function policies(sections: { inbound: XmlNode[]; backend?: XmlNode[]; outbound?: XmlNode[]; onError?: XmlNode[] }): string {
  const base = el('base');
  return renderXml(el('policies', {},
    el('inbound', {}, base, ...sections.inbound),
    el('backend', {}, ...(sections.backend ?? [base])),
    el('outbound', {}, base, ...(sections.outbound ?? [])),
    el('on-error', {}, base, ...(sections.onError ?? [])),
  )) + '\n';
}

function setHeader(name: string, value: string): XmlElement {
  return el('set-header', { 'name': name, 'exists-action': 'override' }, el('value', {}, value));
}

function deleteHeader(name: string): XmlElement {
  return el('set-header', { 'name': name, 'exists-action': 'delete' });
}

/** `{"error": ..., "message": ...}`, the services' error body. */
function errorResponse(status: number, reason: string, challenge: string, error: string, message: string): XmlElement {
  return el('return-response', {},
    el('set-status', { code: status, reason }),
    setHeader('WWW-Authenticate', challenge),
    setHeader('Content-Type', 'application/json'),
    el('set-body', {}, JSON.stringify({ error, message })),
  );
}

/** The Entra ID issuers of a tenant: v2 first, then v1. */
export function entraIssuers(tenantId: string): string[] {
  return [`https://login.microsoftonline.com/${tenantId}/v2.0`, `https://sts.windows.net/${tenantId}/`];
}

/** What a bearer token must satisfy to pass the gateway. */
export interface BearerValidation {
  /** Tenant id, or a `{{named value}}` holding it: gives the OpenID configuration and both issuers. */
  readonly tenantId: string;
  /** Accepted `aud` values (at least one). */
  readonly audiences: string[];
  /** Client ids accepted in `azp` (v2) or `appid` (v1); empty accepts any client. */
  readonly allowedClientIds: string[];
  /** Scopes of which `scp` must hold at least one; empty requires none. */
  readonly requiredScopes: string[];
}

function validateJwt(v: BearerValidation): XmlElement {
  if (v.audiences.length === 0) throw new Error('validate-jwt needs at least one audience');
  return el('validate-jwt', {
    'header-name': 'Authorization',
    'failed-validation-httpcode': 401,
    'failed-validation-error-message': 'Unauthorized',
    'require-expiration-time': true,
    'require-signed-tokens': true,
    'require-scheme': 'Bearer',
    'clock-skew': 60,
    'output-token-variable-name': 'jwt',
  },
  el('openid-config', { url: `https://login.microsoftonline.com/${v.tenantId}/v2.0/.well-known/openid-configuration` }),
  el('audiences', {}, ...v.audiences.map((a) => el('audience', {}, a))),
  el('issuers', {}, ...entraIssuers(v.tenantId).map((i) => el('issuer', {}, i))),
  el('required-claims', {}, el('claim', { name: 'tid', match: 'all' }, el('value', {}, v.tenantId))),
  );
}

const JWT = '((Jwt)context.Variables["jwt"])';

/** True when the token is app-only (no `scp`) or its client is not allowed. */
function rejectedClientCondition(allowedClientIds: string[]): string {
  const appOnly = `!${JWT}.Claims.ContainsKey("scp")`;
  if (allowedClientIds.length === 0) return `@(${appOnly})`;
  const client = `${JWT}.Claims.GetValueOrDefault("azp", ${JWT}.Claims.GetValueOrDefault("appid", ""))`;
  return `@(${appOnly} || !new string[] { ${allowedClientIds.map(csharpString).join(', ')} }.Contains(${client}))`;
}

function missingScopeCondition(requiredScopes: string[]): string {
  return `@(!${JWT}.Claims.GetValueOrDefault("scp", "").Split(' ').Intersect(new string[] { ${requiredScopes.map(csharpString).join(', ')} }).Any())`;
}

/** Header in which the gateway sends its own token to the Orders API (the user's `Authorization` passes unchanged). */
export const GATEWAY_PROOF_HEADER = 'X-Gateway-Authorization';
const GATEWAY_TOKEN_VARIABLE = 'gatewayToken';

/** The gateway's proof to the backend: a token of its managed identity for a resource of ours. */
export interface GatewayProof {
  /** Resource (audience) the managed identity token is requested for, or a `{{named value}}` holding it. */
  readonly resource: string;
}

/** Tools of the Orders MCP server that change orders: they need the write scope (the others read or write). */
export const ORDERS_WRITE_TOOLS = ['create-order', 'update-order', 'delete-order'];

/** Per-operation scopes: reading needs the read or the write scope, changing needs the write scope. */
export interface OperationScopes {
  /** Short scope names as in `scp`. */
  readonly scopes: OrdersApiScopes;
  /** How the challenge names a scope (e.g. `api://<client id>/Orders.Read`), so a client can request it. */
  readonly scopeUri: (scope: string) => string;
}

/** Options of {@link protectedApiPolicy}. */
export interface ProtectedApiPolicyOptions extends BearerValidation {
  /** RFC 9728 metadata URL named in the 401 and 403 challenges. */
  readonly resourceMetadataUrl: string;
  /** The MCP endpoint: responses pass through unbuffered (Streamable HTTP / server-sent events); tools decide the scope. */
  readonly streaming: boolean;
  /** After the caller's token passed: add the gateway's own token in {@link GATEWAY_PROOF_HEADER}. */
  readonly gatewayProof?: GatewayProof;
  /** Check the scope each operation needs (REST: by method; MCP: by the tool called). */
  readonly operationScopes?: OperationScopes;
  /** Calls per minute per caller `oid` (429 with `Retry-After` beyond); 0 or undefined: no limit. */
  readonly callsPerMinute?: number;
}

/**
 * A client-sent proof header is dropped before anything else; after the caller's checks, the
 * managed identity token for `resource` goes in the header (a failure to get one is an error,
 * never a request without the proof). `Authorization` is left as the caller sent it.
 */
function gatewayProofSteps(proof: GatewayProof): { strip: XmlElement; attach: XmlElement[] } {
  return {
    strip: deleteHeader(GATEWAY_PROOF_HEADER),
    attach: [
      el('authentication-managed-identity', { 'resource': proof.resource, 'output-token-variable-name': GATEWAY_TOKEN_VARIABLE, 'ignore-error': false }),
      setHeader(GATEWAY_PROOF_HEADER, `@("Bearer " + (string)context.Variables[${csharpString(GATEWAY_TOKEN_VARIABLE)}])`),
    ],
  };
}

const SCOPES = `${JWT}.Claims.GetValueOrDefault("scp", "").Split(' ')`;
const MCP_TOOLS_VARIABLE = 'mcpTools';
const RETRY_AFTER_VARIABLE = 'retryAfter';
/** Shared by both APIs: one budget per user, as the Orders API keeps one. */
const RATE_LIMIT_KEY = `@("orders:" + ${JWT}.Claims.GetValueOrDefault("oid", context.Request.IpAddress))`;

function csharpArray(values: string[]): string {
  return `new string[] { ${values.map(csharpString).join(', ')} }`;
}

/**
 * Every tool a request calls: the `Mcp-Name` header (current revision) and each `tools/call`
 * of the JSON-RPC body (an object, or a batch of the 2025-03-26 revision). Both count, so a
 * header that names a read tool cannot hide a write tool in the body. Not JSON: none.
 */
const MCP_TOOLS_EXPRESSION = [
  '@{',
  '  var names = new List<string>();',
  '  var header = context.Request.Headers.GetValueOrDefault("Mcp-Name", "");',
  '  if (header != "") { names.Add(header); }',
  '  if (context.Request.Body != null) {',
  '    try {',
  '      var body = context.Request.Body.As<JToken>(preserveContent: true);',
  '      IEnumerable<JToken> messages = body is JArray ? (IEnumerable<JToken>)body : new JToken[] { body };',
  '      foreach (var m in messages) {',
  '        if (m is JObject && (string)m["method"] == "tools/call" && m["params"] is JObject) { names.Add((string)m["params"]["name"] ?? ""); }',
  '      }',
  '    } catch { }',
  '  }',
  '  return string.Join(",", names);',
  '}',
].join('\n');

/** 403 `insufficient_scope` naming the scope to ask for and where the metadata is. */
function insufficientScope(o: ProtectedApiPolicyOptions, needed: string, message: string): XmlElement {
  const scope = o.operationScopes!.scopeUri(needed);
  return errorResponse(403, 'Forbidden', `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${o.resourceMetadataUrl}"`,
    'insufficient_scope', message);
}

/** REST: GET and HEAD read (read or write scope), everything else changes (write scope). MCP: by the tools called. */
function operationScopeSteps(o: ProtectedApiPolicyOptions): XmlElement[] {
  const { read, write } = o.operationScopes!.scopes;
  const lacksWrite = `!${SCOPES}.Contains(${csharpString(write)})`;
  const lacksRead = `!${SCOPES}.Intersect(${csharpArray([read, write])}).Any()`;
  const changes = o.streaming
    ? `((string)context.Variables[${csharpString(MCP_TOOLS_VARIABLE)}]).Split(',').Intersect(${csharpArray(ORDERS_WRITE_TOOLS)}).Any()`
    : '(context.Request.Method != "GET" && context.Request.Method != "HEAD")';
  return [
    ...(o.streaming ? [el('set-variable', { name: MCP_TOOLS_VARIABLE, value: MCP_TOOLS_EXPRESSION })] : []),
    el('choose', {},
      el('when', { condition: `@(${changes} && ${lacksWrite})` },
        insufficientScope(o, write, `Changing orders needs the ${write} scope.`)),
      el('when', { condition: `@(${lacksRead})` },
        insufficientScope(o, read, `Reading orders needs the ${read} or the ${write} scope.`)),
    ),
  ];
}

/** The tool name of an MCP call, from `Mcp-Name` where the client sends it, into Application Insights. */
function mcpToolTrace(): XmlElement {
  const tool = 'context.Request.Headers.GetValueOrDefault("Mcp-Name", "")';
  return el('choose', {},
    el('when', { condition: `@(${tool} != "")` },
      el('trace', { source: 'orders-mcp', severity: 'information' },
        el('message', {}, `@("MCP " + context.Request.Headers.GetValueOrDefault("Mcp-Method", "tools/call") + " " + ${tool})`),
        el('metadata', { name: 'mcp-tool', value: `@(${tool})` }),
      ),
    ),
  );
}

/**
 * The policy of an API in front of the Orders API: `validate-jwt` (tenant OpenID
 * configuration, audiences, both issuers, tenant), then the client and scope checks
 * `validate-jwt` cannot express (`azp` or `appid`; at least one required scope), and a
 * 401 or 403 that names the protected resource metadata. With `gatewayProof`, the request
 * that passed also carries the gateway's managed identity token in `X-Gateway-Authorization`.
 */
export function protectedApiPolicy(o: ProtectedApiPolicyOptions): string {
  const invalid = `Bearer error="invalid_token", resource_metadata="${o.resourceMetadataUrl}"`;
  const proof = o.gatewayProof && gatewayProofSteps(o.gatewayProof);
  const inbound: XmlNode[] = [
    ...(proof ? [proof.strip] : []),
    el('set-header', { 'name': 'X-Request-ID', 'exists-action': 'skip' }, el('value', {}, '@(context.RequestId.ToString())')),
    validateJwt(o),
  ];
  const checks: XmlElement[] = [
    el('when', { condition: rejectedClientCondition(o.allowedClientIds) },
      errorResponse(401, 'Unauthorized', invalid, 'invalid_token', 'The bearer token is not a delegated user token of an allowed client.')),
  ];
  if (o.requiredScopes.length > 0) {
    checks.push(el('when', { condition: missingScopeCondition(o.requiredScopes) },
      errorResponse(403, 'Forbidden', `Bearer error="insufficient_scope", scope="${o.requiredScopes.join(' ')}", resource_metadata="${o.resourceMetadataUrl}"`,
        'insufficient_scope', 'The bearer token lacks a required scope.')));
  }
  inbound.push(el('choose', {}, ...checks));
  const limited = o.callsPerMinute !== undefined && o.callsPerMinute > 0;
  if (limited) {
    inbound.push(el('rate-limit-by-key', {
      'calls': o.callsPerMinute,
      'renewal-period': 60,
      'counter-key': RATE_LIMIT_KEY,
      'retry-after-header-name': 'Retry-After',
      'retry-after-variable-name': RETRY_AFTER_VARIABLE,
      'remaining-calls-header-name': 'X-RateLimit-Remaining',
    }));
  }
  if (o.operationScopes) inbound.push(...operationScopeSteps(o));
  if (o.streaming) inbound.push(mcpToolTrace());
  if (proof) inbound.push(...proof.attach);
  return policies({
    inbound,
    // Unbuffered: buffering the response breaks MCP streaming through the gateway.
    backend: o.streaming ? [el('forward-request', { 'buffer-response': false })] : undefined,
    onError: [
      // validate-jwt failures land here: answer with the challenge (no error code for a missing token).
      el('choose', {},
        el('when', { condition: '@(context.Response.StatusCode == 401 && string.IsNullOrEmpty(context.Request.Headers.GetValueOrDefault("Authorization", "")))' },
          errorResponse(401, 'Unauthorized', `Bearer resource_metadata="${o.resourceMetadataUrl}"`, 'unauthorized', 'A bearer token is required.')),
        el('when', { condition: '@(context.Response.StatusCode == 401)' },
          errorResponse(401, 'Unauthorized', invalid, 'invalid_token', 'The bearer token is invalid.')),
        ...(limited ? [el('when', { condition: '@(context.Response.StatusCode == 429 || context.LastError.Reason == "RateLimitExceeded")' },
          el('return-response', {},
            el('set-status', { code: 429, reason: 'Too Many Requests' }),
            setHeader('Retry-After', `@(context.Variables.GetValueOrDefault<object>(${csharpString(RETRY_AFTER_VARIABLE)}, 60).ToString())`),
            setHeader('Content-Type', 'application/json'),
            el('set-body', {}, JSON.stringify({ error: 'rate_limited', message: `More than ${o.callsPerMinute} calls in a minute; retry after the number of seconds in Retry-After.` })),
          ))] : []),
      ),
    ],
  });
}

/** An RFC 9728 protected resource metadata document. */
export interface ProtectedResourceMetadata {
  /** The resource identifier: exactly the URL the client calls. */
  readonly resource: string;
  /** Accepted issuers, v2 form first. */
  readonly authorizationServers: string[];
  /** Scopes a client should request. */
  readonly scopesSupported: string[];
}

/** Serves the metadata document anonymously from the gateway (no backend call). */
export function protectedResourceMetadataPolicy(m: ProtectedResourceMetadata): string {
  const document = {
    resource: m.resource,
    authorization_servers: m.authorizationServers,
    bearer_methods_supported: ['header'],
    scopes_supported: m.scopesSupported,
  };
  return policies({
    inbound: [el('return-response', {},
      el('set-status', { code: 200, reason: 'OK' }),
      setHeader('Content-Type', 'application/json'),
      setHeader('Cache-Control', 'public, max-age=3600'),
      el('set-body', {}, JSON.stringify(document)),
    )],
  });
}

/** Options of {@link aiGatewayPolicy}. */
export interface AiGatewayPolicyOptions {
  /** Who may call the gateway (audiences accepted; any client of the tenant). */
  readonly caller: BearerValidation;
  /** Tokens per minute per caller. */
  readonly tokensPerMinute: number;
  /** Namespace of the token metrics in Application Insights. */
  readonly metricNamespace: string;
}

/** The caller's `oid` when the token has one, else the client IP. */
const CALLER_KEY = '@(context.Variables.GetValueOrDefault<Jwt>("jwt")?.Claims.GetValueOrDefault("oid", context.Request.IpAddress) ?? context.Request.IpAddress)';

/**
 * The `/openai` AI gateway: validates the caller, authenticates to Azure OpenAI with the
 * gateway's managed identity, limits tokens per caller and emits token metrics.
 */
export function aiGatewayPolicy(o: AiGatewayPolicyOptions): string {
  if (!Number.isInteger(o.tokensPerMinute) || o.tokensPerMinute < 1) throw new Error(`tokensPerMinute must be a positive whole number, got ${o.tokensPerMinute}`);
  return policies({
    inbound: [
      validateJwt(o.caller),
      el('authentication-managed-identity', { resource: 'https://cognitiveservices.azure.com' }),
      el('llm-token-limit', {
        'counter-key': CALLER_KEY,
        'tokens-per-minute': o.tokensPerMinute,
        'estimate-prompt-tokens': true,
        'remaining-tokens-header-name': 'x-ratelimit-remaining-tokens',
        'tokens-consumed-header-name': 'x-ratelimit-consumed-tokens',
      }),
      el('llm-emit-token-metric', { namespace: o.metricNamespace },
        el('dimension', { name: 'API ID' }),
        el('dimension', { name: 'Operation ID' }),
        el('dimension', { name: 'Caller', value: CALLER_KEY }),
      ),
    ],
    onError: [
      el('choose', {},
        el('when', { condition: '@(context.Response.StatusCode == 401)' },
          errorResponse(401, 'Unauthorized', 'Bearer error="invalid_token"', 'invalid_token', 'The bearer token is missing or invalid.')),
      ),
    ],
  });
}
