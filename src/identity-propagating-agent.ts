import { join } from 'node:path';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { Construct } from 'constructs';
import { AppOptions, ServiceContainerApps, ContainerAppNames } from './container-apps/apps';
import { ContainerAppsEnvironment, EnvironmentOptions } from './container-apps/environment';
import { ServiceIdentities } from './container-apps/identities';
import { McpAuthMode, OrdersApiRegistration } from './entra/orders-api-registration';
import { EntraOptions, SpaRegistration } from './entra/spa';
import { Foundry, FoundryOptions } from './foundry/foundry';
import { Gateway, GatewayOptions } from './gateway/gateway';
import { SecurityChecks, SecurityChecksProps } from './guard/security-checks';
import { checkAgentValues } from './internal/azure-values';
import { derivedUniqueSuffix, validateBaseName, validateUniqueSuffix } from './internal/naming';
import { Aspects, TerraformOutput, TerraformProvider, TerraformStack, Token } from './internal/tf';
import { rejectTogether } from './internal/validation';
import { Monitoring, MonitoringOptions } from './monitoring/monitoring';
import { Placement } from './placement';
import { ImageOptions, ImageRegistry } from './registry/registry';
import { AgentResourceGroup } from './resource-group/resource-group';
import { OrdersStorage, StorageOptions } from './storage/storage';

/**
 * Container Apps options of the stack: the environment and the two apps. The Chat App's
 * Foundry project endpoint comes from the stack's Foundry part (see `foundry` to use an
 * existing account or project).
 */
export interface ContainerAppsOptions extends EnvironmentOptions, AppOptions {}

/** Props of {@link IdentityPropagatingAgent} (and of {@link IdentityPropagatingAgentStack}). */
export interface IdentityPropagatingAgentProps {
  /**
   * Base of every resource name: 3 to 14 lower-case letters, digits and single hyphens,
   * starting with a letter.
   */
  readonly baseName: string;
  /** Azure region of the deployment, e.g. `swedencentral` (it must offer Foundry, the model and APIM v2). */
  readonly location: string;
  /**
   * Subscription to deploy into (the stack also configures its azurerm and azapi providers with it).
   * @default - the azurerm provider's subscription (`ARM_SUBSCRIPTION_ID` or the Azure CLI login)
   */
  readonly subscriptionId?: string;
  /**
   * Entra tenant of the deployment and of the users (the stack also configures its providers with it).
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
   * The Chat App's SPA app registration (and the opt-in admin consent).
   * @default - a new single-tenant SPA registration
   */
  readonly entra?: EntraOptions;
  /**
   * Which token the agent's MCP call carries. `AUDIENCE_BOUND`: a token for the Orders API's own
   * app registration (created), accepted by API Management and the Orders API alone, with
   * per-tool scopes (what the MCP authorization spec requires). `FOUNDRY_AUDIENCE`: the original's
   * `https://ai.azure.com` token. See README "Identity at the MCP hop: two modes".
   * @default McpAuthMode.AUDIENCE_BOUND
   */
  readonly mcpAuth?: McpAuthMode;
  /**
   * Foundry: account, project, model deployment, the MCP connection and the agent.
   * @default - a new AIServices account and project, gpt-4o, the agent `orders-assistant`
   */
  readonly foundry?: FoundryOptions;
  /**
   * API Management in front of the Orders API (`enabled: false` for none).
   * @default - a new BasicV2 service with `/orders-mcp`, `/orders-api` and the RFC 9728 metadata (`/openai` is opt-in: `aiGateway`)
   */
  readonly gateway?: GatewayOptions;
  /**
   * Prefix of the stack outputs' names (`chat_app_url`, `mcp_endpoint`, ...), which `verify` reads.
   * Set it to place two systems in one stack.
   * @default '' - the outputs have their plain names wherever the construct is placed
   */
  readonly outputPrefix?: string;
  /**
   * The project's security rules, checked at synth (see README "Security rules"). When a
   * {@link SecurityChecks} aspect is already applied to an enclosing scope, that one is used.
   * @default - applied to this construct's resources; error findings fail synth
   */
  readonly securityChecks?: SecurityChecksProps;
}

