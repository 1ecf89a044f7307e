import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, synthJson, testPlacement, warningsIn, withoutMetadata } from './synth';
import { AgentUserRole, Foundry, FoundryProps } from '../../src/foundry';

const placement = testPlacement({ resourceGroupId: '/subscriptions/sub-1/resourceGroups/rg-orders', tags: { team: 'a' } });
const MCP_URL = 'https://apim-orders-abc123.azure-api.net/orders-mcp/mcp';
const SIX = ['list-orders', 'get-order', 'create-order', 'update-order', 'delete-order', 'health-check'];
const FOUNDRY_USER = '/subscriptions/${element(split("/", "/subscriptions/sub-1/resourceGroups/rg-orders"), 2)}/providers/Microsoft.Authorization/roleDefinitions/53ca6127-db72-4b80-b1b0-d745d6d5456d';

const ref = (type: string, id: string, attr: string) => expect.stringMatching(new RegExp(`^\\$\\{${type}\\.${id}_[0-9A-F]{8}\\.${attr}\\}$`));
const dep = (type: string, id: string) => expect.stringMatching(new RegExp(`^${type}\\.${id}_[0-9A-F]{8}$`));
const ACCOUNT_ID = ref('azurerm_cognitive_account', 'Foundry_Account', 'id');
const PROJECT_ID = ref('azurerm_cognitive_account_project', 'Foundry_Project', 'id');
const DEPLOYMENT_NAME = ref('azurerm_cognitive_deployment', 'Foundry_ModelDeployment', 'name');

function build(props: Partial<FoundryProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'foundry');
  const foundry = new Foundry(stack, 'Foundry', { placement, mcpUrl: MCP_URL, logAnalyticsWorkspaceId: '/law/1', ...props });
  return { stack, foundry, json: synthJson(stack) };
}

const connections = (json: any) => Object.values(resourcesOf(json, 'azapi_resource')) as any[];
const agentOf = (json: any) => onlyResource(json, 'azapi_data_plane_resource');

describe('account, project, model', () => {
  const { json, foundry } = build();

  test('an AIServices account: project management on, custom subdomain, local auth off, system identity, tags', () => {
    expect(withoutMetadata(onlyResource(json, 'azurerm_cognitive_account'))).toEqual({
      name: 'ai-orders-abc123',
      location: 'swedencentral',
      resource_group_name: 'rg-orders',
      kind: 'AIServices',
      sku_name: 'S0',
      custom_subdomain_name: 'ai-orders-abc123',
      project_management_enabled: true,
      local_auth_enabled: false,
      public_network_access_enabled: true,
      identity: { type: 'SystemAssigned' },
      tags: { team: 'a' },
    });
  });

  test('a project in the account with a system identity', () => {
    const project = onlyResource(json, 'azurerm_cognitive_account_project');
    expect(project).toMatchObject({ name: 'proj-orders', location: 'swedencentral', identity: { type: 'SystemAssigned' } });
    expect(project.cognitive_account_id).toEqual(ACCOUNT_ID);
  });

  test('gpt-4o 2024-08-06 by default, pinned until the version retires', () => {
    expect(onlyResource(json, 'azurerm_cognitive_deployment')).toMatchObject({
      name: 'gpt-4o',
      model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-08-06' },
      sku: { name: 'GlobalStandard', capacity: 30 },
      version_upgrade_option: 'OnceCurrentVersionExpired',
    });
  });

  test('model name, version, SKU, capacity and deployment name as props', () => {
    const { json: j } = build({ model: { name: 'gpt-4.1', version: '2025-04-14', skuName: 'Standard', capacity: 50, deploymentName: 'chat' } });
    expect(onlyResource(j, 'azurerm_cognitive_deployment')).toMatchObject({ name: 'chat', model: { name: 'gpt-4.1', version: '2025-04-14' }, sku: { name: 'Standard', capacity: 50 } });
    expect(agentOf(j).body.definition.model).toEqual(DEPLOYMENT_NAME);
  });

  test('diagnostic setting of the account to Log Analytics', () => {
    const setting = onlyResource(json, 'azurerm_monitor_diagnostic_setting');
    expect(setting).toMatchObject({ log_analytics_workspace_id: '/law/1', enabled_log: [{ category_group: 'allLogs' }], enabled_metric: [{ category: 'AllMetrics' }] });
    expect(setting.target_resource_id).toEqual(ACCOUNT_ID);
  });

  test('endpoints derive from the subdomain and the project name', () => {
    expect(foundry.projectEndpoint).toBe('https://ai-orders-abc123.services.ai.azure.com/api/projects/proj-orders');
    expect(foundry.openAiEndpoint).toBe('https://ai-orders-abc123.openai.azure.com/openai');
    expect(foundry.agentName).toBe('orders-assistant');
  });
});

