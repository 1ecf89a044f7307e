import { Application } from '@cdktf/provider-azuread/lib/application';
import { ApplicationIdentifierUri } from '@cdktf/provider-azuread/lib/application-identifier-uri';
import { DataAzureadClientConfig } from '@cdktf/provider-azuread/lib/data-azuread-client-config';
import { ServicePrincipal } from '@cdktf/provider-azuread/lib/service-principal';
import { Construct } from 'constructs';
import { ITerraformDependable } from '../internal/tf';
import { Placement } from '../placement';

/** Props of {@link GatewayProofRegistration}. */
export interface GatewayProofRegistrationProps {
  /** Where the part belongs (the base name names the registration). */
  readonly placement: Placement;
  /**
   * Display name of the registration.
   * @default `<baseName>-orders-gateway`
   */
  readonly displayName?: string;
}

/**
 * The resource that API Management's managed identity gets a token for, to prove to the Orders
 * API that a request came through the gateway: a single-tenant app registration with no
 * secrets, no scopes and no redirect URIs, `api://<client id>` as its identifier URI, v2 access
 * tokens (so `aud` is always the client id, the Orders API's GATEWAY_AUDIENCE), and its
 * service principal (Entra issues tokens only for resources that have one in the tenant). The
 * deployer owns both through `owners`, with no separate owner resource.
 */
export class GatewayProofRegistration extends Construct {
  /** Client id of the registration: the token audience (`GATEWAY_AUDIENCE`) and the resource APIM asks for. */
  public readonly audience: string;
  /** `api://<client id>`. */
  public readonly identifierUri: string;
  /** Object id of the service principal. */
  public readonly servicePrincipalObjectId: string;
  /** What must exist before a token can be issued for the audience: the service principal and the identifier URI. */
  public readonly ready: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: GatewayProofRegistrationProps) {
    super(scope, id);
    const deployer = new DataAzureadClientConfig(this, 'Deployer');
    // `owners` on the application: azuread creates it with the caller as an owner and keeps
    // the caller when listed, so no azuread_application_owner (which fails with "already
    // exists" wherever Entra made the caller owner, and on destroy).
    const application = new Application(this, 'Application', {
      displayName: props.displayName ?? `${props.placement.baseName}-orders-gateway`,
      description: 'Audience of the token API Management adds to prove that a request to the Orders API came through it.',
      signInAudience: 'AzureADMyOrg',
      owners: [deployer.objectId],
      api: { requestedAccessTokenVersion: 2 },
      // The identifier URI names the client id, known only after creation: its own resource
      // below, which azuread's documentation pairs with ignore_changes here.
      lifecycle: { ignoreChanges: ['identifier_uris'] },
    });
    this.identifierUri = `api://${application.clientId}`;
    const identifierUri = new ApplicationIdentifierUri(this, 'IdentifierUri', { applicationId: application.id, identifierUri: this.identifierUri });
    const servicePrincipal = new ServicePrincipal(this, 'ServicePrincipal', {
      clientId: application.clientId,
      owners: [deployer.objectId],
    });
    this.audience = application.clientId;
    this.servicePrincipalObjectId = servicePrincipal.objectId;
    this.ready = [servicePrincipal, identifierUri];
  }
}
