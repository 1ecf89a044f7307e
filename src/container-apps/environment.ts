import { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment';
import { DataAzurermContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/data-azurerm-container-app-environment';
import { Construct } from 'constructs';
import { checkEnvironmentValues } from '../internal/azure-values';
import { rejectTogether } from '../internal/validation';
import { Placement } from '../placement';

/** Container Apps environment options of the stack. */
export interface EnvironmentOptions {
  /**
   * Name of an existing Container Apps environment to run the apps in.
   * @default - a new environment `cae-<baseName>` wired to Log Analytics is created
   */
  readonly existingEnvironmentName?: string;
  /**
   * Resource group of the existing environment.
   * @default - the stack's resource group
   */
  readonly existingEnvironmentResourceGroupName?: string;
}

/** Props of {@link ContainerAppsEnvironment}. */
export interface ContainerAppsEnvironmentProps extends EnvironmentOptions {
  /** Where the resources go. */
  readonly placement: Placement;
  /**
   * Log Analytics workspace the environment sends console and system logs to (new environment only).
   * @default - no log destination (logs only in the portal's log stream)
   */
  readonly logAnalyticsWorkspaceId?: string;
}

/**
 * The Container Apps environment: a new one (Consumption, logs to Log Analytics) or an
 * existing one. Its default domain is known before any app exists, so app URLs (and the SPA
 * redirect URI) can be computed from app names without a dependency cycle.
 */
export class ContainerAppsEnvironment extends Construct {
  /** Resource id of the environment. */
  public readonly id: string;
  /** Name of the environment. */
  public readonly name: string;
  /** Default domain: an app with external ingress is `https://<app name>.<defaultDomain>`. */
  public readonly defaultDomain: string;

  constructor(scope: Construct, id: string, props: ContainerAppsEnvironmentProps) {
    super(scope, id);
    const owner = 'ContainerAppsEnvironment';
    checkEnvironmentValues(owner, '', props);
    rejectTogether(owner, { existingEnvironmentName: props.existingEnvironmentName, logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId },
      'logs are a setting of a new environment; configure them on your existing environment instead.');
    if (props.existingEnvironmentResourceGroupName !== undefined && props.existingEnvironmentName === undefined) {
      throw new Error(`${owner}: existingEnvironmentResourceGroupName needs existingEnvironmentName.`);
    }
    const { placement } = props;
    if (props.existingEnvironmentName !== undefined) {
      const existing = new DataAzurermContainerAppEnvironment(this, 'Existing', {
        name: props.existingEnvironmentName,
        resourceGroupName: props.existingEnvironmentResourceGroupName ?? placement.resourceGroupName,
      });
      this.id = existing.id;
      this.name = existing.name;
      this.defaultDomain = existing.defaultDomain;
    } else {
      const environment = new ContainerAppEnvironment(this, 'Environment', {
        name: `cae-${placement.baseName}`,
        location: placement.location,
        resourceGroupName: placement.resourceGroupName,
        logsDestination: props.logAnalyticsWorkspaceId !== undefined ? 'log-analytics' : undefined,
        logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
        tags: placement.tags,
      });
      this.id = environment.id;
      this.name = environment.name;
      this.defaultDomain = environment.defaultDomain;
    }
  }
}
