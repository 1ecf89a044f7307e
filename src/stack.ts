import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { Construct } from 'constructs';
import { AzapiProvider } from './azapi/provider';
import { AppOptions, ServiceContainerApps, ContainerAppNames } from './container-apps/apps';
import { ContainerAppsEnvironment, EnvironmentOptions } from './container-apps/environment';
import { ServiceIdentities } from './container-apps/identities';
import { EntraOptions, SpaRegistration } from './entra/spa';
import { derivedUniqueSuffix, validateBaseName, validateUniqueSuffix } from './internal/naming';
import { TerraformOutput, TerraformStack } from './internal/tf';
import { rejectTogether } from './internal/validation';
import { Monitoring, MonitoringOptions } from './monitoring/monitoring';
import { Placement } from './placement';
import { ImageOptions, ImageRegistry } from './registry/registry';
import { AgentResourceGroup } from './resource-group/resource-group';
import { OrdersStorage, StorageOptions } from './storage/storage';

/**
 * Marks the Chat App's Foundry endpoint as not configured: the app starts, and every chat
 * answers 502, until a project endpoint is given (or the stack's Foundry part provides it).
 */
const FOUNDRY_NOT_CONFIGURED = 'https://foundry-not-configured.invalid/api/projects/not-configured';

/** Container Apps options of the stack: the environment and the two apps. */
export interface ContainerAppsOptions extends EnvironmentOptions, AppOptions {
  /**
   * Foundry project endpoint the Chat App calls (`FOUNDRY_PROJECT_ENDPOINT`).
   * @default - a clearly invalid placeholder (`https://foundry-not-configured.invalid/...`) until the stack's Foundry part provides it
   */
  readonly foundryProjectEndpoint?: string;
}

/** Props of {@link IdentityPropagatingAgentStack}. */
export interface IdentityPropagatingAgentStackProps {
  /**
   * Base of every resource name: 3 to 14 lower-case letters, digits and single hyphens,
   * starting with a letter.
   */
  readonly baseName: string;
  /** Azure region of the deployment, e.g. `swedencentral` (it must offer Foundry, the model and APIM v2). */
  readonly location: string;
  /**
   * Subscription to deploy into.
   * @default - from the environment (`ARM_SUBSCRIPTION_ID` or the Azure CLI login)
   */
  readonly subscriptionId?: string;
  /**
   * Entra tenant of the deployment and of the users.
   * @default - the tenant of the deploying identity
   */
  readonly tenantId?: string;
  /**
   * Name of a new resource group.
   * @default `rg-<baseName>`
   */
  readonly resourceGroupName?: string;
  /**
   * Deploy into this existing resource group instead of creating one.
   * @default - a new resource group is created
   */
  readonly existingResourceGroupName?: string;
  /**
   * Token appended to globally unique names (storage account, registry, Foundry subdomain, APIM).
   * @default - the first 6 hex digits of sha1("<subscription id>/<resource group name>"), stable across deploys
   */
  readonly uniqueSuffix?: string;
  /**
   * Tags applied to every resource that takes tags.
   * @default - none
   */
  readonly tags?: { [key: string]: string };
  /**
   * Log Analytics and Application Insights.
   * @default - a new workspace and a workspace-based Application Insights
   */
  readonly monitoring?: MonitoringOptions;
  /**
   * Container registry and the services' images.
   * @default - a new Basic registry; both images built in Azure from the bundled services
   */
  readonly images?: ImageOptions;
  /**
   * Table Storage of the Orders API.
   * @default - a new account (Entra ID only) with the `orders` table
   */
  readonly storage?: StorageOptions;
  /**
   * Container Apps environment and the two apps.
   * @default - a new environment wired to Log Analytics; apps with the defaults of {@link AppOptions}
   */
  readonly containerApps?: ContainerAppsOptions;
  /**
   * The Chat App's SPA app registration.
   * @default - a new single-tenant SPA registration
   */
  readonly entra?: EntraOptions;
}

/**
 * The whole identity-propagating agent system in one Terraform stack: the signed-in user's
 * Entra token travels from the browser through the Chat App and the Foundry agent to the
 * Orders API, and is validated at every service.
 *
 * It configures the azurerm, azuread and azapi providers and composes the sub-constructs;
 * it creates nothing itself.
 *
 * @example
 * const app = new App();
 * new IdentityPropagatingAgentStack(app, 'agent', { baseName: 'orders', location: 'swedencentral' });
 * app.synth();
 */
