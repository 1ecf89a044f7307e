import { DataAzureadClientConfig } from '@cdktf/provider-azuread/lib/data-azuread-client-config';
import { Group } from '@cdktf/provider-azuread/lib/group';
import { Construct } from 'constructs';
import { AZURE_RULES, requireEach } from '../internal/azure-values';

/** Props of {@link AgentUsersGroup}. */
export interface AgentUsersGroupProps {
  /** Display name of the group. */
  readonly displayName: string;
  /**
   * Object ids of the users (or groups, or service principals) who are members.
   * @default - none: add members later, in Entra or here
   */
  readonly members?: string[];
}

/**
 * An Entra security group of the people who may chat with the agent: the agent-user role goes
 * to the group, so adding a user is a group membership, not a role assignment. The deployer owns
 * it through `owners` (azuread keeps a listed caller as owner).
 */
export class AgentUsersGroup extends Construct {
  /** Object id of the group (the principal of the role assignment). */
  public readonly objectId: string;

  constructor(scope: Construct, id: string, props: AgentUsersGroupProps) {
    super(scope, id);
    requireEach('AgentUsersGroup', 'members', props.members, AZURE_RULES.guid);
    const deployer = new DataAzureadClientConfig(this, 'Deployer');
    const group = new Group(this, 'Group', {
      displayName: props.displayName,
      description: 'Members may chat with the agent (they run it with their own token).',
      securityEnabled: true,
      owners: [deployer.objectId],
      members: props.members,
      preventDuplicateNames: true,
    });
    this.objectId = group.objectId;
  }
}
