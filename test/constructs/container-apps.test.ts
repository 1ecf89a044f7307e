import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, synthJson, testPlacement } from './synth';
import {
  ContainerAppsEnvironment, ContainerAppsEnvironmentProps, ServiceContainerApps, ServiceContainerAppsProps, ServiceIdentities,
} from '../../src';

const placement = testPlacement();

function environment(props: Partial<ContainerAppsEnvironmentProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const env = new ContainerAppsEnvironment(stack, 'Env', { placement, ...props });
  return { env, json: synthJson(stack) };
}

const orders = { id: '/uami/orders', principalId: 'orders-principal', clientId: 'orders-client' };
const chat = { id: '/uami/chat', principalId: 'chat-principal', clientId: 'chat-client' };

function apps(props: Partial<ServiceContainerAppsProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const result = new ServiceContainerApps(stack, 'Apps', {
    placement,
    environmentId: '/env/id',
    environmentDefaultDomain: 'happy-sea-123.swedencentral.azurecontainerapps.io',
    ordersApiIdentity: orders,
    chatAppIdentity: chat,
    ordersApiImage: 'cr.azurecr.io/orders-api:aaa',
    chatAppImage: 'cr.azurecr.io/chat-app:bbb',
    registry: { loginServer: 'cr.azurecr.io', id: '/registries/cr' },
    tenantId: '11111111-1111-4111-8111-111111111111',
    tablesEndpoint: 'https://st.table.core.windows.net/',
    spaClientId: '22222222-2222-4222-8222-222222222222',
    foundryProjectEndpoint: 'https://acct.services.ai.azure.com/api/projects/proj',
    applicationInsightsConnectionString: 'InstrumentationKey=secret;IngestionEndpoint=https://x',
    ...props,
  });
  return { apps: result, json: synthJson(stack), stack };
}

const app = (json: any, part: string) => Object.entries(resourcesOf(json, 'azurerm_container_app')).find(([id]) => id.includes(part))![1] as any;
const envOf = (a: any) => Object.fromEntries(a.template.container[0].env.map((e: any) => [e.name, e.value ?? { secret: e.secret_name }]));

describe('environment', () => {
  test('a new one sends logs to Log Analytics', () => {
    const { json } = environment({ logAnalyticsWorkspaceId: '/workspaces/w' });
    expect(onlyResource(json, 'azurerm_container_app_environment')).toMatchObject({
      name: 'cae-orders', logs_destination: 'log-analytics', log_analytics_workspace_id: '/workspaces/w',
    });
  });

  test('an existing one is looked up; its default domain gives the app URLs', () => {
    const { env, json } = environment({ existingEnvironmentName: 'shared-cae', existingEnvironmentResourceGroupName: 'shared-rg' });
    expect(resourcesOf(json, 'azurerm_container_app_environment')).toEqual({});
    expect(Object.values(json.data!.azurerm_container_app_environment)[0]).toMatchObject({ name: 'shared-cae', resource_group_name: 'shared-rg' });
    expect(env.defaultDomain).toMatch(/TOKEN/);
  });

  test('contradictions are rejected, naming the props', () => {
    expect(() => environment({ existingEnvironmentName: 'cae-shared', logAnalyticsWorkspaceId: 'w' }))
      .toThrow(/ContainerAppsEnvironment: existingEnvironmentName and logAnalyticsWorkspaceId cannot be used together/);
    expect(() => environment({ existingEnvironmentResourceGroupName: 'rg' })).toThrow(/existingEnvironmentResourceGroupName needs existingEnvironmentName/);
  });
});

describe('identities', () => {
  test('one user-assigned identity per service', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    new ServiceIdentities(stack, 'Ids', { placement });
    const names = Object.values(resourcesOf(synthJson(stack), 'azurerm_user_assigned_identity')).map((i: any) => i.name).sort();
    expect(names).toEqual(['id-orders-chat-app', 'id-orders-orders-api']);
  });
});