describe('the MCP connection (UserEntraToken)', () => {
  test('RemoteTool, UserEntraToken, target = MCP URL, audience at the top level AND in metadata, schema validation off', () => {
    const { json } = build();
    const [mcp] = connections(json).filter((c) => c.name === 'mcp-entra');
    expect(mcp.type).toBe('Microsoft.CognitiveServices/accounts/projects/connections@2025-04-01-preview');
    expect(mcp.parent_id).toEqual(PROJECT_ID);
    expect(mcp.schema_validation_enabled).toBe(false);
    expect(mcp.body).toEqual({
      properties: {
        category: 'RemoteTool',
        authType: 'UserEntraToken',
        target: MCP_URL,
        audience: 'https://ai.azure.com',
        isSharedToAll: true,
        metadata: { type: 'custom_MCP', audience: 'https://ai.azure.com' },
      },
    });
  });

  test('retries bare 500s and a settling project; deletes with If-Match', () => {
    const { json } = build();
    const [mcp] = connections(json);
    expect(mcp.retry.error_message_regex).toEqual(expect.arrayContaining(['InternalServerError', 'ParentResourceNotFound', 'IfMatchPreconditionFailed']));
    expect(mcp.delete_headers).toEqual({ 'If-Match': '*' });
    expect(mcp.depends_on).toEqual([dep('azurerm_cognitive_account_project', 'Foundry_Project')]);
  });

  test('audience and connection name as props', () => {
    const { json } = build({ mcpAudience: 'api://orders-mcp', mcpConnectionName: 'orders-conn' });
    const [mcp] = connections(json);
    expect(mcp.name).toBe('orders-conn');
    expect(mcp.body.properties.audience).toBe('api://orders-mcp');
    expect(mcp.body.properties.metadata.audience).toBe('api://orders-mcp');
    expect(agentOf(json).body.definition.tools[0].project_connection_id).toBe('orders-conn');
  });

  test('no API Management connection unless asked; then ApiManagement + AAD to <gateway>/openai', () => {
    const { json } = build();
    expect(connections(json).map((c) => c.name)).toEqual(['mcp-entra']);
    const stack = new TerraformStack(Testing.app(), 'f');
    const foundry = new Foundry(stack, 'Foundry', { placement, mcpUrl: MCP_URL });
    foundry.connectApiManagement({ gatewayUrl: 'https://apim-x.azure-api.net', apiManagementId: '/apim/id' });
    const apim = connections(synthJson(stack)).find((c) => c.name === 'apim-gateway');
    expect(apim.schema_validation_enabled).toBeUndefined(); // the body passes the published schema: azapi validates it
    expect(apim.body).toEqual({
      properties: { category: 'ApiManagement', authType: 'AAD', target: 'https://apim-x.azure-api.net/openai', isSharedToAll: true, metadata: { ResourceId: '/apim/id', ApiType: 'azure' } },
    });
  });
});