/**
 * The whole identity-propagating agent system as one construct: the signed-in user's Entra
 * token travels from the browser through the Chat App and the Foundry agent to the Orders API,
 * and is validated at every service.
 *
 * Place it in any `TerraformStack` whose azurerm, azuread and azapi providers you configured
 * (azurerm with `storageUseAzuread: true`); {@link IdentityPropagatingAgentStack} is a stack
 * that does this for you. It composes the sub-constructs and creates nothing itself.
 *
 * @example
 * new IdentityPropagatingAgent(myStack, 'Agent', { baseName: 'orders', location: 'swedencentral' });
 */
export class IdentityPropagatingAgent extends Construct {
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
  /** Which token the agent's MCP call carries. */
  public readonly mcpAuth: McpAuthMode;
  /** The Orders API's own app registration; undefined in the `FOUNDRY_AUDIENCE` mode. */
  public readonly ordersApiRegistration?: OrdersApiRegistration;
  /** Audiences the Orders API and API Management accept on the MCP and REST hop (the first qualifies the scopes in the metadata). */
  public readonly ordersApiAudiences: string[];
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
  /** Foundry: account, project, model, connections and the agent. */
  public readonly foundry: Foundry;
  /** API Management; undefined when `gateway.enabled` is false. */
  public readonly gateway?: Gateway;
  /** The MCP endpoint the agent calls: `<gateway>/orders-mcp/mcp`, or the Orders API's own `/mcp` without API Management. */
  public readonly mcpUrl: string;
  /** Foundry project endpoint (the Chat App's FOUNDRY_PROJECT_ENDPOINT). */
  public readonly projectEndpoint: string;
  /** Name of the agent. */
  public readonly agentName: string;
  /** The security rules applied to this stack; `findings` holds the result of the latest synth. */
  public readonly securityChecks: SecurityChecks;

