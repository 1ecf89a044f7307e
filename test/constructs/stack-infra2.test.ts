import { join } from 'node:path';
import { Aspects, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resolveIn, resourcesOf, synthJson, withoutMetadata } from './synth';
import { findAll, parseXml } from './xml';
import { IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, McpAuthMode, SecurityChecks } from '../../src';

// Foundry and API Management inside the whole stack: how they are wired to the other parts,
// the switches, the outputs, and one snapshot per configuration.

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const base: IdentityPropagatingAgentStackProps = { baseName: 'orders', location: 'swedencentral', uniqueSuffix: 'abc123', images: { servicesDistDir } };

function stack(props: Partial<IdentityPropagatingAgentStackProps> = {}) {
  return new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props });
}
const envOf = (json: any, part: string) => {
  const app = Object.entries(resourcesOf(json, 'azurerm_container_app')).find(([id]) => id.includes(part))![1] as any;
  return Object.fromEntries(app.template.container[0].env.map((e: any) => [e.name, e.value ?? e.secret_name]));
};
/** RFC 9728 §3.1: a resource's metadata URL, the well-known segment between host and path (as the Orders API names it in a challenge). */
const metadataUrlOf = (resource: string) => {
  const url = new URL(resource);
  return `${url.origin}/.well-known/oauth-protected-resource${url.pathname.replace(/\/+$/, '')}`;
};
/**
 * The RFC 9728 document API Management answers at `url`: the GET operation whose API path and
 * URL template make that path, its policy's body with the named values substituted; undefined
 * when no operation serves it.
 */
