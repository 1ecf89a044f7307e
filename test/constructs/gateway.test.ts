import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resolveIn, resourcesOf, synthJson, testPlacement, withoutMetadata } from './synth';
import { descendants, findAll, parseXml } from './xml';
import { Gateway, GatewayProps } from '../../src/gateway';
import { namedValueReferences } from '../../src/gateway/policies';

const placement = testPlacement({ resourceGroupId: '/subscriptions/sub-1/resourceGroups/rg-orders' });
const TENANT = '11111111-2222-3333-4444-555555555555';
const GATEWAY = 'https://apim-orders-abc123.azure-api.net';
const SPA = 'aaaaaaaa-0000-0000-0000-000000000001';

// A stand-in OpenAPI document: the unit under test is the import, not the document (the real one is checked below).
const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
const OPENAPI_PATH = join(dir, 'openapi.json');
const OPENAPI = JSON.stringify({ openapi: '3.1.0', info: { title: 'Orders API', version: '1' }, paths: { '/orders': { get: { operationId: 'list-orders', responses: { 200: { description: 'ok' } } } } } });
writeFileSync(OPENAPI_PATH, OPENAPI);

const base: GatewayProps = {
  placement,
  tenantId: TENANT,
  ordersApiUrl: 'https://ca-orders.example.azurecontainerapps.io',
  audiences: ['https://ai.azure.com'],
  allowedClientIds: [SPA],
  requiredScopes: ['user_impersonation'],
  applicationInsightsId: '/appi/1',
  applicationInsightsConnectionString: 'InstrumentationKey=x',
  logAnalyticsWorkspaceId: '/law/1',
  openAiEndpoint: 'https://ai-orders-abc123.openai.azure.com/openai',
  cognitiveAccountId: '/cog/1',
  ordersApiOpenApiPath: OPENAPI_PATH,
};

function build(props: Partial<GatewayProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'gateway');
  const gateway = new Gateway(stack, 'Gateway', { ...base, ...props });
  return { gateway, json: synthJson(stack) };
}

const byName = (json: any, type: string, name: string) => (Object.values(resourcesOf(json, type)) as any[]).find((r) => r.name === name);
const apiPolicy = (json: any, api: string) => (Object.values(resourcesOf(json, 'azurerm_api_management_api_policy')) as any[])
  .find((p) => p.api_name === `\${azurerm_api_management_api.${Object.entries(resourcesOf(json, 'azurerm_api_management_api')).find(([, a]: any) => a.name === api)![0]}.name}`);
const namedValues = (json: any) => Object.fromEntries((Object.values(resourcesOf(json, 'azurerm_api_management_named_value')) as any[]).map((v) => [v.name, v.value]));
/** Every resource that names the API Management service by `api_management_name`. */
const childrenOfService = (json: any) => Object.entries(json.resource ?? {})
  .filter(([type]) => type.startsWith('azurerm_api_management_'))
  .flatMap(([, byId]) => Object.values(byId as object) as any[])
  .filter((r) => 'api_management_name' in r);
/** Policy XML with the named values substituted, as the gateway runs it. */
const resolved = (json: any, xml: string) => xml.replace(/\{\{([^{}]+)\}\}/g, (_, name) => namedValues(json)[name]);

