import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerRegistry } from '@cdktf/provider-azurerm/lib/container-registry';
import { Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { byoStack } from '../../examples/byo-stack';
import { exampleStack } from '../../examples/stack';
import { AgentUserRole, IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, McpAuthMode, SecurityRuleSeverity } from '../../src';

// The library's own resources pass its security rules: the example and every switch
// configuration synthesize with zero findings (errors or warnings) and zero suppressions.

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const OPENAPI = join(servicesDistDir, 'orders-api', 'openapi.json');
const base: IdentityPropagatingAgentStackProps = {
  baseName: 'orders', location: 'swedencentral', images: { servicesDistDir },
};
const WORKSPACE = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/shared/providers/Microsoft.OperationalInsights/workspaces/law';
const STORAGE = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/shared/providers/Microsoft.Storage/storageAccounts/stshared';

/** Full synth (validations on, as `cdktf synth` runs them): findings, warnings in the manifest, the written JSON. */
function fullSynth(stack: IdentityPropagatingAgentStack) {
  const outdir = Testing.fullSynth(stack);
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
  const entry: any = Object.values(manifest.stacks)[0];
  const json = readFileSync(join(outdir, entry.synthesizedStackPath), 'utf8');
  return { findings: stack.securityChecks.findings, annotations: entry.annotations as any[], json };
}

const configurations: { [name: string]: Partial<IdentityPropagatingAgentStackProps> } = {
  'defaults': {},
  'the original\'s MCP audience (FOUNDRY_AUDIENCE)': { mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE },
  'admin consent': { entra: { adminConsent: true } },
  'existing resource group': { existingResourceGroupName: 'shared' },
  'existing Log Analytics workspace': { monitoring: { existingLogAnalyticsWorkspaceId: WORKSPACE } },
  'existing storage account': { storage: { existingStorageAccountId: STORAGE } },
  'own images, no registry': {
    images: { ordersApiImage: 'ghcr.io/me/orders:1', chatAppImage: 'ghcr.io/me/chat:1' }, gateway: { ordersApiOpenApiPath: OPENAPI },
  },
  'existing registry': { images: { servicesDistDir, existingRegistryName: 'acrshared', existingRegistryResourceGroupName: 'shared' } },
  'existing Container Apps environment': { containerApps: { existingEnvironmentName: 'cae-shared', existingEnvironmentResourceGroupName: 'shared' } },
  'app options': {
    // The original's audience, where a required scope of Azure AI's (user_impersonation) applies.
    mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE,
    containerApps: {
      ordersApiAllowedClientIds: ['22222222-2222-2222-2222-222222222222'],
      ordersApiRequiredScopes: ['user_impersonation'],
      ordersApiAllowedIpRanges: ['10.0.0.0/8'],
      ordersAdminObjectIds: ['33333333-3333-3333-3333-333333333333'],
      ordersSeedOwnerObjectId: '33333333-3333-3333-3333-333333333333',
    },
  },
  'existing SPA client id': { entra: { existingSpaClientId: '44444444-4444-4444-4444-444444444444' } },
  'SPA without localhost, assignment required': { entra: { localhostRedirectUris: false, appRoleAssignmentRequired: true } },
  'no APIM': { gateway: { enabled: false } },
  'existing APIM': { gateway: { existingName: 'apim-shared', existingResourceGroupName: 'rg-shared' } },
  'APIM options': { gateway: { skuName: 'StandardV2_1', aiGateway: true, tokensPerMinute: 5000, aiGatewayAudiences: ['https://cognitiveservices.azure.com'] } },
  'existing Foundry': {
    foundry: { existingAccountName: 'ai-shared', existingAccountResourceGroupName: 'rg-shared', existingProjectName: 'agents', model: { existingDeploymentName: 'gpt-4o' } },
  },
  'existing Foundry account, new project': { foundry: { existingAccountName: 'ai-shared', existingAccountResourceGroupName: 'rg-shared' } },
  'agent users': { foundry: { agentUsers: { principalIds: ['55555555-5555-5555-5555-555555555555'] } } },
  'agent users: a new group, Foundry User': { foundry: { agentUsers: { createGroup: true, groupMembers: ['55555555-5555-5555-5555-555555555555'], role: AgentUserRole.FOUNDRY_USER } } },
  'agent users: Foundry Agent Consumer': { foundry: { agentUsers: { principalIds: ['55555555-5555-5555-5555-555555555555'], role: AgentUserRole.FOUNDRY_AGENT_CONSUMER } } },
};

describe('the library passes its own rules', () => {
  test('the example stack: zero findings, zero warnings, zero suppressions', () => {
    const { findings, annotations, json } = fullSynth(exampleStack(Testing.app(), undefined, { servicesDistDir }));
    expect(findings).toEqual([]);
    expect(annotations.filter((a) => /IPA-/.test(a.message))).toEqual([]);
    expect(json).not.toContain('securitySuppressions');
  });

  test('the bring-your-own example: zero findings, zero suppressions', () => {
    const stack = byoStack(Testing.app(), undefined, OPENAPI);
    Testing.synth(stack, true);
    expect(stack.securityChecks.findings).toEqual([]);
    expect(JSON.stringify(stack.toTerraform())).not.toContain('securitySuppressions');
  });

  test.each(Object.entries(configurations))('%s', (_name, props) => {
    const stack = new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props });
    Testing.synth(stack, true); // with validations: an error finding would throw
    expect(stack.securityChecks.findings).toEqual([]);
    expect(JSON.stringify(stack.toTerraform())).not.toContain('securitySuppressions');
  });
});

