import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { AzurermBackend, AzurermBackendConfig, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AzapiProvider, IdentityPropagatingAgent, ImageOptions } from '../src';

/** Where the example keeps its Terraform state (an Azure storage container you already have). */
export const EXAMPLE_STATE: AzurermBackendConfig = {
  resourceGroupName: 'rg-tfstate',
  storageAccountName: 'sttfstateplatform',
  containerName: 'tfstate',
  key: 'my-platform.tfstate',
  // State is read and written with your Entra identity (no storage account key).
  useAzureadAuth: true,
};

/**
 * The system inside a stack you already have: your providers, your backend (state in Azure
 * Storage), your resources beside it. `IdentityPropagatingAgent` configures no provider; synth
 * names any of the three it needs that the stack lacks.
 */
export function existingStack(scope: Construct, id = 'my-platform', state: AzurermBackendConfig = EXAMPLE_STATE, images?: ImageOptions): TerraformStack {
  const stack = new TerraformStack(scope, id);
  new AzurermBackend(stack, state);
  // azurerm with Entra ID for storage data-plane calls (the orders account keeps shared keys off).
  new AzurermProvider(stack, 'azurerm', { features: [{}], storageUseAzuread: true });
  new AzureadProvider(stack, 'azuread', {});
  new AzapiProvider(stack, 'azapi', {});

  new IdentityPropagatingAgent(stack, 'OrdersAgent', {
    baseName: 'platagent',
    location: 'swedencentral',
    tags: { project: 'my-platform' },
    images,
  });
  return stack;
}
