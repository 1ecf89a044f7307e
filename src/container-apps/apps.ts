import { ContainerApp, ContainerAppTemplateContainerEnv } from '@cdktf/provider-azurerm/lib/container-app';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct, IConstruct } from 'constructs';
import { WorkloadIdentity } from './identities';
import { checkAppValues } from '../internal/azure-values';
import { resourcesWithin } from '../internal/depends';
import { Token } from '../internal/tf';
import { isGuid, requireRange } from '../internal/validation';
import { OrdersApiScopes } from '../orders-api-access/scopes';
import { ordersApiScopesSupported } from '../orders-api-access/scopes-supported';
import { Placement } from '../placement';

/** Size and scale of one app. */
export interface AppScaleOptions {
  /**
   * vCPU per replica (0.25 to 4, in steps of 0.25).
   * @default 0.5
   */
  readonly cpu?: number;
  /**
   * Memory per replica; Consumption needs twice the vCPU in GiB, e.g. `1Gi` for 0.5 vCPU.
   * @default - twice `cpu`, e.g. `1Gi`
   */
  readonly memory?: string;
  /**
   * Minimum replicas (0 allows scale to zero, at the cost of a cold start).
   * @default 1
   */
  readonly minReplicas?: number;
  /**
   * Maximum replicas.
   * @default 3
   */
  readonly maxReplicas?: number;
  /**
   * Concurrent HTTP requests per replica that trigger scaling out.
   * @default 50
   */
  readonly concurrentRequests?: number;
}

/** Names of the two apps (unique within the environment; part of their URLs). */
export interface ContainerAppNames {
  /** Name of the Orders API app. */
  readonly ordersApi: string;
  /** Name of the Chat App app. */
  readonly chatApp: string;
}

/** A registry the apps pull from with their identities. */
export interface RegistryAccess {
  /** Login server, e.g. `myregistry.azurecr.io`. */
  readonly loginServer: string;
  /** Resource id of the registry: both identities get AcrPull on it. */
  readonly id: string;
}

/** The gateway proof the Orders API requires: a token of the gateway's own identity beside the user's. */
export interface OrdersApiGatewayProof {
  /** The audience of the gateway's token (`GATEWAY_AUDIENCE`), e.g. the client id of its app registration. */
  readonly audience: string;
  /** Object ids of the gateway identities allowed to vouch (`GATEWAY_PRINCIPAL_IDS`), e.g. API Management's system identity. */
  readonly principalIds: string[];
}

