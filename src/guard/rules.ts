import { Element, Reference, block, blocks, isLiteral, referencesIn, refersTo, stringsIn } from './model';
import { SecurityRuleSeverity } from './types';

/** A violation before severity and suppressions are applied. */
export interface RawFinding {
  readonly element: Element;
  readonly message: string;
}

/** What a rule sees: the elements it judges, and the whole stack for cross-resource lookups. */
export interface CheckContext {
  /** Elements in the aspect's scope. */
  readonly subjects: Element[];
  /** Every element of the stack. */
  readonly all: Element[];
}

/** A security rule: id, severity, one-line requirement, and its check. */
export interface Rule {
  readonly id: string;
  readonly severity: SecurityRuleSeverity;
  readonly title: string;
  check(ctx: CheckContext): RawFinding[];
}

const { ERROR, WARNING } = SecurityRuleSeverity;

/** A rule judging each element of the given types on its own; `test` returns the problems found. */
function perElement(
  id: string, severity: SecurityRuleSeverity, title: string, types: string[],
  test: (e: Element, ctx: CheckContext) => string | string[] | undefined,
): Rule {
  return {
    id,
    severity,
    title,
    check: (ctx) => ctx.subjects
      .filter((e) => types.includes(e.kind === 'data' ? `data.${e.type}` : e.kind === 'output' ? 'output' : e.type))
      .flatMap((element) => [test(element, ctx) ?? []].flat().map((message) => ({ element, message }))),
  };
}

/** The subjects that are managed resources: existing resources read through data sources are someone else's. */
const resourcesOf = (ctx: CheckContext) => ctx.subjects.filter((e) => e.kind === 'resource');

const isTrue = (v: unknown) => v === true || v === 'true';
const isFalse = (v: unknown) => v === false || v === 'false';

/** azapi resource of an ARM type (any API version). */
function azapiOfType(e: Element, ...armTypes: string[]): boolean {
  if (e.type !== 'azapi_resource' || typeof e.attrs.type !== 'string') return false;
  const armType = e.attrs.type.split('@')[0].toLowerCase();
  return armTypes.some((t) => t.toLowerCase() === armType);
}

// ---------------------------------------------------------------------------------------------
// Container registry

/**
 * The admin user is a shared, non-expiring username and password with push and pull rights on
 * every repository; whoever holds it bypasses Entra ID and leaves no per-identity audit trail.
 * Pulls and builds authenticate with managed identities instead.
 */
const ACR1 = perElement('IPA-ACR1', ERROR, 'Container registry admin user is off', ['azurerm_container_registry'],
  (e) => isTrue(e.attrs.admin_enabled)
    ? 'the registry admin user is enabled; set adminEnabled to false and pull with a managed identity that holds AcrPull.'
    : undefined);

/** Anonymous pull lets anyone on the internet read every image, including code and baked-in configuration. */
const ACR2 = perElement('IPA-ACR2', ERROR, 'Container registry anonymous pull is off', ['azurerm_container_registry'],
  (e) => isTrue(e.attrs.anonymous_pull_enabled)
    ? 'anonymous pull is enabled, so anyone can read the images; set anonymousPullEnabled to false.'
    : undefined);

// ---------------------------------------------------------------------------------------------
// Container Apps

/**
 * Registry credentials stored as app secrets are long-lived passwords copied into every app
 * revision; a managed identity with AcrPull has no secret to leak and is revoked with the role.
 */
const CA1 = perElement('IPA-CA1', ERROR, 'Container Apps pull images with a managed identity', ['azurerm_container_app'],
  (e) => blocks(e.attrs.registry).flatMap((r) => {
    if (r.identity && !r.password_secret_name && !r.username) return [];
    return [`registry ${r.server ?? '(unnamed)'} is pulled with ${r.password_secret_name ? 'a username and password secret' : 'no identity'}; `
      + 'set registry.identity to a user-assigned identity id (or "System") that holds AcrPull, and drop username and passwordSecretName.'];
  }));

/** Plain HTTP ingress exposes bearer tokens and order data to anyone on the path. */
const CA2 = perElement('IPA-CA2', ERROR, 'Container Apps ingress is HTTPS only', ['azurerm_container_app'],
  (e) => isTrue(block(e.attrs.ingress).allow_insecure_connections)
    ? 'ingress accepts plain HTTP (allowInsecureConnections is true), so bearer tokens would travel in clear text; set it to false.'
    : undefined);

