import { createHash } from 'node:crypto';
import { Application } from '@cdktf/provider-azuread/lib/application';
import { ApplicationIdentifierUri } from '@cdktf/provider-azuread/lib/application-identifier-uri';
import { ApplicationPreAuthorized } from '@cdktf/provider-azuread/lib/application-pre-authorized';
import { DataAzureadClientConfig } from '@cdktf/provider-azuread/lib/data-azuread-client-config';
import { DataAzureadServicePrincipal } from '@cdktf/provider-azuread/lib/data-azuread-service-principal';
import { ServicePrincipal } from '@cdktf/provider-azuread/lib/service-principal';
import { ServicePrincipalDelegatedPermissionGrant } from '@cdktf/provider-azuread/lib/service-principal-delegated-permission-grant';
import { Construct } from 'constructs';
import { SpaRegistration } from './spa';
import { AZURE_RULES, requireEach } from '../internal/azure-values';
import { ITerraformDependable, Token } from '../internal/tf';
import { DEFAULT_ORDERS_API_SCOPES, OrdersApiScopes } from '../orders-api-access/scopes';
import { Placement } from '../placement';

/** Which token the agent's MCP call carries to API Management and the Orders API. */
export enum McpAuthMode {
  /**
   * A token for the Orders API itself: its own app registration (`api://<client id>`, v2 tokens,
   * delegated `Orders.Read` / `Orders.ReadWrite`) is the MCP connection's audience, and API
   * Management and the Orders API accept only that audience, with per-tool scopes (the MCP
   * authorization spec's audience binding).
   */
  AUDIENCE_BOUND = 'AUDIENCE_BOUND',
  /** The original's: the connection's audience is Foundry's (`https://ai.azure.com`), and so is the accepted audience. */
  FOUNDRY_AUDIENCE = 'FOUNDRY_AUDIENCE',
}

/** Props of {@link OrdersApiRegistration}. */
export interface OrdersApiRegistrationProps {
  /** Where the part belongs (the base name names the registration). */
  readonly placement: Placement;
  /**
   * Display name of the registration.
   * @default `<baseName>-orders-api`
   */
  readonly displayName?: string;
  /**
   * The delegated scopes it exposes.
   * @default DEFAULT_ORDERS_API_SCOPES (`Orders.Read`, `Orders.ReadWrite`)
   */
  readonly scopes?: OrdersApiScopes;
  /**
   * Client ids pre-authorized for both scopes: users are never asked to consent to them. The
   * default is Azure AI's first-party application, the client that holds the user's
   * `https://ai.azure.com` token inside Foundry (an on-behalf-of exchange must be made by the
   * application the incoming token was issued to).
   * @default [SpaRegistration.AZURE_AI_APP_ID]
   */
  readonly preAuthorizedClientIds?: string[];
  /**
   * Also grant tenant-wide admin consent for both scopes to Azure AI's service principal
   * (`azuread_service_principal_delegated_permission_grant`; the deployer needs Global
   * Administrator, or `Directory.ReadWrite.All` as a service principal).
   * @default false
   */
  readonly adminConsent?: boolean;
}

/**
 * The Orders API's own app registration, for the audience-bound MCP hop: single tenant,
 * `api://<client id>` as its Application ID URI, v2 access tokens (`aud` is the client id),
 * the two delegated scopes, no secrets and no redirect URIs, its service principal (Entra
 * issues tokens only for resources that have one in the tenant), Azure AI pre-authorized, and
 * the deployer as owner through `owners`.
 */