/** Settings of the two apps that the stack exposes (service contracts of DESIGN section 4). */
export interface AppOptions {
  /**
   * Size and scale of the Orders API.
   * @default - 0.5 vCPU, 1Gi, 1 to 3 replicas, 50 concurrent requests
   */
  readonly ordersApi?: AppScaleOptions;
  /**
   * Size and scale of the Chat App.
   * @default - 0.5 vCPU, 1Gi, 1 to 3 replicas, 50 concurrent requests
   */
  readonly chatApp?: AppScaleOptions;
  /**
   * Seconds a replica gets between SIGTERM and SIGKILL to finish requests in flight (0 to 600).
   * @default 30
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * Accepted token audiences (`AUTH_AUDIENCES`) of the Chat App, and of the Orders API unless
   * `ordersApiAudiences` is set (the system sets it in the audience-bound mode).
   * @default ['https://ai.azure.com']
   */
  readonly audiences?: string[];
  /**
   * Client ids whose tokens the Orders API accepts (`AUTH_ALLOWED_CLIENT_IDS`, matched against `azp`/`appid`).
   * @default - any client of the tenant (the variable is not set)
   */
  readonly ordersApiAllowedClientIds?: string[];
  /**
   * Scopes of which the Orders API requires at least one in `scp` (`AUTH_REQUIRED_SCOPES`).
   * @default - none (the variable is not set)
   */
  readonly ordersApiRequiredScopes?: string[];
  /**
   * The URL clients reach the Orders API at (`PUBLIC_BASE_URL`); behind API Management,
   * `<gateway URL>/orders-mcp`. It names the resource in the RFC 9728 metadata.
   * @default - the app's own URL, `https://<orders app>.<environment domain>`
   */
  readonly ordersApiPublicBaseUrl?: string;
  /**
   * The URL REST clients reach the Orders API's routes at (`PUBLIC_REST_BASE_URL`): its REST
   * 401/403 challenges, the `resource` of its RFC 9728 metadata and the OpenAPI `servers` name
   * it. Behind API Management, `<gateway URL>/orders-api` (MCP stays on `ordersApiPublicBaseUrl`).
   * @default - `ordersApiPublicBaseUrl` (the variable is not set)
   */
  readonly ordersApiPublicRestBaseUrl?: string;
  /**
   * Source addresses (CIDR ranges) the Orders API's ingress accepts; every other source is
   * refused. Useful when the front door has fixed outbound addresses. API Management v2 tiers
   * cannot reach an internal (VNet) environment and have no dedicated outbound addresses, so
   * behind them ingress stays external and the gateway proof (the gateway's managed identity
   * token, verified by the Orders API) keeps the Orders API from being used around APIM; the
   * Orders API still validates every user token itself.
   * @default - any source (the Orders API validates tokens itself)
   */
  readonly ordersApiAllowedIpRanges?: string[];
  /**
   * Object ids of users who may see and change all orders (`ORDERS_ADMIN_OIDS`).
   * @default - none
   */
  readonly ordersAdminObjectIds?: string[];
  /**
   * Object id of the user who owns the 8 seed orders (`ORDERS_SEED_OWNER_OID`).
   * @default - no seed data
   */
  readonly ordersSeedOwnerObjectId?: string;
  /**
   * Name of the Foundry agent the Chat App runs (`AGENT_NAME`).
   * @default orders-assistant
   */
  readonly agentName?: string;
  /**
   * Authority the SPA signs in against (`AUTH_AUTHORITY`).
   * @default `https://login.microsoftonline.com/<tenant id>`
   */
  readonly authority?: string;
}

/** Props of {@link ServiceContainerApps}. */
export interface ServiceContainerAppsProps extends AppOptions {
  /** Where the resources go. */
  readonly placement: Placement;
  /** Resource id of the Container Apps environment. */
  readonly environmentId: string;
  /** Default domain of that environment. */
  readonly environmentDefaultDomain: string;
  /**
   * App names.
   * @default - `ServiceContainerApps.defaultNames(placement.baseName)`
   */
  readonly names?: ContainerAppNames;
  /** The Orders API's identity (created before the apps). */
  readonly ordersApiIdentity: WorkloadIdentity;
  /**
   * The Chat App's identity (created before the apps); required with `chatAppImage`.
   * @default - none (no Chat App)
   */
  readonly chatAppIdentity?: WorkloadIdentity;
  /** Image the Orders API runs. */
  readonly ordersApiImage: string;
  /**
   * Image the Chat App runs. Leave it unset to deploy the Orders API alone: no Chat App is
   * created, and the Chat App's settings (`chatAppIdentity`, `spaClientId`,
   * `foundryProjectEndpoint`, `chatApp`, `agentName`, `authority`) must be unset too.
   * @default - no Chat App
   */
  readonly chatAppImage?: string;
  /**
   * Registry the images are pulled from, by identity (AcrPull for both identities).
   * @default - images are pulled anonymously
   */
  readonly registry?: RegistryAccess;
  /** Entra tenant of the users (`AUTH_TENANT_ID`). */
  readonly tenantId: string;
  /** Table service endpoint (`TABLES_ENDPOINT`). */
  readonly tablesEndpoint: string;
  /**
   * Orders table name (`ORDERS_TABLE_NAME`).
   * @default orders
   */
  readonly tableName?: string;
  /**
   * The SPA's client id (`SPA_CLIENT_ID`); required with `chatAppImage`.
   * @default - none (no Chat App)
   */
  readonly spaClientId?: string;
  /**
   * Foundry project endpoint (`FOUNDRY_PROJECT_ENDPOINT`),
   * `https://<account>.services.ai.azure.com/api/projects/<project>`; required with `chatAppImage`.
   * @default - none (no Chat App)
   */
  readonly foundryProjectEndpoint?: string;
  /**
   * Accepted token audiences of the Orders API (`AUTH_AUDIENCES`), e.g. its own registration's
   * `api://<client id>` and `<client id>`; the first one qualifies its scopes in the RFC 9728 metadata.
   * @default - `audiences`
   */
  readonly ordersApiAudiences?: string[];
  /**
   * The Orders API's per-tool scopes (`ORDERS_READ_SCOPES`, `ORDERS_WRITE_SCOPES`): reads need the
   * read or the write scope, changes the write scope.
   * @default - no per-tool scope check
   */
  readonly ordersApiScopes?: OrdersApiScopes;
  /**
   * Require the gateway's own token in `X-Gateway-Authorization` on every Orders API route but
   * health, metadata and the OpenAPI document (`GATEWAY_AUDIENCE`, `GATEWAY_PRINCIPAL_IDS`), so
   * that the Orders API is not usable around API Management.
   * @default - none: the Orders API serves any caller with a valid user token
   */
  readonly ordersApiGatewayProof?: OrdersApiGatewayProof;
  /**
   * Application Insights connection string, passed to both apps as a secret reference.
   * @default - telemetry off
   */
  readonly applicationInsightsConnectionString?: string;
  /**
   * Parts (constructs) whose resources must exist before the apps are created or updated:
   * e.g. the image builds, so the first revision finds its image, and the storage part, so
   * the Orders API's table role exists before it starts.
   * @default - none
   */
  readonly waitFor?: IConstruct[];
}