describe('apps', () => {
  test('names, URLs and the MCP endpoint are computed from names and the domain', () => {
    const { apps: a, json } = apps();
    expect(app(json, 'OrdersApi').name).toBe('ca-orders-orders-api');
    expect(app(json, 'ChatApp').name).toBe('ca-orders-chat-app');
    expect(a.ordersApiFqdn).toBe('ca-orders-orders-api.happy-sea-123.swedencentral.azurecontainerapps.io');
    expect(a.chatAppUrl).toBe('https://ca-orders-chat-app.happy-sea-123.swedencentral.azurecontainerapps.io');
    expect(a.ordersApiMcpUrl).toBe('https://ca-orders-orders-api.happy-sea-123.swedencentral.azurecontainerapps.io/mcp');
    expect(ServiceContainerApps.defaultNames('x-y')).toEqual({ ordersApi: 'ca-x-y-orders-api', chatApp: 'ca-x-y-chat-app' });
  });

  const cases = [['OrdersApi', orders, 8000], ['ChatApp', chat, 8080]] as const;
  test.each(cases)('%s: own identity, pulled by identity after AcrPull', (part, identity, port) => {
    const { json } = apps();
    const a = app(json, part);
    expect(a.identity).toEqual({ type: 'UserAssigned', identity_ids: [identity.id] });
    expect(a.registry).toEqual([{ server: 'cr.azurecr.io', identity: identity.id }]);
    const [acrPullId, acrPull] = Object.entries(resourcesOf(json, 'azurerm_role_assignment')).find(([id]) => id.includes(`${part}AcrPull`))!;
    expect(acrPull).toMatchObject({ scope: '/registries/cr', role_definition_name: 'AcrPull', principal_id: identity.principalId, principal_type: 'ServicePrincipal' });
    expect(a.depends_on).toContain(`azurerm_role_assignment.${acrPullId}`);
    expect(a.ingress).toMatchObject({
      external_enabled: true, target_port: port, allow_insecure_connections: false, traffic_weight: [{ latest_revision: true, percentage: 100 }],
    });
    expect(a.revision_mode).toBe('Single');
  });

  test('only AcrPull is granted here (two assignments, both AcrPull)', () => {
    const roles = Object.values(resourcesOf(apps().json, 'azurerm_role_assignment')).map((r: any) => r.role_definition_name);
    expect(roles).toEqual(['AcrPull', 'AcrPull']);
  });

  test('without a registry: no registry block and no AcrPull', () => {
    const { json } = apps({ registry: undefined });
    expect(app(json, 'OrdersApi').registry).toBeUndefined();
    expect(resourcesOf(json, 'azurerm_role_assignment')).toEqual({});
  });

  test.each(['OrdersApi', 'ChatApp'])('%s: startup, liveness and readiness probes on /health', (part) => {
    const a = app(apps().json, part);
    const port = part === 'OrdersApi' ? 8000 : 8080;
    for (const probe of ['startup_probe', 'liveness_probe', 'readiness_probe']) {
      expect(a.template.container[0][probe]).toEqual([expect.objectContaining({ transport: 'HTTP', path: '/health', port })]);
    }
  });

  test('scale, size and grace period: defaults and props', () => {
    const a = app(apps().json, 'OrdersApi');
    expect(a.template).toMatchObject({ min_replicas: 1, max_replicas: 3, termination_grace_period_seconds: 30 });
    expect(a.template.http_scale_rule).toEqual([{ name: 'http-concurrency', concurrent_requests: '50' }]);
    expect(a.template.container[0]).toMatchObject({ cpu: 0.5, memory: '1Gi' });
    const b = app(apps({ chatApp: { cpu: 1, minReplicas: 0, maxReplicas: 5, concurrentRequests: 20 }, terminationGracePeriodSeconds: 60 }).json, 'ChatApp');
    expect(b.template).toMatchObject({ min_replicas: 0, max_replicas: 5, termination_grace_period_seconds: 60 });
    expect(b.template.http_scale_rule[0].concurrent_requests).toBe('20');
    expect(b.template.container[0]).toMatchObject({ cpu: 1, memory: '2Gi' });
  });

  test('invalid sizes and scales are rejected, naming the prop', () => {
    expect(() => apps({ ordersApi: { cpu: 0.3 } })).toThrow(/ordersApi.cpu is 0.3/);
    expect(() => apps({ ordersApi: { cpu: 1, memory: '1Gi' } })).toThrow(/ordersApi.memory "1Gi" does not fit ordersApi.cpu 1/);
    expect(() => apps({ chatApp: { minReplicas: 4, maxReplicas: 2 } })).toThrow(/chatApp.minReplicas \(4\) is greater than chatApp.maxReplicas \(2\)/);
    expect(() => apps({ terminationGracePeriodSeconds: 601 })).toThrow(/terminationGracePeriodSeconds is 601/);
    expect(() => apps({ names: { ordersApi: 'Orders', chatApp: 'chat' } })).toThrow(/names.ordersApi "Orders" is invalid/);
  });

  test('Orders API environment per the contract (DESIGN 4.1)', () => {
    const env = envOf(app(apps().json, 'OrdersApi'));
    expect(env).toEqual({
      PORT: '8000',
      AUTH_TENANT_ID: '11111111-1111-4111-8111-111111111111',
      AUTH_AUDIENCES: 'https://ai.azure.com',
      STORE: 'table',
      TABLES_ENDPOINT: 'https://st.table.core.windows.net/',
      ORDERS_TABLE_NAME: 'orders',
      PUBLIC_BASE_URL: 'https://ca-orders-orders-api.happy-sea-123.swedencentral.azurecontainerapps.io',
      AZURE_CLIENT_ID: 'orders-client',
      OTEL_SERVICE_NAME: 'orders-api',
      APPLICATIONINSIGHTS_CONNECTION_STRING: { secret: 'appinsights-connection-string' },
    });
  });

  test('Orders API: the optional contract values when given', () => {
    const env = envOf(app(apps({
      audiences: ['https://ai.azure.com', 'api://orders'],
      ordersApiAllowedClientIds: ['c1c1c1c1-0000-4000-8000-000000000001', 'c2c2c2c2-0000-4000-8000-000000000002'],
      ordersApiRequiredScopes: ['user_impersonation'],
      ordersAdminObjectIds: ['adadadad-0000-4000-8000-000000000001', 'adadadad-0000-4000-8000-000000000002'],
      ordersSeedOwnerObjectId: 'a11cea11-0000-4000-8000-000000000001',
      ordersApiPublicBaseUrl: 'https://apim.example.net/orders-mcp',
      ordersApiPublicRestBaseUrl: 'https://apim.example.net/orders-api',
      tableName: 'orders2',
    }).json, 'OrdersApi'));
    expect(env).toMatchObject({
      AUTH_AUDIENCES: 'https://ai.azure.com,api://orders',
      AUTH_ALLOWED_CLIENT_IDS: 'c1c1c1c1-0000-4000-8000-000000000001,c2c2c2c2-0000-4000-8000-000000000002',
      AUTH_REQUIRED_SCOPES: 'user_impersonation',
      ORDERS_ADMIN_OIDS: 'adadadad-0000-4000-8000-000000000001,adadadad-0000-4000-8000-000000000002',
      ORDERS_SEED_OWNER_OID: 'a11cea11-0000-4000-8000-000000000001',
      PUBLIC_BASE_URL: 'https://apim.example.net/orders-mcp',
      PUBLIC_REST_BASE_URL: 'https://apim.example.net/orders-api',
      ORDERS_TABLE_NAME: 'orders2',
    });
  });

  test('Orders API: the gateway proof sets GATEWAY_AUDIENCE and GATEWAY_PRINCIPAL_IDS, only when given', () => {
    const proof = { audience: 'aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa', principalIds: ['bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb', 'cccccccc-3333-4333-8333-cccccccccccc'] };
    const { json } = apps({ ordersApiGatewayProof: proof });
    expect(envOf(app(json, 'OrdersApi'))).toMatchObject({
      GATEWAY_AUDIENCE: proof.audience,
      GATEWAY_PRINCIPAL_IDS: proof.principalIds.join(','),
    });
    expect(envOf(app(json, 'ChatApp')).GATEWAY_AUDIENCE).toBeUndefined();
    const without = envOf(app(apps().json, 'OrdersApi'));
    expect(without.GATEWAY_AUDIENCE).toBeUndefined();
    expect(without.GATEWAY_PRINCIPAL_IDS).toBeUndefined();
    expect(() => apps({ ordersApiGatewayProof: { ...proof, principalIds: [] } })).toThrow(/ordersApiGatewayProof.principalIds is empty/);
    expect(() => apps({ ordersApiGatewayProof: { ...proof, principalIds: ['apim'] } })).toThrow(/principalIds entry "apim" is not an object id/);
    expect(() => apps({ ordersApiGatewayProof: { ...proof, audience: 'a,b' } })).toThrow(/audience "a,b" must be one audience/);
  });

  test('Chat App environment per the contract (DESIGN 4.2); no AUTH_ALLOWED_CLIENT_IDS', () => {
    const env = envOf(app(apps({ agentName: 'my-agent' }).json, 'ChatApp'));
    expect(env).toEqual({
      PORT: '8080',
      AUTH_TENANT_ID: '11111111-1111-4111-8111-111111111111',
      AUTH_AUDIENCES: 'https://ai.azure.com',
      SPA_CLIENT_ID: '22222222-2222-4222-8222-222222222222',
      AUTH_AUTHORITY: 'https://login.microsoftonline.com/11111111-1111-4111-8111-111111111111',
      // Stated (the service's default), so that the stack's spa_scopes output is what MSAL asks for.
      AUTH_SCOPES: 'https://ai.azure.com/.default',
      FOUNDRY_PROJECT_ENDPOINT: 'https://acct.services.ai.azure.com/api/projects/proj',
      AGENT_NAME: 'my-agent',
      AZURE_CLIENT_ID: 'chat-client',
      OTEL_SERVICE_NAME: 'chat-app',
      APPLICATIONINSIGHTS_CONNECTION_STRING: { secret: 'appinsights-connection-string' },
    });
    expect(envOf(app(apps().json, 'ChatApp')).AGENT_NAME).toBe('orders-assistant');
  });

  test('the Application Insights connection string is a secret, referenced, never a plain value', () => {
    const { json } = apps();
    for (const part of ['OrdersApi', 'ChatApp']) {
      const a = app(json, part);
      expect(a.secret).toEqual([{ name: 'appinsights-connection-string', value: 'InstrumentationKey=secret;IngestionEndpoint=https://x' }]);
      expect(JSON.stringify(a.template)).not.toContain('InstrumentationKey');
    }
    const off = app(apps({ applicationInsightsConnectionString: undefined }).json, 'OrdersApi');
    expect(off.secret).toBeUndefined();
    expect(envOf(off).APPLICATIONINSIGHTS_CONNECTION_STRING).toBeUndefined();
  });

  test('Orders API ingress restricted to given source ranges (API Management in front)', () => {
    const { json } = apps({ ordersApiAllowedIpRanges: ['20.1.2.3', '20.1.2.0/28'] });
    expect(app(json, 'OrdersApi').ingress.ip_security_restriction).toEqual([
      expect.objectContaining({ name: 'allow-1', action: 'Allow', ip_address_range: '20.1.2.3' }),
      expect.objectContaining({ name: 'allow-2', action: 'Allow', ip_address_range: '20.1.2.0/28' }),
    ]);
    expect(app(json, 'ChatApp').ingress.ip_security_restriction).toBeUndefined();
    expect(app(apps().json, 'OrdersApi').ingress.ip_security_restriction).toBeUndefined();
    expect(() => apps({ ordersApiAllowedIpRanges: [] })).toThrow(/ordersApiAllowedIpRanges is empty/);
    expect(() => apps({ ordersApiAllowedIpRanges: ['any'] })).toThrow(/ordersApiAllowedIpRanges\[0\] "any" is invalid/);
  });

  test('waitFor: the apps depend on every resource of the given parts', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const ids = new ServiceIdentities(stack, 'Ids', { placement });
    new ServiceContainerApps(stack, 'Apps', {
      placement,
      environmentId: 'e',
      environmentDefaultDomain: 'd',
      ordersApiIdentity: orders,
      chatAppIdentity: chat,
      ordersApiImage: 'i',
      chatAppImage: 'j',
      tenantId: '11111111-1111-4111-8111-111111111111',
      tablesEndpoint: 'x',
      spaClientId: '22222222-2222-4222-8222-222222222222',
      foundryProjectEndpoint: 'https://f',
      waitFor: [ids],
    });
    const json = synthJson(stack);
    const identityAddresses = Object.keys(resourcesOf(json, 'azurerm_user_assigned_identity')).map((id) => `azurerm_user_assigned_identity.${id}`);
    expect([...app(json, 'OrdersApi').depends_on].sort()).toEqual(identityAddresses.sort());
  });
});