/**
 * Terraform attributes that hold credentials. A reference to one in a plain value (an environment
 * variable, an unmarked output) copies the credential to where anyone with read access to the app
 * or to the outputs can read it.
 */
const CREDENTIAL_ATTRIBUTE = /(^|_)(password|secret|access_key|primary_key|secondary_key|shared_key|connection_string|sas|sas_url|private_key|private_key_pem|token)$/;
const VALUE_IS_SECRET = ['azuread_application_password', 'azuread_service_principal_password', 'azurerm_key_vault_secret'];
/** Literal values that carry a credential. */
const CREDENTIAL_LITERAL = /AccountKey=|SharedAccessKey=|SharedAccessSignature=|[?&]sig=|Password=|-----BEGIN [A-Z ]*PRIVATE KEY-----/i;
/** Environment variable names that announce a credential. */
const CREDENTIAL_NAME = /(PASSWORD|PASSWD|SECRET|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|ACCOUNT_?KEY|SAS_?TOKEN)$/i;

/**
 * Whether a reference reads a credential. With `forEnvironment`, the Application Insights
 * connection string is not one: it only permits sending telemetry (Microsoft documents it as not
 * a security token) and the services read it from a plain variable by contract.
 */
function readsCredential(r: Reference, forEnvironment: boolean): boolean {
  if (r.type === 'azurerm_application_insights') {
    return !forEnvironment && ['connection_string', 'instrumentation_key'].includes(r.attribute);
  }
  if (r.attribute === 'result') return r.type === 'random_password';
  if (r.attribute === 'value') return VALUE_IS_SECRET.includes(r.type);
  return CREDENTIAL_ATTRIBUTE.test(r.attribute);
}

function credentialIn(value: unknown, forEnvironment: boolean): string | undefined {
  const ref = referencesIn(value).find((r) => readsCredential(r, forEnvironment));
  if (ref) return `${ref.address}.${ref.attribute}`;
  if (stringsIn(value).some((s) => CREDENTIAL_LITERAL.test(s))) return 'a literal credential';
  return undefined;
}

/**
 * Environment variables are readable by anyone with read access to the app (portal, ARM, revision
 * history) and are logged by tooling; secrets belong in the app's `secret[]` (ideally a Key Vault
 * reference) and reach the container through `secretName`.
 */
const CA3 = perElement('IPA-CA3', ERROR, 'No secrets in plain environment variables', ['azurerm_container_app'],
  (e) => blocks(block(e.attrs.template).container).flatMap((c) => blocks(c.env).flatMap((env) => {
    if (env.value === undefined || env.secret_name) return [];
    const found = credentialIn(env.value, true)
      ?? (CREDENTIAL_NAME.test(env.name ?? '') && String(env.value).length > 0 ? `a value for ${env.name}` : undefined);
    return found
      ? [`container ${c.name} puts ${found} in the plain environment variable ${env.name}; move it to secret[] (a Key Vault reference where possible) and reference it with secretName.`]
      : [];
  })));

/** A secret written as a literal lives in source control and in every synthesized plan. */
const CA4 = perElement('IPA-CA4', WARNING, 'Container App secrets are not hard-coded', ['azurerm_container_app'],
  (e) => blocks(e.attrs.secret)
    .filter((s) => isLiteral(s.value) && s.value.length > 0)
    .map((s) => `secret ${s.name} has a literal value in the code; use keyVaultSecretId with an identity, or a generated value.`));

// ---------------------------------------------------------------------------------------------
// CORS, everywhere it can be configured

const WILDCARD_ORIGIN = /<origin>\s*\*\s*<\/origin>/i;
const POLICY_TYPES = ['azurerm_api_management_policy', 'azurerm_api_management_api_policy', 'azurerm_api_management_api_operation_policy', 'azurerm_api_management_product_policy'];

/**
 * A wildcard origin lets any web page call the API from a signed-in user's browser; the Chat App's
 * SPA is same-origin and needs no CORS at all.
 */