  constructor(scope: Construct, id: string, props: IdentityPropagatingAgentProps) {
    super(scope, id);
    const owner = 'IdentityPropagatingAgent';
    // Secure by default: checked at synth, unless an enclosing scope already applies the checks.
    const applied = this.node.scopes.flatMap((s) => Aspects.of(s).all).find((a): a is SecurityChecks => a instanceof SecurityChecks);
    this.securityChecks = applied ?? new SecurityChecks(props.securityChecks);
    if (!applied) Aspects.of(this).add(this.securityChecks);
    requireProviders(this);
    validateBaseName(owner, props.baseName);
    if (props.uniqueSuffix !== undefined) validateUniqueSuffix(owner, props.uniqueSuffix);
    checkAgentValues(owner, props);
    rejectTogether(owner, { resourceGroupName: props.resourceGroupName, existingResourceGroupName: props.existingResourceGroupName },
      'name a new resource group or an existing one, not both.');
    const { enabled: gatewayEnabled, ...gatewayOptions } = props.gateway ?? {};
    if (gatewayEnabled === false) {
      for (const [key, value] of Object.entries(gatewayOptions)) {
        if (value !== undefined) throw new Error(`${owner}: gateway.enabled is false, so gateway.${key} has nothing to configure.`);
      }
    }
    rejectTogether(owner, { 'containerApps.agentName': props.containerApps?.agentName, 'foundry.agent.name': props.foundry?.agent?.name },
      'the agent\'s name is set once, in foundry.agent.name, and the Chat App follows it.');

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
    // [Foundry: needs ordersApiMcpUrl] -> [API Management: backend ordersApiFqdn, computed] ->
    // the apps (the Orders API's gateway proof names APIM's identity and the proof's audience).
    const apps = props.containerApps ?? {};
    const audiences = apps.audiences ?? ['https://ai.azure.com'];
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

    // The MCP hop's audience. Audience-bound: the Orders API's own registration, `api://<client id>`
    // first (it qualifies the scopes in the RFC 9728 metadata), then the client id that v2 tokens
    // carry in `aud`; both scopes required, each tool checked for its own.
    this.mcpAuth = props.mcpAuth ?? McpAuthMode.AUDIENCE_BOUND;
    let requiredScopes = apps.ordersApiRequiredScopes;
    if (this.mcpAuth === McpAuthMode.AUDIENCE_BOUND) {
      if (props.foundry?.mcpAudience !== undefined) {
        throw new Error(`${owner}: foundry.mcpAudience is set, but mcpAuth is AUDIENCE_BOUND (the default), where the audience is the Orders API's own registration; set mcpAuth to FOUNDRY_AUDIENCE to choose the audience yourself.`);
      }
      this.ordersApiRegistration = new OrdersApiRegistration(this, 'OrdersApiRegistration', {
        placement: this.placement,
        adminConsent: entra.adminConsent,
      });
      this.ordersApiAudiences = this.ordersApiRegistration.audiences;
      const scopes = this.ordersApiRegistration.scopes;
      // Tokens for the Orders API's registration carry only its own scopes: any other required scope refuses them all.
      const foreign = (requiredScopes ?? []).filter((s) => !Token.isUnresolved(s) && s !== scopes.read && s !== scopes.write);
      if (foreign.length > 0) {
        throw new Error(`${owner}: containerApps.ordersApiRequiredScopes names ${foreign.join(', ')}, which the Orders API's registration does not define `
          + `(mcpAuth is AUDIENCE_BOUND, the default: its tokens carry ${scopes.read} or ${scopes.write}, so every call would be refused); `
          + 'leave it unset (each tool is checked for its own scope), or set mcpAuth to FOUNDRY_AUDIENCE.');
      }
      requiredScopes = requiredScopes ?? [scopes.read, scopes.write];
    } else {
      this.ordersApiAudiences = audiences;
    }
    const ordersApiScopes = this.ordersApiRegistration?.scopes;
    const mcpAudience = this.ordersApiRegistration?.identifierUri ?? props.foundry?.mcpAudience ?? audiences[0];


    // Foundry: the agent targets API Management's MCP URL, known from the service name before it exists.
    const withGateway = gatewayEnabled !== false;
    const gatewayName = gatewayOptions.existingName ?? gatewayOptions.name ?? Gateway.defaultName(this.placement);
    const gatewayUrl = Gateway.gatewayUrlOf(gatewayName);
    this.mcpUrl = withGateway ? Gateway.mcpUrlOf(gatewayUrl) : this.ordersApiMcpUrl;
    this.foundry = new Foundry(this, 'Foundry', {
      placement: this.placement,
      ...props.foundry,
      agent: { ...props.foundry?.agent, name: props.foundry?.agent?.name ?? apps.agentName },
      mcpAudience,
      mcpUrl: this.mcpUrl,
      logAnalyticsWorkspaceId: this.monitoring.logAnalyticsWorkspaceId,
      deployerPrincipalId: client.objectId,
    });
    this.projectEndpoint = this.foundry.projectEndpoint;
    this.agentName = this.foundry.agentName;

    // API Management before the apps: its backend is the Orders API's URL computed from names (no
    // reference to the app), while the Orders API needs APIM's identity for the gateway proof.
    if (withGateway) {
      this.gateway = new Gateway(this, 'Gateway', {
        placement: this.placement,
        ...gatewayOptions,
        // The OpenAPI document sits beside the bundles it was generated with.
        ordersApiOpenApiPath: gatewayOptions.ordersApiOpenApiPath
          ?? (images.servicesDistDir !== undefined ? join(images.servicesDistDir, 'orders-api', 'openapi.json') : undefined),
        tenantId: this.tenantId,
        ordersApiUrl: this.ordersApiUrl,
        audiences: this.ordersApiAudiences,
        allowedClientIds: apps.ordersApiAllowedClientIds,
        requiredScopes,
        // Per-tool scopes at /orders-mcp and /orders-api (audience-bound mode only).
        ordersApiScopes,
        applicationInsightsId: this.monitoring.applicationInsightsId,
        applicationInsightsConnectionString: this.monitoring.applicationInsightsConnectionString,
        logAnalyticsWorkspaceId: this.monitoring.logAnalyticsWorkspaceId,
        openAiEndpoint: this.foundry.openAiEndpoint,
        cognitiveAccountId: this.foundry.accountId,
      });
      // Only with the opt-in AI gateway: a connection nothing uses would look like a model route.
      if (this.gateway.aiGatewayUrl !== undefined) {
        this.foundry.connectApiManagement({ gatewayUrl: this.gateway.gatewayUrl, apiManagementId: this.gateway.apiManagementId });
      }
    }

    this.apps = new ServiceContainerApps(this, 'ContainerApps', {
      placement: this.placement,
      ...pickAppOptions(apps),
      ordersApiRequiredScopes: requiredScopes,
      ordersApiAudiences: this.ordersApiAudiences,
      ordersApiScopes,
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
      foundryProjectEndpoint: this.projectEndpoint,
      agentName: this.agentName,
      // Behind API Management the Orders API names the gateway URL in its metadata and challenges.
      ordersApiPublicBaseUrl: apps.ordersApiPublicBaseUrl ?? (withGateway ? `${gatewayUrl}/orders-mcp` : undefined),
      // REST is served at /orders-api, whose metadata the gateway answers (MCP and REST need their own bases).
      ordersApiPublicRestBaseUrl: apps.ordersApiPublicRestBaseUrl ?? this.gateway?.ordersRestUrl,
      // ...and, with the gateway proof, serves only requests that carry APIM's own token.
      ordersApiGatewayProof: this.gateway?.gatewayProofAudience !== undefined
        ? { audience: this.gateway.gatewayProofAudience, principalIds: [this.gateway.principalId] }
        : undefined,
      applicationInsightsConnectionString: this.monitoring.applicationInsightsConnectionString,
      // The first revision finds its image, and the Orders API its table role.
      waitFor: [this.storage, ...(this.images ? [this.images] : [])],
    });

    // Outputs of DESIGN section 5 (no secrets).
    // Fixed names (not path-derived ids), so verify and scripts find them in any stack.
    const prefix = props.outputPrefix ?? '';
    if (prefix !== '' && !/^[A-Za-z][A-Za-z0-9_]*$/.test(prefix)) {
      throw new Error(`${owner}: outputPrefix "${prefix}" is invalid: letters, digits and underscores, starting with a letter.`);
    }
    output(this, prefix, 'chat_app_url', { value: this.chatAppUrl, description: 'The Chat App: sign in and chat here.' });
    output(this, prefix, 'spa_client_id', { value: this.spaClientId, description: 'Client id of the SPA app registration.' });
    output(this, prefix, 'orders_api_url', { value: this.ordersApiUrl, description: 'The Orders API (validates every token itself).' });
    output(this, prefix, 'mcp_endpoint', { value: this.mcpUrl, description: 'The MCP endpoint the agent calls.' });
    if (this.gateway) {
      output(this, prefix, 'apim_gateway_url', { value: this.gateway.gatewayUrl, description: 'API Management gateway URL.' });
    }
    output(this, prefix, 'foundry_project_endpoint', { value: this.projectEndpoint, description: 'Foundry project endpoint (FOUNDRY_PROJECT_ENDPOINT).' });
    output(this, prefix, 'agent_name', { value: this.agentName, description: 'Name of the Foundry agent.' });
    // What `verify` reads to check each hop against what the stack configured (lib-services/verify/outputs.ts).
    output(this, prefix, 'tenant_id', { value: this.tenantId, description: 'Entra tenant of the users (tid of every token).' });
    output(this, prefix, 'authority', { value: this.apps.chatAppAuthority, description: 'The authority the SPA signs in against.' });
    output(this, prefix, 'spa_scopes', { value: this.apps.spaScopes, description: 'The scopes the SPA asks for (the Chat App\'s AUTH_SCOPES).' });
    output(this, prefix, 'chat_app_audiences', { value: this.apps.chatAppAudiences, description: 'Audiences the Chat App accepts in the user\'s token.' });
    output(this, prefix, 'chat_app_required_scopes', {
      // The Chat App requires no scope of its own (no AUTH_REQUIRED_SCOPES): its audience and the SPA as client decide.
      value: [],
      description: 'Scopes of which the Chat App requires one in the user\'s token (none).',
    });
    output(this, prefix, 'mcp_auth_mode', {
      value: this.mcpAuth === McpAuthMode.AUDIENCE_BOUND ? 'audience-bound' : 'foundry-audience',
      description: 'Which token the MCP hop carries: audience-bound (the Orders API\'s own) or foundry-audience (the original\'s).',
    });
    output(this, prefix, 'mcp_audiences', { value: this.apps.ordersApiAudiences, description: 'Audiences API Management and the Orders API accept at the MCP hop.' });
    output(this, prefix, 'mcp_allowed_client_ids', {
      value: apps.ordersApiAllowedClientIds ?? [],
      description: 'Clients (azp/appid) the MCP endpoint accepts; empty: any client of the tenant.',
    });
    output(this, prefix, 'orders_api_scopes', { value: this.apps.ordersApiScopesSupported, description: 'The Orders API\'s scopes_supported (RFC 9728), qualified.' });
    output(this, prefix, 'orders_api_gateway_proof', {
      value: this.gateway?.gatewayProofAudience !== undefined,
      description: 'Whether the Orders API refuses requests that did not come through API Management.',
    });
    output(this, prefix, 'mcp_connection_name', { value: this.foundry.mcpConnectionName, description: 'The Foundry MCP connection the agent\'s tool uses.' });
  }
}


