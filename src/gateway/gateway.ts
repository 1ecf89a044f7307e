import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiManagement } from '@cdktf/provider-azurerm/lib/api-management';
import { ApiManagementApi } from '@cdktf/provider-azurerm/lib/api-management-api';
import { ApiManagementApiDiagnostic } from '@cdktf/provider-azurerm/lib/api-management-api-diagnostic';
import { ApiManagementApiOperation } from '@cdktf/provider-azurerm/lib/api-management-api-operation';
import { ApiManagementApiOperationPolicy } from '@cdktf/provider-azurerm/lib/api-management-api-operation-policy';
import { ApiManagementApiPolicy } from '@cdktf/provider-azurerm/lib/api-management-api-policy';
import { ApiManagementDiagnostic } from '@cdktf/provider-azurerm/lib/api-management-diagnostic';
import { ApiManagementLogger } from '@cdktf/provider-azurerm/lib/api-management-logger';
import { ApiManagementNamedValue } from '@cdktf/provider-azurerm/lib/api-management-named-value';
import { DataAzurermApiManagement } from '@cdktf/provider-azurerm/lib/data-azurerm-api-management';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct } from 'constructs';
import { GatewayProofRegistration } from './gateway-proof';
import { aiGatewayPolicy, entraIssuers, GATEWAY_PROOF_HEADER, namedValue, protectedApiPolicy, protectedResourceMetadataPolicy } from './policies';
import { AzapiResource } from '../azapi/resource';
import { ROLE, roleDefinitionId } from '../foundry/roles';
import { checkGatewayValues } from '../internal/azure-values';
import { hyphenatedName } from '../internal/naming';
import { ITerraformDependable } from '../internal/tf';
import { rejectTogether, requireRange } from '../internal/validation';
import { OrdersApiScopes } from '../orders-api-access/scopes';
import { ordersApiScopesSupported } from '../orders-api-access/scopes-supported';
import { Placement } from '../placement';

const V2_SKU = /^(BasicV2|StandardV2|PremiumV2)_([1-9]|[1-2][0-9]|30)$/;

/** Headers the diagnostics may log. Never Authorization, Cookie or Set-Cookie: they carry credentials. */
const REQUEST_HEADERS = ['Content-Type', 'Accept', 'User-Agent', 'X-Forwarded-For', 'X-Request-ID', 'traceparent', 'Mcp-Session-Id', 'Mcp-Protocol-Version',
  // The current MCP revision names the method and the tool (or resource) in headers.
  'Mcp-Method', 'Mcp-Name'];
const RESPONSE_HEADERS = ['Content-Type', 'WWW-Authenticate', 'X-Request-ID', 'Retry-After', 'X-RateLimit-Remaining'];

/** Where the services' build writes the Orders API's OpenAPI document (shipped in the npm package). */
const DEFAULT_OPENAPI_PATH = join(__dirname, '..', '..', 'lib-services', 'dist', 'orders-api', 'openapi.json');