const CORS1 = perElement('IPA-CORS1', ERROR, 'No wildcard CORS origins',
  ['azurerm_container_app', 'azurerm_storage_account', ...POLICY_TYPES],
  (e) => {
    const fix = 'list the exact origins that need cross-origin access (the SPA is same-origin and needs none).';
    if (e.type === 'azurerm_container_app') {
      const origins = blocks(block(block(e.attrs.ingress).cors).allowed_origins);
      return origins.includes('*') ? `ingress CORS allows every origin (*); ${fix}` : undefined;
    }
    if (e.type === 'azurerm_storage_account') {
      const rules = ['blob_properties', 'queue_properties', 'share_properties']
        .flatMap((p) => blocks(block(e.attrs[p]).cors_rule).map((r) => ({ p, r })));
      return rules.filter(({ r }) => blocks(r.allowed_origins).includes('*'))
        .map(({ p }) => `${p} CORS allows every origin (*); ${fix}`);
    }
    return stringsIn(e.attrs.xml_content).some((s) => WILDCARD_ORIGIN.test(s)) ? `the cors policy allows every origin (<origin>*</origin>); ${fix}` : undefined;
  });

// ---------------------------------------------------------------------------------------------
// Storage

/**
 * A storage account's security settings, whether created with azurerm or with azapi
 * (`Microsoft.Storage/storageAccounts`); `undefined` for other elements. Absent values are what
 * the provider sends by default (azurerm) or what the ARM body leaves unset (azapi).
 */
interface StorageView {
  readonly https: unknown;
  readonly tls: unknown;
  readonly nestedPublic: unknown;
  readonly sharedKey: unknown;
  /** Names of the settings, for messages. */
  readonly names: { https: string; tls: string; nestedPublic: string; sharedKey: string };
}
function storageView(e: Element): StorageView | undefined {
  if (e.type === 'azurerm_storage_account') {
    return {
      https: e.attrs.https_traffic_only_enabled ?? true,
      tls: e.attrs.min_tls_version ?? 'TLS1_2',
      nestedPublic: e.attrs.allow_nested_items_to_be_public ?? true,
      sharedKey: e.attrs.shared_access_key_enabled ?? true,
      names: { https: 'httpsTrafficOnlyEnabled', tls: 'minTlsVersion', nestedPublic: 'allowNestedItemsToBePublic', sharedKey: 'sharedAccessKeyEnabled' },
    };
  }
  if (azapiOfType(e, 'Microsoft.Storage/storageAccounts')) {
    const p = e.attrs.body?.properties ?? {};
    return {
      https: p.supportsHttpsTrafficOnly ?? true,
      tls: p.minimumTlsVersion,
      nestedPublic: p.allowBlobPublicAccess,
      sharedKey: p.allowSharedKeyAccess,
      names: { https: 'properties.supportsHttpsTrafficOnly', tls: 'properties.minimumTlsVersion', nestedPublic: 'properties.allowBlobPublicAccess', sharedKey: 'properties.allowSharedKeyAccess' },
    };
  }
  return undefined;
}

/** A rule over storage accounts of either provider. */
function perStorageAccount(id: string, title: string, test: (v: StorageView, e: Element, ctx: CheckContext) => string | undefined): Rule {
  return {
    id,
    severity: ERROR,
    title,
    check: (ctx) => resourcesOf(ctx).flatMap((element) => {
      const view = storageView(element);
      const message = view && test(view, element, ctx);
      return message ? [{ element, message }] : [];
    }),
  };
}

/** Plain HTTP to storage exposes data and authorization headers on the wire. */
const ST1 = perStorageAccount('IPA-ST1', 'Storage accepts HTTPS only',
  (v) => isFalse(v.https) ? `the account accepts plain HTTP; set ${v.names.https} to true.` : undefined);

/** TLS 1.0 and 1.1 have known weaknesses and are retired by Azure; older ARM API versions default to TLS 1.0. */
const ST2 = perStorageAccount('IPA-ST2', 'Storage requires TLS 1.2 or later',
  (v) => ['TLS1_2', 'TLS1_3'].includes(String(v.tls)) ? undefined
    : `${v.names.tls} is ${v.tls ?? 'not set'}; set it to TLS1_2.`);

/**
 * azurerm 4 enables public (anonymous) access for containers unless told otherwise, so one
 * container created with a public access level would publish its blobs to the internet.
 */
const ST3 = perStorageAccount('IPA-ST3', 'Storage forbids public blob access',
  (v) => isFalse(v.nestedPublic) ? undefined
    : `containers may be made public (${v.names.nestedPublic} is not false; azurerm defaults it to true); set it to false.`);