export class OrdersApiRegistration extends Construct {
  /** Client (application) id. */
  public readonly clientId: string;
  /** `api://<client id>`: the MCP connection's audience and the first accepted audience. */
  public readonly identifierUri: string;
  /** The audiences Entra puts in `aud` for this API: `api://<client id>` (v1 tokens) and the client id (v2). */
  public readonly audiences: string[];
  /** The delegated scopes (short names, as in `scp`). */
  public readonly scopes: OrdersApiScopes;
  /** Object id of the service principal. */
  public readonly servicePrincipalObjectId: string;
  /** What must exist before a token can be issued for the API. */
  public readonly ready: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: OrdersApiRegistrationProps) {
    super(scope, id);
    const owner = 'OrdersApiRegistration';
    const scopes = props.scopes ?? DEFAULT_ORDERS_API_SCOPES;
    for (const [key, value] of Object.entries(scopes)) {
      if (Token.isUnresolved(value) || !/^[A-Za-z0-9._-]{1,120}$/.test(value)) {
        throw new Error(`${owner}: scopes.${key} "${value}" is invalid: use a literal of letters, digits, dots, hyphens and underscores.`);
      }
    }
    if (scopes.read === scopes.write) throw new Error(`${owner}: scopes.read and scopes.write are both "${scopes.read}"; they must differ.`);
    const preAuthorized = props.preAuthorizedClientIds ?? [SpaRegistration.AZURE_AI_APP_ID];
    requireEach(owner, 'preAuthorizedClientIds', preAuthorized, AZURE_RULES.guid);

    const deployer = new DataAzureadClientConfig(this, 'Deployer');
    const scopeIds = { read: scopeId(scopes.read), write: scopeId(scopes.write) };
    const application = new Application(this, 'Application', {
      displayName: props.displayName ?? `${props.placement.baseName}-orders-api`,
      description: 'The Orders API (MCP and REST): the audience of the tokens the agent presents for the signed-in user.',
      signInAudience: 'AzureADMyOrg',
      owners: [deployer.objectId],
      api: {
        requestedAccessTokenVersion: 2,
        oauth2PermissionScope: [
          permissionScope(scopeIds.read, scopes.read, 'Read your orders', 'Lets the app read the signed-in user\'s orders.'),
          permissionScope(scopeIds.write, scopes.write, 'Read and change your orders', 'Lets the app create, update and delete the signed-in user\'s orders.'),
        ],
      },
      // api://<client id> names the client id, known only after creation: its own resource below.
      lifecycle: { ignoreChanges: ['identifier_uris'] },
    });
    this.clientId = application.clientId;
    this.identifierUri = `api://${application.clientId}`;
    this.audiences = [this.identifierUri, this.clientId];
    this.scopes = scopes;
    const identifierUri = new ApplicationIdentifierUri(this, 'IdentifierUri', { applicationId: application.id, identifierUri: this.identifierUri });
    const servicePrincipal = new ServicePrincipal(this, 'ServicePrincipal', { clientId: application.clientId, owners: [deployer.objectId] });
    this.servicePrincipalObjectId = servicePrincipal.objectId;
    this.ready = [servicePrincipal, identifierUri];

    preAuthorized.forEach((clientId, index) => {
      const key = Token.isUnresolved(clientId) ? String(index) : clientId;
      this.ready.push(new ApplicationPreAuthorized(this, `PreAuthorized-${key}`, {
        applicationId: application.id,
        authorizedClientId: clientId,
        permissionIds: [scopeIds.read, scopeIds.write],
      }));
    });
    if (props.adminConsent) {
      const azureAi = new DataAzureadServicePrincipal(this, 'AzureAi', { clientId: SpaRegistration.AZURE_AI_APP_ID });
      this.ready.push(new ServicePrincipalDelegatedPermissionGrant(this, 'AdminConsent', {
        servicePrincipalObjectId: azureAi.objectId,
        resourceServicePrincipalObjectId: servicePrincipal.objectId,
        claimValues: [scopes.read, scopes.write],
      }));
    }
  }
}

function permissionScope(id: string, value: string, title: string, description: string) {
  return {
    id,
    value,
    type: 'User',
    enabled: true,
    adminConsentDisplayName: title,
    adminConsentDescription: description,
    userConsentDisplayName: title,
    userConsentDescription: description,
  };
}

/** A stable scope id per scope name (Entra refuses a changed id for an enabled scope). */
function scopeId(value: string): string {
  const h = createHash('sha1').update(`orders-api-scope:${value}`).digest('hex');
  // RFC 4122 layout, version 5 (name-based, SHA-1), variant 10.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${'89ab'[parseInt(h[16], 16) % 4]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