describe('the agent', () => {
  test('Microsoft.Foundry/agents@v1 under the project endpoint without https://', () => {
    const agent = agentOf(build().json);
    expect(agent.type).toBe('Microsoft.Foundry/agents@v1');
    expect(agent.name).toBe('orders-assistant');
    expect(agent.parent_id).toBe('ai-orders-abc123.services.ai.azure.com/api/projects/proj-orders');
    expect(agent.response_export_values).toEqual(['versions.latest.version']);
  });

  test('a prompt agent on the deployment, instructions that confirm destructive actions, one MCP tool', () => {
    const { body } = agentOf(build().json);
    expect(body.name).toBe('orders-assistant');
    expect(body.definition.kind).toBe('prompt');
    expect(body.definition.model).toEqual(DEPLOYMENT_NAME);
    expect(body.definition.instructions).toMatch(/Always confirm destructive actions/);
    expect(body.definition.tools).toEqual([{
      type: 'mcp',
      server_label: 'orders_mcp',
      server_url: MCP_URL,
      allowed_tools: SIX,
      require_approval: {
        always: { tool_names: ['update-order', 'delete-order'] },
        never: { tool_names: ['list-orders', 'get-order', 'create-order', 'health-check'] },
      },
      project_connection_id: 'mcp-entra',
    }]);
  });

  test('approvals are configurable: none, all, or a chosen set', () => {
    expect(agentOf(build({ agent: { approvalRequiredTools: [] } }).json).body.definition.tools[0].require_approval).toBe('never');
    expect(agentOf(build({ agent: { approvalRequiredTools: SIX } }).json).body.definition.tools[0].require_approval).toBe('always');
    expect(agentOf(build({ agent: { approvalRequiredTools: ['delete-order'] } }).json).body.definition.tools[0].require_approval.always).toEqual({ tool_names: ['delete-order'] });
  });

  test('name and instructions as props', () => {
    const { json, foundry } = build({ agent: { name: 'helper', instructions: 'Be brief.' } });
    expect(agentOf(json)).toMatchObject({ name: 'helper', body: { name: 'helper', definition: { instructions: 'Be brief.' } } });
    expect(foundry.agentName).toBe('helper');
  });

  test('waits for the connection, the model and the deployer role; retries role propagation and a new project', () => {
    const agent = agentOf(build().json);
    expect(agent.depends_on).toEqual([
      dep('azapi_resource', 'Foundry_McpConnection'),
      dep('azurerm_role_assignment', 'Foundry_DeployerAgentAdmin'),
      dep('azurerm_cognitive_deployment', 'Foundry_ModelDeployment'),
    ]);
    expect(agent.retry).toMatchObject({ interval_seconds: 30, max_interval_seconds: 180 });
    expect(agent.retry.error_message_regex).toEqual(expect.arrayContaining(['PermissionDenied', 'Unauthorized', 'context deadline exceeded', 'Project not found']));
  });

  test('invalid labels, names and approvals are rejected, naming the prop', () => {
    expect(() => build({ agent: { serverLabel: 'orders-mcp' } })).toThrow(/agent.serverLabel "orders-mcp" is invalid/);
    expect(() => build({ agent: { name: 'bad name' } })).toThrow(/agent.name "bad name" is invalid/);
    expect(() => build({ agent: { allowedTools: ['list-orders'], approvalRequiredTools: ['delete-order'] } })).toThrow(/approvalRequiredTools names delete-order/);
  });
});