/** A public container serves its blobs to anyone without authentication. */
const ST4 = perElement('IPA-ST4', ERROR, 'Storage containers are private', ['azurerm_storage_container'],
  (e) => ['blob', 'container'].includes(e.attrs.container_access_type)
    ? `containerAccessType is ${e.attrs.container_access_type}, so its blobs are readable anonymously; set it to private.`
    : undefined);

const SAS_SOURCES = ['azurerm_storage_account_blob_container_sas', 'azurerm_storage_account_sas'];
const DATA_HOLDERS = ['azurerm_storage_table', 'azurerm_storage_queue', 'azurerm_storage_share', 'azurerm_storage_data_lake_gen2_filesystem'];
const ARM_DATA_HOLDERS = ['tableServices', 'queueServices', 'fileServices'].map((s) => `microsoft.storage/storageaccounts/${s.toLowerCase()}`);

function holdsApplicationData(account: Element, ctx: CheckContext): boolean {
  return ctx.all.some((o) => {
    if (DATA_HOLDERS.includes(o.type)) {
      return refersTo(o.attrs, account.address) || (isLiteral(account.attrs.name) && o.attrs.storage_account_name === account.attrs.name);
    }
    return o.type === 'azapi_resource' && typeof o.attrs.type === 'string'
      && ARM_DATA_HOLDERS.some((t) => o.attrs.type.toLowerCase().startsWith(t)) && refersTo(o.attrs.parent_id, account.address);
  });
}

/**
 * Account keys grant full control of all data, never expire by themselves and bypass Entra ID and
 * its audit trail. Application data is reached with Entra ID only. The one exception is an account
 * that holds no tables, queues or shares and whose key is used only to sign SAS tokens in this
 * stack (the build-context account: the ACR task reads its context through a short-lived SAS).
 */
const ST5 = perStorageAccount('IPA-ST5', 'Shared-key access is off wherever application data lives', (v, account, ctx) => {
  if (isFalse(v.sharedKey)) return undefined;
  const users = ctx.all.filter((o) => o !== account && referencesIn(o.attrs).some((r) => r.address === account.address
    && /(access_key|connection_string)$/.test(r.attribute)));
  const signsSasOnly = users.length > 0 && users.every((o) => o.kind === 'data' && SAS_SOURCES.includes(o.type));
  const holdsData = holdsApplicationData(account, ctx);
  if (signsSasOnly && !holdsData) return undefined;
  return holdsData
    ? `the account holds application data (tables, queues or shares) and accepts shared keys; set ${v.names.sharedKey} to false and grant data roles to managed identities.`
    : `the account accepts shared keys, but its key signs no SAS in this stack; set ${v.names.sharedKey} to false and use Entra ID.`;
});

/** A SAS usable over HTTP, or one granting write access, widens what a leaked build-context URL exposes. */
const ST6 = perElement('IPA-ST6', ERROR, 'SAS tokens are HTTPS-only and read-only',
  SAS_SOURCES.map((t) => `data.${t}`),
  (e) => {
    const problems: string[] = [];
    if (isFalse(e.attrs.https_only)) problems.push('the SAS is valid over plain HTTP; set httpsOnly to true.');
    const p = block(e.attrs.permissions);
    const writes = ['write', 'delete', 'add', 'create', 'update', 'process', 'tag', 'filter', 'permanent_delete'].filter((k) => isTrue(p[k]));
    if (writes.length) problems.push(`the SAS grants ${writes.join(', ')}; grant read (and list) only.`);
    return problems;
  });

// ---------------------------------------------------------------------------------------------
// Foundry (Cognitive Services)

/**
 * With local auth on, the account's API keys call every model and project without Entra ID, so
 * user identity and role checks are bypassed. azurerm enables it unless told otherwise.
 */
const AI1: Rule = {
  id: 'IPA-AI1',
  severity: ERROR,
  title: 'Cognitive Services accounts have local (key) auth off',
  check: (ctx) => resourcesOf(ctx).flatMap((e) => {
    if (e.type === 'azurerm_cognitive_account' && !isFalse(e.attrs.local_auth_enabled)) {
      return [{ element: e, message: 'key authentication is on (localAuthEnabled is not false; azurerm defaults it to true); set it to false so every call carries an Entra token.' }];
    }
    if (azapiOfType(e, 'Microsoft.CognitiveServices/accounts') && !isTrue(e.attrs.body?.properties?.disableLocalAuth)) {
      return [{ element: e, message: 'key authentication is on (properties.disableLocalAuth is not true); set it to true.' }];
    }
    return [];
  }),
};

