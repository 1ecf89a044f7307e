import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Construct } from 'constructs';
import { checkPlacement } from '../internal/azure-values';
import { Placement } from '../placement';

/** A user-assigned managed identity, as the other parts need it. */
export interface WorkloadIdentity {
  /** Resource id (what an app attaches and a registry block names). */
  readonly id: string;
  /** Principal (object) id: what role assignments grant to. */
  readonly principalId: string;
  /** Client id: `AZURE_CLIENT_ID` for DefaultAzureCredential. */
  readonly clientId: string;
}

/** Props of {@link ServiceIdentities}. */
export interface ServiceIdentitiesProps {
  /** Where the resources go. */
  readonly placement: Placement;
}

/**
 * The two services' user-assigned identities, created before the apps so that AcrPull and
 * the table data role can be granted before the first revision starts.
 */
export class ServiceIdentities extends Construct {
  /** The Orders API's identity (AcrPull, Storage Table Data Contributor on the table). */
  public readonly ordersApi: WorkloadIdentity;
  /** The Chat App's identity (AcrPull only: it calls Foundry with the user's token). */
  public readonly chatApp: WorkloadIdentity;

  constructor(scope: Construct, id: string, props: ServiceIdentitiesProps) {
    super(scope, id);
    checkPlacement('ServiceIdentities', props.placement);
    const { placement } = props;
    const identity = (cid: string, name: string): WorkloadIdentity => {
      const uami = new UserAssignedIdentity(this, cid, {
        name,
        location: placement.location,
        resourceGroupName: placement.resourceGroupName,
        tags: placement.tags,
      });
      return { id: uami.id, principalId: uami.principalId, clientId: uami.clientId };
    };
    this.ordersApi = identity('OrdersApi', `id-${placement.baseName}-orders-api`);
    this.chatApp = identity('ChatApp', `id-${placement.baseName}-chat-app`);
  }
}
