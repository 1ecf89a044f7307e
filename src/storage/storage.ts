import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct } from 'constructs';
import { AzapiResource } from '../azapi/resource';
import { checkPlacement } from '../internal/azure-values';
import { alphanumericName } from '../internal/naming';
import { Fn, Token } from '../internal/tf';
import { rejectTogether } from '../internal/validation';
import { Placement } from '../placement';

/** Storage options of the stack. */
export interface StorageOptions {
  /**
   * Resource id of an existing storage account to hold the orders table
   * (`/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>`).
   * Only the table and the role assignment are created in it.
   * @default - a new account `st<baseName><uniqueSuffix>` is created
   */
  readonly existingStorageAccountId?: string;
  /**
   * Replication of a new account: `LRS`, `ZRS`, `GRS`, `RAGRS`, `GZRS` or `RAGZRS`.
   * @default LRS
   */
  readonly replicationType?: string;
  /**
   * Name of the table the Orders API keeps its orders in (3 to 63 letters and digits, starting with a letter).
   * @default orders
   */
  readonly tableName?: string;
}

/** Props of {@link OrdersStorage}. */
export interface OrdersStorageProps extends StorageOptions {
  /** Where the resources go. */
  readonly placement: Placement;
  /**
   * Principal id of the Orders API's managed identity: it gets "Storage Table Data
   * Contributor" on the table, nothing broader.
   */
  readonly ordersApiPrincipalId: string;
}

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
const REPLICATION = ['LRS', 'ZRS', 'GRS', 'RAGRS', 'GZRS', 'RAGZRS'];

/**
 * Table Storage for the Orders API: an account that accepts Entra ID only (HTTPS, TLS 1.2,
 * no public blob access, shared keys off), or an existing one; the orders table, created
 * through the control plane (azapi) so that no account key is ever needed; and
 * "Storage Table Data Contributor" on that table for the Orders API's identity.
 */
export class OrdersStorage extends Construct {
  /** Resource id of the storage account. */
  public readonly storageAccountId: string;
  /** Name of the storage account. */
  public readonly storageAccountName: string;
  /** Table service endpoint, e.g. `https://<account>.table.core.windows.net/` (`TABLES_ENDPOINT`). */
  public readonly tablesEndpoint: string;
  /** Name of the orders table. */
  public readonly tableName: string;
  /** Resource id of the orders table (scope of the data role). */
  public readonly tableId: string;

  constructor(scope: Construct, id: string, props: OrdersStorageProps) {
    super(scope, id);
    const owner = 'OrdersStorage';
    checkPlacement(owner, props.placement);
    rejectTogether(owner, { existingStorageAccountId: props.existingStorageAccountId, replicationType: props.replicationType },
      'replication is a setting of a new account; set it on your existing account instead.');
    this.tableName = props.tableName ?? 'orders';
    if (!Token.isUnresolved(this.tableName) && !TABLE_NAME.test(this.tableName)) {
      throw new Error(`${owner}: tableName "${this.tableName}" is invalid: use 3 to 63 letters and digits, starting with a letter.`);
    }
    if (props.replicationType !== undefined && !REPLICATION.includes(props.replicationType)) {
      throw new Error(`${owner}: replicationType "${props.replicationType}" is invalid: use one of ${REPLICATION.join(', ')}.`);
    }
    const { placement } = props;

    if (props.existingStorageAccountId !== undefined) {
      const { name } = parseStorageAccountId(owner, props.existingStorageAccountId);
      this.storageAccountId = props.existingStorageAccountId;
      this.storageAccountName = name;
      // Derived, not looked up: a lookup would need listKeys on an account we do not own.
      this.tablesEndpoint = `https://${name}.table.core.windows.net/`;
    } else {
      // azapi (ARM only), not azurerm_storage_account: with shared keys off, azurerm reads the
      // queue and static-website properties over the data plane, which fails unless the
      // deploying identity also holds storage data roles.
      const name = alphanumericName('st', placement.baseName, placement.uniqueSuffix);
      const account = new AzapiResource(this, 'Account', {
        type: 'Microsoft.Storage/storageAccounts@2023-05-01',
        name,
        parentId: placement.resourceGroupId,
        location: placement.location,
        tags: placement.tags,
        body: {
          kind: 'StorageV2',
          sku: { name: `Standard_${props.replicationType ?? 'LRS'}` },
          properties: {
            supportsHttpsTrafficOnly: true,
            minimumTlsVersion: 'TLS1_2',
            allowBlobPublicAccess: false,
            // Entra ID only: the Orders API uses its managed identity, nobody needs a key.
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
            allowCrossTenantReplication: false,
          },
        },
        responseExportValues: ['properties.primaryEndpoints.table'],
      });
      this.storageAccountId = account.id;
      this.storageAccountName = name;
      this.tablesEndpoint = account.outputValue('properties.primaryEndpoints.table');
    }

    // Control plane (ARM), not the table data plane: creating it needs no account key.
    const table = new AzapiResource(this, 'OrdersTable', {
      type: 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01',
      name: this.tableName,
      parentId: `${this.storageAccountId}/tableServices/default`,
      body: { properties: {} },
    });
    this.tableId = table.id;

    new RoleAssignment(this, 'OrdersApiTableDataContributor', {
      scope: table.id,
      roleDefinitionName: 'Storage Table Data Contributor',
      principalId: props.ordersApiPrincipalId,
      principalType: 'ServicePrincipal',
    });
  }
}

/** Name of a storage account from its id (a literal id, or a Terraform expression). */
function parseStorageAccountId(owner: string, id: string): { name: string } {
  if (Token.isUnresolved(id)) return { name: Fn.element(Fn.split('/', id), 8) };
  const match = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Storage\/storageAccounts\/([a-z0-9]{3,24})$/i.exec(id);
  if (!match) {
    throw new Error(`${owner}: existingStorageAccountId "${id}" is not a storage account resource id (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>).`);
  }
  return { name: match[2] };
}