const KEY_AUTH_TYPES = ['apikey', 'customkeys', 'accountkey', 'accesskey', 'sas', 'usernamepassword', 'pat', 'serviceprincipal'];

/**
 * A key-based connection stores a shared secret in the project and calls the target as the
 * project, not as the user; connections use Entra ID (`AAD`, `UserEntraToken`, a managed identity
 * or OAuth) instead.
 */
const AI2 = perElement('IPA-AI2', ERROR, 'Foundry connections authenticate with Entra ID, not keys', ['azapi_resource'],
  (e) => {
    if (!azapiOfType(e, 'Microsoft.CognitiveServices/accounts/connections', 'Microsoft.CognitiveServices/accounts/projects/connections',
      'Microsoft.MachineLearningServices/workspaces/connections')) return undefined;
    const props = e.attrs.body?.properties ?? {};
    const authType = String(props.authType ?? '');
    if (KEY_AUTH_TYPES.includes(authType.toLowerCase()) || props.credentials !== undefined) {
      return `the connection uses ${authType || 'stored credentials'}; use authType AAD, UserEntraToken or a managed identity, and no credentials.`;
    }
    return undefined;
  });

// ---------------------------------------------------------------------------------------------
// API Management

const SECRET_HEADERS = [
  'authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'ocp-apim-subscription-key', 'x-functions-key', 'api-key',
  // The gateway's own bearer token to the Orders API.
  'x-gateway-authorization',
];
const DIAGNOSTICS = ['azurerm_api_management_diagnostic', 'azurerm_api_management_api_diagnostic', 'azapi_resource'];
const ARM_DIAGNOSTICS = ['Microsoft.ApiManagement/service/diagnostics', 'Microsoft.ApiManagement/service/apis/diagnostics'];

/** One logged message of a diagnostic: where it is set, and what it logs. */
interface LoggedMessage {
  readonly name: string;
  readonly headers: unknown[];
  readonly bodyBytes: unknown;
  readonly response: boolean;
  /** Where to fix it, for messages. */
  readonly headersAt: string;
  readonly bytesAt: string;
}

/**
 * The four messages of an APIM diagnostic, from azurerm's blocks (`frontend_request.headers_to_log`,
 * `.body_bytes`) or an azapi body (`properties.frontend.request.headers`, `.body.bytes`); none for
 * other elements.
 */
function diagnosticMessages(e: Element): LoggedMessage[] {
  const sides = ['frontend', 'backend'] as const;
  const kinds = ['request', 'response'] as const;
  if (e.type === 'azapi_resource') {
    if (!azapiOfType(e, ...ARM_DIAGNOSTICS)) return [];
    const props = e.attrs.body?.properties ?? {};
    return sides.flatMap((side) => kinds.map((kind) => {
      const message = props[side]?.[kind] ?? {};
      const at = `properties.${side}.${kind}`;
      const headersAt = `${at}.headers`;
      const bytesAt = `${at}.body.bytes`;
      return { name: at, headers: blocks(message.headers), bodyBytes: message.body?.bytes, response: kind === 'response', headersAt, bytesAt };
    }));
  }
  return sides.flatMap((side) => kinds.map((kind) => {
    const name = `${side}_${kind}`;
    const message = block(e.attrs[name]);
    return { name, headers: blocks(message.headers_to_log), bodyBytes: message.body_bytes, response: kind === 'response', headersAt: 'headersToLog', bytesAt: 'bodyBytes' };
  }));
}

/** Logged `Authorization` or `Cookie` headers put every caller's bearer token into Application Insights. */
const APIM1 = perElement('IPA-APIM1', ERROR, 'APIM diagnostics never log credential headers', DIAGNOSTICS,
  (e) => diagnosticMessages(e).flatMap((m) => {
    const logged = m.headers.filter((h) => SECRET_HEADERS.includes(String(h).toLowerCase()));
    return logged.length ? [`${m.name} logs ${logged.join(', ')}; remove them from ${m.headersAt}.`] : [];
  }));

/**
 * Response bodies hold users' orders; logging them copies personal data into telemetry, and body
 * logging buffers responses, which breaks MCP streaming.
 */