describe('the service', () => {
  const { json, gateway } = build();

  test('v2 SKU (BasicV2_1 by default), publisher, system identity', () => {
    expect(withoutMetadata(onlyResource(json, 'azurerm_api_management'))).toMatchObject({
      name: 'apim-orders-abc123',
      sku_name: 'BasicV2_1',
      publisher_name: 'Identity Propagating Agent',
      publisher_email: 'apim-publisher@example.com',
      identity: { type: 'SystemAssigned' },
    });
  });

  test('StandardV2 and publisher as props; non-v2 SKUs refused', () => {
    const { json: j } = build({ skuName: 'StandardV2_2', publisherName: 'Contoso', publisherEmail: 'ops@contoso.com' });
    expect(onlyResource(j, 'azurerm_api_management')).toMatchObject({ sku_name: 'StandardV2_2', publisher_name: 'Contoso', publisher_email: 'ops@contoso.com' });
    expect(() => build({ skuName: 'Developer_1' })).toThrow(/skuName "Developer_1" is not a v2 SKU/);
  });

  test('URLs derive from the name, so they are known before the service exists', () => {
    expect(Gateway.defaultName(placement)).toBe('apim-orders-abc123');
    expect(gateway.gatewayUrl).toBe(GATEWAY);
    expect(gateway.mcpUrl).toBe(`${GATEWAY}/orders-mcp/mcp`);
    expect(gateway.ordersMcpBaseUrl).toBe(`${GATEWAY}/orders-mcp`);
    expect(gateway.mcpMetadataUrl).toBe(`${GATEWAY}/.well-known/oauth-protected-resource/orders-mcp/mcp`);
    expect(Gateway.mcpUrlOf(Gateway.gatewayUrlOf('x'))).toBe('https://x.azure-api.net/orders-mcp/mcp');
  });

  test('every child reaches the service through the Terraform graph: its name and resource group are the service\'s attributes', () => {
    const children = childrenOfService(json);
    expect(children.length).toBeGreaterThan(10);
    for (const child of children) {
      expect(child).toMatchObject({
        api_management_name: expect.stringMatching(/^\$\{azurerm_api_management\.Gateway_Service_\w+\.name\}$/),
        resource_group_name: expect.stringMatching(/^\$\{azurerm_api_management\.Gateway_Service_\w+\.resource_group_name\}$/),
      });
    }
    // The URLs stay literal: the agent's target is known before the service exists (no cycle).
    expect(gateway.gatewayUrl).toBe(GATEWAY);
  });

  test('diagnostic setting to Log Analytics, resource-specific tables', () => {
    const setting = onlyResource(json, 'azurerm_monitor_diagnostic_setting');
    expect(setting).toMatchObject({ log_analytics_workspace_id: '/law/1', log_analytics_destination_type: 'Dedicated', enabled_log: [{ category: 'GatewayLogs' }] });
    expect(setting.target_resource_id).toMatch(/^\$\{azurerm_api_management\.Gateway_Service_\w+\.id\}$/);
  });

  test('named values: tenant, resources and metadata URLs, none secret', () => {
    expect(namedValues(json)).toEqual({
      'orders-tenant-id': TENANT,
      'orders-mcp-resource': `${GATEWAY}/orders-mcp/mcp`,
      'orders-mcp-metadata-url': `${GATEWAY}/.well-known/oauth-protected-resource/orders-mcp/mcp`,
      'orders-api-resource': `${GATEWAY}/orders-api`,
      'orders-api-metadata-url': `${GATEWAY}/.well-known/oauth-protected-resource/orders-api`,
      'orders-gateway-audience': `\${azuread_application.${Object.keys(resourcesOf(json, 'azuread_application'))[0]}.client_id}`,
    });
    for (const v of Object.values(resourcesOf(json, 'azurerm_api_management_named_value')) as any[]) expect(v.secret).toBe(false);
  });

  test('every {{named value}} any policy references is defined, and policies wait for them', () => {
    const defined = Object.keys(namedValues(json));
    const namedValueAddresses = Object.keys(resourcesOf(json, 'azurerm_api_management_named_value')).map((id) => `azurerm_api_management_named_value.${id}`);
    const policies = [...Object.values(resourcesOf(json, 'azurerm_api_management_api_policy')), ...Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy'))] as any[];
    expect(policies).toHaveLength(5); // /orders-mcp, /orders-api, three metadata operations (/openai is opt-in)
    for (const p of policies) {
      for (const ref of namedValueReferences(p.xml_content)) expect(defined).toContain(ref);
      expect(p.depends_on).toEqual(expect.arrayContaining(namedValueAddresses));
      expect(() => parseXml(p.xml_content)).not.toThrow();
    }
  });
});

describe('/orders-mcp', () => {
  const { json } = build();

  test('an https API at orders-mcp in front of the Orders API, POST/GET/DELETE /mcp, no subscription key', () => {
    const api = byName(json, 'azurerm_api_management_api', 'orders-mcp');
    expect(api).toMatchObject({ path: 'orders-mcp', service_url: base.ordersApiUrl, protocols: ['https'], subscription_required: false });
    const ops = (Object.values(resourcesOf(json, 'azurerm_api_management_api_operation')) as any[]).filter((o) => o.url_template === '/mcp');
    expect(ops.map((o) => o.method).sort()).toEqual(['DELETE', 'GET', 'POST']);
  });

  test('validate-jwt: tenant OpenID configuration, audience, both issuers, allowed client, scope, unbuffered', () => {
    const xml = resolved(json, apiPolicy(json, 'orders-mcp').xml_content);
    const root = parseXml(xml);
    const [jwt] = findAll(root, 'inbound/validate-jwt');
    expect(findAll(jwt, 'openid-config')[0].attributes.url).toBe(`https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(findAll(jwt, 'audiences/audience').map((a) => a.text)).toEqual(['https://ai.azure.com']);
    expect(findAll(jwt, 'issuers/issuer').map((a) => a.text)).toEqual([`https://login.microsoftonline.com/${TENANT}/v2.0`, `https://sts.windows.net/${TENANT}/`]);
    const conditions = descendants(root, 'when').map((w) => w.attributes.condition).join('\n');
    expect(conditions).toContain(`"${SPA}"`);
    expect(conditions).toContain('"user_impersonation"');
    expect(findAll(root, 'backend/forward-request')[0].attributes['buffer-response']).toBe('false');
  });

  test('the 401 challenge names the path-inserted metadata URL', () => {
    const xml = resolved(json, apiPolicy(json, 'orders-mcp').xml_content);
    const challenges = descendants(parseXml(xml), 'set-header').filter((h) => h.attributes.name === 'WWW-Authenticate').map((h) => findAll(h, 'value')[0].text);
    expect(challenges).toContain(`Bearer error="invalid_token", resource_metadata="${GATEWAY}/.well-known/oauth-protected-resource/orders-mcp/mcp"`);
  });
});

describe('RFC 9728 metadata', () => {
  const { json } = build();
  const metadataAt = (apiName: string, urlTemplate: string) => {
    const api = Object.entries(resourcesOf(json, 'azurerm_api_management_api')).find(([, a]: any) => a.name === apiName)!;
    const op = (Object.values(resourcesOf(json, 'azurerm_api_management_api_operation')) as any[])
      .find((o) => o.api_name === `\${azurerm_api_management_api.${api[0]}.name}` && o.url_template === urlTemplate);
    expect(op).toBeDefined();
    expect(op.method).toBe('GET');
    const opId = Object.entries(resourcesOf(json, 'azurerm_api_management_api_operation')).find(([, o]) => o === op)![0];
    const policy = (Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy')) as any[])
      .find((p) => p.api_name === op.api_name && p.operation_id === `\${azurerm_api_management_api_operation.${opId}.operation_id}`);
    return { api: api[1] as any, document: JSON.parse(findAll(parseXml(resolved(json, policy.xml_content)), 'inbound/return-response/set-body')[0].text) };
  };

  test('served at /.well-known/oauth-protected-resource/orders-mcp/mcp (RFC path-inserted form), anonymously', () => {
    const { api, document } = metadataAt('oauth-protected-resource', '/orders-mcp/mcp');
    expect(api).toMatchObject({ path: '.well-known/oauth-protected-resource', subscription_required: false, protocols: ['https'] });
    expect(api.service_url).toBeUndefined();
    expect(document).toEqual({
      resource: `${GATEWAY}/orders-mcp/mcp`,
      authorization_servers: [`https://login.microsoftonline.com/${TENANT}/v2.0`, `https://sts.windows.net/${TENANT}/`],
      bearer_methods_supported: ['header'],
      scopes_supported: ['https://ai.azure.com/user_impersonation'],
    });
  });

  test('served at /orders-mcp/.well-known/oauth-protected-resource (the original form) with the same resource', () => {
    const { api, document } = metadataAt('orders-mcp-well-known', '/oauth-protected-resource');
    expect(api).toMatchObject({ path: 'orders-mcp/.well-known', subscription_required: false });
    expect(document.resource).toBe(`${GATEWAY}/orders-mcp/mcp`);
  });

  test('the REST API has its own metadata, resource = <gateway>/orders-api', () => {
    expect(metadataAt('oauth-protected-resource', '/orders-api').document.resource).toBe(`${GATEWAY}/orders-api`);
  });

  test('without required scopes, scopes_supported is <audience>/.default', () => {
    const { json: j } = build({ requiredScopes: [] });
    const policy = (Object.values(resourcesOf(j, 'azurerm_api_management_api_operation_policy')) as any[])[0];
    expect(JSON.parse(findAll(parseXml(policy.xml_content), 'inbound/return-response/set-body')[0].text).scopes_supported).toEqual(['https://ai.azure.com/.default']);
  });
});

describe('/orders-api', () => {
  test('imported from the OpenAPI document file, in front of the Orders API, protected by validate-jwt', () => {
    const { json } = build();
    const api = byName(json, 'azurerm_api_management_api', 'orders-api');
    expect(api).toMatchObject({ path: 'orders-api', service_url: base.ordersApiUrl, import: { content_format: 'openapi+json', content_value: OPENAPI } });
    const root = parseXml(resolved(json, apiPolicy(json, 'orders-api').xml_content));
    expect(findAll(root, 'inbound/validate-jwt/issuers/issuer')).toHaveLength(2);
    const challenge = descendants(root, 'set-header').filter((h) => h.attributes.name === 'WWW-Authenticate').map((h) => findAll(h, 'value')[0].text);
    expect(challenge).toContain(`Bearer error="invalid_token", resource_metadata="${GATEWAY}/.well-known/oauth-protected-resource/orders-api"`);
  });

  test('by default the document the services build writes (lib-services/dist/orders-api/openapi.json)', () => {
    const shipped = join(__dirname, '..', '..', 'lib-services', 'dist', 'orders-api', 'openapi.json');
    if (!existsSync(shipped)) {
      expect(() => build({ ordersApiOpenApiPath: undefined })).toThrow(/run `npm run build:services`/);
      return;
    }
    const { json } = build({ ordersApiOpenApiPath: undefined });
    expect(byName(json, 'azurerm_api_management_api', 'orders-api').import.content_value).toBe(readFileSync(shipped, 'utf8'));
  });

  test('Terraform template sequences in the document stay literal', () => {
    const path = join(dir, 'templated.json');
    writeFileSync(path, JSON.stringify({ openapi: '3.1.0', paths: {}, info: { description: 'costs ${price} %{if x}' } }));
    const { json } = build({ ordersApiOpenApiPath: path });
    expect(byName(json, 'azurerm_api_management_api', 'orders-api').import.content_value).toContain('costs $${price} %%{if x}');
  });

  test('the imported document carries no servers: APIM serves it at /orders-api, its backend is service_url', () => {
    const path = join(dir, 'with-servers.json');
    writeFileSync(path, JSON.stringify({ openapi: '3.1.0', servers: [{ url: `${GATEWAY}/orders-mcp` }], info: { title: 't', version: '1' }, paths: { '/orders': {} } }));
    const { json } = build({ ordersApiOpenApiPath: path });
    const api = byName(json, 'azurerm_api_management_api', 'orders-api');
    const imported = JSON.parse(api.import.content_value);
    expect(imported.servers).toBeUndefined();
    expect(imported.paths).toEqual({ '/orders': {} });
    expect(api.service_url).toBe(base.ordersApiUrl);
    // A document without servers is imported byte for byte.
    expect(byName(build().json, 'azurerm_api_management_api', 'orders-api').import.content_value).toBe(OPENAPI);
  });

  test('a missing or malformed document fails the synth with a clear message', () => {
    expect(() => build({ ordersApiOpenApiPath: join(dir, 'nope.json') })).toThrow(/nope.json does not exist: run `npm run build:services`/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"swagger": "2.0"}');
    expect(() => build({ ordersApiOpenApiPath: bad })).toThrow(/is not an OpenAPI document/);
  });
});

describe('/openai AI gateway', () => {
  test('an API at openai on the account endpoint; validate-jwt, managed identity, token limit, metrics', () => {
    const { json, gateway } = build({ aiGateway: true, tokensPerMinute: 2000 });
    expect(gateway.aiGatewayUrl).toBe(`${GATEWAY}/openai`);
    const api = byName(json, 'azurerm_api_management_api', 'azure-openai');
    expect(api).toMatchObject({ path: 'openai', service_url: 'https://ai-orders-abc123.openai.azure.com/openai', subscription_required: false });
    const root = parseXml(apiPolicy(json, 'azure-openai').xml_content);
    expect(findAll(root, 'inbound/authentication-managed-identity')[0].attributes.resource).toBe('https://cognitiveservices.azure.com');
    expect(findAll(root, 'inbound/llm-token-limit')[0].attributes['tokens-per-minute']).toBe('2000');
    expect(findAll(root, 'inbound/llm-token-limit')[0].attributes['counter-key']).toContain('GetValueOrDefault("oid", context.Request.IpAddress)');
    expect(findAll(root, 'inbound/llm-emit-token-metric')).toHaveLength(1);
    expect(findAll(root, 'inbound/validate-jwt/audiences/audience').map((a) => a.text)).toEqual(['https://cognitiveservices.azure.com', 'https://ai.azure.com']);
  });

  test.each([
    ['a new service', { aiGateway: true }, /^\$\{azurerm_api_management\.Gateway_Service_\w+\.id\}$/],
    ['an existing service', { aiGateway: true, existingName: 'shared-apim' }, /^\$\{data\.azurerm_api_management\.Gateway_Existing_\w+\.id\}$/],
  ])('token metrics on %s: the /openai API\'s Application Insights diagnostic through azapi with metrics: true, logging as the others', (_name, props, serviceId) => {
    const { json } = build(props);
    const diagnostics = (Object.values(resourcesOf(json, 'azapi_resource')) as any[]).filter((r) => r.type.startsWith('Microsoft.ApiManagement/service/apis/diagnostics@'));
    expect(diagnostics).toHaveLength(1);
    const [d] = diagnostics;
    expect(d).toMatchObject({ type: 'Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01', name: 'applicationinsights', schema_validation_enabled: true });
    const [service, api] = d.parent_id.split('/apis/');
    expect(service).toMatch(serviceId);
    expect(api).toBe(`\${azurerm_api_management_api.${Object.entries(resourcesOf(json, 'azurerm_api_management_api')).find(([, a]: any) => a.name === 'azure-openai')![0]}.name}`);
    const p = d.body.properties;
    expect(p.metrics).toBe(true);
    expect(p.loggerId).toBe(`\${azurerm_api_management_logger.${Object.keys(resourcesOf(json, 'azurerm_api_management_logger'))[0]}.id}`);
    expect(p).toMatchObject({ alwaysLog: 'allErrors', verbosity: 'information', sampling: { samplingType: 'fixed', percentage: 100 } });
    for (const side of ['frontend', 'backend']) {
      for (const m of ['request', 'response']) {
        expect(p[side][m].body.bytes).toBe(0);
        for (const secret of ['authorization', 'cookie', 'set-cookie', 'x-gateway-authorization']) expect(p[side][m].headers.map((h: string) => h.toLowerCase())).not.toContain(secret);
      }
    }
    // ...and no azurerm diagnostic for that API (two diagnostics of one identifier would fight).
    const azurermOnOpenAi = (Object.values(resourcesOf(json, 'azurerm_api_management_api_diagnostic')) as any[]).filter((r) => String(r.api_name).includes('AiGatewayApi'));
    expect(azurermOnOpenAi).toEqual([]);
  });

  test('the service identity gets Cognitive Services OpenAI User on the account, nothing broader', () => {
    const { json } = build({ aiGateway: true });
    const role = onlyResource(json, 'azurerm_role_assignment');
    expect(role).toMatchObject({ scope: '/cog/1', principal_type: 'ServicePrincipal' });
    expect(role.role_definition_id).toMatch(/\/providers\/Microsoft\.Authorization\/roleDefinitions\/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd$/);
    expect(role.principal_id).toMatch(/^\$\{azurerm_api_management\.Gateway_Service_\w+\.identity\[0\]\.principal_id\}$/);
  });

  test('off by default (an opt-in the agent does not use): no /openai API, policy, diagnostic or role, even with an endpoint and account', () => {
    const { json, gateway } = build();
    expect(gateway.aiGatewayUrl).toBeUndefined();
    expect(byName(json, 'azurerm_api_management_api', 'azure-openai')).toBeUndefined();
    expect(JSON.stringify(resourcesOf(json, 'azurerm_api_management_api_policy'))).not.toContain('llm-token-limit');
    expect((Object.values(resourcesOf(json, 'azapi_resource')) as any[]).filter((r) => r.type.includes('diagnostics'))).toEqual([]);
    expect(resourcesOf(json, 'azurerm_role_assignment')).toEqual({});
  });

  test('its settings without aiGateway, or aiGateway without an endpoint, are refused', () => {
    expect(() => build({ tokensPerMinute: 2000 })).toThrow(/Gateway: tokensPerMinute configures the \/openai AI gateway, which is off: set aiGateway: true/);
    expect(() => build({ aiGatewayAudiences: ['x'] })).toThrow(/aiGatewayAudiences configures the \/openai AI gateway/);
    expect(() => build({ aiGateway: true, openAiEndpoint: undefined })).toThrow(/aiGateway needs openAiEndpoint/);
  });
});

describe('logging', () => {
  test('Application Insights logger; All-APIs diagnostic without credential headers and with 0 body bytes', () => {
    const { json } = build();
    const logger = onlyResource(json, 'azurerm_api_management_logger');
    expect(logger).toMatchObject({ name: 'appinsights-logger', resource_id: '/appi/1', application_insights: { connection_string: 'InstrumentationKey=x' } });
    const diagnostic = onlyResource(json, 'azurerm_api_management_diagnostic');
    expect(diagnostic.identifier).toBe('applicationinsights');
    for (const m of ['frontend_request', 'frontend_response', 'backend_request', 'backend_response']) {
      expect(diagnostic[m].body_bytes).toBe(0);
      const headers = diagnostic[m].headers_to_log.map((h: string) => h.toLowerCase());
      for (const secret of ['authorization', 'cookie', 'set-cookie']) expect(headers).not.toContain(secret);
    }
  });
});

describe('gateway proof', () => {
  const { json, gateway } = build();
  const registrationId = Object.keys(resourcesOf(json, 'azuread_application'))[0];
  const clientId = `\${azuread_application.${registrationId}.client_id}`;

  test('a single-tenant app registration with v2 tokens, no secrets, api://<client id>, its service principal, the deployer as owner', () => {
    const registration = onlyResource(json, 'azuread_application');
    expect(registration).toMatchObject({ display_name: 'orders-orders-gateway', sign_in_audience: 'AzureADMyOrg', api: { requested_access_token_version: 2 } });
    expect(onlyResource(json, 'azuread_application_identifier_uri')).toMatchObject({
      application_id: `\${azuread_application.${registrationId}.id}`,
      identifier_uri: `api://${clientId}`,
    });
    // The separate identifier URI resource is not undone by the application on the next plan.
    expect(registration.lifecycle).toEqual({ ignore_changes: ['identifier_uris'] });
    expect(onlyResource(json, 'azuread_service_principal').client_id).toBe(clientId);
    // The deployer owns it through `owners` (azuread keeps the caller it lists), never a separate owner resource.
    const deployer = /^\$\{data\.azuread_client_config\.\w+\.object_id\}$/;
    expect(registration.owners).toEqual([expect.stringMatching(deployer)]);
    expect(onlyResource(json, 'azuread_service_principal').owners).toEqual([expect.stringMatching(deployer)]);
    for (const type of ['azuread_application_owner', 'azuread_application_registration', 'azuread_application_password', 'azuread_application_certificate', 'azuread_application_federated_identity_credential']) {
      expect(resourcesOf(json, type), type).toEqual({});
    }
    expect(gateway.gatewayProofAudience).toBeDefined();
  });

  test.each(['orders-mcp', 'orders-api'])('%s: strips a client-sent proof, then adds the managed identity token for the audience after the caller\'s checks', (api) => {
    const policy = apiPolicy(json, api);
    const root = parseXml(resolved(json, policy.xml_content));
    const inbound = findAll(root, 'inbound')[0].children;
    const names = inbound.map((c) => c.name);
    // checks, the per-user rate limit (and for MCP the tool trace), then the proof last
    expect(names).toEqual(['base', 'set-header', 'set-header', 'validate-jwt', 'choose', 'rate-limit-by-key', ...(api === 'orders-mcp' ? ['choose'] : []),
      'authentication-managed-identity', 'set-header']);
    expect(inbound[1].attributes).toEqual({ 'name': 'X-Gateway-Authorization', 'exists-action': 'delete' });
    const [mi, proofHeader] = inbound.slice(-2);
    expect(mi.attributes).toEqual({ 'resource': clientId, 'output-token-variable-name': 'gatewayToken', 'ignore-error': 'false' });
    expect(proofHeader.attributes).toEqual({ 'name': 'X-Gateway-Authorization', 'exists-action': 'override' });
    expect(findAll(proofHeader, 'value')[0].text).toBe('@("Bearer " + (string)context.Variables["gatewayToken"])');
    // The caller's Authorization is passed through: nothing sets or removes it.
    expect(descendants(root, 'set-header').filter((h) => h.attributes.name.toLowerCase() === 'authorization')).toHaveLength(0);
    // Not before a token can be issued for the audience.
    expect(policy.depends_on).toEqual(expect.arrayContaining([
      `azuread_service_principal.${Object.keys(resourcesOf(json, 'azuread_service_principal'))[0]}`,
      `azuread_application_identifier_uri.${Object.keys(resourcesOf(json, 'azuread_application_identifier_uri'))[0]}`,
    ]));
  });

  test('the metadata and /openai policies carry no gateway proof', () => {
    const withAi = build({ aiGateway: true }).json;
    const others = [apiPolicy(withAi, 'azure-openai'), ...Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy'))] as any[];
    for (const p of others) expect(p.xml_content).not.toContain('X-Gateway-Authorization');
  });

  test('principal id of the system identity, new or existing service', () => {
    expect(resolveIn(gateway.node.scope as TerraformStack, gateway.principalId)).toMatch(/^\$\{azurerm_api_management\.Gateway_Service_\w+\.identity\[0\]\.principal_id\}$/);
    const existing = build({ existingName: 'shared-apim' });
    expect(resolveIn(existing.gateway.node.scope as TerraformStack, existing.gateway.principalId))
      .toMatch(/^\$\{data\.azurerm_api_management\.\w+\.identity\[0\]\.principal_id\}$/);
    expect(onlyResource(existing.json, 'azuread_application')).toBeDefined();
  });

  test('ordersApiGatewayProof: false leaves out the registration and the proof', () => {
    const { json: j, gateway: g } = build({ ordersApiGatewayProof: false });
    for (const type of ['azuread_application', 'azuread_service_principal', 'azuread_application_identifier_uri']) expect(resourcesOf(j, type)).toEqual({});
    expect(namedValues(j)['orders-gateway-audience']).toBeUndefined();
    expect(apiPolicy(j, 'orders-mcp').xml_content).not.toContain('X-Gateway-Authorization');
    expect(g.gatewayProofAudience).toBeUndefined();
  });
});

describe('an existing API Management service', () => {
  const { json, gateway } = build({ existingName: 'shared-apim', existingResourceGroupName: 'rg-shared' });

  test('looked up, not created; APIs, named values and logger added to it', () => {
    expect(resourcesOf(json, 'azurerm_api_management')).toEqual({});
    expect(Object.values(json.data?.azurerm_api_management ?? {})[0]).toMatchObject({ name: 'shared-apim', resource_group_name: 'rg-shared' });
    // Every child names the service through the data source, so it is read before them.
    const children = childrenOfService(json);
    expect(children.length).toBeGreaterThan(10);
    for (const child of children) {
      expect(child).toMatchObject({
        api_management_name: expect.stringMatching(/^\$\{data\.azurerm_api_management\.Gateway_Existing_\w+\.name\}$/),
        resource_group_name: expect.stringMatching(/^\$\{data\.azurerm_api_management\.Gateway_Existing_\w+\.resource_group_name\}$/),
      });
    }
    expect(gateway.mcpUrl).toBe('https://shared-apim.azure-api.net/orders-mcp/mcp');
    expect(namedValues(json)['orders-mcp-resource']).toBe('https://shared-apim.azure-api.net/orders-mcp/mcp');
  });

  test('per-API diagnostics for our APIs only (the service-wide one is the owner\'s); no diagnostic setting of ours', () => {
    expect(resourcesOf(json, 'azurerm_api_management_diagnostic')).toEqual({});
    const diagnostics = Object.values(resourcesOf(json, 'azurerm_api_management_api_diagnostic')) as any[];
    // /orders-mcp, /orders-api and both metadata APIs; /openai's is the azapi one.
    expect(diagnostics).toHaveLength(4);
    for (const d of diagnostics) {
      expect(d.frontend_response.body_bytes).toBe(0);
      expect(d.backend_response.body_bytes).toBe(0);
    }
    expect(resourcesOf(json, 'azurerm_monitor_diagnostic_setting')).toEqual({});
  });

  test('with the AI gateway, its system identity gets the Cognitive Services OpenAI User role', () => {
    const { json: withAi } = build({ aiGateway: true, existingName: 'shared-apim', existingResourceGroupName: 'rg-shared' });
    expect(onlyResource(withAi, 'azurerm_role_assignment').principal_id).toMatch(/^\$\{data\.azurerm_api_management\.\w+\.identity\[0\]\.principal_id\}$/);
  });

  test('settings of a new service with an existing one are rejected, naming both', () => {
    expect(() => build({ existingName: 'a', skuName: 'BasicV2_1' })).toThrow(/Gateway: existingName and skuName cannot be used together/);
    expect(() => build({ existingName: 'a', name: 'b' })).toThrow(/existingName and name cannot be used together/);
    expect(() => build({ existingResourceGroupName: 'rg' })).toThrow(/existingResourceGroupName needs existingName/);
    expect(() => build({ enabled: false })).toThrow(/enabled is false/);
    expect(() => build({ aiGateway: true, tokensPerMinute: 0 })).toThrow(/tokensPerMinute is 0/);
  });
});

describe('audience-bound mode: per-operation scopes', () => {
  const ORDERS = '99999999-0000-0000-0000-000000000009';
  const scopes = { read: 'Orders.Read', write: 'Orders.ReadWrite' };
  const { json } = build({ audiences: [`api://${ORDERS}`, ORDERS], ordersApiScopes: scopes, requiredScopes: [] });

  test.each([
    ['orders-api', `${GATEWAY}/.well-known/oauth-protected-resource/orders-api`],
    ['orders-mcp', `${GATEWAY}/.well-known/oauth-protected-resource/orders-mcp/mcp`],
  ])('%s accepts both audience forms and checks the operation\'s scope, naming api://<client id>/<scope> and its metadata', (api, metadataUrl) => {
    const root = parseXml(resolved(json, apiPolicy(json, api).xml_content));
    expect(findAll(root, 'inbound/validate-jwt/audiences/audience').map((a) => a.text)).toEqual([`api://${ORDERS}`, ORDERS]);
    const challenges = descendants(root, 'set-header').filter((h) => h.attributes.name === 'WWW-Authenticate').map((h) => findAll(h, 'value')[0].text);
    expect(challenges).toContain(`Bearer error="insufficient_scope", scope="api://${ORDERS}/Orders.ReadWrite", resource_metadata="${metadataUrl}"`);
    expect(challenges).toContain(`Bearer error="insufficient_scope", scope="api://${ORDERS}/Orders.Read", resource_metadata="${metadataUrl}"`);
  });

  test('the metadata advertises both scopes in the form a client requests them', () => {
    for (const p of Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy')) as any[]) {
      const document = JSON.parse(findAll(parseXml(resolved(json, p.xml_content)), 'inbound/return-response/set-body')[0].text);
      expect(document.scopes_supported).toEqual([`api://${ORDERS}/Orders.Read`, `api://${ORDERS}/Orders.ReadWrite`]);
    }
  });

  test('without ordersApiScopes: no per-operation check', () => {
    for (const api of ['orders-api', 'orders-mcp']) expect(apiPolicy(build().json, api).xml_content).not.toContain('Orders.ReadWrite');
  });

  test('scope names Azure would not issue, or one scope for both, are refused', () => {
    expect(() => build({ ordersApiScopes: { read: 'Orders Read', write: 'Orders.ReadWrite' } })).toThrow(/ordersApiScopes.read "Orders Read" is not a scope name/);
    expect(() => build({ ordersApiScopes: { read: 'Orders.All', write: 'Orders.All' } })).toThrow(/read and ordersApiScopes.write are the same scope/);
  });
});

describe('per-user rate limit', () => {
  const limitOf = (json: any, api: string) => findAll(parseXml(apiPolicy(json, api).xml_content), 'inbound/rate-limit-by-key')[0];

  test('120 calls a minute per user by default at /orders-mcp and /orders-api (not at the metadata)', () => {
    const { json } = build();
    for (const api of ['orders-mcp', 'orders-api']) expect(limitOf(json, api).attributes).toMatchObject({ 'calls': '120', 'renewal-period': '60' });
    for (const p of Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy')) as any[]) expect(p.xml_content).not.toContain('rate-limit');
  });

  test('perUserCallsPerMinute sets it, 0 turns it off, other values are refused', () => {
    expect(limitOf(build({ perUserCallsPerMinute: 30 }).json, 'orders-api').attributes.calls).toBe('30');
    expect(limitOf(build({ perUserCallsPerMinute: 0 }).json, 'orders-mcp')).toBeUndefined();
    expect(() => build({ perUserCallsPerMinute: -1 })).toThrow(/Gateway: perUserCallsPerMinute is -1; it must be a whole number from 0 to 1000000/);
    expect(() => build({ perUserCallsPerMinute: 1.5 })).toThrow(/perUserCallsPerMinute is 1.5/);
  });
});

describe('MCP revision headers in the diagnostics', () => {
  test('Mcp-Method and Mcp-Name are logged (they name the call, not a credential)', () => {
    const diagnostic = onlyResource(build().json, 'azurerm_api_management_diagnostic');
    expect(diagnostic.frontend_request.headers_to_log).toEqual(expect.arrayContaining(['Mcp-Method', 'Mcp-Name']));
  });
});