const ORDERS_PORT = 8000;
const CHAT_PORT = 8080;
const SECRET_APPINSIGHTS = 'appinsights-connection-string';
const APP_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/**
 * The Orders API and (unless `chatAppImage` is unset) the Chat App container apps: user-assigned identities, images pulled by
 * identity after AcrPull is granted, HTTPS-only external ingress (the Orders API optionally
 * restricted to given source ranges), liveness/readiness/startup probes on `/health`, HTTP
 * concurrency scaling, a termination grace period, and the environment variables of the
 * service contracts (the gateway proof's included), with the Application Insights connection
 * string as a secret reference.
 */
export class ServiceContainerApps extends Construct {
  /** Default app names for a base name: `ca-<baseName>-orders-api` and `ca-<baseName>-chat-app`. */
  public static defaultNames(baseName: string): ContainerAppNames {
    return { ordersApi: `ca-${baseName}-orders-api`, chatApp: `ca-${baseName}-chat-app` };
  }

  /** Fully qualified domain name of an app with external ingress: `<name>.<default domain>`. */
  public static fqdnOf(appName: string, environmentDefaultDomain: string): string {
    return `${appName}.${environmentDefaultDomain}`;
  }

  /** Orders API app name. */
  public readonly ordersApiName: string;
  /** Chat App app name (computed even when no Chat App is created). */
  public readonly chatAppName: string;
  /** Orders API FQDN (API Management's backend host). */
  public readonly ordersApiFqdn: string;
  /** Chat App FQDN. */
  public readonly chatAppFqdn: string;
  /** `https://<Orders API FQDN>`. */
  public readonly ordersApiUrl: string;
  /** `https://<Chat App FQDN>`. */
  public readonly chatAppUrl: string;
  /** The Orders API's own MCP endpoint, `https://<Orders API FQDN>/mcp`. */
  public readonly ordersApiMcpUrl: string;
  /** Resource id of the Orders API app. */
  public readonly ordersApiAppId: string;
  /** Resource id of the Chat App app; undefined when no Chat App is created (no `chatAppImage`). */
  public readonly chatAppAppId?: string;
  /** Audiences the Orders API accepts (its `AUTH_AUDIENCES`). */
  public readonly ordersApiAudiences: string[];
  /** What the Orders API lists in its RFC 9728 `scopes_supported` (qualified by its first audience). */
  public readonly ordersApiScopesSupported: string[];
  /** Audiences the Chat App accepts in the user's token (its `AUTH_AUDIENCES`). */
  public readonly chatAppAudiences: string[];
  /** The authority the SPA signs in against (the Chat App's `AUTH_AUTHORITY`); undefined without a Chat App. */
  public readonly chatAppAuthority?: string;
  /** The scopes MSAL asks for in the SPA (the Chat App's `AUTH_SCOPES`); undefined without a Chat App. */
  public readonly spaScopes?: string[];

