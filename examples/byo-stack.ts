import { Construct } from 'constructs';
import { IdentityPropagatingAgentStack } from '../src';

/**
 * "Bring your own everything": the stack deployed into existing infrastructure. It creates
 * only the identities, the orders table and its role, AcrPull on your registry, the two
 * apps, Application Insights, the agent with its connections and roles, the APIs on your
 * API Management and the gateway proof's app registration (the audience of the token your
 * API Management's system identity adds for the Orders API); everything else is referenced.
 */
export function byoStack(scope: Construct, id = 'identity-propagating-agent-byo', ordersApiOpenApiPath?: string): IdentityPropagatingAgentStack {
  return new IdentityPropagatingAgentStack(scope, id, {
    baseName: 'ordersbyo',
    location: 'westeurope',
    subscriptionId: '00000000-0000-0000-0000-000000000001',
    tenantId: '11111111-1111-1111-1111-111111111111',
    existingResourceGroupName: 'rg-platform',
    uniqueSuffix: 'plat01',
    monitoring: {
      existingLogAnalyticsWorkspaceId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-platform/providers/Microsoft.OperationalInsights/workspaces/log-platform',
    },
    images: {
      existingRegistryName: 'crplatform',
      existingRegistryResourceGroupName: 'rg-shared',
      ordersApiImage: 'crplatform.azurecr.io/orders-api:1.4.0',
      chatAppImage: 'crplatform.azurecr.io/chat-app:1.4.0',
    },
    storage: {
      existingStorageAccountId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stplatformdata',
      tableName: 'orders',
    },
    containerApps: {
      existingEnvironmentName: 'cae-platform',
      ordersApiPublicBaseUrl: 'https://apim-platform.azure-api.net/orders-mcp',
      ordersApiAllowedIpRanges: ['20.50.1.10', '20.50.1.11'],
      ordersSeedOwnerObjectId: '22222222-2222-2222-2222-222222222222',
      ordersAdminObjectIds: ['44444444-4444-4444-4444-444444444444'],
      ordersApi: { cpu: 1, minReplicas: 2, maxReplicas: 6 },
    },
    entra: { existingSpaClientId: '33333333-3333-3333-3333-333333333333' },
    // The agent, its MCP connection and their roles are always this stack's; the account,
    // project, model deployment and API Management are the platform's.
    foundry: {
      existingAccountName: 'aif-platform',
      existingProjectName: 'agents',
      model: { existingDeploymentName: 'gpt-4o' },
      // The platform's group of people who may chat.
      agentUsers: { principalIds: ['55555555-5555-5555-5555-555555555555'] },
    },
    gateway: { existingName: 'apim-platform', ordersApiOpenApiPath },
  });
}
