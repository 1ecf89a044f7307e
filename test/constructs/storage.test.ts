import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resolveIn, resourcesOf, synthJson, testPlacement } from './synth';
import { OrdersStorage, OrdersStorageProps } from '../../src';

const placement = testPlacement({ tags: { team: 'a' } });

function synth(props: Partial<OrdersStorageProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const storage = new OrdersStorage(stack, 'Storage', { placement, ordersApiPrincipalId: 'orders-principal', ...props });
  return { stack, storage, json: synthJson(stack) };
}

const azapi = (json: any, type: string) => Object.values(resourcesOf(json, 'azapi_resource')).filter((r: any) => r.type.startsWith(`${type}@`));

describe('a new account', () => {
  test('accepts Entra ID only: HTTPS, TLS 1.2, no public blob access, shared keys off', () => {
    const { json } = synth();
    const [account] = azapi(json, 'Microsoft.Storage/storageAccounts') as any[];
    expect(account).toMatchObject({
      name: 'stordersabc123',
      parent_id: placement.resourceGroupId,
      location: 'swedencentral',
      tags: { team: 'a' },
      body: {
        kind: 'StorageV2',
        sku: { name: 'Standard_LRS' },
        properties: {
          supportsHttpsTrafficOnly: true,
          minimumTlsVersion: 'TLS1_2',
          allowBlobPublicAccess: false,
          allowSharedKeyAccess: false,
          defaultToOAuthAuthentication: true,
        },
      },
    });
    // Created through ARM only: azurerm would read queue properties over the data plane.
    expect(resourcesOf(json, 'azurerm_storage_account')).toEqual({});
  });

  test('the tables endpoint comes from the account response', () => {
    const { stack, storage, json } = synth();
    const [account] = azapi(json, 'Microsoft.Storage/storageAccounts') as any[];
    expect(account.response_export_values).toEqual(['properties.primaryEndpoints.table']);
    expect(resolveIn(stack, storage.tablesEndpoint)).toMatch(/^\$\{azapi_resource\.Storage_Account_\w+\.output\.properties\.primaryEndpoints\.table\}$/);
  });

  test('replication is configurable and validated', () => {
    const [account] = azapi(synth({ replicationType: 'ZRS' }).json, 'Microsoft.Storage/storageAccounts') as any[];
    expect(account.body.sku.name).toBe('Standard_ZRS');
    expect(() => synth({ replicationType: 'XYZ' })).toThrow(/replicationType "XYZ" is invalid/);
  });
});

describe('the orders table', () => {
  test('is created through the control plane (azapi), without the account key', () => {
    const { json } = synth();
    const [table] = azapi(json, 'Microsoft.Storage/storageAccounts/tableServices/tables') as any[];
    expect(table).toMatchObject({
      type: 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01',
      name: 'orders',
    });
    expect(table.parent_id).toMatch(/^\$\{azapi_resource\.Storage_Account_\w+\.id\}\/tableServices\/default$/);
    expect(resourcesOf(json, 'azurerm_storage_table')).toEqual({});
  });

  test('a custom name, validated', () => {
    const [table] = azapi(synth({ tableName: 'Orders2' }).json, 'Microsoft.Storage/storageAccounts/tableServices/tables') as any[];
    expect(table.name).toBe('Orders2');
    expect(() => synth({ tableName: 'or' })).toThrow(/tableName "or" is invalid/);
  });

  test('the Orders API identity gets Storage Table Data Contributor on the table, nothing broader', () => {
    const { json } = synth();
    const role = onlyResource(json, 'azurerm_role_assignment');
    expect(role).toMatchObject({
      role_definition_name: 'Storage Table Data Contributor',
      principal_id: 'orders-principal',
      principal_type: 'ServicePrincipal',
    });
    expect(role.scope).toMatch(/^\$\{azapi_resource\.Storage_OrdersTable_\w+\.id\}$/);
  });
});

describe('an existing account', () => {
  const id = '/subscriptions/s/resourceGroups/shared/providers/Microsoft.Storage/storageAccounts/sharedst01';

  test('creates only the table and the role in it; no account, no lookup', () => {
    const { storage, json } = synth({ existingStorageAccountId: id });
    expect(azapi(json, 'Microsoft.Storage/storageAccounts')).toHaveLength(0);
    const [table] = azapi(json, 'Microsoft.Storage/storageAccounts/tableServices/tables') as any[];
    expect(table.parent_id).toBe(`${id}/tableServices/default`);
    expect(json.data).toBeUndefined();
    expect(storage.tablesEndpoint).toBe('https://sharedst01.table.core.windows.net/');
    expect(storage.storageAccountName).toBe('sharedst01');
    expect(onlyResource(json, 'azurerm_role_assignment').role_definition_name).toBe('Storage Table Data Contributor');
  });

  test('a malformed id and settings of a new account are rejected, naming the props', () => {
    expect(() => synth({ existingStorageAccountId: 'sharedst01' })).toThrow(/existingStorageAccountId "sharedst01" is not a storage account resource id/);
    expect(() => synth({ existingStorageAccountId: id, replicationType: 'GRS' }))
      .toThrow(/OrdersStorage: existingStorageAccountId and replicationType cannot be used together/);
  });
});