/** API Management options of the stack: create one, bring an existing one, or none. */
export interface GatewayOptions {
  /**
   * Put API Management in front of the Orders API. When false, the agent calls the Orders
   * API's `/mcp` directly (the Orders API validates every token itself).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Name of a new API Management service (global: it is the gateway host name).
   * @default `apim-<baseName>-<uniqueSuffix>`
   */
  readonly name?: string;
  /**
   * SKU of a new service, a v2 tier with its capacity: `BasicV2_1`, `StandardV2_1`...
   * @default 'BasicV2_1'
   */
  readonly skuName?: string;
  /**
   * Publisher name of a new service.
   * @default 'Identity Propagating Agent'
   */
  readonly publisherName?: string;
  /**
   * Publisher e-mail of a new service (receives service notifications).
   * @default 'apim-publisher@example.com'
   */
  readonly publisherEmail?: string;
  /**
   * Add the APIs to this existing API Management service instead of creating one. It needs a
   * system-assigned identity (its principal id is read from the service): that identity calls
   * Azure OpenAI for `/openai` and, with `ordersApiGatewayProof`, gets the gateway's token.
   * @default - a new service is created
   */
  readonly existingName?: string;
  /**
   * Resource group of the existing service.
   * @default - the stack's resource group
   */
  readonly existingResourceGroupName?: string;
  /**
   * Add the `/openai` AI gateway: Azure OpenAI behind `validate-jwt`, the gateway's managed
   * identity, a token limit per caller and token metrics, plus Foundry's `ApiManagement`
   * project connection to it. For your own clients of the account's models: the agent does
   * not use it (its model is the account's own deployment; Foundry's documented route to a
   * model behind API Management is an API-key connection on StandardV2 or PremiumV2).
   * @default false
   */
  readonly aiGateway?: boolean;
  /**
   * Tokens per minute each caller may spend through `/openai` (keyed on the token's `oid`, else the IP); needs `aiGateway`.
   * @default 10000
   */
  readonly tokensPerMinute?: number;
  /**
   * Audiences accepted from callers of the `/openai` AI gateway; needs `aiGateway`.
   * @default ['https://cognitiveservices.azure.com', 'https://ai.azure.com']
   */
  readonly aiGatewayAudiences?: string[];
  /**
   * Make the Orders API unusable around the gateway: an app registration is created as the
   * audience of a gateway token; `/orders-mcp` and `/orders-api` add API Management's managed
   * identity token for it in `X-Gateway-Authorization` (the caller's `Authorization` passes
   * unchanged), and the Orders API (given GATEWAY_AUDIENCE and GATEWAY_PRINCIPAL_IDS) refuses
   * requests without it. When false, the Orders API stays reachable directly and relies on its
   * own token validation (plus `ordersApiAllowedIpRanges`, if set).
   * @default true
   */
  readonly ordersApiGatewayProof?: boolean;
  /**
   * Calls per minute each signed-in user (the token's `oid`) may make through `/orders-mcp` and
   * `/orders-api` together; beyond it API Management answers 429 with `Retry-After`. 0 turns the limit off.
   * @default 120
   */
  readonly perUserCallsPerMinute?: number;
  /**
   * The Orders API's OpenAPI document that `/orders-api` imports (JSON, written by the services' build).
   * @default - `lib-services/dist/orders-api/openapi.json` of this package
   */
  readonly ordersApiOpenApiPath?: string;
}

/** Props of {@link Gateway}. */
export interface GatewayProps extends GatewayOptions {
  /** Where the resources go. */
  readonly placement: Placement;
  /** Entra tenant whose tokens are accepted. */
  readonly tenantId: string;
  /** Base URL of the Orders API, `https://<fqdn>` (its `/mcp` and REST routes sit below it). */
  readonly ordersApiUrl: string;
  /**
   * Accepted token audiences at `/orders-mcp` and `/orders-api`.
   * @default ['https://ai.azure.com']
   */
  readonly audiences?: string[];
  /**
   * Client ids accepted in `azp` / `appid`.
   * @default - any client (app-only tokens are still rejected)
   */
  readonly allowedClientIds?: string[];
  /**
   * Scopes of which the token's `scp` must hold at least one (403 otherwise).
   * @default - none
   */
  readonly requiredScopes?: string[];
  /**
   * The Orders API's read and write scopes: `/orders-api` GETs and MCP calls need either, POST,
   * PUT, DELETE and the `create-order`, `update-order`, `delete-order` tools need the write scope
   * (403 `insufficient_scope` naming it otherwise). They are also the metadata's `scopes_supported`.
   * @default - no per-operation scope check
   */
  readonly ordersApiScopes?: OrdersApiScopes;
  /** Resource id of Application Insights (logger target). */
  readonly applicationInsightsId: string;
  /** Application Insights connection string. */
  readonly applicationInsightsConnectionString: string;
  /**
   * Log Analytics workspace for the service's diagnostic setting (new services only).
   * @default - no diagnostic setting
   */
  readonly logAnalyticsWorkspaceId?: string;
  /**
   * Azure OpenAI endpoint behind `/openai`, `https://<subdomain>.openai.azure.com/openai` (used with `aiGateway`).
   * @default - none; `aiGateway` needs it
   */
  readonly openAiEndpoint?: string;
  /**
   * Cognitive Services account the gateway's identity may call ("Cognitive Services OpenAI User"), with `aiGateway`.
   * @default - no role assignment
   */
  readonly cognitiveAccountId?: string;
}

