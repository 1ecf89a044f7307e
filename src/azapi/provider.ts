import { Construct } from 'constructs';
import { compact } from '../internal/compact';
import { TerraformProvider } from '../internal/tf';

/** The azapi releases this binding targets: 2.9 added `Microsoft.Foundry/agents` data-plane resources. */
export const AZAPI_VERSION_CONSTRAINT = '>= 2.9.0, < 3.0.0';

/**
 * Configuration of the `azure/azapi` provider block.
 *
 * @see https://registry.terraform.io/providers/Azure/azapi/latest/docs
 */
export interface AzapiProviderProps {
  /**
   * Subscription that resources without a full parent id are created in.
   * @default - from the environment (`ARM_SUBSCRIPTION_ID` or the Azure CLI login)
   */
  readonly subscriptionId?: string;
  /**
   * Entra tenant to authenticate against.
   * @default - from the environment (`ARM_TENANT_ID` or the Azure CLI login)
   */
  readonly tenantId?: string;
  /**
   * Authenticate with an OIDC token (for example GitHub Actions workload identity).
   * @default - provider default (false)
   */
  readonly useOidc?: boolean;
  /**
   * Authenticate with a managed identity.
   * @default - provider default (false)
   */
  readonly useMsi?: boolean;
  /**
   * Authenticate with the Azure CLI login.
   * @default - provider default (true)
   */
  readonly useCli?: boolean;
  /**
   * Skip registering resource providers in the subscription.
   * @default - provider default (false)
   */
  readonly skipProviderRegistration?: boolean;
  /**
   * Alias, when several azapi providers are configured in one stack.
   * @default - none (the default provider)
   */
  readonly alias?: string;
}

/** Typed `provider "azapi"` block (no prebuilt cdktf binding of azapi exists). */
export class AzapiProvider extends TerraformProvider {
  public static readonly tfResourceType = 'azapi';

  private readonly props: AzapiProviderProps;

  constructor(scope: Construct, id: string, props: AzapiProviderProps = {}) {
    super(scope, id, {
      terraformResourceType: 'azapi',
      terraformGeneratorMetadata: { providerName: 'azapi', providerVersionConstraint: AZAPI_VERSION_CONSTRAINT },
      terraformProviderSource: 'azure/azapi',
    });
    this.props = props;
    this.alias = props.alias;
  }

  protected synthesizeAttributes(): { [name: string]: any } {
    return compact({
      subscription_id: this.props.subscriptionId,
      tenant_id: this.props.tenantId,
      use_oidc: this.props.useOidc,
      use_msi: this.props.useMsi,
      use_cli: this.props.useCli,
      skip_provider_registration: this.props.skipProviderRegistration,
      alias: this.alias,
    });
  }
}
