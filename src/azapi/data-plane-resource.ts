import { Construct } from 'constructs';
import { AzapiCommonProps, commonAttributes } from './common';
import { AZAPI_VERSION_CONSTRAINT } from './provider';
import { compact } from '../internal/compact';
import { TerraformMetaArguments, TerraformResource, Token } from '../internal/tf';

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
export class AzapiDataPlaneResource extends TerraformResource {
  public static readonly tfResourceType = 'azapi_data_plane_resource';

  private readonly props: AzapiDataPlaneResourceProps;

  constructor(scope: Construct, id: string, props: AzapiDataPlaneResourceProps) {
    super(scope, id, {
      terraformResourceType: 'azapi_data_plane_resource',
      terraformGeneratorMetadata: { providerName: 'azapi', providerVersionConstraint: AZAPI_VERSION_CONSTRAINT },
      provider: props.provider,
      dependsOn: props.dependsOn,
      count: props.count,
      lifecycle: props.lifecycle,
      forEach: props.forEach,
    });
    this.props = props;
  }

  /** The data-plane resource id. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  /** A value of the response, exported through `responseExportValues`. */
  public outputValue(path: string): string {
    return Token.asString(this.interpolationForAttribute(`output.${path}`));
  }

  protected synthesizeAttributes(): { [name: string]: any } {
    return compact({
      ...commonAttributes(this.props),
      name: this.props.name,
      parent_id: this.props.parentId,
    });
  }
}
