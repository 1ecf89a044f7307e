// What to change, by the identity platform's code. Codes: learn.microsoft.com/entra/identity-platform/reference-error-codes
// (the live lookup is https://login.microsoftonline.com/error?code=<n>).

/** Foundry User, the data-plane role the Responses API with an agent reference needs on the project. */
export const FOUNDRY_USER_ROLE = 'Foundry User (53ca6127-db72-4b80-b1b0-d745d6d5456d)';

const AADSTS: Record<string, string> = {
  AADSTS65001: 'consent is missing: the user (or an admin for the tenant) has not granted the client the delegated permission it asks for. Grant admin consent for the SPA registration\'s API permission (Azure AI "user_impersonation"; in audience-bound mode also the Orders API\'s read/write scopes), or sign in once interactively and consent.',
  AADSTS65002: 'the client must be pre-authorized by the resource (first-party client to first-party resource): add the client id to the resource app\'s pre-authorized applications (api.known_client_applications / pre_authorized_application), then retry.',
  AADSTS650057: 'the client has not listed the resource in its required permissions: add the API permission (requiredResourceAccess) for the resource to the client registration (for Azure AI: resource 18a66f5f-dbdf-4c17-9dd7-1634712a9cbe, scope user_impersonation) and consent.',
  AADSTS7000218: 'the client allows no public-client flows (device code): the SPA registration is SPA + PKCE only by design. Use --client-id with a registration that allows public-client flows and has the same delegated permission, or --token-command / --token-file.',
  AADSTS700016: 'the client id is not registered in this tenant: check spa_client_id / --client-id and tenant_id.',
  AADSTS90002: 'the tenant does not exist: the tenant_id output (or the authority) is wrong.',
  AADSTS50020: 'the user is from another tenant: sign in with an account of the stack\'s tenant (the SPA is single-tenant).',
  AADSTS500011: 'the resource is not registered in this tenant: the scope names a resource (Application ID URI) without a service principal here; check the audience output and that the app registration exists.',
  AADSTS9010010: 'the resource parameter and the scope name different resources: ask for the scope of the Application ID URI that the MCP metadata names.',
  AADSTS50105: 'the user is not assigned to the application and assignment is required: assign the user (or a group) to the enterprise application, or set appRoleAssignmentRequired to false.',
  AADSTS70011: 'the scope is not valid for the client: ask for `<resource>/.default` or a scope the resource defines.',
  AADSTS53003: 'a Conditional Access policy blocked the sign-in: sign in from a compliant device or ask the tenant admin.',
  AADSTS50076: 'multi-factor authentication is required: complete it in the device-code sign-in.',
};

export function aadstsHint(code: string | undefined): string | undefined {
  if (!code) return undefined;
  const known = AADSTS[code];
  const lookup = `https://login.microsoftonline.com/error?code=${code.replace('AADSTS', '')}`;
  return known ? `${known} (${lookup})` : `see ${lookup}`;
}

/** The data action a Foundry PermissionDenied message names, if any. */
export function missingDataAction(message: string | undefined): string | undefined {
  return message ? /Microsoft\.CognitiveServices\/[A-Za-z0-9_./*-]+/.exec(message)?.[0]?.replace(/[.]$/, '') : undefined;
}

/** The hint for a 403 from Foundry: which role, where, for whom. */
export function foundryForbiddenHint(message: string | undefined, oid: string | undefined): string {
  const action = missingDataAction(message);
  return `the signed-in user may not use the agent${action ? ` (missing data action ${action})` : ''}: assign the ${FOUNDRY_USER_ROLE} role at the Foundry project scope`
    + `${oid ? ` to object id ${oid}` : ''} (foundry.agentUserPrincipalIds, or foundry.agentUserRoleId for a narrower custom role) and apply; new role assignments take a few minutes to apply.`;
}