const APIM2 = perElement('IPA-APIM2', ERROR, 'APIM diagnostics log 0 response-body bytes', DIAGNOSTICS,
  (e) => diagnosticMessages(e).filter((m) => m.response).flatMap((m) =>
    m.bodyBytes !== undefined && Number(m.bodyBytes) > 0 ? [`${m.name} logs ${m.bodyBytes} body bytes; set ${m.bytesAt} to 0.`] : []));

/** The APIM instance an API, policy or backend belongs to: a referenced address, else the literal name. */
function apimKey(e: Element, attr: 'api_management_name' | 'api_management_id'): string {
  const ref = referencesIn(e.attrs[attr]).find((r) => r.type === 'azurerm_api_management');
  return ref ? ref.address : String(e.attrs[attr] ?? '');
}
function sameApi(policy: Element, api: Element): boolean {
  if (apimKey(policy, 'api_management_name') !== apimKey(api, 'api_management_name')) return false;
  return policy.attrs.api_name === api.attrs.name || refersTo(policy.attrs.api_name, api.address, 'name');
}
const JWT_CHECK = /<validate-jwt\b|<validate-azure-ad-token\b/i;

/**
 * Whether a URL addresses a Container App: it references an app, or an environment's default
 * domain (apps are reached at `<app>.<default domain>`), or its host is on `azurecontainerapps.io`.
 */
function pointsAtContainerApp(url: unknown): boolean {
  return referencesIn(url).some((r) => r.type === 'azurerm_container_app'
    || (r.type === 'azurerm_container_app_environment' && r.attribute === 'default_domain'))
    || stringsIn(url).some((s) => /^https?:\/\/[^/]+\.azurecontainerapps\.io(?=[:/]|$)/i.test(s));
}

/**
 * APIM is defence in depth in front of the services: an API that forwards to a Container App of
 * this stack without `validate-jwt` lets unauthenticated and foreign-audience tokens reach it.
 * Checked by API: its own policy, or a global policy of the same instance, must validate tokens.
 */
const APIM3: Rule = {
  id: 'IPA-APIM3',
  severity: ERROR,
  title: 'Every APIM API in front of a Container App validates JWTs',
  check: (ctx) => {
    const backends = ctx.all.filter((e) => e.type === 'azurerm_api_management_backend' && pointsAtContainerApp(e.attrs.url));
    const policies = ctx.all.filter((e) => POLICY_TYPES.includes(e.type));
    const globalJwt = (api: Element) => policies.some((p) => p.type === 'azurerm_api_management_policy'
      && stringsIn(p.attrs.xml_content).some((s) => JWT_CHECK.test(s))
      && (referencesIn(p.attrs.api_management_id).map((r) => r.address).includes(apimKey(api, 'api_management_name'))
        || ctx.all.some((i) => i.type === 'azurerm_api_management' && refersTo(p.attrs.api_management_id, i.address)
          && i.attrs.name === api.attrs.api_management_name)));
    return resourcesOf(ctx).filter((e) => e.type === 'azurerm_api_management_api').flatMap((api) => {
      const apiPolicies = policies.filter((p) => p.type === 'azurerm_api_management_api_policy' && sameApi(p, api));
      const policyText = apiPolicies.flatMap((p) => stringsIn(p.attrs.xml_content)).join('\n');
      const direct = pointsAtContainerApp(api.attrs.service_url);
      const viaBackend = backends.some((b) => b.attrs.name !== undefined
        && new RegExp(`backend-id\\s*=\\s*["']${String(b.attrs.name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']`).test(policyText));
      if (!direct && !viaBackend) return [];
      if (JWT_CHECK.test(policyText) || globalJwt(api)) return [];
      return [{
        element: api,
        message: 'the API forwards to a Container App but no API or global policy validates the bearer token; add validate-jwt (issuers, audience, allowed client ids) to its policy.',
      }];
    });
  },
};

/** An API reachable over plain HTTP exposes bearer tokens on the wire. */
const APIM4 = perElement('IPA-APIM4', ERROR, 'APIM APIs accept HTTPS only', ['azurerm_api_management_api'],
  (e) => {
    const plain = blocks(e.attrs.protocols).filter((p) => ['http', 'ws'].includes(String(p).toLowerCase()));
    return plain.length ? `the API accepts ${plain.join(' and ')}; set protocols to ["https"].` : undefined;
  });

