import { Application } from '@cdktf/provider-azuread/lib/application';
import { DataAzureadClientConfig } from '@cdktf/provider-azuread/lib/data-azuread-client-config';
import { DataAzureadServicePrincipal } from '@cdktf/provider-azuread/lib/data-azuread-service-principal';
import { ServicePrincipal } from '@cdktf/provider-azuread/lib/service-principal';
import { ServicePrincipalDelegatedPermissionGrant } from '@cdktf/provider-azuread/lib/service-principal-delegated-permission-grant';
import { Construct } from 'constructs';
import { checkEntraValues } from '../internal/azure-values';
import { rejectTogether } from '../internal/validation';
import { Placement } from '../placement';

/** Azure AI (ai.azure.com), the first-party resource whose tokens Foundry accepts. */
const AZURE_AI_RESOURCE_APP_ID = '18a66f5f-dbdf-4c17-9dd7-1634712a9cbe';
/** Its delegated `user_impersonation` scope. */
const AZURE_AI_USER_IMPERSONATION_SCOPE_ID = '1a7925b5-f871-417a-9b8b-303f9f29fa10';

/** Entra ID options of the stack. */
export interface EntraOptions {
  /**
   * Client id of an existing SPA app registration to use instead of creating one. It needs
   * the Chat App's redirect URIs (`https://<Chat App FQDN>/` and `/redirect.html`) and
   * delegated access to Azure AI `user_impersonation`.
   * @default - a new single-tenant SPA registration and its service principal are created
   */
  readonly existingSpaClientId?: string;
  /**
   * Display name of a new registration.
   * @default `Chat App (<baseName>)`
   */
  readonly displayName?: string;
  /**
   * Also register `http://localhost:8080/` redirect URIs, for running the Chat App locally against Entra ID.
   * @default true
   */
  readonly localhostRedirectUris?: boolean;
  /**
   * Only users (or groups) assigned to the app may sign in.
   * @default false
   */
  readonly appRoleAssignmentRequired?: boolean;
  /**
   * Grant tenant-wide admin consent, so that sign-in never stops at AADSTS65001 where user
   * consent is restricted: the SPA's `user_impersonation` on Azure AI and, in the audience-bound
   * mode, the Orders API's scopes to Azure AI (`azuread_service_principal_delegated_permission_grant`).
   * The deployer needs the Global Administrator role (or `Directory.ReadWrite.All` as a service
   * principal). Without it, an administrator runs `az ad app permission admin-consent --id <client id>`.
   * @default false
   */
  readonly adminConsent?: boolean;
}

/** Props of {@link SpaRegistration}. */
export interface SpaRegistrationProps extends EntraOptions {
  /** Where the part belongs (the base name names the registration). */
  readonly placement: Placement;
  /**
   * Origin of the Chat App, `https://<Chat App FQDN>`: its SPA redirect URIs derive from it.
   * Required for a new registration.
   * @default - none
   */
  readonly chatAppUrl?: string;
}

/**
 * The Chat App's SPA app registration in Entra ID, as the original's: single tenant, SPA
 * (PKCE) redirect URIs on the Chat App's origin (and localhost), delegated access to Azure AI
 * `user_impersonation` so that MSAL can get a token for `https://ai.azure.com`; its service
 * principal; the deploying identity as owner. Or an existing client id.
 */
export class SpaRegistration extends Construct {
  /** Azure AI's application id (`resourceAppId` of the required access). */
  public static readonly AZURE_AI_APP_ID = AZURE_AI_RESOURCE_APP_ID;
  /** Azure AI's `user_impersonation` scope id. */
  public static readonly AZURE_AI_USER_IMPERSONATION_SCOPE_ID = AZURE_AI_USER_IMPERSONATION_SCOPE_ID;
  /** Path where the Chat App's SPA receives the sign-in response (MSAL's redirect bridge page). */
  public static readonly REDIRECT_PATH = '/redirect.html';

  /** Client (application) id of the SPA (`SPA_CLIENT_ID`, MSAL's `clientId`). */
  public readonly clientId: string;
  /** Object id of the new service principal; undefined for an existing registration. */
  public readonly servicePrincipalObjectId?: string;
  /** The SPA redirect URIs of a new registration; empty for an existing one. */
  public readonly redirectUris: string[];

  constructor(scope: Construct, id: string, props: SpaRegistrationProps) {
    super(scope, id);
    const owner = 'SpaRegistration';
    checkEntraValues(owner, '', props);
    for (const [prop, value] of Object.entries({
      displayName: props.displayName,
      localhostRedirectUris: props.localhostRedirectUris,
      appRoleAssignmentRequired: props.appRoleAssignmentRequired,
      chatAppUrl: props.chatAppUrl,
    })) {
      rejectTogether(owner, { existingSpaClientId: props.existingSpaClientId, [prop]: value },
        'it is a setting of a new registration; configure your existing registration instead.');
    }
    if (props.existingSpaClientId !== undefined) {
      this.clientId = props.existingSpaClientId;
      this.redirectUris = [];
      if (props.adminConsent) {
        const existing = new DataAzureadServicePrincipal(this, 'ExistingServicePrincipal', { clientId: props.existingSpaClientId });
        this.grantAdminConsent(existing.objectId);
      }
      return;
    }
    if (props.chatAppUrl === undefined) {
      throw new Error(`${owner}: chatAppUrl is required for a new registration (its redirect URIs derive from it).`);
    }

    const origins = [props.chatAppUrl, ...(props.localhostRedirectUris ?? true ? ['http://localhost:8080'] : [])];
    // The origin itself (MSAL's post-logout target) and the redirect bridge page.
    this.redirectUris = origins.flatMap((origin) => [`${origin}/`, `${origin}${SpaRegistration.REDIRECT_PATH}`]);

    const deployer = new DataAzureadClientConfig(this, 'Deployer');
    const application = new Application(this, 'Application', {
      displayName: props.displayName ?? `Chat App (${props.placement.baseName})`,
      signInAudience: 'AzureADMyOrg',
      owners: [deployer.objectId],
      singlePageApplication: { redirectUris: this.redirectUris },
      // SPA + PKCE only: no public-client flows (device code, ROPC), unlike the original.
      fallbackPublicClientEnabled: false,
      requiredResourceAccess: [{
        resourceAppId: AZURE_AI_RESOURCE_APP_ID,
        resourceAccess: [{ id: AZURE_AI_USER_IMPERSONATION_SCOPE_ID, type: 'Scope' }],
      }],
    });
    const servicePrincipal = new ServicePrincipal(this, 'ServicePrincipal', {
      clientId: application.clientId,
      appRoleAssignmentRequired: props.appRoleAssignmentRequired ?? false,
      owners: [deployer.objectId],
    });
    this.clientId = application.clientId;
    this.servicePrincipalObjectId = servicePrincipal.objectId;
    if (props.adminConsent) this.grantAdminConsent(servicePrincipal.objectId);
  }

  /** Admin consent (all users) for the SPA's `user_impersonation` on Azure AI. */
  private grantAdminConsent(spaServicePrincipalObjectId: string): void {
    const azureAi = new DataAzureadServicePrincipal(this, 'AzureAi', { clientId: AZURE_AI_RESOURCE_APP_ID });
    // No user_object_id: consent type AllPrincipals, i.e. admin consent for the tenant.
    new ServicePrincipalDelegatedPermissionGrant(this, 'AdminConsent', {
      servicePrincipalObjectId: spaServicePrincipalObjectId,
      resourceServicePrincipalObjectId: azureAi.objectId,
      claimValues: ['user_impersonation'],
    });
  }
}