function servedMetadata(json: any, gateway: string, url: string): any {
  if (!url.startsWith(`${gateway}/`)) return undefined;
  const path = url.slice(gateway.length);
  const apis = resourcesOf(json, 'azurerm_api_management_api');
  const apiOf = (op: any) => Object.entries(apis).find(([id]) => op.api_name === `\${azurerm_api_management_api.${id}.name}`)?.[1];
  const served = Object.entries(resourcesOf(json, 'azurerm_api_management_api_operation'))
    .find(([, op]: [string, any]) => op.method === 'GET' && apiOf(op) !== undefined && `/${apiOf(op).path}${op.url_template}` === path);
  if (!served) return undefined;
  const policy = (Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy')) as any[])
    .find((p) => p.operation_id === `\${azurerm_api_management_api_operation.${served[0]}.operation_id}`);
  const values = Object.fromEntries((Object.values(resourcesOf(json, 'azurerm_api_management_named_value')) as any[]).map((v) => [v.name, v.value]));
  const xml = String(policy.xml_content).replace(/\{\{([^{}]+)\}\}/g, (_, name: string) => values[name]);
  return JSON.parse(findAll(parseXml(xml), 'inbound/return-response/set-body')[0].text);
}
/** The Orders API's challenges (REST and MCP) name metadata API Management serves, whose `resource` is the base each was derived from. */
function expectChallengesServed(json: any, gateway: string) {
  const orders = envOf(json, 'OrdersApi');
  // REST: where APIM serves the imported REST API.
  const restApi = (Object.values(resourcesOf(json, 'azurerm_api_management_api')) as any[]).find((a) => a.import !== undefined);
  expect(orders.PUBLIC_REST_BASE_URL).toBe(`${gateway}/${restApi.path}`);
  expect(servedMetadata(json, gateway, metadataUrlOf(orders.PUBLIC_REST_BASE_URL))?.resource).toBe(orders.PUBLIC_REST_BASE_URL);
  const mcp = `${orders.PUBLIC_BASE_URL}/mcp`;
  expect(servedMetadata(json, gateway, metadataUrlOf(mcp))?.resource).toBe(mcp);
  // REST on the MCP base (without PUBLIC_REST_BASE_URL) would name a URL APIM does not serve.
  expect(servedMetadata(json, gateway, metadataUrlOf(orders.PUBLIC_BASE_URL))).toBeUndefined();
}
const mcpConnection = (json: any) => (Object.values(resourcesOf(json, 'azapi_resource')) as any[]).find((r) => r.name === 'mcp-entra');
const agent = (json: any) => onlyResource(json, 'azapi_data_plane_resource');

const configurations: { [name: string]: Partial<IdentityPropagatingAgentStackProps> } = {
  'default': {},
  'original audience (FOUNDRY_AUDIENCE)': { mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE },
  'no APIM': { gateway: { enabled: false } },
  'existing APIM': { gateway: { existingName: 'apim-shared', existingResourceGroupName: 'rg-shared' } },
  'AI gateway': { gateway: { aiGateway: true } },
  'existing Foundry': { foundry: { existingAccountName: 'ai-shared', existingAccountResourceGroupName: 'rg-shared', existingProjectName: 'agents', model: { existingDeploymentName: 'gpt-4o' } } },
};

describe('default: API Management fronts the Orders API', () => {
  // The original's audience here, so that one audience, client id and scope can be followed through.
  const s = stack({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE, containerApps: { ordersApiAllowedClientIds: ['5ca5ca5c-0000-4000-8000-000000000001'], ordersApiRequiredScopes: ['user_impersonation'] } });
  const json = synthJson(s);
  const GATEWAY = 'https://apim-orders-abc123.azure-api.net';

  test('the connection and the agent target <gateway>/orders-mcp/mcp, known from the APIM name', () => {
    expect(s.mcpUrl).toBe(`${GATEWAY}/orders-mcp/mcp`);
    expect(mcpConnection(json).body.properties.target).toBe(`${GATEWAY}/orders-mcp/mcp`);
    expect(agent(json).body.definition.tools[0].server_url).toBe(`${GATEWAY}/orders-mcp/mcp`);
  });

  test('the Chat App gets the project endpoint and agent name; the Orders API the gateway as its public base URL', () => {
    expect(envOf(json, 'ChatApp')).toMatchObject({
      FOUNDRY_PROJECT_ENDPOINT: 'https://ai-orders-abc123.services.ai.azure.com/api/projects/proj-orders',
      AGENT_NAME: 'orders-assistant',
    });
    expect(envOf(json, 'OrdersApi').PUBLIC_BASE_URL).toBe(`${GATEWAY}/orders-mcp`);
    expect(envOf(json, 'OrdersApi').PUBLIC_REST_BASE_URL).toBe(`${GATEWAY}/orders-api`);
  });

  test('the Orders API\'s REST and MCP challenges name metadata API Management serves, with the matching resource', () => {
    expectChallengesServed(json, GATEWAY);
  });

  test('containerApps.ordersApiPublicRestBaseUrl overrides the gateway\'s /orders-api', () => {
    const own = synthJson(stack({ containerApps: { ordersApiPublicRestBaseUrl: 'https://api.contoso.com/orders' } }));
    expect(envOf(own, 'OrdersApi')).toMatchObject({ PUBLIC_BASE_URL: `${GATEWAY}/orders-mcp`, PUBLIC_REST_BASE_URL: 'https://api.contoso.com/orders' });
  });

  test('APIM validates the same audiences, client ids and scopes as the Orders API', () => {
    const orders = envOf(json, 'OrdersApi');
    const policy = (Object.values(resourcesOf(json, 'azurerm_api_management_api_policy')) as any[]).find((p) => p.xml_content.includes('buffer-response')).xml_content;
    expect(orders.AUTH_AUDIENCES).toBe('https://ai.azure.com');
    expect(policy).toContain('<audience>https://ai.azure.com</audience>');
    expect(orders.AUTH_ALLOWED_CLIENT_IDS).toBe('5ca5ca5c-0000-4000-8000-000000000001');
    expect(policy).toContain('&quot;5ca5ca5c-0000-4000-8000-000000000001&quot;');
    expect(orders.AUTH_REQUIRED_SCOPES).toBe('user_impersonation');
    expect(policy).toContain('&quot;user_impersonation&quot;');
    // ...and the UserEntraToken connection asks Foundry for a token with that audience.
    expect(mcpConnection(json).body.properties.audience).toBe('https://ai.azure.com');
  });

  test('APIM\'s backend is the Orders API URL built from names (no reference to the app: no cycle)', () => {
    const api = (Object.values(resourcesOf(json, 'azurerm_api_management_api')) as any[]).find((a) => a.name === 'orders-mcp');
    expect(api.service_url).toMatch(/^https:\/\/ca-orders-orders-api\.\$\{azurerm_container_app_environment\.\w+\.default_domain\}$/);
  });

  test('role assignments: deployer and nobody else on the project; nobody on the account (no AI gateway); the Chat App nothing on Foundry', () => {
    const roles = Object.values(resourcesOf(json, 'azurerm_role_assignment')) as any[];
    const onProject = roles.filter((r) => /azurerm_cognitive_account_project/.test(r.scope));
    expect(onProject).toHaveLength(1);
    expect(onProject[0].principal_id).toBe('${data.azurerm_client_config.ClientConfig.object_id}');
    expect(onProject[0].role_definition_id).toMatch(/53ca6127-db72-4b80-b1b0-d745d6d5456d$/);
    expect(roles.filter((r) => /azurerm_cognitive_account\.Foundry_Account/.test(r.scope))).toEqual([]);
    const chatPrincipal = resolveIn(s, s.chatAppPrincipalId) as string;
    for (const r of onProject) expect(r.principal_id).not.toBe(chatPrincipal);
  });

  test('no AI gateway by default: no /openai API and no ApiManagement connection that would look like the agent\'s model route', () => {
    expect(s.gateway!.aiGatewayUrl).toBeUndefined();
    expect((Object.values(resourcesOf(json, 'azurerm_api_management_api')) as any[]).map((a) => a.path)).not.toContain('openai');
    expect((Object.values(resourcesOf(json, 'azapi_resource')) as any[]).filter((r) => r.body?.properties?.category === 'ApiManagement')).toEqual([]);
  });

  test('aiGateway: true adds /openai, the connection linking the project to it and APIM\'s role on the account; the agent keeps the account\'s deployment', () => {
    const withAi = stack({ gateway: { aiGateway: true } });
    const j = synthJson(withAi);
    expect(withAi.gateway!.aiGatewayUrl).toBe(`${GATEWAY}/openai`);
    const conn = (Object.values(resourcesOf(j, 'azapi_resource')) as any[]).find((r) => r.name === 'apim-gateway');
    expect(conn.body.properties).toMatchObject({ category: 'ApiManagement', authType: 'AAD', target: `${GATEWAY}/openai` });
    expect(conn.body.properties.metadata.ResourceId).toMatch(/azurerm_api_management\.Gateway_Service_\w+\.id/);
    const onAccount = (Object.values(resourcesOf(j, 'azurerm_role_assignment')) as any[]).filter((r) => /azurerm_cognitive_account\.Foundry_Account/.test(r.scope));
    expect(onAccount).toHaveLength(1);
    expect(onAccount[0].principal_id).toMatch(/azurerm_api_management\.Gateway_Service_\w+\.identity\[0\]\.principal_id/);
    // Cognitive Services OpenAI User: inference only, not every Cognitive Services data action.
    expect(onAccount[0].role_definition_id).toMatch(/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd$/);
    expect(agent(j).body.definition.model).toMatch(/^\$\{azurerm_cognitive_deployment\.Foundry_ModelDeployment_\w+\.name\}$/);
  });

  test('outputs: MCP endpoint, gateway URL, project endpoint, agent name', () => {
    expect(withoutMetadata(json.output)).toMatchObject({
      mcp_endpoint: { value: `${GATEWAY}/orders-mcp/mcp` },
      apim_gateway_url: { value: GATEWAY },
      foundry_project_endpoint: { value: 'https://ai-orders-abc123.services.ai.azure.com/api/projects/proj-orders' },
      agent_name: { value: 'orders-assistant' },
    });
  });
});

describe('switches', () => {
  test('no APIM: the agent calls the Orders API /mcp directly; no APIM resources, no AI gateway connection', () => {
    const s = stack({ gateway: { enabled: false } });
    const json = synthJson(s);
    expect(s.gateway).toBeUndefined();
    expect(Object.keys(json.resource ?? {}).filter((t) => t.startsWith('azurerm_api_management'))).toEqual([]);
    expect(mcpConnection(json).body.properties.target).toMatch(/^https:\/\/ca-orders-orders-api\.\$\{azurerm_container_app_environment\.\w+\.default_domain\}\/mcp$/);
    expect(agent(json).body.definition.tools[0].server_url).toBe(mcpConnection(json).body.properties.target);
    expect((Object.values(resourcesOf(json, 'azapi_resource')) as any[]).find((r) => r.name === 'apim-gateway')).toBeUndefined();
    expect(`${envOf(json, 'OrdersApi').PUBLIC_BASE_URL}/mcp`).toBe(mcpConnection(json).body.properties.target);
    // Without a gateway, REST and MCP share the app's own base.
    expect(envOf(json, 'OrdersApi').PUBLIC_REST_BASE_URL).toBeUndefined();
    expect(json.output?.apim_gateway_url).toBeUndefined();
    expect(json.output?.mcp_endpoint.value).toBe(mcpConnection(json).body.properties.target);
  });

  test('existing APIM: the MCP URL uses its name; APIs are added to it', () => {
    const s = stack({ gateway: { existingName: 'apim-shared', existingResourceGroupName: 'rg-shared' } });
    const json = synthJson(s);
    expect(resourcesOf(json, 'azurerm_api_management')).toEqual({});
    expect(mcpConnection(json).body.properties.target).toBe('https://apim-shared.azure-api.net/orders-mcp/mcp');
    expect(envOf(json, 'OrdersApi').PUBLIC_BASE_URL).toBe('https://apim-shared.azure-api.net/orders-mcp');
    expectChallengesServed(json, 'https://apim-shared.azure-api.net');
  });

  test('existing Foundry account and project: the Chat App and the agent use them', () => {
    const json = synthJson(stack(configurations['existing Foundry']));
    expect(resourcesOf(json, 'azurerm_cognitive_account')).toEqual({});
    expect(resourcesOf(json, 'azurerm_cognitive_account_project')).toEqual({});
    expect(envOf(json, 'ChatApp').FOUNDRY_PROJECT_ENDPOINT).toMatch(/\.services\.ai\.azure\.com\/api\/projects\/agents$/);
    expect(agent(json).body.definition.model).toBe('gpt-4o');
  });

  test('agent name, instructions, model and users as props; the Chat App follows the name', () => {
    const json = synthJson(stack({ foundry: { agent: { name: 'helper', instructions: 'Be brief.' }, model: { capacity: 10 }, agentUsers: { principalIds: ['11111111-1111-1111-1111-111111111111'] } } }));
    expect(envOf(json, 'ChatApp').AGENT_NAME).toBe('helper');
    expect(agent(json)).toMatchObject({ name: 'helper', body: { definition: { instructions: 'Be brief.' } } });
    expect(onlyResource(json, 'azurerm_cognitive_deployment').sku.capacity).toBe(10);
    expect((Object.values(resourcesOf(json, 'azurerm_role_assignment')) as any[]).some((r) => r.principal_id === '11111111-1111-1111-1111-111111111111')).toBe(true);
    // containerApps.agentName alone names the agent too.
    expect(agent(synthJson(stack({ containerApps: { agentName: 'other' } }))).name).toBe('other');
  });

  test('contradictions are rejected, naming the props', () => {
    expect(() => stack({ gateway: { enabled: false, skuName: 'StandardV2_1' } })).toThrow(/gateway.enabled is false, so gateway.skuName has nothing to configure/);
    expect(() => stack({ containerApps: { agentName: 'a' }, foundry: { agent: { name: 'b' } } }))
      .toThrow(/containerApps.agentName and foundry.agent.name cannot be used together/);
    expect(() => stack({ gateway: { existingName: 'a', publisherEmail: 'x@y.z' } })).toThrow(/Gateway: existingName and publisherEmail cannot be used together/);
    expect(() => stack({ foundry: { existingProjectName: 'agents' } })).toThrow(/existingProjectName needs existingAccountName/);
  });
});

describe.each(Object.entries(configurations))('%s', (_name, props) => {
  test('passes the security rules with zero findings', () => {
    const s = stack(props);
    const checks = new SecurityChecks();
    Aspects.of(s).add(checks);
    Testing.synth(s, true);
    expect(checks.findings).toEqual([]);
  });

  test('synthesizes as reviewed', () => {
    expect(synthJson(stack(props))).toMatchSnapshot();
  });
});
