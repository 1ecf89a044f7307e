import { join } from 'node:path';
import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { Aspects, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import {
  AgentResourceGroup, AzapiProvider, ContainerAppsEnvironment, Gateway, ImageRegistry, Monitoring, OrdersStorage,
  Placement, SecurityChecks, ServiceContainerApps, ServiceIdentities,
} from '../src';


/**
 * The Orders API alone behind an API Management you already have: no Chat App, no Foundry
 * (`servicesDistDir`: where the build contexts are; default the bundles of `npm run build:services`).
 * The sub-constructs used on their own: placement, identities, storage, registry and image,
 * Container Apps environment, the Orders API app, and the gateway's APIs on the existing service.
 */
export function ordersApiAlone(scope: Construct, id = 'orders-api', servicesDistDir?: string): TerraformStack {
  const stack = new TerraformStack(scope, id);
  new AzurermProvider(stack, 'azurerm', { features: [{}], storageUseAzuread: true });
  new AzureadProvider(stack, 'azuread', {}); // the gateway proof's app registration
  new AzapiProvider(stack, 'azapi', {}); // the storage account and the orders table
  // The project's security rules, as the full system applies them.
  Aspects.of(stack).add(new SecurityChecks());

  const client = new DataAzurermClientConfig(stack, 'ClientConfig');
  const resourceGroup = new AgentResourceGroup(stack, 'ResourceGroup', { baseName: 'orders', location: 'westeurope', existingName: 'rg-platform' });
  const placement: Placement = {
    resourceGroupName: resourceGroup.name,
    resourceGroupId: resourceGroup.id,
    location: 'westeurope',
    baseName: 'orders',
    uniqueSuffix: 'plat01',
  };

  const monitoring = new Monitoring(stack, 'Monitoring', { placement });
  const environment = new ContainerAppsEnvironment(stack, 'Environment', { placement, logAnalyticsWorkspaceId: monitoring.logAnalyticsWorkspaceId });
  // Creates both services' identities; the Chat App's holds no role here.
  const identities = new ServiceIdentities(stack, 'Identities', { placement });
  const storage = new OrdersStorage(stack, 'Storage', { placement, ordersApiPrincipalId: identities.ordersApi.principalId });
  const images = new ImageRegistry(stack, 'Images', { placement, chatApp: false, servicesDistDir });

  // The app's URL is known from its name before it exists: API Management's backend.
  const names = ServiceContainerApps.defaultNames(placement.baseName);
  const ordersApiUrl = `https://${ServiceContainerApps.fqdnOf(names.ordersApi, environment.defaultDomain)}`;
  const gateway = new Gateway(stack, 'Gateway', {
    placement,
    existingName: 'apim-platform',
    // The OpenAPI document /orders-api imports sits beside the bundle it was generated with.
    ordersApiOpenApiPath: servicesDistDir && join(servicesDistDir, 'orders-api', 'openapi.json'),
    tenantId: client.tenantId,
    ordersApiUrl,
    applicationInsightsId: monitoring.applicationInsightsId,
    applicationInsightsConnectionString: monitoring.applicationInsightsConnectionString,
  });

  new ServiceContainerApps(stack, 'Apps', {
    placement,
    environmentId: environment.id,
    environmentDefaultDomain: environment.defaultDomain,
    names,
    ordersApiIdentity: identities.ordersApi,
    ordersApiImage: images.ordersApiImage,
    // No chatAppImage: the Orders API alone.
    registry: { id: images.registryId, loginServer: images.loginServer },
    tenantId: client.tenantId,
    tablesEndpoint: storage.tablesEndpoint,
    tableName: storage.tableName,
    ordersApiPublicBaseUrl: gateway.ordersMcpBaseUrl,
    ordersApiGatewayProof: gateway.gatewayProofAudience !== undefined
      ? { audience: gateway.gatewayProofAudience, principalIds: [gateway.principalId] }
      : undefined,
    applicationInsightsConnectionString: monitoring.applicationInsightsConnectionString,
    waitFor: [storage, images],
  });

  new TerraformOutput(stack, 'mcp_endpoint', { value: gateway.mcpUrl, description: 'MCP endpoint on your API Management.' });
  new TerraformOutput(stack, 'orders_rest_url', { value: gateway.ordersRestUrl, description: 'REST API on your API Management.' });
  return stack;
}
