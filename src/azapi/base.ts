import { Construct } from 'constructs';
import { AZAPI_VERSION_CONSTRAINT } from './provider';
import { TerraformMetaArguments, TerraformResource, Token } from '../internal/tf';

/** What every azapi resource of this binding shares: provider metadata, `id` and `output`. */
export abstract class AzapiResourceBase extends TerraformResource {
  constructor(scope: Construct, id: string, terraformResourceType: string, meta: TerraformMetaArguments) {
    super(scope, id, {
      terraformResourceType,
      terraformGeneratorMetadata: { providerName: 'azapi', providerVersionConstraint: AZAPI_VERSION_CONSTRAINT },
      provider: meta.provider,
      dependsOn: meta.dependsOn,
      count: meta.count,
      lifecycle: meta.lifecycle,
      forEach: meta.forEach,
    });
  }

  /** The resource id. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  /** A value of the response, exported through `responseExportValues`, e.g. `properties.endpoint`. */
  public outputValue(path: string): string {
    return Token.asString(this.interpolationForAttribute(`output.${path}`));
  }
}