export class IdentityPropagatingAgentStack extends TerraformStack {
  /** Where every part places its resources. */
  public readonly placement: Placement;
  /** Tenant id of the deployment (a Terraform expression unless `tenantId` was given). */
  public readonly tenantId: string;
  /** Log Analytics and Application Insights. */
  public readonly monitoring: Monitoring;
  /** Container Apps environment (new or existing). */
  public readonly containerAppsEnvironment: ContainerAppsEnvironment;
  /** Names of the two apps (known before the apps exist). */
  public readonly containerAppNames: ContainerAppNames;
  /** The services' user-assigned identities. */
  public readonly identities: ServiceIdentities;
  /** Table Storage of the Orders API. */
  public readonly storage: OrdersStorage;
  /** Registry and image builds; undefined when both images are yours and no registry is named. */
  public readonly images?: ImageRegistry;
  /** The SPA app registration (new or existing client id). */
  public readonly spa: SpaRegistration;
  /** The Orders API and Chat App container apps. */
  public readonly apps: ServiceContainerApps;
  /** Orders API FQDN, computed from its name and the environment (API Management's backend host). */
  public readonly ordersApiFqdn: string;
  /** `https://<Orders API FQDN>`. */
  public readonly ordersApiUrl: string;
  /** The Orders API's own MCP endpoint, `https://<Orders API FQDN>/mcp` (what the agent calls without API Management). */
  public readonly ordersApiMcpUrl: string;
  /** `https://<Chat App FQDN>`. */
  public readonly chatAppUrl: string;
  /** Client id of the SPA. */
  public readonly spaClientId: string;
  /** Principal id of the Orders API's identity. */
  public readonly ordersApiPrincipalId: string;
  /** Principal id of the Chat App's identity. */
  public readonly chatAppPrincipalId: string;
  /** Table service endpoint of the orders table's account. */
  public readonly tablesEndpoint: string;