const WEAK_TLS = ['frontend_ssl30_enabled', 'frontend_tls10_enabled', 'frontend_tls11_enabled', 'backend_ssl30_enabled', 'backend_tls10_enabled',
  'backend_tls11_enabled', 'enable_frontend_ssl30', 'enable_frontend_tls10', 'enable_frontend_tls11', 'enable_backend_ssl30',
  'enable_backend_tls10', 'enable_backend_tls11', 'triple_des_ciphers_enabled'];

/** SSL 3.0, TLS 1.0/1.1 and 3DES are broken or deprecated protocols and ciphers. */
const APIM5 = perElement('IPA-APIM5', ERROR, 'APIM allows no legacy TLS protocols or ciphers', ['azurerm_api_management'],
  (e) => {
    const on = WEAK_TLS.filter((k) => isTrue(block(e.attrs.security)[k]));
    return on.length ? `security enables ${on.join(', ')}; turn them off.` : undefined;
  });

/**
 * Without a managed identity APIM can reach Azure OpenAI (the AI gateway) and Key Vault only with
 * keys; the identity lets policies use `authentication-managed-identity`.
 */
const APIM6 = perElement('IPA-APIM6', WARNING, 'APIM has a managed identity', ['azurerm_api_management'],
  (e) => blocks(e.attrs.identity).length === 0
    ? 'the instance has no managed identity, so backends need keys; add identity { type: "SystemAssigned" }.'
    : undefined);

/**
 * A named value not marked secret is shown in clear text in the portal and to every reader of the
 * instance; one that carries a credential is kept secret, ideally as a Key Vault reference.
 */
const APIM7 = perElement('IPA-APIM7', ERROR, 'APIM named values that carry credentials are secret', ['azurerm_api_management_named_value'],
  (e) => {
    if (isTrue(e.attrs.secret) || e.attrs.value === undefined) return undefined;
    const found = credentialIn(e.attrs.value, false) ?? (CREDENTIAL_NAME.test(String(e.attrs.name ?? '').replace(/-/g, '_')) ? `a value named ${e.attrs.name}` : undefined);
    return found ? `the named value holds ${found} in clear text; set secret to true, or use valueFromKeyVault.` : undefined;
  });

// ---------------------------------------------------------------------------------------------
// Monitoring

/**
 * APIM gateway logs and Foundry audit and request logs are the trail of who called what as whom;
 * without a diagnostic setting to Log Analytics they are not kept anywhere queryable.
 */
const MON1: Rule = {
  id: 'IPA-MON1',
  severity: ERROR,
  title: 'APIM and Cognitive Services accounts send diagnostics to Log Analytics',
  check: (ctx) => {
    const settings = ctx.all.filter((e) => e.type === 'azurerm_monitor_diagnostic_setting'
      && e.attrs.log_analytics_workspace_id && blocks(e.attrs.enabled_log).length > 0);
    return resourcesOf(ctx)
      .filter((e) => e.type === 'azurerm_api_management' || e.type === 'azurerm_cognitive_account' || azapiOfType(e, 'Microsoft.CognitiveServices/accounts'))
      .filter((e) => !settings.some((s) => refersTo(s.attrs.target_resource_id, e.address, 'id')))
      .map((element) => ({
        element,
        message: 'no diagnostic setting sends its logs to Log Analytics; add an azurerm_monitor_diagnostic_setting with targetResourceId = its id, logAnalyticsWorkspaceId and at least one enabledLog.',
      }));
  },
};

// ---------------------------------------------------------------------------------------------
// Identity and access

const PRIVILEGED_ROLES: { [name: string]: string } = {
  'Owner': '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  'Contributor': 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  'User Access Administrator': '18d7d88d-d35e-4fb7-a5e3-78bb402bf525',
  'Role Based Access Control Administrator': 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
};

function privilegedRole(nameOrId: unknown): string | undefined {
  if (typeof nameOrId !== 'string') return undefined;
  return Object.entries(PRIVILEGED_ROLES).find(([name, guid]) => nameOrId.toLowerCase() === name.toLowerCase()
    || nameOrId.toLowerCase().endsWith(guid))?.[0];
}

/**
 * Owner, Contributor and the access-administration roles let a compromised workload change or
 * delete any resource in scope or grant itself more; each identity gets the narrow data-plane role
 * it needs (AcrPull, Storage Table Data Contributor, Cognitive Services User, ...).
 */