describe('role assignments', () => {
  test('deployer: Foundry User on the project (the running identity by default); nothing else for services', () => {
    const { json } = build();
    const roles = Object.values(resourcesOf(json, 'azurerm_role_assignment')) as any[];
    expect(roles).toHaveLength(1);
    expect(roles[0]).toMatchObject({
      scope: PROJECT_ID,
      role_definition_id: FOUNDRY_USER,
      principal_id: ref('data.azurerm_client_config', 'Foundry_Deployer', 'object_id'),
    });
  });

  const U1 = '11111111-1111-1111-1111-111111111111';
  const DEPLOYER = 'dddd0000-0000-4000-8000-00000000000d';
  const G2 = '22222222-2222-2222-2222-222222222222';
  const runnerRoles = (json: any) => Object.values(resourcesOf(json, 'azurerm_role_definition')) as any[];

  test('named users and groups get the agent-runner role on the project, one stable assignment each', () => {
    const { json } = build({ deployerPrincipalId: DEPLOYER, agentUsers: { principalIds: [U1, G2] } });
    const roles = resourcesOf(json, 'azurerm_role_assignment');
    const byPrincipal = Object.fromEntries(Object.values(roles).map((r: any) => [r.principal_id, r]));
    expect(Object.keys(byPrincipal).sort()).toEqual([U1, G2, DEPLOYER].sort());
    const runner = ref('azurerm_role_definition', 'Foundry_AgentRunnerRole', 'role_definition_resource_id');
    for (const id of [U1, G2]) expect(byPrincipal[id]).toMatchObject({ scope: PROJECT_ID, role_definition_id: runner });
    // The deployer keeps Foundry User: only it creates and changes the agent.
    expect(byPrincipal[DEPLOYER].role_definition_id).toBe(FOUNDRY_USER);
    expect(Object.keys(roles).some((k) => k.includes(`AgentUser-${U1}`))).toBe(true);
    expect(json.data?.azurerm_client_config).toBeUndefined();
  });

  test('the agent-runner role: only the agent data actions the Responses call checks, no delete, no control plane, assignable in the account\'s resource group', () => {
    const { json } = build({ agentUsers: { principalIds: [U1] } });
    const [role] = runnerRoles(json);
    expect(runnerRoles(json)).toHaveLength(1);
    expect(role.permissions).toEqual([{
      actions: [],
      data_actions: [
        'Microsoft.CognitiveServices/accounts/AIServices/agents/read',
        'Microsoft.CognitiveServices/accounts/AIServices/agents/write',
        'Microsoft.CognitiveServices/accounts/AIServices/responses/*',
      ],
      not_data_actions: ['Microsoft.CognitiveServices/accounts/AIServices/agents/delete'],
    }]);
    expect(role.scope).toBe(placement.resourceGroupId);
    expect(role.assignable_scopes).toEqual([placement.resourceGroupId]);
    expect(role.name).toBe('Agent runner (orders-abc123)');
    // An existing account elsewhere: the role is assignable where that account's project lives.
    const existing = runnerRoles(build({ existingAccountName: 'shared-ai', existingAccountResourceGroupName: 'rg-shared', agentUsers: { principalIds: [U1] } }).json)[0];
    expect(existing.assignable_scopes).toEqual([expect.stringMatching(/^\$\{join\("\/", slice\(split\("\/", data\.azurerm_cognitive_account\.\w+\.id\), 0, 5\)\)\}$/)]);
  });

  test.each([
    [AgentUserRole.FOUNDRY_USER, /53ca6127-db72-4b80-b1b0-d745d6d5456d$/],
    [AgentUserRole.FOUNDRY_AGENT_CONSUMER, /eed3b665-ab3a-47b6-8f48-c9382fb1dad6$/],
  ])('role %s: the built-in role, no custom role; never Owner or Contributor', (role, id) => {
    const { json } = build({ agentUsers: { principalIds: [U1], role } });
    const roles = Object.values(resourcesOf(json, 'azurerm_role_assignment')) as any[];
    expect(roles.find((r) => r.principal_id === U1).role_definition_id).toMatch(id);
    expect(runnerRoles(json)).toEqual([]);
    for (const r of roles) expect(r.role_definition_name).toBeUndefined();
  });

  test('a new security group owned by the deployer, with members; the role goes to the group', () => {
    const { json, foundry } = build({ agentUsers: { createGroup: true, groupMembers: [U1] } });
    const group = onlyResource(json, 'azuread_group');
    expect(group).toMatchObject({ display_name: 'orders agent users', security_enabled: true, members: [U1], prevent_duplicate_names: true });
    expect(group.owners).toEqual([expect.stringMatching(/^\$\{data\.azuread_client_config\.\w+\.object_id\}$/)]);
    const groupId = ref('azuread_group', 'Foundry_AgentUsers_Group', 'object_id');
    const assignment = (Object.values(resourcesOf(json, 'azurerm_role_assignment')) as any[]).find((r) => r.principal_id !== undefined && /azuread_group/.test(r.principal_id));
    expect(assignment.principal_id).toEqual(groupId);
    expect(foundry.agentUsersGroupObjectId).toMatch(/TOKEN/);
    expect(foundry.agentUserPrincipalIds).toHaveLength(1);
  });

  test('bad agent users are refused, naming the prop', () => {
    expect(() => build({ agentUsers: { principalIds: ['alice'] } })).toThrow('Foundry: agentUsers.principalIds[0] "alice" is invalid: it must be a GUID');
    expect(() => build({ agentUsers: { groupMembers: [U1] } })).toThrow(/agentUsers.groupMembers configures the new group; set agentUsers.createGroup/);
    expect(() => build({ agentUsers: { createGroup: true, groupMembers: ['bob'] } })).toThrow('Foundry: agentUsers.groupMembers[0] "bob" is invalid: it must be a GUID');
  });
});

