import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { resourcesOf, resourceWithin, synthJson, SynthJson, testPlacement } from './synth';
import { descendants, findAll, parseXml } from './xml';
import { AgentUsersGroup, IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, McpAuthMode, OrdersApiRegistration } from '../../src';

// Identity at the MCP hop, both modes: the audience (and scopes) agree at the Foundry
// connection, API Management's validate-jwt, the Orders API's environment and the RFC 9728
// metadata; the Orders API's registration exposes the scopes the policies and the service check.

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const base: IdentityPropagatingAgentStackProps = { baseName: 'orders', location: 'swedencentral', uniqueSuffix: 'abc123', images: { servicesDistDir } };
const synth = (props: Partial<IdentityPropagatingAgentStackProps> = {}) => synthJson(new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props }));

const envOf = (json: SynthJson, part: string) => Object.fromEntries(resourceWithin(json, 'azurerm_container_app', part).template.container[0].env
  .map((e: any) => [e.name, e.value ?? e.secret_name]));
const connection = (json: SynthJson) => (Object.values(resourcesOf(json, 'azapi_resource')) as any[]).find((r) => r.name === 'mcp-entra').body.properties;
const namedValues = (json: SynthJson) => Object.fromEntries((Object.values(resourcesOf(json, 'azurerm_api_management_named_value')) as any[]).map((v) => [v.name, v.value]));
const policyOf = (json: SynthJson, apiName: string) => {
  const [apiId] = Object.entries(resourcesOf(json, 'azurerm_api_management_api')).find(([, a]: any) => a.name === apiName)!;
  const policy = (Object.values(resourcesOf(json, 'azurerm_api_management_api_policy')) as any[]).find((p) => p.api_name === `\${azurerm_api_management_api.${apiId}.name}`);
  return parseXml(policy.xml_content.replace(/\{\{([^{}]+)\}\}/g, (_: string, name: string) => namedValues(json)[name]));
};
const validatedAudiences = (json: SynthJson, apiName: string) => findAll(policyOf(json, apiName), 'inbound/validate-jwt/audiences/audience').map((a) => a.text);
/** The scope names a policy's `scp` checks compare against (string literals in the conditions that read `scp`). */
const checkedScopes = (json: SynthJson, apiName: string) => {
  const conditions = descendants(policyOf(json, apiName), 'when').map((w) => w.attributes.condition).filter((c) => c.includes('"scp"'));
  return [...new Set(conditions.flatMap((c) => [...c.matchAll(/"([^"]*)"/g)].map((m) => m[1])))].filter((v) => /^Orders\./.test(v)).sort();
};
const metadataDocuments = (json: SynthJson) => (Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy')) as any[])
  .map((p) => JSON.parse(findAll(parseXml(p.xml_content), 'inbound/return-response/set-body')[0].text));

describe('audience-bound (the default)', () => {
  const json = synth();
  const registrationId = Object.keys(resourcesOf(json, 'azuread_application')).find((id) => id.includes('OrdersApiRegistration'))!;
  const clientId = `\${azuread_application.${registrationId}.client_id}`;
  const uri = `api://${clientId}`;

  test('the Orders API registration: single tenant, v2 tokens, api://<client id>, both delegated scopes, no secrets, a service principal, the deployer as owner', () => {
    const app = resourcesOf(json, 'azuread_application')[registrationId];
    expect(app).toMatchObject({ sign_in_audience: 'AzureADMyOrg', api: { requested_access_token_version: 2 }, lifecycle: { ignore_changes: ['identifier_uris'] } });
    expect(app.owners).toEqual([expect.stringMatching(/^\$\{data\.azuread_client_config\.\w+\.object_id\}$/)]);
    expect(app.password).toBeUndefined();
    const scopes = app.api.oauth2_permission_scope;
    expect(scopes.map((s: any) => s.value)).toEqual(['Orders.Read', 'Orders.ReadWrite']);
    for (const s of scopes) {
      expect(s).toMatchObject({ type: 'User', enabled: true });
      expect(s.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    // Stable ids: Entra refuses to change the id of an enabled scope.
    expect(resourcesOf(synth(), 'azuread_application')[registrationId].api.oauth2_permission_scope.map((s: any) => s.id)).toEqual(scopes.map((s: any) => s.id));
    expect(resourceWithin(json, 'azuread_application_identifier_uri', 'OrdersApiRegistration')).toMatchObject({ identifier_uri: uri });
    expect(resourceWithin(json, 'azuread_service_principal', 'OrdersApiRegistration').client_id).toBe(clientId);
    // Azure AI (the client holding the user's ai.azure.com token in Foundry) pre-authorized for both scopes.
    const preAuthorized = resourceWithin(json, 'azuread_application_pre_authorized', 'OrdersApiRegistration');
    expect(preAuthorized.authorized_client_id).toBe('18a66f5f-dbdf-4c17-9dd7-1634712a9cbe');
    expect(preAuthorized.permission_ids).toEqual(scopes.map((s: any) => s.id));
  });

  test('the same audiences at the connection, both APIM policies and the Orders API: api://<client id> first, then the client id', () => {
    expect(connection(json).audience).toBe(uri);
    expect(connection(json).metadata.audience).toBe(uri);
    for (const api of ['orders-mcp', 'orders-api']) expect(validatedAudiences(json, api), api).toEqual([uri, clientId]);
    expect(envOf(json, 'OrdersApi').AUTH_AUDIENCES).toBe(`${uri},${clientId}`);
    // The browser's token is still for Foundry: the Chat App's audience does not change.
    expect(envOf(json, 'ChatApp').AUTH_AUDIENCES).toBe('https://ai.azure.com');
  });

  test('the scopes: required at APIM and the Orders API, per tool at the Orders API, qualified by the first audience in the metadata', () => {
    const env = envOf(json, 'OrdersApi');
    expect(env).toMatchObject({ AUTH_REQUIRED_SCOPES: 'Orders.Read,Orders.ReadWrite', ORDERS_READ_SCOPES: 'Orders.Read', ORDERS_WRITE_SCOPES: 'Orders.ReadWrite' });
    for (const api of ['orders-mcp', 'orders-api']) expect(checkedScopes(json, api), api).toEqual(['Orders.Read', 'Orders.ReadWrite']);
    const documents = metadataDocuments(json);
    expect(documents.length).toBeGreaterThanOrEqual(2);
    for (const d of documents) expect(d.scopes_supported).toEqual([`${uri}/Orders.Read`, `${uri}/Orders.ReadWrite`]);
  });

  test('without API Management the Orders API is the MCP server: the same audiences', () => {
    const j = synth({ gateway: { enabled: false } });
    const id = Object.keys(resourcesOf(j, 'azuread_application')).find((k) => k.includes('OrdersApiRegistration'))!;
    expect(connection(j).audience).toBe(`api://\${azuread_application.${id}.client_id}`);
    expect(envOf(j, 'OrdersApi').AUTH_AUDIENCES).toBe(`api://\${azuread_application.${id}.client_id},\${azuread_application.${id}.client_id}`);
  });

  test('foundry.mcpAudience contradicts the mode and is refused, naming both', () => {
    expect(() => synth({ foundry: { mcpAudience: 'https://ai.azure.com' } })).toThrow(/foundry.mcpAudience is set, but mcpAuth is AUDIENCE_BOUND/);
  });
});

describe('the original\'s mode (FOUNDRY_AUDIENCE)', () => {
  const json = synth({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE });

  test('no Orders API registration; https://ai.azure.com everywhere, as today', () => {
    expect(Object.keys(resourcesOf(json, 'azuread_application')).filter((id) => id.includes('OrdersApiRegistration'))).toEqual([]);
    expect(resourcesOf(json, 'azuread_application_pre_authorized')).toEqual({});
    expect(connection(json).audience).toBe('https://ai.azure.com');
    for (const api of ['orders-mcp', 'orders-api']) expect(validatedAudiences(json, api)).toEqual(['https://ai.azure.com']);
    const env = envOf(json, 'OrdersApi');
    expect(env.AUTH_AUDIENCES).toBe('https://ai.azure.com');
    for (const name of ['AUTH_REQUIRED_SCOPES', 'ORDERS_READ_SCOPES', 'ORDERS_WRITE_SCOPES']) expect(env[name], name).toBeUndefined();
    for (const api of ['orders-mcp', 'orders-api']) expect(checkedScopes(json, api)).toEqual([]);
    for (const d of metadataDocuments(json)) expect(d.scopes_supported).toEqual(['https://ai.azure.com/.default']);
  });

  test('foundry.mcpAudience and containerApps.audiences still choose the audience', () => {
    const j = synth({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE, containerApps: { audiences: ['https://example.test'] }, foundry: { mcpAudience: 'https://example.test' } });
    expect(connection(j).audience).toBe('https://example.test');
    expect(validatedAudiences(j, 'orders-mcp')).toEqual(['https://example.test']);
  });
});

describe('consent (opt-in admin consent)', () => {
  const grants = (json: SynthJson) => Object.entries(resourcesOf(json, 'azuread_service_principal_delegated_permission_grant'));

  test('off by default: no grant', () => {
    expect(grants(synth())).toEqual([]);
  });

  test('entra.adminConsent: the SPA\'s user_impersonation on Azure AI and, audience-bound, the Orders API scopes to Azure AI; tenant-wide', () => {
    const json = synth({ entra: { adminConsent: true } });
    const byId = Object.fromEntries(grants(json));
    const spa = Object.entries(byId).find(([id]) => id.startsWith('Spa_'))![1] as any;
    expect(spa).toMatchObject({ claim_values: ['user_impersonation'] });
    expect(spa.service_principal_object_id).toMatch(/^\$\{azuread_service_principal\.Spa_ServicePrincipal_\w+\.object_id\}$/);
    expect(spa.resource_service_principal_object_id).toMatch(/^\$\{data\.azuread_service_principal\.Spa_AzureAi_\w+\.object_id\}$/);
    const orders = Object.entries(byId).find(([id]) => id.startsWith('OrdersApiRegistration_'))![1] as any;
    expect(orders).toMatchObject({ claim_values: ['Orders.Read', 'Orders.ReadWrite'] });
    expect(orders.resource_service_principal_object_id).toMatch(/^\$\{azuread_service_principal\.OrdersApiRegistration_ServicePrincipal_\w+\.object_id\}$/);
    for (const g of Object.values(byId) as any[]) expect(g.user_object_id).toBeUndefined(); // AllPrincipals
    const azureAi = Object.values(json.data?.azuread_service_principal ?? {}) as any[];
    for (const sp of azureAi) expect(sp.client_id).toBe('18a66f5f-dbdf-4c17-9dd7-1634712a9cbe');
    expect(grants(synth({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE, entra: { adminConsent: true } }))).toHaveLength(1);
  });

  test('for an existing SPA client id, its service principal is looked up', () => {
    const json = synth({ entra: { existingSpaClientId: '44444444-4444-4444-4444-444444444444', adminConsent: true } });
    const lookedUp = (Object.values(json.data?.azuread_service_principal ?? {}) as any[]).map((sp) => sp.client_id);
    expect(lookedUp).toContain('44444444-4444-4444-4444-444444444444');
  });
});

describe('every registration the library creates', () => {
  test.each([['audience-bound', {}], ['original', { mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE }], ['with a group', { foundry: { agentUsers: { createGroup: true } } }]])(
    '%s: owned by the deployer through owners, never a separate owner resource', (_name, props) => {
      const json = synth(props as Partial<IdentityPropagatingAgentStackProps>);
      const owned = [...Object.values(resourcesOf(json, 'azuread_application')), ...Object.values(resourcesOf(json, 'azuread_service_principal')),
        ...Object.values(resourcesOf(json, 'azuread_group'))] as any[];
      expect(owned.length).toBeGreaterThanOrEqual(4);
      for (const r of owned) expect(r.owners).toEqual([expect.stringMatching(/^\$\{data\.azuread_client_config\.\w+\.object_id\}$/)]);
      for (const type of ['azuread_application_owner', 'azuread_application_registration']) expect(resourcesOf(json, type)).toEqual({});
    });
});

describe('bad values of the Entra parts used on their own are refused, naming the prop', () => {
  const placement = testPlacement();
  const inStack = (build: (stack: TerraformStack) => void) => {
    const stack = new TerraformStack(Testing.app(), 'test');
    build(stack);
    return synthJson(stack);
  };
  test('OrdersApiRegistration: a pre-authorized client that is not a client id', () => {
    expect(() => inStack((s) => new OrdersApiRegistration(s, 'R', { placement, preAuthorizedClientIds: ['azure-ai'] })))
      .toThrow('OrdersApiRegistration: preAuthorizedClientIds[0] "azure-ai" is invalid: it must be a GUID');
    expect(inStack((s) => new OrdersApiRegistration(s, 'R', { placement, preAuthorizedClientIds: ['44444444-4444-4444-4444-444444444444'] }))).toBeDefined();
  });
  test('AgentUsersGroup: a member that is not an object id', () => {
    expect(() => inStack((s) => new AgentUsersGroup(s, 'G', { displayName: 'chat users', members: ['44444444-4444-4444-4444-444444444444', 'bob'] })))
      .toThrow('AgentUsersGroup: members[1] "bob" is invalid: it must be a GUID');
  });
});

test('audience-bound: a required scope the Orders API registration does not define is refused (it would refuse every token), naming it', () => {
  expect(() => synth({ containerApps: { ordersApiRequiredScopes: ['user_impersonation'] } }))
    .toThrow(/containerApps.ordersApiRequiredScopes names user_impersonation, which the Orders API's registration does not define/);
  expect(synth({ containerApps: { ordersApiRequiredScopes: ['Orders.ReadWrite'] } })).toBeDefined();
  expect(synth({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE, containerApps: { ordersApiRequiredScopes: ['user_impersonation'] } })).toBeDefined();
});
