/**
 * Where and under which names a sub-construct creates its resources. The stack builds one
 * and hands it to every part; use it directly to place a part in a stack of your own.
 */
export interface Placement {
  /** Resource group the part's resources go in. */
  readonly resourceGroupName: string;
  /** Id of that resource group (scope of role assignments and azapi parents). */
  readonly resourceGroupId: string;
  /** Azure region, e.g. `swedencentral`. */
  readonly location: string;
  /** Base of every resource name (3 to 14 lower-case letters, digits, hyphens). */
  readonly baseName: string;
  /** Short token appended to globally unique names (may be a Terraform expression). */
  readonly uniqueSuffix: string;
  /**
   * Tags applied to every taggable resource.
   * @default - none
   */
  readonly tags?: { [key: string]: string };
}
