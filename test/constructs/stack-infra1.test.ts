import { join } from 'node:path';
import { Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { dependencyGraph, onlyResource, resolveIn, resourcesOf, resourceWithin, synthJson, SynthJson } from './synth';
import { byoStack } from '../../examples/byo-stack';
import { exampleStack } from '../../examples/stack';
import { IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps } from '../../src';

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
// A fixed OpenAPI document for API Management's import, so that the snapshot does not follow service changes.
const OPENAPI_FIXTURE = join(servicesDistDir, 'orders-api', 'openapi.json');
const base: IdentityPropagatingAgentStackProps = { baseName: 'orders', location: 'swedencentral', images: { servicesDistDir } };

function stack(props: Partial<IdentityPropagatingAgentStackProps> = {}) {
  return new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props });
}

const app = (json: SynthJson, part: string) => Object.entries(resourcesOf(json, 'azurerm_container_app')).find(([id]) => id.includes(part))![1] as any;
const envOf = (a: any) => Object.fromEntries(a.template.container[0].env.map((e: any) => [e.name, e.value ?? { secret: e.secret_name }]));

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('dependency graph', () => {
  test('the cycle finder finds a cycle', () => {
    expect(findCycle(new Map([['a', new Set(['b'])], ['b', new Set(['a'])]]))).toEqual(['a', 'b', 'a']);
  });

  test.each([
    ['example', () => synthJson(exampleStack(Testing.app(), undefined, { servicesDistDir }))],
    ['bring your own everything', () => synthJson(byoStack(Testing.app(), undefined, OPENAPI_FIXTURE))],
  ])('%s: no cycle', (_name, synth) => {
    const graph = dependencyGraph(synth());
    expect(graph.size).toBeGreaterThan(10);
    expect(findCycle(graph)).toBeUndefined();
  });

  test('ordering: environment -> SPA registration -> apps; identities and role assignments before the apps', () => {
    const json = synthJson(stack());
    const graph = dependencyGraph(json);
    const address = (type: string, part: string) => `${type}.${Object.keys(resourcesOf(json, type)).find((id) => id.includes(part))}`;
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      from === to || [...(graph.get(from) ?? [])].some((n) => !seen.has(n) && (seen.add(n), reaches(n, to, seen)));
    const orders = address('azurerm_container_app', 'OrdersApi');
    const chatApp = address('azurerm_container_app', 'ChatApp');
    const spa = address('azuread_application', 'Spa');
    const env = address('azurerm_container_app_environment', 'Environment');
    expect(reaches(spa, env)).toBe(true);
    expect(reaches(chatApp, spa)).toBe(true);
    expect(reaches(spa, chatApp)).toBe(false);
    expect(reaches(orders, address('azurerm_role_assignment', 'OrdersApiTableDataContributor'))).toBe(true);
    expect(reaches(orders, address('azurerm_role_assignment', 'OrdersApiAcrPull'))).toBe(true);
    expect(reaches(orders, address('azurerm_container_registry_task_schedule_run_now', 'OrdersApiBuildRun'))).toBe(true);
    expect(reaches(chatApp, address('azurerm_container_registry_task_schedule_run_now', 'ChatAppBuildRun'))).toBe(true);
    // API Management before the Orders API (its identity is in the app's environment), never the reverse:
    // APIM's backend is the Orders API URL computed from names, not an attribute of the app.
    const apim = address('azurerm_api_management', 'Gateway');
    expect(reaches(orders, apim)).toBe(true);
    expect(reaches(orders, address('azuread_application', 'GatewayProof'))).toBe(true);
    for (const type of ['azurerm_api_management', 'azurerm_api_management_api', 'azurerm_api_management_api_policy', 'azurerm_api_management_named_value']) {
      for (const id of Object.keys(resourcesOf(json, type))) expect(reaches(`${type}.${id}`, orders), `${type}.${id}`).toBe(false);
    }
  });
});