describe('who may chat: a synth warning when nobody but the deployer can', () => {
  const warnings = (props: Partial<FoundryProps>) => {
    const { stack } = build(props);
    return warningsIn(stack).filter((m) => /nobody but the deployer can chat/.test(m));
  };
  test.each([
    ['no agent users', {}],
    ['a new group without members', { agentUsers: { createGroup: true } }],
  ])('%s: warns', (_name, props) => {
    expect(warnings(props as Partial<FoundryProps>)).toHaveLength(1);
  });
  test.each([
    ['named principals', { agentUsers: { principalIds: ['11111111-1111-1111-1111-111111111111'] } }],
    ['a group with members', { agentUsers: { createGroup: true, groupMembers: ['11111111-1111-1111-1111-111111111111'] } }],
  ])('%s: no warning', (_name, props) => {
    expect(warnings(props as Partial<FoundryProps>)).toEqual([]);
  });
});

describe('existing account or project', () => {
  test('an existing account: looked up, not created; endpoints from its endpoint; no diagnostics of ours', () => {
    const { json, foundry } = build({ existingAccountName: 'shared-ai', existingAccountResourceGroupName: 'rg-shared' });
    expect(resourcesOf(json, 'azurerm_cognitive_account')).toEqual({});
    expect(resourcesOf(json, 'azurerm_monitor_diagnostic_setting')).toEqual({});
    expect(Object.values(json.data?.azurerm_cognitive_account ?? {})[0]).toMatchObject({ name: 'shared-ai', resource_group_name: 'rg-shared' });
    expect(onlyResource(json, 'azurerm_cognitive_account_project').cognitive_account_id).toMatch(/data\.azurerm_cognitive_account\.\w+\.id/);
    expect(agentOf(json).parent_id).toMatch(/^\$\{trimsuffix\(trimsuffix\(trimprefix\(data\.azurerm_cognitive_account\.\w+\.endpoint, "https:\/\/"\), "\/"\), "\.cognitiveservices\.azure\.com"\)\}\.services\.ai\.azure\.com\/api\/projects\/proj-orders$/);
    expect(foundry.accountName).toBe('shared-ai');
  });

  test('an existing project of an existing account: nothing created but the deployment, connection, agent, roles', () => {
    const { json, foundry } = build({ existingAccountName: 'shared-ai', existingProjectName: 'team-proj' });
    expect(resourcesOf(json, 'azurerm_cognitive_account_project')).toEqual({});
    expect(connections(json)[0].parent_id).toMatch(/^\$\{data\.azurerm_cognitive_account\.\w+\.id\}\/projects\/team-proj$/);
    expect(foundry.projectName).toBe('team-proj');
    expect(connections(json)[0].depends_on).toBeUndefined();
    expect(foundry.projectEndpoint).toMatch(/\.services\.ai\.azure\.com\/api\/projects\/team-proj$/);
  });

  test('an existing deployment: none is created and the agent uses it', () => {
    const { json } = build({ model: { existingDeploymentName: 'shared-gpt' } });
    expect(resourcesOf(json, 'azurerm_cognitive_deployment')).toEqual({});
    expect(agentOf(json).body.definition.model).toBe('shared-gpt');
  });

  test('contradictions are rejected, naming both props', () => {
    expect(() => build({ accountName: 'ai-new', existingAccountName: 'ai-old' })).toThrow(/Foundry: accountName and existingAccountName cannot be used together/);
    expect(() => build({ existingAccountName: 'ai-old', projectName: 'proj-new', existingProjectName: 'proj-old' })).toThrow(/projectName and existingProjectName cannot be used together/);
    expect(() => build({ existingProjectName: 'proj-old' })).toThrow(/existingProjectName needs existingAccountName/);
    expect(() => build({ existingAccountResourceGroupName: 'rg' })).toThrow(/existingAccountResourceGroupName needs existingAccountName/);
    expect(() => build({ model: { existingDeploymentName: 'd', capacity: 10 } })).toThrow(/model.existingDeploymentName and model.capacity cannot be used together/);
    expect(() => build({ model: { capacity: 0 } })).toThrow(/model.capacity is 0/);
  });
});
