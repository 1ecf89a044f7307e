import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { Construct } from 'constructs';
import { AzapiProvider } from './azapi/provider';
import { derivedUniqueSuffix, validateBaseName, validateUniqueSuffix } from './internal/naming';
import { TerraformStack } from './internal/tf';
import { rejectTogether } from './internal/validation';
import { Monitoring, MonitoringOptions } from './monitoring/monitoring';
import { Placement } from './placement';
import { AgentResourceGroup } from './resource-group/resource-group';

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
  }
}