describe('gateway proof wiring', () => {
  test('the Orders API requires API Management\'s token: the audience of the new registration, APIM\'s system identity', () => {
    const s = stack();
    const json = synthJson(s);
    const env = envOf(app(json, 'OrdersApi'));
    const registration = Object.keys(resourcesOf(json, 'azuread_application')).find((id) => id.startsWith('Gateway_GatewayProof'))!;
    const apim = Object.keys(resourcesOf(json, 'azurerm_api_management'))[0];
    expect(env.GATEWAY_AUDIENCE).toBe(`\${azuread_application.${registration}.client_id}`);
    expect(env.GATEWAY_PRINCIPAL_IDS).toBe(`\${azurerm_api_management.${apim}.identity[0].principal_id}`);
    expect(resolveIn(s, s.gateway!.gatewayProofAudience)).toBe(env.GATEWAY_AUDIENCE);
    expect(resolveIn(s, s.gateway!.principalId)).toBe(env.GATEWAY_PRINCIPAL_IDS);
    // The same audience in the policies API Management runs.
    const audienceValue = (Object.values(resourcesOf(json, 'azurerm_api_management_named_value')) as any[]).find((v) => v.name === 'orders-gateway-audience').value;
    expect(audienceValue).toBe(env.GATEWAY_AUDIENCE);
    for (const p of Object.values(resourcesOf(json, 'azurerm_api_management_api_policy')) as any[]) {
      if (p.xml_content.includes('validate-jwt') && !p.xml_content.includes('llm-token-limit')) {
        expect(p.xml_content).toContain('<authentication-managed-identity resource="{{orders-gateway-audience}}" output-token-variable-name="gatewayToken" ignore-error="false" />');
      }
    }
    // The Chat App is not behind the gateway.
    expect(envOf(app(json, 'ChatApp')).GATEWAY_AUDIENCE).toBeUndefined();
  });

  test('without API Management, or with the proof switched off: neither variable, no registration', () => {
    for (const gateway of [{ enabled: false }, { ordersApiGatewayProof: false }]) {
      const json = synthJson(stack({ gateway }));
      const env = envOf(app(json, 'OrdersApi'));
      expect(env.GATEWAY_AUDIENCE, JSON.stringify(gateway)).toBeUndefined();
      expect(env.GATEWAY_PRINCIPAL_IDS, JSON.stringify(gateway)).toBeUndefined();
      expect(Object.keys(resourcesOf(json, 'azuread_application')).filter((id) => id.includes('GatewayProof'))).toEqual([]);
    }
    expect(() => stack({ gateway: { enabled: false, ordersApiGatewayProof: true } })).toThrow(/gateway.enabled is false, so gateway.ordersApiGatewayProof has nothing to configure/);
  });
});