  constructor(scope: Construct, id: string, props: ServiceContainerAppsProps) {
    super(scope, id);
    const owner = 'ServiceContainerApps';
    checkAppValues(owner, '', props);
    const { placement } = props;
    const names = props.names ?? ServiceContainerApps.defaultNames(placement.baseName);
    for (const [key, name] of Object.entries(names)) {
      if (!Token.isUnresolved(name) && (!APP_NAME.test(name) || name.includes('--'))) {
        throw new Error(`${owner}: names.${key} "${name}" is invalid: use 2 to 32 lower-case letters, digits and single hyphens, starting with a letter.`);
      }
    }
    requireRange(owner, 'terminationGracePeriodSeconds', props.terminationGracePeriodSeconds, 0, 600);
    // The Chat App is optional (no chatAppImage: the Orders API alone); its settings come with it.
    const chatOnly = {
      chatAppIdentity: props.chatAppIdentity,
      spaClientId: props.spaClientId,
      foundryProjectEndpoint: props.foundryProjectEndpoint,
      chatApp: props.chatApp,
      agentName: props.agentName,
      authority: props.authority,
    };
    const required: Array<keyof typeof chatOnly> = ['chatAppIdentity', 'spaClientId', 'foundryProjectEndpoint'];
    for (const [key, value] of Object.entries(chatOnly)) {
      if (props.chatAppImage === undefined && value !== undefined) {
        throw new Error(`${owner}: chatAppImage is not set, so no Chat App is created and ${key} has nothing to configure.`);
      }
      if (props.chatAppImage !== undefined && value === undefined && (required as string[]).includes(key)) {
        throw new Error(`${owner}: the Chat App (chatAppImage) needs ${key}.`);
      }
    }
    const ordersScale = scale(owner, 'ordersApi', props.ordersApi);
    const chatScale = scale(owner, 'chatApp', props.chatApp);
    const proof = props.ordersApiGatewayProof;
    if (proof !== undefined) {
      if (proof.principalIds.length === 0) {
        throw new Error(`${owner}: ordersApiGatewayProof.principalIds is empty, which would refuse every request; name the gateway's identity.`);
      }
      for (const principalId of proof.principalIds) {
        if (!Token.isUnresolved(principalId) && !isGuid(principalId)) {
          throw new Error(`${owner}: ordersApiGatewayProof.principalIds entry "${principalId}" is not an object id (a GUID).`);
        }
      }
      if (!Token.isUnresolved(proof.audience) && (proof.audience.trim() === '' || /[\s,]/.test(proof.audience))) {
        throw new Error(`${owner}: ordersApiGatewayProof.audience "${proof.audience}" must be one audience (no commas or whitespace).`);
      }
    }

    this.ordersApiName = names.ordersApi;
    this.chatAppName = names.chatApp;
    this.ordersApiFqdn = ServiceContainerApps.fqdnOf(names.ordersApi, props.environmentDefaultDomain);
    this.chatAppFqdn = ServiceContainerApps.fqdnOf(names.chatApp, props.environmentDefaultDomain);
    this.ordersApiUrl = `https://${this.ordersApiFqdn}`;
    this.chatAppUrl = `https://${this.chatAppFqdn}`;
    this.ordersApiMcpUrl = `${this.ordersApiUrl}/mcp`;

    const audiences = props.audiences ?? ['https://ai.azure.com'];
    const ordersAudiences = props.ordersApiAudiences ?? audiences;
    for (const [path, list] of Object.entries({ audiences, ordersApiAudiences: ordersAudiences })) {
      if (list.length === 0) throw new Error(`${owner}: ${path} is empty, which would refuse every token; leave it unset for the default.`);
    }
    this.ordersApiAudiences = ordersAudiences;
    this.ordersApiScopesSupported = ordersApiScopesSupported(ordersAudiences, props.ordersApiRequiredScopes ?? [], props.ordersApiScopes);
    this.chatAppAudiences = audiences;
    const waitFor = resourcesWithin(props.waitFor);
    const telemetry = props.applicationInsightsConnectionString;

    const app = (cid: string, o: {
      name: string;
      service: string;
      port: number;
      identity: WorkloadIdentity;
      image: string;
      scale: Required<AppScaleOptions>;
      env: { [name: string]: string | undefined };
      ipRanges?: string[];
    }): ContainerApp => {
      const acrPull = props.registry && new RoleAssignment(this, `${cid}AcrPull`, {
        scope: props.registry.id,
        roleDefinitionName: 'AcrPull',
        principalId: o.identity.principalId,
        principalType: 'ServicePrincipal',
      });
      const env: ContainerAppTemplateContainerEnv[] = Object.entries(o.env)
        .filter(([, value]) => value !== undefined)
        .map(([name, value]) => ({ name, value }));
      if (telemetry !== undefined) env.push({ name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', secretName: SECRET_APPINSIGHTS });
      const probe = { transport: 'HTTP', port: o.port, path: '/health' };
      return new ContainerApp(this, cid, {
        name: o.name,
        resourceGroupName: placement.resourceGroupName,
        containerAppEnvironmentId: props.environmentId,
        revisionMode: 'Single',
        identity: { type: 'UserAssigned', identityIds: [o.identity.id] },
        registry: props.registry && [{ server: props.registry.loginServer, identity: o.identity.id }],
        secret: telemetry !== undefined ? [{ name: SECRET_APPINSIGHTS, value: telemetry }] : undefined,
        ingress: {
          externalEnabled: true,
          targetPort: o.port,
          transport: 'http',
          allowInsecureConnections: false,
          trafficWeight: [{ latestRevision: true, percentage: 100 }],
          ipSecurityRestriction: o.ipRanges?.map((range, i) => ({
            name: `allow-${i + 1}`,
            action: 'Allow',
            ipAddressRange: range,
            description: 'Front door of the Orders API (API Management outbound address)',
          })),
        },
        template: {
          minReplicas: o.scale.minReplicas,
          maxReplicas: o.scale.maxReplicas,
          terminationGracePeriodSeconds: props.terminationGracePeriodSeconds ?? 30,
          httpScaleRule: [{ name: 'http-concurrency', concurrentRequests: String(o.scale.concurrentRequests) }],
          container: [{
            name: o.service,
            image: o.image,
            cpu: o.scale.cpu,
            memory: o.scale.memory,
            env,
            // Startup gives a cold replica up to 60 s; then liveness restarts a hung one and
            // readiness takes a busy or draining one out of rotation.
            startupProbe: [{ ...probe, intervalSeconds: 2, timeout: 2, failureCountThreshold: 30 }],
            livenessProbe: [{ ...probe, intervalSeconds: 10, timeout: 3, failureCountThreshold: 3 }],
            readinessProbe: [{ ...probe, intervalSeconds: 5, timeout: 3, failureCountThreshold: 3, successCountThreshold: 1 }],
          }],
        },
        // AcrPull (and whatever the caller waits for) before the first pull.
        dependsOn: [...(acrPull ? [acrPull] : []), ...waitFor],
        tags: placement.tags,
      });
    };

    const orders = app('OrdersApi', {
      name: names.ordersApi,
      service: 'orders-api',
      port: ORDERS_PORT,
      identity: props.ordersApiIdentity,
      image: props.ordersApiImage,
      scale: ordersScale,
      ipRanges: props.ordersApiAllowedIpRanges,
      env: {
        PORT: String(ORDERS_PORT),
        AUTH_TENANT_ID: props.tenantId,
        AUTH_AUDIENCES: ordersAudiences.join(','),
        AUTH_ALLOWED_CLIENT_IDS: listOrUndefined(props.ordersApiAllowedClientIds),
        AUTH_REQUIRED_SCOPES: listOrUndefined(props.ordersApiRequiredScopes),
        ORDERS_READ_SCOPES: props.ordersApiScopes?.read,
        ORDERS_WRITE_SCOPES: props.ordersApiScopes?.write,
        STORE: 'table',
        TABLES_ENDPOINT: props.tablesEndpoint,
        ORDERS_TABLE_NAME: props.tableName ?? 'orders',
        ORDERS_SEED_OWNER_OID: props.ordersSeedOwnerObjectId,
        ORDERS_ADMIN_OIDS: listOrUndefined(props.ordersAdminObjectIds),
        PUBLIC_BASE_URL: props.ordersApiPublicBaseUrl ?? this.ordersApiUrl,
        PUBLIC_REST_BASE_URL: props.ordersApiPublicRestBaseUrl,
        GATEWAY_AUDIENCE: proof?.audience,
        GATEWAY_PRINCIPAL_IDS: proof && proof.principalIds.join(','),
        AZURE_CLIENT_ID: props.ordersApiIdentity.clientId,
        OTEL_SERVICE_NAME: 'orders-api',
      },
    });
    this.ordersApiAppId = orders.id;
    if (props.chatAppImage === undefined) return;
    const chatIdentity = props.chatAppIdentity!;
    this.chatAppAuthority = props.authority ?? `https://login.microsoftonline.com/${props.tenantId}`;
    // Stated, not left to the service's default, so that the stack's spa_scopes output is what MSAL asks for.
    this.spaScopes = SPA_SCOPES;
    const chat = app('ChatApp', {
      name: names.chatApp,
      service: 'chat-app',
      port: CHAT_PORT,
      identity: chatIdentity,
      image: props.chatAppImage,
      scale: chatScale,
      env: {
        PORT: String(CHAT_PORT),
        AUTH_TENANT_ID: props.tenantId,
        AUTH_AUDIENCES: audiences.join(','),
        // No AUTH_ALLOWED_CLIENT_IDS: the Chat App accepts exactly SPA_CLIENT_ID.
        SPA_CLIENT_ID: props.spaClientId,
        AUTH_AUTHORITY: this.chatAppAuthority,
        AUTH_SCOPES: this.spaScopes.join(','),
        FOUNDRY_PROJECT_ENDPOINT: props.foundryProjectEndpoint,
        AGENT_NAME: props.agentName ?? 'orders-assistant',
        AZURE_CLIENT_ID: chatIdentity.clientId,
        OTEL_SERVICE_NAME: 'chat-app',
      },
    });
    this.chatAppAppId = chat.id;
  }
}

/** What the SPA asks Entra for: a token for Azure AI (the Chat App's audience), with every permission consented. */
const SPA_SCOPES = ['https://ai.azure.com/.default'];

function listOrUndefined(values: string[] | undefined): string | undefined {
  return values && values.length > 0 ? values.join(',') : undefined;
}

function scale(owner: string, path: string, options: AppScaleOptions | undefined): Required<AppScaleOptions> {
  const cpu = options?.cpu ?? 0.5;
  if (!(cpu >= 0.25 && cpu <= 4 && Number.isInteger(cpu * 4))) {
    throw new Error(`${owner}: ${path}.cpu is ${cpu}; it must be 0.25 to 4 in steps of 0.25.`);
  }
  const memory = options?.memory ?? `${cpu * 2}Gi`;
  if (!Token.isUnresolved(memory) && memory !== `${cpu * 2}Gi`) {
    throw new Error(`${owner}: ${path}.memory "${memory}" does not fit ${path}.cpu ${cpu}: Consumption needs ${cpu * 2}Gi.`);
  }
  const minReplicas = options?.minReplicas ?? 1;
  const maxReplicas = options?.maxReplicas ?? 3;
  requireRange(owner, `${path}.minReplicas`, minReplicas, 0, 300);
  requireRange(owner, `${path}.maxReplicas`, maxReplicas, 1, 300);
  if (minReplicas > maxReplicas) {
    throw new Error(`${owner}: ${path}.minReplicas (${minReplicas}) is greater than ${path}.maxReplicas (${maxReplicas}).`);
  }
  const concurrentRequests = options?.concurrentRequests ?? 50;
  requireRange(owner, `${path}.concurrentRequests`, concurrentRequests, 1, 10000);
  return { cpu, memory, minReplicas, maxReplicas, concurrentRequests };
}