describe('the rules see the library\'s own resources as they synthesize', () => {
  // Break one setting of a library resource through an escape hatch: the matching rule must fire on it.
  const breaks: Array<[string, string, (r: any) => boolean, string, unknown]> = [
    ['IPA-ACR1', 'azurerm_container_registry', () => true, 'admin_enabled', true],
    ['IPA-ST5', 'azapi_resource', (r) => /\/Storage\/Account$/.test(r.node.path), 'body.properties.allowSharedKeyAccess', true],
    ['IPA-AI1', 'azurerm_cognitive_account', () => true, 'local_auth_enabled', true],
    ['IPA-CA2', 'azurerm_container_app', () => true, 'ingress.allow_insecure_connections', true],
    ['IPA-APIM1', 'azurerm_api_management_diagnostic', () => true, 'frontend_request.headers_to_log', ['Authorization']],
    ['IPA-APIM3', 'azurerm_api_management_api_policy', (r) => r.node.id === 'OrdersMcpPolicy', 'xml_content', '<policies><inbound><base /></inbound></policies>'],
  ];
  test.each(breaks)('%s', (rule, type, which, path, value) => {
    const stack = exampleStack(Testing.app(), undefined, { servicesDistDir });
    const target = stack.node.findAll().find((c: any) => c.terraformResourceType === type && which(c)) as any;
    target.addOverride(path, value);
    expect(() => Testing.synth(stack, true)).toThrow(new RegExp(rule));
    expect(stack.securityChecks.findings.map((f) => f.ruleId)).toContain(rule);
  });

  // The /openai API's diagnostic is an azapi body (it exists only with the AI gateway on).
  const aiGatewayBreaks: Array<[string, string, unknown]> = [
    ['IPA-APIM1', 'body.properties.frontend.request.headers', ['traceparent', 'Authorization']],
    ['IPA-APIM1', 'body.properties.backend.request.headers', ['X-Gateway-Authorization']],
    ['IPA-APIM2', 'body.properties.backend.response.body.bytes', 8192],
  ];
  test.each(aiGatewayBreaks)('%s on the AI gateway\'s azapi diagnostic (%s)', (rule, path, value) => {
    const stack = new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...configurations['APIM options'] });
    const diagnostics = stack.node.findAll().filter((c: any) => c.terraformResourceType === 'azapi_resource'
      && /^Microsoft\.ApiManagement\/service\/apis\/diagnostics@/.test(Object.values<any>(c.toTerraform().resource.azapi_resource)[0].type)) as any[];
    expect(diagnostics).toHaveLength(1);
    diagnostics[0].addOverride(path, value);
    expect(() => Testing.synth(stack, true)).toThrow(new RegExp(`${rule} azapi_resource\\.`));
    expect(stack.securityChecks.findings.map((f) => [f.ruleId, f.path])).toEqual([[rule, diagnostics[0].node.path]]);
  });
});

describe('the stack applies the rules by default', () => {
  // A user's resource beside the library's is judged too.
  async function withAdminRegistry(props: Partial<IdentityPropagatingAgentStackProps> = {}) {
    const stack = new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props });
    new ContainerRegistry(stack, 'Mine', { name: 'acrmine', location: 'swedencentral', resourceGroupName: 'rg', sku: 'Basic', adminEnabled: true });
    return stack;
  }

  test('an error finding fails synth, naming rule, address and path', async () => {
    const stack = await withAdminRegistry();
    expect(() => Testing.fullSynth(stack)).toThrow(/IPA-ACR1 azurerm_container_registry\.Mine \(test\/Mine\): the registry admin user is enabled/);
  });

  test('securityChecks.findingsAsWarnings reports it as a warning instead', async () => {
    const stack = await withAdminRegistry({ securityChecks: { findingsAsWarnings: true } });
    const { findings, annotations } = fullSynth(stack);
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([['IPA-ACR1', SecurityRuleSeverity.WARNING]]);
    expect(annotations).toContainEqual(expect.objectContaining({ constructPath: 'test/Mine', level: '@cdktf/warn', message: expect.stringMatching(/^IPA-ACR1: /) }));
  });
});