/** A stack output whose name is fixed (prefix + name) wherever the construct sits. */
function output(scope: Construct, prefix: string, name: string, config: { value: unknown; description: string }): TerraformOutput {
  const out = new TerraformOutput(scope, name, config);
  out.overrideLogicalId(`${prefix}${name}`);
  return out;
}

/** The providers the system's resources need, by Terraform type, with what to configure. */
const REQUIRED_PROVIDERS: Array<[string, string]> = [
  ['azurerm', 'AzurermProvider (features: [{}], storageUseAzuread: true) from @cdktf/provider-azurerm/lib/provider'],
  ['azuread', 'AzureadProvider from @cdktf/provider-azuread/lib/provider'],
  ['azapi', 'AzapiProvider from this library'],
];

/** At synth, names every provider the enclosing stack lacks (a missing one would fail `terraform init` obscurely). */
function requireProviders(agent: Construct): void {
  agent.node.addValidation({
    validate: () => {
      const stack = TerraformStack.of(agent);
      const present = new Set(stack.node.findAll()
        .filter((c): c is TerraformProvider => TerraformProvider.isTerraformProvider(c))
        .map((p) => p.terraformResourceType));
      return REQUIRED_PROVIDERS.filter(([type]) => !present.has(type))
        .map(([type, what]) => `IdentityPropagatingAgent ${agent.node.path}: the stack has no ${type} provider; add ${what} to the stack.`);
    },
  });
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
    ordersApiPublicRestBaseUrl: o.ordersApiPublicRestBaseUrl,
    ordersApiAllowedIpRanges: o.ordersApiAllowedIpRanges,
    ordersAdminObjectIds: o.ordersAdminObjectIds,
    ordersSeedOwnerObjectId: o.ordersSeedOwnerObjectId,
    agentName: o.agentName,
    authority: o.authority,
  };
}
