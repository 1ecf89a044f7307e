import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { Construct } from 'constructs';
import { AzapiProvider } from './azapi/provider';
import { ServiceContainerApps, ContainerAppNames } from './container-apps/apps';
import { ContainerAppsEnvironment } from './container-apps/environment';
import { ServiceIdentities } from './container-apps/identities';
import { McpAuthMode, OrdersApiRegistration } from './entra/orders-api-registration';
import { SpaRegistration } from './entra/spa';
import { Foundry } from './foundry/foundry';
import { Gateway } from './gateway/gateway';
import { SecurityChecks } from './guard/security-checks';
import { IdentityPropagatingAgent, IdentityPropagatingAgentProps } from './identity-propagating-agent';
import { Aspects, TerraformStack } from './internal/tf';
import { Monitoring } from './monitoring/monitoring';
import { Placement } from './placement';
import { ImageRegistry } from './registry/registry';
import { OrdersStorage } from './storage/storage';

/** Props of {@link IdentityPropagatingAgentStack}: those of {@link IdentityPropagatingAgent}. */
export interface IdentityPropagatingAgentStackProps extends IdentityPropagatingAgentProps {}

/**
 * The whole identity-propagating agent system in a Terraform stack of its own: it configures
 * the azurerm, azuread and azapi providers and places one {@link IdentityPropagatingAgent} in it.
 * To add the system to a stack you already have, use {@link IdentityPropagatingAgent} instead.
 *
 * The security rules apply to the whole stack, resources you add beside the system included.
 *
 * @example
 * const app = new App();
 * new IdentityPropagatingAgentStack(app, 'agent', { baseName: 'orders', location: 'swedencentral' });
 * app.synth();
 */
export class IdentityPropagatingAgentStack extends TerraformStack {
  /** The system placed in this stack. */
  public readonly agent: IdentityPropagatingAgent;
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
  /** Audiences the Orders API and API Management accept on the MCP and REST hop. */
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


  constructor(scope: Construct, id: string, props: IdentityPropagatingAgentStackProps) {
    super(scope, id);
    // Secure by default: every resource of the stack, the user's included, is checked at synth.
    Aspects.of(this).add(new SecurityChecks(props.securityChecks));

    new AzurermProvider(this, 'azurerm', {
      features: [{}],
      subscriptionId: props.subscriptionId,
      tenantId: props.tenantId,
      // Storage data-plane calls use Entra ID, so accounts can keep shared keys off.
      storageUseAzuread: true,
    });
    new AzureadProvider(this, 'azuread', { tenantId: props.tenantId });
    new AzapiProvider(this, 'azapi', { subscriptionId: props.subscriptionId, tenantId: props.tenantId });

    // "Default" is left out of logical ids, so every resource keeps the address it had when the
    // stack built the system itself: existing state needs no move.
    const agent = new IdentityPropagatingAgent(this, 'Default', props);
    this.agent = agent;
    this.placement = agent.placement;
    this.tenantId = agent.tenantId;
    this.monitoring = agent.monitoring;
    this.containerAppsEnvironment = agent.containerAppsEnvironment;
    this.containerAppNames = agent.containerAppNames;
    this.identities = agent.identities;
    this.storage = agent.storage;
    this.images = agent.images;
    this.spa = agent.spa;
    this.mcpAuth = agent.mcpAuth;
    this.ordersApiRegistration = agent.ordersApiRegistration;
    this.ordersApiAudiences = agent.ordersApiAudiences;
    this.apps = agent.apps;
    this.ordersApiFqdn = agent.ordersApiFqdn;
    this.ordersApiUrl = agent.ordersApiUrl;
    this.ordersApiMcpUrl = agent.ordersApiMcpUrl;
    this.chatAppUrl = agent.chatAppUrl;
    this.spaClientId = agent.spaClientId;
    this.ordersApiPrincipalId = agent.ordersApiPrincipalId;
    this.chatAppPrincipalId = agent.chatAppPrincipalId;
    this.tablesEndpoint = agent.tablesEndpoint;
    this.foundry = agent.foundry;
    this.gateway = agent.gateway;
    this.mcpUrl = agent.mcpUrl;
    this.projectEndpoint = agent.projectEndpoint;
    this.agentName = agent.agentName;
    this.securityChecks = agent.securityChecks;
  }
}