  constructor(scope: Construct, id: string, props: IdentityPropagatingAgentStackProps) {
    super(scope, id);
    const owner = 'IdentityPropagatingAgentStack';
    validateBaseName(owner, props.baseName);
    if (props.uniqueSuffix !== undefined) validateUniqueSuffix(owner, props.uniqueSuffix);
    rejectTogether(owner, { resourceGroupName: props.resourceGroupName, existingResourceGroupName: props.existingResourceGroupName },
      'name a new resource group or an existing one, not both.');

    new AzurermProvider(this, 'azurerm', {
      features: [{}],
      subscriptionId: props.subscriptionId,
      tenantId: props.tenantId,
      // Storage data-plane calls use Entra ID, so accounts can keep shared keys off.
      storageUseAzuread: true,
    });
    new AzureadProvider(this, 'azuread', { tenantId: props.tenantId });
    new AzapiProvider(this, 'azapi', { subscriptionId: props.subscriptionId, tenantId: props.tenantId });

    const client = new DataAzurermClientConfig(this, 'ClientConfig');
    this.tenantId = props.tenantId ?? client.tenantId;

    const resourceGroup = new AgentResourceGroup(this, 'ResourceGroup', {
      baseName: props.baseName,
      location: props.location,
      name: props.resourceGroupName,
      existingName: props.existingResourceGroupName,
      tags: props.tags,
    });

    this.placement = {
      resourceGroupName: resourceGroup.name,
      resourceGroupId: resourceGroup.id,
      location: props.location,
      baseName: props.baseName,
      uniqueSuffix: props.uniqueSuffix ?? derivedUniqueSuffix(client.subscriptionId, resourceGroup.name),
      tags: props.tags,
    };

    this.monitoring = new Monitoring(this, 'Monitoring', { placement: this.placement, ...props.monitoring });

    // Order without cycles: environment (its domain gives every app URL) -> identities ->
    // storage and images -> SPA registration (redirect URI from the Chat App's name) ->
    // [Foundry: needs ordersApiMcpUrl] -> the apps -> [API Management: backend ordersApiFqdn].
    const apps = props.containerApps ?? {};
    this.containerAppsEnvironment = new ContainerAppsEnvironment(this, 'ContainerAppsEnvironment', {
      placement: this.placement,
      existingEnvironmentName: apps.existingEnvironmentName,
      existingEnvironmentResourceGroupName: apps.existingEnvironmentResourceGroupName,
      logAnalyticsWorkspaceId: apps.existingEnvironmentName === undefined ? this.monitoring.logAnalyticsWorkspaceId : undefined,
    });
    this.containerAppNames = ServiceContainerApps.defaultNames(props.baseName);
    const domain = this.containerAppsEnvironment.defaultDomain;
    this.ordersApiFqdn = ServiceContainerApps.fqdnOf(this.containerAppNames.ordersApi, domain);
    this.ordersApiUrl = `https://${this.ordersApiFqdn}`;
    this.ordersApiMcpUrl = `${this.ordersApiUrl}/mcp`;
    this.chatAppUrl = `https://${ServiceContainerApps.fqdnOf(this.containerAppNames.chatApp, domain)}`;

    this.identities = new ServiceIdentities(this, 'Identities', { placement: this.placement });
    this.ordersApiPrincipalId = this.identities.ordersApi.principalId;
    this.chatAppPrincipalId = this.identities.chatApp.principalId;

    this.storage = new OrdersStorage(this, 'Storage', {
      placement: this.placement,
      ...props.storage,
      ordersApiPrincipalId: this.ordersApiPrincipalId,
    });
    this.tablesEndpoint = this.storage.tablesEndpoint;

    const images = props.images ?? {};
    const allImagesOwn = images.ordersApiImage !== undefined && images.chatAppImage !== undefined;
    if (!allImagesOwn || images.existingRegistryName !== undefined) {
      this.images = new ImageRegistry(this, 'Images', {
        placement: this.placement,
        ...images,
        subscriptionId: props.subscriptionId,
        tenantId: props.tenantId,
      });
    }

    const entra = props.entra ?? {};
    this.spa = new SpaRegistration(this, 'Spa', {
      placement: this.placement,
      ...entra,
      chatAppUrl: entra.existingSpaClientId === undefined ? this.chatAppUrl : undefined,
    });
    this.spaClientId = this.spa.clientId;

    this.apps = new ServiceContainerApps(this, 'ContainerApps', {
      placement: this.placement,
      ...pickAppOptions(apps),
      environmentId: this.containerAppsEnvironment.id,
      environmentDefaultDomain: domain,
      names: this.containerAppNames,
      ordersApiIdentity: this.identities.ordersApi,
      chatAppIdentity: this.identities.chatApp,
      ordersApiImage: this.images?.ordersApiImage ?? images.ordersApiImage!,
      chatAppImage: this.images?.chatAppImage ?? images.chatAppImage!,
      registry: this.images && { id: this.images.registryId, loginServer: this.images.loginServer },
      tenantId: this.tenantId,
      tablesEndpoint: this.tablesEndpoint,
      tableName: this.storage.tableName,
      spaClientId: this.spaClientId,
      foundryProjectEndpoint: apps.foundryProjectEndpoint ?? FOUNDRY_NOT_CONFIGURED,
      applicationInsightsConnectionString: this.monitoring.applicationInsightsConnectionString,
      // The first revision finds its image, and the Orders API its table role.
      waitFor: [this.storage, ...(this.images ? [this.images] : [])],
    });

    // Outputs of DESIGN section 5 that these parts provide (no secrets).
    new TerraformOutput(this, 'chat_app_url', { value: this.chatAppUrl, description: 'The Chat App: sign in and chat here.' });
    new TerraformOutput(this, 'spa_client_id', { value: this.spaClientId, description: 'Client id of the SPA app registration.' });
    new TerraformOutput(this, 'orders_api_url', { value: this.ordersApiUrl, description: 'The Orders API (validates every token itself).' });
    new TerraformOutput(this, 'mcp_endpoint', { value: this.ordersApiMcpUrl, description: 'The MCP endpoint the agent calls.' });
  }
}

/** The app settings of the stack's options, without the environment switches. */
function pickAppOptions(o: ContainerAppsOptions): AppOptions {
  return {
    ordersApi: o.ordersApi,
    chatApp: o.chatApp,
    terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
    audiences: o.audiences,
    ordersApiAllowedClientIds: o.ordersApiAllowedClientIds,
    ordersApiRequiredScopes: o.ordersApiRequiredScopes,
    ordersApiPublicBaseUrl: o.ordersApiPublicBaseUrl,
    ordersApiAllowedIpRanges: o.ordersApiAllowedIpRanges,
    ordersAdminObjectIds: o.ordersAdminObjectIds,
    ordersSeedOwnerObjectId: o.ordersSeedOwnerObjectId,
    agentName: o.agentName,
    authority: o.authority,
  };
}
