import { Fn } from '../internal/tf';

/** Built-in role definition ids (azure-facts §10). Names change (Azure AI User became Foundry User); ids do not. */
export const ROLE = {
  /** Foundry User (formerly Azure AI User): run and manage agents on a project. */
  foundryUser: '53ca6127-db72-4b80-b1b0-d745d6d5456d',
  /** Foundry Agent Consumer: `endpoints/interact/action` only (an agent's own endpoint). */
  foundryAgentConsumer: 'eed3b665-ab3a-47b6-8f48-c9382fb1dad6',
  /** Cognitive Services OpenAI User: OpenAI inference data actions on the account, nothing else. */
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd',
} as const;

/** Subscription-scoped role definition id, the form azurerm and ARM store. */
export function roleDefinitionId(resourceGroupId: string, roleId: string): string {
  // resourceGroupId is /subscriptions/<sub>/resourceGroups/<rg>; element 2 is the subscription.
  const subscription = Fn.element(Fn.split('/', resourceGroupId), 2);
  return `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`;
}