/**
 * API Management in front of the Orders API: `/orders-mcp` (MCP, streamed unbuffered) and
 * `/orders-api` (REST, imported from the Orders API's OpenAPI document), both behind
 * `validate-jwt`, then add the gateway's own managed identity token for the Orders API to
 * verify (`ordersApiGatewayProof`); RFC 9728 metadata served anonymously; the `/openai` AI
 * gateway; named values, an Application Insights logger and diagnostics that never log credentials.
 */
export class Gateway extends Construct {
  /** Name a new service gets by default. */
  public static defaultName(placement: Placement): string {
    return hyphenatedName('apim', placement.baseName, placement.uniqueSuffix);
  }

  /** Gateway URL of a service, from its name (known before the service exists). */
  public static gatewayUrlOf(name: string): string {
    return `https://${name}.azure-api.net`;
  }

  /** The MCP endpoint behind a gateway URL. */
  public static mcpUrlOf(gatewayUrl: string): string {
    return `${gatewayUrl}/orders-mcp/mcp`;
  }

  /** Name of the API Management service: a reference to the service (or its data source), so whatever uses it waits for the service. */
  public readonly apiManagementName: string;
  /** Resource id of the API Management service. */
  public readonly apiManagementId: string;
  /** Gateway URL, `https://<name>.azure-api.net`. */
  public readonly gatewayUrl: string;
  /** The MCP endpoint, `<gateway>/orders-mcp/mcp`. */
  public readonly mcpUrl: string;
  /** Base URL of the Orders API as clients see it through the gateway (`<gateway>/orders-mcp`), its PUBLIC_BASE_URL. */
  public readonly ordersMcpBaseUrl: string;
  /** The REST API through the gateway, `<gateway>/orders-api`: the public base of the Orders API's REST routes (their metadata and challenges). */
  public readonly ordersRestUrl: string;
  /** RFC 9728 metadata URL of the MCP endpoint (path-inserted form). */
  public readonly mcpMetadataUrl: string;
  /** Principal (object) id of the service's system-assigned identity. */
  public readonly principalId: string;
  /** The `/openai` AI gateway, `<gateway>/openai`; undefined unless `aiGateway` is true. */
  public readonly aiGatewayUrl?: string;
  /** Header in which the gateway sends its own token to the Orders API. */
  public readonly gatewayProofHeader = GATEWAY_PROOF_HEADER;
  /** The gateway token's audience registration; undefined when `ordersApiGatewayProof` is false. */
  public readonly gatewayProofRegistration?: GatewayProofRegistration;
  /** Audience of the gateway's token (the Orders API's GATEWAY_AUDIENCE); undefined when `ordersApiGatewayProof` is false. */
  public readonly gatewayProofAudience?: string;