const IAM1: Rule = {
  id: 'IPA-IAM1',
  severity: ERROR,
  title: 'Role assignments are least-privilege (no Owner, Contributor or access administration)',
  check: (ctx) => resourcesOf(ctx).flatMap((e) => {
    const role = e.type === 'azurerm_role_assignment' ? privilegedRole(e.attrs.role_definition_name) ?? privilegedRole(e.attrs.role_definition_id)
      : azapiOfType(e, 'Microsoft.Authorization/roleAssignments') ? privilegedRole(e.attrs.body?.properties?.roleDefinitionId) : undefined;
    return role ? [{ element: e, message: `assigns ${role}; assign the narrow built-in role the principal needs instead.` }] : [];
  }),
};

const BROAD_SCOPE = [/^\/$/, /^\/subscriptions\/[^/]+\/?$/i, /\/providers\/Microsoft\.Management\/managementGroups\/[^/]+\/?$/i,
  /^\$\{data\.azurerm_subscription\.[\w-]+\.id\}$/];

/** A role at subscription or management-group scope reaches every resource group, present and future. */
const IAM2 = perElement('IPA-IAM2', ERROR, 'Role assignments are scoped to a resource group or narrower', ['azurerm_role_assignment'],
  (e) => typeof e.attrs.scope === 'string' && BROAD_SCOPE.some((re) => re.test(e.attrs.scope))
    ? `the scope ${e.attrs.scope} is a subscription, management group or root; scope it to the resource the principal uses.`
    : undefined);

// ---------------------------------------------------------------------------------------------
// Entra ID

/**
 * A multi-tenant or personal-account audience lets users from any tenant sign in to the app and
 * obtain tokens for it; the deployment serves one tenant.
 */
const ENTRA1 = perElement('IPA-ENTRA1', ERROR, 'App registrations are single-tenant', ['azuread_application', 'azuread_application_registration'],
  (e) => e.attrs.sign_in_audience !== undefined && e.attrs.sign_in_audience !== 'AzureADMyOrg'
    ? `signInAudience is ${e.attrs.sign_in_audience}; set it to AzureADMyOrg.`
    : undefined);

/** The implicit flow returns access tokens in the URL fragment; SPAs use the authorization code flow with PKCE. */
const ENTRA2 = perElement('IPA-ENTRA2', ERROR, 'App registrations do not issue access tokens through the implicit flow',
  ['azuread_application', 'azuread_application_registration'],
  (e) => isTrue(block(block(e.attrs.web).implicit_grant).access_token_issuance_enabled) || isTrue(e.attrs.implicit_access_token_issuance_enabled)
    ? 'implicit access-token issuance is on; turn it off (MSAL.js uses the code flow with PKCE).'
    : undefined);

/** A client secret is a long-lived password for the app; federated credentials or certificates replace it. */
const ENTRA3 = perElement('IPA-ENTRA3', WARNING, 'App registrations have no client secrets',
  ['azuread_application', 'azuread_application_password', 'azuread_service_principal_password'],
  (e) => e.type !== 'azuread_application' || blocks(e.attrs.password).length > 0
    ? 'a client secret is created; prefer a federated identity credential or a managed identity.'
    : undefined);

// ---------------------------------------------------------------------------------------------
// Outputs

/**
 * Outputs are printed by `terraform apply` and readable by anyone with state read access through
 * `terraform output`; a credential in one must at least be marked sensitive (Terraform refuses
 * some of these, but only at plan time).
 */
const OUT1 = perElement('IPA-OUT1', ERROR, 'No secrets in non-sensitive outputs', ['output'],
  (e) => {
    if (isTrue(e.attrs.sensitive)) return undefined;
    const found = credentialIn(e.attrs.value, false);
    return found ? `the output exposes ${found}; remove it, or mark the output sensitive.` : undefined;
  });

/** Every rule, in documentation order. */
export const RULES: readonly Rule[] = [
  ACR1, ACR2, CA1, CA2, CA3, CA4, CORS1, ST1, ST2, ST3, ST4, ST5, ST6, AI1, AI2,
  APIM1, APIM2, APIM3, APIM4, APIM5, APIM6, APIM7, MON1, IAM1, IAM2, ENTRA1, ENTRA2, ENTRA3, OUT1,
];
