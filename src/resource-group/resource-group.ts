import { DataAzurermResourceGroup } from '@cdktf/provider-azurerm/lib/data-azurerm-resource-group';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { Construct } from 'constructs';
import { checkResourceGroupValues } from '../internal/azure-values';
import { rejectTogether } from '../internal/validation';

/** Props of {@link AgentResourceGroup}. */
export interface AgentResourceGroupProps {
  /** Region of a new resource group. */
  readonly location: string;
  /**
   * Name of a new resource group.
   * @default `rg-<baseName>`
   */
  readonly name?: string;
  /**
   * Use this existing resource group instead of creating one.
   * @default - a new resource group is created
   */
  readonly existingName?: string;
  /** Base name of the deployment. */
  readonly baseName: string;
  /**
   * Tags of a new resource group.
   * @default - none
   */
  readonly tags?: { [key: string]: string };
}

/** The resource group everything lives in: created, or an existing one looked up by name. */
export class AgentResourceGroup extends Construct {
  public readonly name: string;
  public readonly id: string;
  /** `true` when the group was taken from an existing one. */
  public readonly isExisting: boolean;

  constructor(scope: Construct, id: string, props: AgentResourceGroupProps) {
    super(scope, id);
    checkResourceGroupValues('AgentResourceGroup', props);
    rejectTogether('AgentResourceGroup', { name: props.name, existingName: props.existingName },
      'name a new resource group or an existing one, not both.');
    this.isExisting = props.existingName !== undefined;
    if (props.existingName !== undefined) {
      const existing = new DataAzurermResourceGroup(this, 'Existing', { name: props.existingName });
      this.name = existing.name;
      this.id = existing.id;
    } else {
      const group = new ResourceGroup(this, 'Resource', {
        name: props.name ?? `rg-${props.baseName}`,
        location: props.location,
        tags: props.tags,
      });
      this.name = group.name;
      this.id = group.id;
    }
  }
}