  constructor(scope: Construct, id: string, props: GatewayProps) {
    super(scope, id);
    const owner = 'Gateway';
    checkGatewayValues(owner, '', props);
    if (props.enabled === false) {
      throw new Error('Gateway: enabled is false: leave the Gateway out instead of creating it.');
    }
    const newServiceSettings = { name: props.name, skuName: props.skuName, publisherName: props.publisherName, publisherEmail: props.publisherEmail };
    for (const [key, value] of Object.entries(newServiceSettings)) {
      rejectTogether(owner, { existingName: props.existingName, [key]: value }, 'settings of a new service do not apply to an existing one.');
    }
    if (props.existingResourceGroupName !== undefined && props.existingName === undefined) {
      throw new Error('Gateway: existingResourceGroupName needs existingName.');
    }
    if (props.skuName !== undefined && !V2_SKU.test(props.skuName)) {
      throw new Error(`Gateway: skuName "${props.skuName}" is not a v2 SKU: use BasicV2_<n>, StandardV2_<n> or PremiumV2_<n>.`);
    }
    requireRange(owner, 'tokensPerMinute', props.tokensPerMinute, 1, 100_000_000);
    requireRange(owner, 'perUserCallsPerMinute', props.perUserCallsPerMinute, 0, 1_000_000);
    if (props.ordersApiScopes !== undefined) {
      const { read, write } = props.ordersApiScopes;
      for (const [key, name] of Object.entries({ read, write })) {
        if (!/^[^\s"\\]+$/.test(name)) throw new Error(`Gateway: ordersApiScopes.${key} "${name}" is not a scope name (no spaces, quotes or backslashes).`);
      }
      if (read === write) throw new Error('Gateway: ordersApiScopes.read and ordersApiScopes.write are the same scope; reading and changing orders need two.');
    }
    const aiGateway = props.aiGateway ?? false;
    if (!aiGateway) {
      for (const [key, value] of Object.entries({ tokensPerMinute: props.tokensPerMinute, aiGatewayAudiences: props.aiGatewayAudiences })) {
        if (value !== undefined) throw new Error(`Gateway: ${key} configures the /openai AI gateway, which is off: set aiGateway: true, or leave ${key} out.`);
      }
    } else if (props.openAiEndpoint === undefined) {
      throw new Error('Gateway: aiGateway needs openAiEndpoint (the Azure OpenAI endpoint behind /openai).');
    }
    const openApi = readOpenApiDocument(props.ordersApiOpenApiPath ?? DEFAULT_OPENAPI_PATH);
    const { placement } = props;

    // The service: new or existing. Children take its name and resource group from these
    // attributes (never from the strings they were made of): Terraform then creates them only
    // after the service, which a v2 service needs (azurerm's create of a child does not wait
    // for a parent that is still provisioning).
    const serviceName = props.existingName ?? props.name ?? Gateway.defaultName(placement);
    let principalId: string;
    let apim: { apiManagementName: string; resourceGroupName: string };
    if (props.existingName !== undefined) {
      const existing = new DataAzurermApiManagement(this, 'Existing', {
        name: props.existingName,
        resourceGroupName: props.existingResourceGroupName ?? placement.resourceGroupName,
      });
      apim = { apiManagementName: existing.name, resourceGroupName: existing.resourceGroupName };
      this.apiManagementId = existing.id;
      principalId = existing.identity.get(0).principalId;
    } else {
      const service = new ApiManagement(this, 'Service', {
        name: serviceName,
        location: placement.location,
        resourceGroupName: placement.resourceGroupName,
        skuName: props.skuName ?? 'BasicV2_1',
        publisherName: props.publisherName ?? 'Identity Propagating Agent',
        publisherEmail: props.publisherEmail ?? 'apim-publisher@example.com',
        identity: { type: 'SystemAssigned' },
        tags: placement.tags,
      });
      apim = { apiManagementName: service.name, resourceGroupName: service.resourceGroupName };
      this.apiManagementId = service.id;
      principalId = service.identity.principalId;
      if (props.logAnalyticsWorkspaceId !== undefined) {
        new MonitorDiagnosticSetting(this, 'ServiceDiagnostics', {
          name: 'to-log-analytics',
          targetResourceId: service.id,
          logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
          // Resource-specific tables (ApiManagementGatewayLogs), not AzureDiagnostics.
          logAnalyticsDestinationType: 'Dedicated',
          enabledLog: [{ category: 'GatewayLogs' }],
          enabledMetric: [{ category: 'AllMetrics' }],
        });
      }
    }
    this.apiManagementName = apim.apiManagementName;
    this.principalId = principalId;
    // The default host name works for new and existing services, and is known before either exists.
    this.gatewayUrl = Gateway.gatewayUrlOf(serviceName);
    this.mcpUrl = Gateway.mcpUrlOf(this.gatewayUrl);
    this.ordersMcpBaseUrl = `${this.gatewayUrl}/orders-mcp`;
    this.ordersRestUrl = `${this.gatewayUrl}/orders-api`;
    this.mcpMetadataUrl = `${this.gatewayUrl}/.well-known/oauth-protected-resource/orders-mcp/mcp`;
    const restMetadataUrl = `${this.gatewayUrl}/.well-known/oauth-protected-resource/orders-api`;

    // Named values the policies reference as {{name}}.
    const values: Array<[string, string, string]> = [
      ['TenantId', 'orders-tenant-id', props.tenantId],
      ['McpResource', 'orders-mcp-resource', this.mcpUrl],
      ['McpMetadataUrl', 'orders-mcp-metadata-url', this.mcpMetadataUrl],
      ['RestResource', 'orders-api-resource', this.ordersRestUrl],
      ['RestMetadataUrl', 'orders-api-metadata-url', restMetadataUrl],
    ];
    // The gateway proof: the audience our managed identity gets a token for (not a secret: a client id).
    const proofEnabled = props.ordersApiGatewayProof ?? true;
    if (proofEnabled) {
      this.gatewayProofRegistration = new GatewayProofRegistration(this, 'GatewayProof', { placement });
      this.gatewayProofAudience = this.gatewayProofRegistration.audience;
      values.push(['GatewayAudience', 'orders-gateway-audience', this.gatewayProofAudience]);
    }
    const namedValues: ITerraformDependable[] = values.map(([logicalId, name, value]) =>
      new ApiManagementNamedValue(this, `NamedValue${logicalId}`, { ...apim, name, displayName: name, value, secret: false }));
    const afterNamedValues = { dependsOn: namedValues };
    // The Orders APIs' policies also wait until a token can be issued for the audience.
    const ordersPolicyDeps = { dependsOn: [...namedValues, ...(this.gatewayProofRegistration?.ready ?? [])] };
    const gatewayProof = proofEnabled ? { resource: namedValue('orders-gateway-audience') } : undefined;

    const audiences = props.audiences ?? ['https://ai.azure.com'];
    const requiredScopes = props.requiredScopes ?? [];
    // A scope as a client asks Entra for it: the resource's identifier, then the name.
    const scopeUri = (name: string) => `${audiences[0]}/${name}`;
    const bearer = {
      tenantId: namedValue('orders-tenant-id'),
      audiences,
      allowedClientIds: props.allowedClientIds ?? [],
      requiredScopes,
      operationScopes: props.ordersApiScopes && { scopes: props.ordersApiScopes, scopeUri },
      callsPerMinute: props.perUserCallsPerMinute ?? 120,
    };
    type ApiExtras = Partial<ConstructorParameters<typeof ApiManagementApi>[2]>;
    const api = (logicalId: string, name: string, displayName: string, path: string, extra: ApiExtras = {}) =>
      new ApiManagementApi(this, logicalId, { ...apim, name, displayName, path, revision: '1', protocols: ['https'], subscriptionRequired: false, ...extra });
    const operation = (logicalId: string, apiName: ApiManagementApi, operationId: string, method: string, urlTemplate: string) =>
      new ApiManagementApiOperation(this, logicalId, { ...apim, apiName: apiName.name, operationId, displayName: `${method} ${urlTemplate}`, method, urlTemplate });

    // /orders-mcp: MCP Streamable HTTP, passed through unbuffered.
    const mcpApi = api('OrdersMcpApi', 'orders-mcp', 'Orders MCP server', 'orders-mcp', { serviceUrl: props.ordersApiUrl, description: 'The Orders API MCP endpoint; every call carries the user\'s token.' });
    for (const method of ['POST', 'GET', 'DELETE']) operation(`OrdersMcp${method}`, mcpApi, `mcp-${method.toLowerCase()}`, method, '/mcp');
    new ApiManagementApiPolicy(this, 'OrdersMcpPolicy', {
      ...apim,
      apiName: mcpApi.name,
      xmlContent: protectedApiPolicy({ ...bearer, resourceMetadataUrl: namedValue('orders-mcp-metadata-url'), streaming: true, gatewayProof }),
      ...ordersPolicyDeps,
    });

    // /orders-api: REST, imported from the document generated from the Orders API's schemas.
    const restApi = api('OrdersRestApi', 'orders-api', 'Orders API', 'orders-api', {
      serviceUrl: props.ordersApiUrl,
      import: { contentFormat: 'openapi+json', contentValue: openApi },
    });
    new ApiManagementApiPolicy(this, 'OrdersRestPolicy', {
      ...apim,
      apiName: restApi.name,
      xmlContent: protectedApiPolicy({ ...bearer, resourceMetadataUrl: namedValue('orders-api-metadata-url'), streaming: false, gatewayProof }),
      ...ordersPolicyDeps,
    });

    // RFC 9728 metadata, anonymous, answered by the gateway itself.
    const authorizationServers = entraIssuers(namedValue('orders-tenant-id'));
    // What the Orders API lists itself, so the gateway's documents and the service's agree.
    const scopesSupported = ordersApiScopesSupported(audiences, requiredScopes, props.ordersApiScopes);
    const mcpMetadata = protectedResourceMetadataPolicy({ resource: namedValue('orders-mcp-resource'), authorizationServers, scopesSupported });
    const restMetadata = protectedResourceMetadataPolicy({ resource: namedValue('orders-api-resource'), authorizationServers, scopesSupported });
    // The RFC's form: the well-known segment inserted between host and path.
    const wellKnown = api('WellKnownApi', 'oauth-protected-resource', 'Protected resource metadata (RFC 9728)', '.well-known/oauth-protected-resource');
    const metadataOps: Array<[string, string, string, string]> = [
      ['WellKnownOrdersMcp', 'orders-mcp-mcp', '/orders-mcp/mcp', mcpMetadata],
      ['WellKnownOrdersApi', 'orders-api', '/orders-api', restMetadata],
    ];
    for (const [logicalId, operationId, urlTemplate, xml] of metadataOps) {
      const op = operation(logicalId, wellKnown, operationId, 'GET', urlTemplate);
      new ApiManagementApiOperationPolicy(this, `${logicalId}Policy`, {
        ...apim, apiName: wellKnown.name, operationId: op.operationId, xmlContent: xml, ...afterNamedValues,
      });
    }
    // The original's path-appended form, which existing clients follow from its challenge.
    const appended = api('OrdersMcpWellKnownApi', 'orders-mcp-well-known', 'Orders MCP protected resource metadata', 'orders-mcp/.well-known');
    const appendedOp = operation('OrdersMcpWellKnownGet', appended, 'oauth-protected-resource', 'GET', '/oauth-protected-resource');
    new ApiManagementApiOperationPolicy(this, 'OrdersMcpWellKnownPolicy', {
      ...apim, apiName: appended.name, operationId: appendedOp.operationId, xmlContent: mcpMetadata, ...afterNamedValues,
    });

    // The APIs whose diagnostics azurerm manages (the /openai one needs azapi, below).
    const gatewayApis = [mcpApi, restApi, wellKnown, appended];

    // /openai: the AI gateway to the account's models with the gateway's managed identity.
    let openAiApi: ApiManagementApi | undefined;
    if (aiGateway && props.openAiEndpoint !== undefined) {
      this.aiGatewayUrl = `${this.gatewayUrl}/openai`;
      openAiApi = api('AiGatewayApi', 'azure-openai', 'Azure OpenAI (AI gateway)', 'openai', { serviceUrl: props.openAiEndpoint });
      for (const method of ['POST', 'GET']) operation(`AiGateway${method}`, openAiApi, `all-${method.toLowerCase()}`, method, '/*');
      new ApiManagementApiPolicy(this, 'AiGatewayPolicy', {
        ...apim,
        apiName: openAiApi.name,
        xmlContent: aiGatewayPolicy({
          caller: { tenantId: namedValue('orders-tenant-id'), audiences: props.aiGatewayAudiences ?? ['https://cognitiveservices.azure.com', 'https://ai.azure.com'], allowedClientIds: [], requiredScopes: [] },
          tokensPerMinute: props.tokensPerMinute ?? 10000,
          metricNamespace: 'ai-gateway',
        }),
        ...afterNamedValues,
      });
    }
    if (aiGateway && props.cognitiveAccountId !== undefined) {
      new RoleAssignment(this, 'CognitiveServicesOpenAiUser', {
        scope: props.cognitiveAccountId,
        roleDefinitionId: roleDefinitionId(placement.resourceGroupId, ROLE.cognitiveServicesOpenAiUser),
        principalId,
        principalType: 'ServicePrincipal',
        description: 'API Management calls Azure OpenAI for the /openai AI gateway.',
      });
    }

    // Application Insights logger and diagnostics: no credentials, no response bodies (MCP streaming).
    const logger = new ApiManagementLogger(this, 'Logger', {
      ...apim,
      name: 'appinsights-logger',
      resourceId: props.applicationInsightsId,
      applicationInsights: { connectionString: props.applicationInsightsConnectionString },
    });
    const diagnostic = {
      ...apim,
      identifier: 'applicationinsights',
      apiManagementLoggerId: logger.id,
      samplingPercentage: 100,
      alwaysLogErrors: true,
      logClientIp: true,
      verbosity: 'information',
      httpCorrelationProtocol: 'W3C',
      frontendRequest: { bodyBytes: 0, headersToLog: REQUEST_HEADERS },
      frontendResponse: { bodyBytes: 0, headersToLog: RESPONSE_HEADERS },
      backendRequest: { bodyBytes: 0, headersToLog: REQUEST_HEADERS },
      backendResponse: { bodyBytes: 0, headersToLog: RESPONSE_HEADERS },
    };
    if (props.existingName === undefined) {
      // All-APIs scope on a service of our own.
      new ApiManagementDiagnostic(this, 'Diagnostic', diagnostic);
    } else {
      // Someone else's service: diagnose only our APIs.
      for (const a of gatewayApis) new ApiManagementApiDiagnostic(this, `${a.node.id}Diagnostic`, { ...diagnostic, apiName: a.name });
    }
    if (openAiApi) {
      // `llm-emit-token-metric` emits only where the Application Insights diagnostic has
      // `metrics: true`, which azurerm 4.55's diagnostic resources cannot set: the /openai API's
      // diagnostic is an ARM body (same logging as the others, plus metrics).
      new AzapiResource(this, 'AiGatewayDiagnostic', {
        type: 'Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01',
        name: 'applicationinsights',
        parentId: `${this.apiManagementId}/apis/${openAiApi.name}`,
        schemaValidationEnabled: true,
        body: { properties: { ...armDiagnosticProperties(logger.id), metrics: true } },
      });
    }
  }
}

/** The diagnostic settings above in the ARM shape (`Microsoft.ApiManagement/service/apis/diagnostics` 2024-05-01). */
function armDiagnosticProperties(loggerId: string): { [key: string]: unknown } {
  const message = (headers: string[]) => ({ headers, body: { bytes: 0 } });
  return {
    loggerId,
    alwaysLog: 'allErrors',
    logClientIp: true,
    verbosity: 'information',
    httpCorrelationProtocol: 'W3C',
    sampling: { samplingType: 'fixed', percentage: 100 },
    frontend: { request: message(REQUEST_HEADERS), response: message(RESPONSE_HEADERS) },
    backend: { request: message(REQUEST_HEADERS), response: message(RESPONSE_HEADERS) },
  };
}

function readOpenApiDocument(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`Gateway: the Orders API OpenAPI document ${path} does not exist: run \`npm run build:services\` (it writes lib-services/dist/orders-api/openapi.json), or set ordersApiOpenApiPath.`);
  }
  const text = readFileSync(path, 'utf8');
  let document: any;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw new Error(`Gateway: ${path} is not JSON: ${(e as Error).message}`);
  }
  if (typeof document?.openapi !== 'string' || typeof document?.paths !== 'object') {
    throw new Error(`Gateway: ${path} is not an OpenAPI document (no "openapi" version or "paths").`);
  }
  // `servers` would name a host APIM does not serve this API at (a document fetched from the
  // Orders API lists its public base); the backend is `service_url` and clients use `/orders-api`.
  const imported = 'servers' in document ? JSON.stringify({ ...document, servers: undefined }) : text;
  // Literal text for Terraform: `${` and `%{` would otherwise start an interpolation or a directive.
  return imported.replace(/\$\{/g, '$$${').replace(/%\{/g, '%%{');
}
