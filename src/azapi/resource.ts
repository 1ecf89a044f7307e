import { Construct } from 'constructs';
import { AzapiResourceBase } from './base';
import { AzapiCommonProps, commonAttributes } from './common';
import { compact } from '../internal/compact';
import { TerraformMetaArguments } from '../internal/tf';

/** Managed identity block of an `azapi_resource`. */
export interface AzapiIdentity {
  /** `SystemAssigned`, `UserAssigned` or `SystemAssigned, UserAssigned`. */
  readonly type: string;
  /**
   * User-assigned identity resource ids.
   * @default - none
   */
  readonly identityIds?: string[];
}

/**
 * Arguments of `azapi_resource` (azapi 2.x).
 *
 * @see https://registry.terraform.io/providers/Azure/azapi/latest/docs/resources/resource
 */
export interface AzapiResourceProps extends AzapiCommonProps, TerraformMetaArguments {
  /** Resource name. */
  readonly name: string;
  /** Id of the parent: a resource group, subscription or parent resource id. */
  readonly parentId: string;
  /**
   * Location, for tracked resources.
   * @default - none (child resources inherit it)
   */
  readonly location?: string;
  /**
   * Managed identity of the resource.
   * @default - none
   */
  readonly identity?: AzapiIdentity;
  /**
   * Tags, for tracked resources.
   * @default - none
   */
  readonly tags?: { [key: string]: string };
  /**
   * Validate `type` and `body` against azapi's embedded schema. Turn off for bodies the
   * published schema does not model yet (e.g. `authType: UserEntraToken` connections).
   * @default - provider default (true)
   */
  readonly schemaValidationEnabled?: boolean;
}

/** Typed `azapi_resource`: any ARM resource type, created with a JSON body. */
export class AzapiResource extends AzapiResourceBase {
  public static readonly tfResourceType = 'azapi_resource';

  private readonly props: AzapiResourceProps;

  constructor(scope: Construct, id: string, props: AzapiResourceProps) {
    super(scope, id, 'azapi_resource', props);
    this.props = props;
  }

  protected synthesizeAttributes(): { [name: string]: any } {
    return compact({
      ...commonAttributes(this.props),
      name: this.props.name,
      parent_id: this.props.parentId,
      location: this.props.location,
      identity: this.props.identity && compact({ type: this.props.identity.type, identity_ids: this.props.identity.identityIds }),
      tags: this.props.tags,
      schema_validation_enabled: this.props.schemaValidationEnabled,
    });
  }
}