describe('wiring', () => {
  test('the apps get the stack tenant, the table endpoint, the SPA client id and the built images', () => {
    const s = stack({ tenantId: '99999999-9999-4999-8999-999999999999' });
    const json = synthJson(s);
    const orders = envOf(app(json, 'OrdersApi'));
    expect(orders.AUTH_TENANT_ID).toBe('99999999-9999-4999-8999-999999999999');
    expect(orders.TABLES_ENDPOINT).toMatch(/^\$\{azapi_resource\.Storage_Account_\w+\.output\.properties\.primaryEndpoints\.table\}$/);
    expect(orders.AZURE_CLIENT_ID).toMatch(/^\$\{azurerm_user_assigned_identity\.Identities_OrdersApi_\w+\.client_id\}$/);
    const chat = envOf(app(json, 'ChatApp'));
    expect(chat.SPA_CLIENT_ID).toMatch(/^\$\{azuread_application\.Spa_Application_\w+\.client_id\}$/);
    expect(chat.AUTH_AUTHORITY).toBe('https://login.microsoftonline.com/99999999-9999-4999-8999-999999999999');
    expect(app(json, 'OrdersApi').template.container[0].image).toBe(`\${azurerm_container_registry.Images_Registry_${Object.keys(resourcesOf(json, 'azurerm_container_registry'))[0].split('_').pop()}.login_server}/orders-api:${s.images!.ordersApiImageTag}`);
    expect(app(json, 'OrdersApi').secret[0].value).toMatch(/^\$\{azurerm_application_insights\.\w+\.connection_string\}$/);
  });

  test('the Foundry endpoint and agent name come from the stack\'s Foundry part', () => {
    const chat = envOf(app(synthJson(stack()), 'ChatApp'));
    expect(chat.FOUNDRY_PROJECT_ENDPOINT).toMatch(/^https:\/\/ai-orders-.*\.services\.ai\.azure\.com\/api\/projects\/proj-orders$/);
    expect(chat.AGENT_NAME).toBe('orders-assistant');
  });

  test('the environment logs to the stack workspace', () => {
    expect(onlyResource(synthJson(stack()), 'azurerm_container_app_environment').log_analytics_workspace_id)
      .toMatch(/^\$\{azurerm_log_analytics_workspace\.\w+\.id\}$/);
  });

  test('exposed values and outputs (no secrets)', () => {
    const s = stack();
    const json = synthJson(s);
    const domain = /\$\{azurerm_container_app_environment\.\w+\.default_domain\}/.source;
    expect(resolveIn(s, s.ordersApiUrl)).toMatch(new RegExp(`^https://ca-orders-orders-api\\.${domain}$`));
    expect(resolveIn(s, s.ordersApiFqdn)).toMatch(new RegExp(`^ca-orders-orders-api\\.${domain}$`));
    expect(resolveIn(s, s.ordersApiMcpUrl)).toMatch(new RegExp(`^https://ca-orders-orders-api\\.${domain}/mcp$`));
    expect(resolveIn(s, s.chatAppUrl)).toMatch(new RegExp(`^https://ca-orders-chat-app\\.${domain}$`));
    expect(resolveIn(s, s.ordersApiPrincipalId)).toMatch(/Identities_OrdersApi_\w+\.principal_id/);
    expect(resolveIn(s, s.chatAppPrincipalId)).toMatch(/Identities_ChatApp_\w+\.principal_id/);
    expect(resolveIn(s, s.spaClientId)).toMatch(/azuread_application\.\w+\.client_id/);
    expect(resolveIn(s, s.tablesEndpoint)).toMatch(/primaryEndpoints\.table/);
    expect(Object.keys(json.output ?? {}).sort()).toEqual([
      'agent_name', 'apim_gateway_url', 'authority', 'chat_app_audiences', 'chat_app_required_scopes', 'chat_app_url', 'foundry_project_endpoint',
      'mcp_allowed_client_ids', 'mcp_audiences', 'mcp_auth_mode', 'mcp_connection_name', 'mcp_endpoint', 'orders_api_gateway_proof', 'orders_api_scopes',
      'orders_api_url', 'spa_client_id', 'spa_scopes', 'tenant_id',
    ]);
    expect(json.output!.chat_app_url.value).toMatch(new RegExp(`^https://ca-orders-chat-app\\.${domain}$`));
    expect(json.output!.mcp_endpoint.value).toMatch(/\/mcp$/);
    expect(JSON.stringify(json.output)).not.toMatch(/connection_string|instrumentation_key|primary_access_key|\.sas/);
  });

  test('the SPA redirect URI is the Chat App origin, from the environment domain', () => {
    const uris = resourceWithin(synthJson(stack()), 'azuread_application', 'Spa').single_page_application.redirect_uris;
    expect(uris[0]).toMatch(/^https:\/\/ca-orders-chat-app\.\$\{azurerm_container_app_environment\.\w+\.default_domain\}\/$/);
  });

  test('both images your own, no registry named: no registry, no AcrPull, no registry block', () => {
    const json = synthJson(stack({ images: { ordersApiImage: 'docker.io/me/o:1', chatAppImage: 'docker.io/me/c:1' } }));
    expect(resourcesOf(json, 'azurerm_container_registry')).toEqual({});
    // (Foundry's and API Management's roles are by id; by name only the apps' own.)
    expect(Object.values(resourcesOf(json, 'azurerm_role_assignment')).map((r: any) => r.role_definition_name).filter(Boolean)).toEqual(['Storage Table Data Contributor']);
    expect(app(json, 'OrdersApi').registry).toBeUndefined();
    expect(app(json, 'OrdersApi').template.container[0].image).toBe('docker.io/me/o:1');
  });

  test('contradictory switches are rejected at synth, naming the props', () => {
    expect(() => stack({ entra: { existingSpaClientId: '33333333-3333-3333-3333-333333333333', displayName: 'x' } })).toThrow(/existingSpaClientId and displayName cannot be used together/);
    expect(() => stack({ storage: { existingStorageAccountId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/abc', replicationType: 'ZRS' } }))
      .toThrow(/existingStorageAccountId and replicationType cannot be used together/);
    expect(() => stack({ images: { existingRegistryName: 'crshared', sku: 'Premium' } })).toThrow(/sku and existingRegistryName cannot be used together/);
    expect(() => stack({ containerApps: { existingEnvironmentResourceGroupName: 'rg' } })).toThrow(/existingEnvironmentResourceGroupName needs existingEnvironmentName/);
  });
});

describe('bring your own everything', () => {
  test('creates only identities, table, roles, apps, Application Insights, the agent and its connections, APIs on the existing APIM and the gateway proof', () => {
    const json = synthJson(byoStack(Testing.app(), undefined, OPENAPI_FIXTURE));
    const created = Object.entries(json.resource ?? {}).map(([type, byId]) => [type, Object.keys(byId).length]);
    expect(Object.fromEntries(created)).toEqual({
      // the gateway proof's audience and the Orders API's own (audience-bound mode): registration
      // (the deployer as owner), identifier URI, service principal; Azure AI pre-authorized on the latter
      azuread_application: 2,
      azuread_application_identifier_uri: 2,
      azuread_service_principal: 2,
      azuread_application_pre_authorized: 1,
      azapi_resource: 2, // the orders table, the MCP connection (no /openai AI gateway: it is opt-in)
      azapi_data_plane_resource: 1, // the agent
      azurerm_application_insights: 1,
      azurerm_container_app: 2,
      // table data, AcrPull x2, deployer and one agent user on the project
      azurerm_role_assignment: 5,
      azurerm_role_definition: 1, // the agent users' role (agent runner)
      azurerm_user_assigned_identity: 2,
      azurerm_api_management_api: 4,
      azurerm_api_management_api_diagnostic: 4,
      azurerm_api_management_api_operation: 6,
      azurerm_api_management_api_operation_policy: 3,
      azurerm_api_management_api_policy: 2,
      azurerm_api_management_logger: 1,
      azurerm_api_management_named_value: 6,
    });
    expect(Object.keys(json.data ?? {}).sort()).toEqual(['azuread_client_config', 'azurerm_api_management', 'azurerm_client_config', 'azurerm_cognitive_account',
      'azurerm_container_app_environment', 'azurerm_container_registry', 'azurerm_resource_group']);
    const orders = app(json, 'OrdersApi');
    expect(orders.registry).toEqual([expect.objectContaining({ server: expect.stringMatching(/data\.azurerm_container_registry\.\w+\.login_server/) })]);
    expect(orders.ingress.ip_security_restriction.map((r: any) => r.ip_address_range)).toEqual(['20.50.1.10', '20.50.1.11']);
    expect(envOf(orders)).toMatchObject({
      PUBLIC_BASE_URL: 'https://apim-platform.azure-api.net/orders-mcp',
      TABLES_ENDPOINT: 'https://stplatformdata.table.core.windows.net/',
      // Audience-bound (the default): the Orders API's own scopes, each tool checked for its own.
      AUTH_REQUIRED_SCOPES: 'Orders.Read,Orders.ReadWrite',
      ORDERS_READ_SCOPES: 'Orders.Read',
      ORDERS_WRITE_SCOPES: 'Orders.ReadWrite',
      GATEWAY_AUDIENCE: expect.stringMatching(/^\$\{azuread_application\.\w+\.client_id\}$/),
      // The existing service's system identity, read through the data source.
      GATEWAY_PRINCIPAL_IDS: expect.stringMatching(/^\$\{data\.azurerm_api_management\.\w+\.identity\[0\]\.principal_id\}$/),
    });
    expect(envOf(app(json, 'ChatApp')).SPA_CLIENT_ID).toBe('33333333-3333-3333-3333-333333333333');
  });

  test('synthesizes as reviewed', () => {
    expect(synthJson(byoStack(Testing.app(), undefined, OPENAPI_FIXTURE))).toMatchSnapshot();
  });
});
