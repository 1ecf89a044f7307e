import { join } from 'node:path';
import { Fn, TerraformResource, TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { resourcesOf, synthJson, testPlacement } from './synth';
import {
  AgentResourceGroup, ContainerAppsEnvironment, Foundry, FoundryProps, Gateway, GatewayProps, IdentityPropagatingAgentStack,
  IdentityPropagatingAgentStackProps, ImageRegistry, ImageRegistryProps, Placement, ServiceContainerApps, ServiceContainerAppsProps, SpaRegistration,
} from '../../src';
import { AZURE_RULES } from '../../src/internal/azure-values';

// Values Azure refuses are refused at construction: one table per rule, good values that
// synthesize, bad values whose error names the prop, the value and the rule.

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const OPENAPI = join(servicesDistDir, 'orders-api', 'openapi.json');
const placement = testPlacement();
const GUID = '11111111-1111-1111-1111-111111111111';

const inStack = (build: (stack: TerraformStack) => void) => {
  const stack = new TerraformStack(Testing.app(), 'test');
  build(stack);
  return synthJson(stack);
};
const gateway = (props: Partial<GatewayProps>) => inStack((s) => new Gateway(s, 'Gateway', {
  placement, tenantId: GUID, ordersApiUrl: 'https://ca.example.io', applicationInsightsId: '/appi', applicationInsightsConnectionString: 'x', ordersApiOpenApiPath: OPENAPI, ...props,
}));
const foundry = (props: Partial<FoundryProps>) => inStack((s) => new Foundry(s, 'Foundry', { placement, mcpUrl: 'https://apim.azure-api.net/orders-mcp/mcp', deployerPrincipalId: GUID, ...props }));
const images = (props: Partial<ImageRegistryProps>) => inStack((s) => new ImageRegistry(s, 'Images', { placement, servicesDistDir, ...props }));
const identity = { id: '/uami/x', principalId: GUID, clientId: GUID };
const apps = (props: Partial<ServiceContainerAppsProps>) => inStack((s) => new ServiceContainerApps(s, 'Apps', {
  placement,
  environmentId: '/env',
  environmentDefaultDomain: 'example.io',
  ordersApiIdentity: identity,
  chatAppIdentity: identity,
  ordersApiImage: 'cr.azurecr.io/orders-api:1',
  chatAppImage: 'cr.azurecr.io/chat-app:1',
  tenantId: GUID,
  tablesEndpoint: 'https://st.table.core.windows.net/',
  spaClientId: GUID,
  foundryProjectEndpoint: 'https://ai.services.ai.azure.com/api/projects/p',
  ...props,
}));
const environment = (existingEnvironmentName: string) => inStack((s) => new ContainerAppsEnvironment(s, 'Env', { placement, existingEnvironmentName }));
const resourceGroup = (props: { name?: string; location?: string; tags?: { [key: string]: string } }) =>
  inStack((s) => new AgentResourceGroup(s, 'Rg', { baseName: 'orders', location: 'swedencentral', ...props }));
const withPlacement = (overrides: Partial<Placement>) => inStack((s) => new SpaRegistration(s, 'Spa', { placement: testPlacement(overrides), chatAppUrl: 'https://chat.example.io' }));

interface RuleCase {
  /** The prop as the error must name it. */
  readonly prop: string;
  /** Builds and synthesizes with the value; throws for a refused one. */
  readonly build: (value: string) => unknown;
  readonly good: string[];
  readonly bad: string[];
}

const long = (n: number, c = 'a') => c.repeat(n);
const rules: { [rule: string]: RuleCase } = {
  'region': {
    prop: 'location',
    build: (location) => resourceGroup({ location }),
    good: ['swedencentral', 'West Europe', 'eastus2', 'usgovvirginia'],
    bad: ['westeurop', 'mars', '', 'sweden-central'],
  },
  'region of a placement': {
    prop: 'placement.location',
    build: (location) => withPlacement({ location }),
    good: ['westeurope', 'SwedenCentral'],
    bad: ['west europe 2', 'europe-west1'],
  },
  'GUID': {
    prop: 'agentUsers.principalIds[0]',
    build: (id) => foundry({ agentUsers: { principalIds: [id] } }),
    good: [GUID, 'A1B2C3D4-0000-4000-8000-00000000000F'],
    bad: ['user-1', '1111111-1111-1111-1111-111111111111', `{${GUID}}`, ''],
  },
  'API Management service name': {
    prop: 'name',
    build: (name) => gateway({ name }),
    good: ['a', 'apim-orders-1', `a${long(49, '1')}`],
    bad: ['1apim', 'apim-', 'apim_orders', 'apim.orders', long(51), ''],
  },
  'cognitive account name and subdomain': {
    prop: 'accountName',
    build: (accountName) => foundry({ accountName }),
    good: ['ai', 'ai-orders-abc123', long(64)],
    bad: ['a', '-ai', 'ai-', 'ai_orders', 'ai.orders', long(65)],
  },
  'existing cognitive account name': {
    prop: 'existingAccountName',
    build: (existingAccountName) => foundry({ existingAccountName }),
    good: ['ai-shared', 'ai.shared_1'],
    bad: ['.ai', 'a', long(65)],
  },
  'Foundry project name': {
    prop: 'projectName',
    build: (projectName) => foundry({ projectName }),
    good: ['proj-orders', 'p1', 'p.q_r'],
    bad: ['p', '-p', long(65)],
  },
  'resource group name': {
    prop: 'name',
    build: (name) => resourceGroup({ name }),
    good: ['rg', 'rg-orders_(prod).1', long(90)],
    bad: ['rg.', 'rg orders', 'rg/x', long(91), ''],
  },
  'container registry name': {
    prop: 'existingRegistryName',
    build: (existingRegistryName) => images({ existingRegistryName }),
    good: ['crshared', 'ACR01', long(50)],
    bad: ['cr-shared', 'acr', long(51)],
  },
  'Container Apps environment name': {
    prop: 'existingEnvironmentName',
    build: environment,
    good: ['cae-shared', 'Cae1', long(60)],
    bad: ['1cae', 'cae-', 'cae_shared', long(61)],
  },
  'container app name': {
    prop: 'names.ordersApi',
    build: (ordersApi) => apps({ names: { ordersApi, chatApp: 'ca-chat' } }),
    good: ['ca', 'ca-orders-api', long(32)],
    bad: ['Ca-orders', 'ca--orders', 'ca-', '1ca', long(33)],
  },
  'IP address or CIDR range': {
    prop: 'ordersApiAllowedIpRanges[0]',
    build: (range) => apps({ ordersApiAllowedIpRanges: [range] }),
    good: ['20.1.2.3', '10.0.0.0/8', '2001:db8::/32', '2001:db8::1'],
    bad: ['any', '10.0.0.0/33', '256.1.1.1', '10.0.0.0/8/1', '2001:db8::/129', '010.0.0.1', ''],
  },
  'public base URL (the Orders API refuses others at start-up)': {
    prop: 'ordersApiPublicRestBaseUrl',
    build: (url) => apps({ ordersApiPublicRestBaseUrl: url }),
    good: ['https://apim-orders.azure-api.net/orders-api', 'https://apim-orders.azure-api.net/orders-api/', 'http://127.0.0.1:8000'],
    bad: ['apim-orders.azure-api.net/orders-api', 'ftp://apim/orders-api', 'https://apim/orders-api?x=1', 'https://apim/orders-api#top', ''],
  },
  'image reference': {
    prop: 'ordersApiImage',
    build: (image) => apps({ ordersApiImage: image }),
    good: ['crplatform.azurecr.io/orders-api:1.4.0', 'nginx', 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest', `localhost:5000/a/b@sha256:${long(64, 'f')}`],
    bad: ['Orders-API:1', 'cr.io/orders api:1', 'cr.io/orders:', 'cr.io/orders:-x', 'https://cr.io/orders:1', 'cr.io/orders@sha256:abc', ''],
  },
  'audience': {
    prop: 'mcpAudience',
    build: (mcpAudience) => foundry({ mcpAudience }),
    good: ['https://ai.azure.com', 'api://orders', GUID],
    bad: ['', 'api://a b', 'a,b'],
  },
  'scope': {
    prop: 'requiredScopes[0]',
    build: (scope) => gateway({ requiredScopes: [scope] }),
    good: ['Orders.Read', 'user_impersonation'],
    bad: ['Orders Read', 'a,b', ''],
  },
  'publisher e-mail': {
    prop: 'publisherEmail',
    build: (publisherEmail) => gateway({ publisherEmail }),
    good: ['ops@contoso.com'],
    bad: ['ops', 'ops@contoso', 'a b@contoso.com', `${long(95)}@x.com`],
  },
  'publisher name': {
    prop: 'publisherName',
    build: (publisherName) => gateway({ publisherName }),
    good: ['Contoso', long(100)],
    bad: ['', long(101)],
  },
};

describe.each(Object.entries(rules))('%s', (_rule, c) => {
  test.each(c.good)('accepts %j (and synthesizes)', (value) => {
    expect(c.build(value)).toBeDefined();
  });
  test.each(c.bad)('refuses %j, naming the prop, the value and the rule', (value) => {
    let message = '';
    try {
      c.build(value);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${c.prop} ${JSON.stringify(value)} is invalid: `);
    expect(message.length).toBeGreaterThan(`${c.prop} ${JSON.stringify(value)} is invalid: `.length + 10);
  });
});

test('a region typo names the closest regions', () => {
  expect(() => resourceGroup({ location: 'westeurop' })).toThrow(/did you mean westeurope/);
  expect(() => resourceGroup({ location: 'swedencentrl' })).toThrow(/did you mean swedencentral/);
  expect(() => resourceGroup({ location: 'mars' })).toThrow(/az account list-locations/);
});

test('empty lists that leave a part with nothing to accept are refused', () => {
  expect(() => apps({ audiences: [] })).toThrow(/audiences is empty: /);
  expect(() => apps({ ordersApiAllowedIpRanges: [] })).toThrow(/ordersApiAllowedIpRanges is empty: /);
  expect(() => gateway({ aiGatewayAudiences: [] })).toThrow(/aiGatewayAudiences is empty: /);
  expect(() => gateway({ audiences: [] })).toThrow(/audiences is empty: /);
  expect(() => foundry({ agent: { allowedTools: [], approvalRequiredTools: [] } })).toThrow(/agent.allowedTools is empty: /);
  // An empty list of optional extras is fine.
  expect(foundry({ agentUsers: { principalIds: [] } })).toBeDefined();
});

describe('tags', () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, 'v']));
  test.each([
    ['50 tags', many(50)], ['a 128-character name', { [long(128)]: 'v' }], ['a 256-character value', { k: long(256) }], ['an empty value', { k: '' }],
  ])('accepts %s', (_name, tags) => {
    expect(resourceGroup({ tags })).toBeDefined();
  });
  test.each([
    ['51 tags', many(51), /tags has 51 tags/], ['a 129-character name', { [long(129)]: 'v' }, /tags name "a+" is invalid/],
    ['a name with a slash', { 'cost/center': 'v' }, /tags name "cost\/center" is invalid/], ['a 257-character value', { k: long(257) }, /tags\.k is 257 characters long/],
  ])('refuses %s, naming the tag', (_name, tags, message) => {
    expect(() => resourceGroup({ tags })).toThrow(message);
  });
});

const base: IdentityPropagatingAgentStackProps = { baseName: 'orders', location: 'swedencentral', uniqueSuffix: 'abc123', images: { servicesDistDir } };

describe('the whole system names the nested prop as the user wrote it', () => {
  test.each([
    [{ location: 'westeurop' }, 'location "westeurop"'],
    [{ tenantId: 'contoso' }, 'tenantId "contoso"'],
    [{ subscriptionId: 'sub-1' }, 'subscriptionId "sub-1"'],
    [{ resourceGroupName: 'rg.' }, 'resourceGroupName "rg."'],
    [{ existingResourceGroupName: 'rg shared' }, 'existingResourceGroupName "rg shared"'],
    [{ tags: { 'a<b': 'c' } }, 'tags name "a<b"'],
    [{ gateway: { name: 'apim_orders' } }, 'gateway.name "apim_orders"'],
    [{ gateway: { existingName: 'apim-' } }, 'gateway.existingName "apim-"'],
    [{ foundry: { accountName: 'ai_orders' } }, 'foundry.accountName "ai_orders"'],
    [{ foundry: { agentUsers: { principalIds: [GUID, 'bob'] } } }, 'foundry.agentUsers.principalIds[1] "bob"'],
    [{ images: { servicesDistDir, existingRegistryName: 'cr-shared' } }, 'images.existingRegistryName "cr-shared"'],
    [{ images: { ordersApiImage: 'Orders:1', chatAppImage: 'chat:1' } }, 'images.ordersApiImage "Orders:1"'],
    [{ containerApps: { ordersApiAllowedIpRanges: ['10.0.0.0/8', 'office'] } }, 'containerApps.ordersApiAllowedIpRanges[1] "office"'],
    [{ containerApps: { audiences: ['api://orders', ''] } }, 'containerApps.audiences[1] ""'],
    [{ containerApps: { ordersAdminObjectIds: ['admin'] } }, 'containerApps.ordersAdminObjectIds[0] "admin"'],
    [{ containerApps: { existingEnvironmentName: 'cae_shared' } }, 'containerApps.existingEnvironmentName "cae_shared"'],
    [{ entra: { existingSpaClientId: 'spa' } }, 'entra.existingSpaClientId "spa"'],
  ] as Array<[Partial<IdentityPropagatingAgentStackProps>, string]>)('%j', (props, named) => {
    const app = Testing.app();
    expect(() => new IdentityPropagatingAgentStack(app, 'test', { ...base, ...props })).toThrow(`IdentityPropagatingAgent: ${named} is invalid: `);
    // ...and nothing was created.
    expect(app.node.findAll().filter((c) => c instanceof TerraformResource)).toEqual([]);
  });

  test('a sub-construct used alone is checked too, and creates nothing when refused', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    expect(() => new Gateway(stack, 'Gateway', {
      placement, tenantId: GUID, ordersApiUrl: 'https://ca.example.io', applicationInsightsId: '/appi', applicationInsightsConnectionString: 'x', ordersApiOpenApiPath: OPENAPI, name: 'apim_x',
    })).toThrow('Gateway: name "apim_x" is invalid: ');
    expect(resourcesOf(synthJson(stack), 'azurerm_api_management')).toEqual({});
    expect(stack.node.findAll().filter((c) => c instanceof TerraformResource)).toEqual([]);
  });
});

test('unresolved tokens pass unchecked (known only at apply)', () => {
  const token = (literal: string) => Fn.lower(literal);
  const stack = new IdentityPropagatingAgentStack(Testing.app(), 'test', {
    ...base,
    location: token('Not A Region'),
    tenantId: token('not-a-guid'),
    existingResourceGroupName: token('rg.'),
    images: { ordersApiImage: token('NOT AN IMAGE'), chatAppImage: 'chat:1' },
    containerApps: { ordersApiAllowedIpRanges: [token('office')], audiences: [token('a b')] },
    gateway: { name: token('APIM_X'), publisherEmail: token('nobody') },
    foundry: { accountName: token('AI_X'), agentUsers: { principalIds: [token('bob')] } },
  });
  expect(resourcesOf(synthJson(stack), 'azurerm_api_management')).not.toEqual({});
});

test('every name derived from the longest and shortest base name and suffix is one Azure accepts', () => {
  for (const [baseName, uniqueSuffix] of [['a-b', 'abc'], ['abcdefghijklm9', 'abcdefgh'], ['a1-b2-c3-d4-ef', '12345678']]) {
    const json = synthJson(new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, baseName, uniqueSuffix }));
    const nameOf = (type: string) => (Object.values(resourcesOf(json, type)) as any[]).map((r) => r.name as string);
    const checks: Array<[string, keyof typeof AZURE_RULES]> = [
      ['azurerm_resource_group', 'resourceGroupName'],
      ['azurerm_api_management', 'apiManagementName'],
      ['azurerm_cognitive_account', 'cognitiveAccountName'],
      ['azurerm_cognitive_account_project', 'foundryProjectName'],
      ['azurerm_container_registry', 'containerRegistryName'],
      ['azurerm_container_app_environment', 'managedEnvironmentName'],
      ['azurerm_container_app', 'containerAppName'],
    ];
    for (const [type, rule] of checks) {
      const names = nameOf(type);
      expect(names.length, type).toBeGreaterThan(0);
      for (const name of names) expect(AZURE_RULES[rule].test(name), `${type} ${name}`).toBe(true);
    }
    const storageNames = (Object.values(resourcesOf(json, 'azapi_resource')) as any[]).filter((r) => r.type.startsWith('Microsoft.Storage/storageAccounts@')).map((r) => r.name);
    const contextAccount = (Object.values(resourcesOf(json, 'azurerm_storage_account')) as any[]).map((r) => r.name);
    for (const name of [...storageNames, ...contextAccount]) expect(AZURE_RULES.storageAccountName.test(name), name).toBe(true);
    expect(storageNames.length + contextAccount.length).toBe(2);
  }
});
