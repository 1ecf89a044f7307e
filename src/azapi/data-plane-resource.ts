import { Construct } from 'constructs';
import { AzapiResourceBase } from './base';
import { AzapiCommonProps, commonAttributes } from './common';
import { compact } from '../internal/compact';
import { TerraformMetaArguments } from '../internal/tf';

/**
 * Arguments of `azapi_data_plane_resource` (azapi 2.x), e.g. a Foundry agent
 * (`Microsoft.Foundry/agents@v1`, azapi 2.9 or newer).
 *
 * @see https://registry.terraform.io/providers/Azure/azapi/latest/docs/resources/data_plane_resource
 */
export interface AzapiDataPlaneResourceProps extends AzapiCommonProps, TerraformMetaArguments {
  /** Resource name (required for Foundry agents; changing it replaces the resource). */
  readonly name: string;
  /** Data-plane parent, e.g. `<account>.services.ai.azure.com/api/projects/<project>` (no scheme). */
  readonly parentId: string;
}

/** Typed `azapi_data_plane_resource`: data-plane objects such as Foundry agents. */
export class AzapiDataPlaneResource extends AzapiResourceBase {
  public static readonly tfResourceType = 'azapi_data_plane_resource';

  private readonly props: AzapiDataPlaneResourceProps;

  constructor(scope: Construct, id: string, props: AzapiDataPlaneResourceProps) {
    super(scope, id, 'azapi_data_plane_resource', props);
    this.props = props;
  }

  protected synthesizeAttributes(): { [name: string]: any } {
    return compact({
      ...commonAttributes(this.props),
      name: this.props.name,
      parent_id: this.props.parentId,
    });
  }
}
