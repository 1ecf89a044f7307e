import { Fn } from '../internal/tf';

/** Built-in role definition ids (azure-facts §10). Names change (Azure AI User became Foundry User); ids do not. */
export const ROLE = {
  /** Foundry User (formerly Azure AI User): run and manage agents on a project. */
  foundryUser: '53ca6127-db72-4b80-b1b0-d745d6d5456d',
  /** Cognitive Services User: call the account's inference endpoints with Entra ID. */
  cognitiveServicesUser: 'a97b65f3-24c7-4388-baec-2e87135dc908',
} as const;

/** Subscription-scoped role definition id, the form azurerm and ARM store. */
export function roleDefinitionId(resourceGroupId: string, roleId: string): string {
  // resourceGroupId is /subscriptions/<sub>/resourceGroups/<rg>; element 2 is the subscription.
  const subscription = Fn.element(Fn.split('/', resourceGroupId), 2);
  return `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`;
}
