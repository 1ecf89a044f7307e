import { Application } from '@cdktf/provider-azuread/lib/application';
import { ApplicationPasswordA } from '@cdktf/provider-azuread/lib/application-password';
import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { ApiManagement, ApiManagementConfig } from '@cdktf/provider-azurerm/lib/api-management';
import { ApiManagementApi, ApiManagementApiConfig } from '@cdktf/provider-azurerm/lib/api-management-api';
import { ApiManagementApiDiagnostic } from '@cdktf/provider-azurerm/lib/api-management-api-diagnostic';
import { ApiManagementApiPolicy } from '@cdktf/provider-azurerm/lib/api-management-api-policy';
import { ApiManagementBackend } from '@cdktf/provider-azurerm/lib/api-management-backend';
import { ApiManagementDiagnostic, ApiManagementDiagnosticConfig } from '@cdktf/provider-azurerm/lib/api-management-diagnostic';
import { ApiManagementNamedValue } from '@cdktf/provider-azurerm/lib/api-management-named-value';
import { ApiManagementPolicy } from '@cdktf/provider-azurerm/lib/api-management-policy';
import { ApplicationInsights } from '@cdktf/provider-azurerm/lib/application-insights';
import { CognitiveAccount, CognitiveAccountConfig } from '@cdktf/provider-azurerm/lib/cognitive-account';
import { ContainerApp, ContainerAppConfig } from '@cdktf/provider-azurerm/lib/container-app';
import { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment';
import { ContainerRegistry, ContainerRegistryConfig } from '@cdktf/provider-azurerm/lib/container-registry';
import { DataAzurermApiManagement } from '@cdktf/provider-azurerm/lib/data-azurerm-api-management';
import { DataAzurermCognitiveAccount } from '@cdktf/provider-azurerm/lib/data-azurerm-cognitive-account';
import { DataAzurermStorageAccount } from '@cdktf/provider-azurerm/lib/data-azurerm-storage-account';
import { DataAzurermStorageAccountBlobContainerSas, DataAzurermStorageAccountBlobContainerSasConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-storage-account-blob-container-sas';
import { DataAzurermSubscription } from '@cdktf/provider-azurerm/lib/data-azurerm-subscription';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { RoleAssignment, RoleAssignmentConfig } from '@cdktf/provider-azurerm/lib/role-assignment';
import { StorageAccount, StorageAccountConfig } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { StorageTable } from '@cdktf/provider-azurerm/lib/storage-table';
import { Aspects, TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { AzapiProvider, AzapiResource, SecurityChecks, SecurityFinding, SecurityRuleSeverity, SecuritySuppressions } from '../../src';

// Each rule: a stack of raw provider resources that makes it fire (and nothing else), and the
// compliant variant, which must synthesize with no finding at all.

const RG = 'rg-test';
const LOC = 'swedencentral';
const LAW = '/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.OperationalInsights/workspaces/law';

function newStack(): TerraformStack {
  const stack = new TerraformStack(Testing.app(), 'test');
  new AzurermProvider(stack, 'azurerm', { features: [{}] });
  new AzureadProvider(stack, 'azuread', {});
  new AzapiProvider(stack, 'azapi', {});
  return stack;
}

/** Synthesizes with validation and returns every finding (errors fail synth, so they are caught). */
function findingsOf(build: (stack: TerraformStack) => void, props = {}): { findings: SecurityFinding[]; error?: string } {
  const stack = newStack();
  const checks = new SecurityChecks(props);
  Aspects.of(stack).add(checks);
  build(stack);
  try {
    Testing.synth(stack, true);
    return { findings: checks.findings };
  } catch (e) {
    return { findings: checks.findings, error: String(e) };
  }
}

const ids = (build: (stack: TerraformStack) => void) => findingsOf(build).findings.map((f) => f.ruleId);

// --- compliant building blocks -------------------------------------------------------------

const registry = (s: TerraformStack, over: Partial<ContainerRegistryConfig> = {}) =>
  new ContainerRegistry(s, 'Registry', { name: 'acrtest', location: LOC, resourceGroupName: RG, sku: 'Basic', adminEnabled: false, ...over });

const storage = (s: TerraformStack, over: Partial<StorageAccountConfig> = {}, id = 'Storage') =>
  new StorageAccount(s, id, {
    name: `st${id.toLowerCase()}`,
    location: LOC,
    resourceGroupName: RG,
    accountTier: 'Standard',
    accountReplicationType: 'LRS',
    allowNestedItemsToBePublic: false,
    sharedAccessKeyEnabled: false,
    ...over,
  });

const app = (s: TerraformStack, over: Partial<ContainerAppConfig> = {}, id = 'App') =>
  new ContainerApp(s, id, {
    name: `ca-${id.toLowerCase()}`,
    resourceGroupName: RG,
    containerAppEnvironmentId: '/cae',
    revisionMode: 'Single',
    identity: { type: 'UserAssigned', identityIds: ['/uami'] },
    registry: [{ server: 'acrtest.azurecr.io', identity: '/uami' }],
    ingress: { targetPort: 8000, externalEnabled: true, trafficWeight: [{ latestRevision: true, percentage: 100 }] },
    template: { container: [{ name: 'main', image: 'acrtest.azurecr.io/orders:1', cpu: 0.25, memory: '0.5Gi', env: [{ name: 'PORT', value: '8000' }] }] },
    ...over,
  });

const diagnosticSetting = (s: TerraformStack, id: string, targetResourceId: string) =>
  new MonitorDiagnosticSetting(s, id, { name: 'to-law', targetResourceId, logAnalyticsWorkspaceId: LAW, enabledLog: [{ categoryGroup: 'allLogs' }] });

const cognitive = (s: TerraformStack, over: Partial<CognitiveAccountConfig> = {}, withDiagnostics = true) => {
  const account = new CognitiveAccount(s, 'Foundry', {
    name: 'aif-test', location: LOC, resourceGroupName: RG, kind: 'AIServices', skuName: 'S0', localAuthEnabled: false, customSubdomainName: 'aif-test', ...over,
  });
  if (withDiagnostics) diagnosticSetting(s, 'FoundryDiagnostics', account.id);
  return account;
};

const apim = (s: TerraformStack, over: Partial<ApiManagementConfig> = {}, withDiagnostics = true) => {
  const instance = new ApiManagement(s, 'Apim', {
    name: 'apim-test',
    location: LOC,
    resourceGroupName: RG,
    publisherName: 'p',
    publisherEmail: 'p@example.com',
    skuName: 'BasicV2_1',
    identity: { type: 'SystemAssigned' },
    ...over,
  });
  if (withDiagnostics) diagnosticSetting(s, 'ApimDiagnostics', instance.id);
  return instance;
};

const JWT_POLICY = '<policies><inbound><base /><validate-jwt header-name="Authorization"><audiences><audience>https://ai.azure.com</audience></audiences></validate-jwt></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>';
const PLAIN_POLICY = '<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>';

/** APIM with an API in front of a Container App; the policy text decides APIM3. */
function gateway(s: TerraformStack, opts: { policy?: string; global?: string; viaBackend?: boolean; api?: Partial<ApiManagementApiConfig> } = {}) {
  const instance = apim(s);
  const orders = app(s, {}, 'Orders');
  const backend = opts.viaBackend
    ? new ApiManagementBackend(s, 'OrdersBackend', { name: 'orders-backend', apiManagementName: instance.name, resourceGroupName: RG, protocol: 'http', url: `https://${orders.ingress.fqdn}` })
    : undefined;
  const api = new ApiManagementApi(s, 'OrdersMcp', {
    name: 'orders-mcp',
    apiManagementName: instance.name,
    resourceGroupName: RG,
    revision: '1',
    path: 'orders-mcp',
    protocols: ['https'],
    serviceUrl: backend ? undefined : `https://${orders.ingress.fqdn}`,
    ...opts.api,
  });
  if (opts.policy !== undefined) {
    new ApiManagementApiPolicy(s, 'OrdersMcpPolicy', { apiManagementName: instance.name, apiName: api.name, resourceGroupName: RG, xmlContent: opts.policy });
  }
  if (opts.global !== undefined) new ApiManagementPolicy(s, 'GlobalPolicy', { apiManagementId: instance.id, xmlContent: opts.global });
  return { instance, api };
}

const apimDiagnostic = (s: TerraformStack, over: Partial<ApiManagementDiagnosticConfig> = {}) => {
  const instance = apim(s);
  new ApiManagementDiagnostic(s, 'Diagnostic', {
    identifier: 'applicationinsights',
    apiManagementName: instance.name,
    resourceGroupName: RG,
    apiManagementLoggerId: '/logger',
    frontendRequest: { headersToLog: ['traceparent'], bodyBytes: 0 },
    frontendResponse: { bodyBytes: 0 },
    backendResponse: { bodyBytes: 0 },
    ...over,
  });
};

const role = (s: TerraformStack, over: Partial<RoleAssignmentConfig> = {}) =>
  new RoleAssignment(s, 'Role', { scope: '/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.Storage/storageAccounts/st', principalId: 'p', roleDefinitionName: 'Storage Table Data Contributor', ...over });

const sas = (s: TerraformStack, account: StorageAccount, over: Partial<DataAzurermStorageAccountBlobContainerSasConfig> = {}) =>
  new DataAzurermStorageAccountBlobContainerSas(s, 'ContextSas', {
    connectionString: account.primaryConnectionString,
    containerName: 'contexts',
    start: '2026-01-01T00:00:00Z',
    expiry: '2026-01-01T02:00:00Z',
    permissions: { read: true, list: true, add: false, create: false, write: false, delete: false },
    ...over,
  });

const connection = (s: TerraformStack, properties: { [k: string]: any }) =>
  new AzapiResource(s, 'Connection', {
    type: 'Microsoft.CognitiveServices/accounts/projects/connections@2025-04-01-preview',
    name: 'mcp',
    parentId: '/project',
    body: { properties: { category: 'RemoteTool', target: 'https://apim/orders-mcp/mcp', ...properties } },
    schemaValidationEnabled: false,
  });

// --- one firing and one passing stack per rule ----------------------------------------------

const FULL = { latestRevision: true, percentage: 100 };

interface Case { readonly rule: string; readonly fires: (s: TerraformStack) => void; readonly passes: (s: TerraformStack) => void }

const cases: Case[] = [
  { rule: 'IPA-ACR1', fires: (s) => registry(s, { adminEnabled: true }), passes: (s) => registry(s) },
  { rule: 'IPA-ACR2', fires: (s) => registry(s, { sku: 'Standard', anonymousPullEnabled: true }), passes: (s) => registry(s, { sku: 'Standard', anonymousPullEnabled: false }) },
  {
    rule: 'IPA-CA1',
    fires: (s) => app(s, {
      registry: [{ server: 'acrtest.azurecr.io', username: 'acrtest', passwordSecretName: 'acr-password' }],
      secret: [{ name: 'acr-password', value: registry(s).adminPassword }],
    }),
    passes: (s) => app(s),
  },
  {
    rule: 'IPA-CA2',
    fires: (s) => app(s, { ingress: { targetPort: 8000, allowInsecureConnections: true, trafficWeight: [FULL] } }),
    passes: (s) => app(s, { ingress: { targetPort: 8000, allowInsecureConnections: false, trafficWeight: [FULL] } }),
  },
  {
    rule: 'IPA-CA3',
    fires: (s) => app(s, {
      template: { container: [{ name: 'main', image: 'i', cpu: 0.25, memory: '0.5Gi', env: [{ name: 'OPENAI_ENDPOINT_AUTH', value: cognitive(s).primaryAccessKey }] }] },
    }),
    passes: (s) => {
      const insights = new ApplicationInsights(s, 'Insights', { name: 'appi', location: LOC, resourceGroupName: RG, applicationType: 'web' });
      app(s, {
        template: {
          container: [{
            name: 'main',
            image: 'i',
            cpu: 0.25,
            memory: '0.5Gi',
            env: [{ name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.connectionString }, { name: 'DB_PASSWORD', secretName: 'db-password' }],
          }],
        },
        secret: [{ name: 'db-password', keyVaultSecretId: 'https://kv.vault.azure.net/secrets/db', identity: '/uami' }],
      });
    },
  },
  {
    rule: 'IPA-CA4',
    fires: (s) => app(s, { secret: [{ name: 'api-key', value: 'hunter2' }] }),
    passes: (s) => app(s, { secret: [{ name: 'api-key', keyVaultSecretId: 'https://kv.vault.azure.net/secrets/k', identity: '/uami' }] }),
  },
  {
    rule: 'IPA-CORS1',
    fires: (s) => app(s, { ingress: { targetPort: 8080, trafficWeight: [{ latestRevision: true, percentage: 100 }], cors: { allowedOrigins: ['*'] } } }),
    passes: (s) => app(s, { ingress: { targetPort: 8080, trafficWeight: [{ latestRevision: true, percentage: 100 }], cors: { allowedOrigins: ['https://chat.example.com'] } } }),
  },
  { rule: 'IPA-ST1', fires: (s) => storage(s, { httpsTrafficOnlyEnabled: false }), passes: (s) => storage(s, { httpsTrafficOnlyEnabled: true }) },
  { rule: 'IPA-ST2', fires: (s) => storage(s, { minTlsVersion: 'TLS1_1' }), passes: (s) => storage(s, { minTlsVersion: 'TLS1_2' }) },
  { rule: 'IPA-ST3', fires: (s) => storage(s, { allowNestedItemsToBePublic: undefined }), passes: (s) => storage(s) },
  {
    rule: 'IPA-ST4',
    fires: (s) => new StorageContainer(s, 'Container', { name: 'c', storageAccountId: storage(s).id, containerAccessType: 'blob' }),
    passes: (s) => new StorageContainer(s, 'Container', { name: 'c', storageAccountId: storage(s).id, containerAccessType: 'private' }),
  },
  {
    rule: 'IPA-ST5',
    // Shared keys on the account that holds the orders table.
    fires: (s) => {
      const st = storage(s, { sharedAccessKeyEnabled: true });
      new StorageTable(s, 'Orders', { name: 'orders', storageAccountName: st.name });
    },
    // The build-context account: its key only signs the SAS the image build reads through.
    passes: (s) => {
      sas(s, storage(s, { sharedAccessKeyEnabled: true }, 'Contexts'));
      new StorageTable(s, 'Orders', { name: 'orders', storageAccountName: storage(s).name });
    },
  },
  {
    rule: 'IPA-ST6',
    fires: (s) => sas(s, storage(s, { sharedAccessKeyEnabled: true }), { httpsOnly: false }),
    passes: (s) => sas(s, storage(s, { sharedAccessKeyEnabled: true }), { httpsOnly: true }),
  },
  { rule: 'IPA-AI1', fires: (s) => cognitive(s, { localAuthEnabled: undefined }), passes: (s) => cognitive(s) },
  {
    rule: 'IPA-AI2',
    fires: (s) => connection(s, { authType: 'ApiKey', credentials: { key: 'k' } }),
    passes: (s) => connection(s, { authType: 'UserEntraToken', audience: 'https://ai.azure.com' }),
  },
  {
    rule: 'IPA-APIM1',
    fires: (s) => apimDiagnostic(s, { frontendRequest: { headersToLog: ['Authorization', 'traceparent'], bodyBytes: 0 } }),
    passes: (s) => apimDiagnostic(s),
  },
  {
    rule: 'IPA-APIM2',
    fires: (s) => apimDiagnostic(s, { backendResponse: { bodyBytes: 8192 } }),
    passes: (s) => apimDiagnostic(s, { backendResponse: { bodyBytes: 0 } }),
  },
  { rule: 'IPA-APIM3', fires: (s) => gateway(s, { policy: PLAIN_POLICY }), passes: (s) => gateway(s, { policy: JWT_POLICY }) },
  {
    rule: 'IPA-APIM4',
    fires: (s) => gateway(s, { policy: JWT_POLICY, api: { protocols: ['http', 'https'] } }),
    passes: (s) => gateway(s, { policy: JWT_POLICY }),
  },
  {
    rule: 'IPA-APIM5',
    fires: (s) => apim(s, { security: { frontendTls10Enabled: true } }),
    passes: (s) => apim(s, { security: { frontendTls10Enabled: false, backendTls11Enabled: false } }),
  },
  { rule: 'IPA-APIM6', fires: (s) => apim(s, { identity: undefined }), passes: (s) => apim(s) },
  {
    rule: 'IPA-APIM7',
    fires: (s) => new ApiManagementNamedValue(s, 'Key', { name: 'OpenAiKey', displayName: 'OpenAiKey', apiManagementName: apim(s).name, resourceGroupName: RG, value: cognitive(s).primaryAccessKey }),
    passes: (s) => new ApiManagementNamedValue(s, 'Key', {
      name: 'OpenAiKey', displayName: 'OpenAiKey', apiManagementName: apim(s).name, resourceGroupName: RG, value: cognitive(s).primaryAccessKey, secret: true,
    }),
  },
  { rule: 'IPA-MON1', fires: (s) => cognitive(s, {}, false), passes: (s) => cognitive(s) },
  {
    rule: 'IPA-IAM1',
    fires: (s) => role(s, { roleDefinitionName: 'Contributor' }),
    passes: (s) => role(s, { roleDefinitionName: 'AcrPull' }),
  },
  {
    rule: 'IPA-IAM2',
    fires: (s) => role(s, { scope: new DataAzurermSubscription(s, 'Subscription').id }),
    passes: (s) => role(s),
  },
  {
    rule: 'IPA-ENTRA1',
    fires: (s) => new Application(s, 'Spa', { displayName: 'spa', signInAudience: 'AzureADMultipleOrgs' }),
    passes: (s) => new Application(s, 'Spa', { displayName: 'spa', signInAudience: 'AzureADMyOrg' }),
  },
  {
    rule: 'IPA-ENTRA2',
    fires: (s) => new Application(s, 'Spa', { displayName: 'spa', web: { implicitGrant: { accessTokenIssuanceEnabled: true } } }),
    passes: (s) => new Application(s, 'Spa', { displayName: 'spa', web: { implicitGrant: { accessTokenIssuanceEnabled: false } } }),
  },
  {
    rule: 'IPA-ENTRA3',
    fires: (s) => new ApplicationPasswordA(s, 'Secret', { applicationId: new Application(s, 'Api', { displayName: 'api' }).id }),
    passes: (s) => new Application(s, 'Api', { displayName: 'api' }),
  },
  {
    rule: 'IPA-OUT1',
    fires: (s) => new TerraformOutput(s, 'key', { value: cognitive(s).primaryAccessKey }),
    passes: (s) => new TerraformOutput(s, 'key', { value: cognitive(s).primaryAccessKey, sensitive: true }),
  },
];

describe('every rule fires on its stack and passes on the compliant one', () => {
  test('every rule has a case', () => {
    expect(cases.map((c) => c.rule).sort()).toEqual(SecurityChecks.rules().map((r) => r.id).sort());
  });

  test.each(cases)('$rule', ({ rule, fires, passes }) => {
    expect(ids(fires)).toEqual([rule]);
    expect(ids(passes)).toEqual([]);
  });
});

describe('rule details', () => {
  test('CA1 also fires for a registry without an identity', () => {
    expect(ids((s) => app(s, { registry: [{ server: 'acrtest.azurecr.io' }] }))).toEqual(['IPA-CA1']);
  });

  test('CA3 catches credential-named variables and literal connection strings, not ordinary configuration', () => {
    const env = (e: { name: string; value: string }[]) => (s: TerraformStack) =>
      app(s, { template: { container: [{ name: 'main', image: 'i', cpu: 0.25, memory: '0.5Gi', env: e }] } });
    expect(ids(env([{ name: 'OPENAI_API_KEY', value: 'abc' }]))).toEqual(['IPA-CA3']);
    expect(ids(env([{ name: 'STORE', value: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=xyz==' }]))).toEqual(['IPA-CA3']);
    expect(ids(env([
      { name: 'AUTH_TENANT_ID', value: 't' }, { name: 'SPA_CLIENT_ID', value: 'c' }, { name: 'AUTH_REQUIRED_SCOPES', value: 'user_impersonation' },
      { name: 'TABLES_ENDPOINT', value: 'https://st.table.core.windows.net' }, { name: 'STORE', value: 'table' },
    ]))).toEqual([]);
  });

  test('OUT1: the Application Insights connection string is a secret in outputs (Terraform marks it sensitive)', () => {
    expect(ids((s) => new TerraformOutput(s, 'cs', {
      value: new ApplicationInsights(s, 'Insights', { name: 'appi', location: LOC, resourceGroupName: RG, applicationType: 'web' }).connectionString,
    }))).toEqual(['IPA-OUT1']);
  });

  test('CORS1 covers storage CORS rules and APIM cors policies', () => {
    expect(ids((s) => storage(s, { blobProperties: { corsRule: [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: ['*'], exposedHeaders: ['*'], maxAgeInSeconds: 60 }] } })))
      .toEqual(['IPA-CORS1']);
    expect(ids((s) => gateway(s, { policy: JWT_POLICY.replace('<base />', '<base /><cors><allowed-origins><origin>*</origin></allowed-origins></cors>') })))
      .toEqual(['IPA-CORS1']);
  });

  test('ST5: an account whose key is used beyond signing SAS, or that signs nothing, fires', () => {
    expect(ids((s) => {
      const st = storage(s, { sharedAccessKeyEnabled: true });
      sas(s, st);
      new TerraformOutput(s, 'cs', { value: st.primaryConnectionString, sensitive: true });
    })).toEqual(['IPA-ST5']);
    expect(ids((s) => storage(s, { sharedAccessKeyEnabled: undefined }))).toEqual(['IPA-ST5']);
  });

  test('ST1, ST2, ST3 and ST5 also judge storage accounts created through azapi', () => {
    const account = (s: TerraformStack, properties: { [k: string]: unknown }) => {
      const a = new AzapiResource(s, 'Account', {
        type: 'Microsoft.Storage/storageAccounts@2023-05-01',
        name: 'st',
        parentId: '/rg',
        location: LOC,
        body: { kind: 'StorageV2', sku: { name: 'Standard_LRS' }, properties },
      });
      new AzapiResource(s, 'Table', { type: 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01', name: 'orders', parentId: `${a.id}/tableServices/default` });
    };
    const good = { supportsHttpsTrafficOnly: true, minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false, allowSharedKeyAccess: false };
    expect(ids((s) => account(s, good))).toEqual([]);
    expect(ids((s) => account(s, {})).sort()).toEqual(['IPA-ST2', 'IPA-ST3', 'IPA-ST5']);
    expect(ids((s) => account(s, { ...good, supportsHttpsTrafficOnly: false, minimumTlsVersion: 'TLS1_0' }))).toEqual(['IPA-ST1', 'IPA-ST2']);
    expect(findingsOf((s) => account(s, { ...good, allowSharedKeyAccess: true })).findings[0].message).toMatch(/holds application data.*properties\.allowSharedKeyAccess/);
  });

  test('existing resources read through data sources are not judged', () => {
    expect(ids((s) => {
      new DataAzurermStorageAccount(s, 'ExistingStorage', { name: 'stshared', resourceGroupName: 'shared' });
      new DataAzurermApiManagement(s, 'ExistingApim', { name: 'apim-shared', resourceGroupName: 'shared' });
      new DataAzurermCognitiveAccount(s, 'ExistingFoundry', { name: 'aif-shared', resourceGroupName: 'shared' });
    })).toEqual([]);
  });

  test('ST6 flags write permissions on a SAS', () => {
    expect(ids((s) => sas(s, storage(s, { sharedAccessKeyEnabled: true }), {
      permissions: { read: true, write: true, add: false, create: false, delete: false, list: false },
    }))).toEqual(['IPA-ST6']);
  });

  test('AI1 and MON1 also judge accounts created through azapi', () => {
    const account = (s: TerraformStack, disableLocalAuth: boolean) => new AzapiResource(s, 'Account', {
      type: 'Microsoft.CognitiveServices/accounts@2025-04-01-preview',
      name: 'aif',
      parentId: '/rg',
      location: LOC,
      body: { kind: 'AIServices', sku: { name: 'S0' }, properties: { disableLocalAuth } },
    });
    expect(ids((s) => account(s, false)).sort()).toEqual(['IPA-AI1', 'IPA-MON1']);
    expect(ids((s) => diagnosticSetting(s, 'D', account(s, true).id))).toEqual([]);
  });

  test('MON1 needs logs to Log Analytics, not just any diagnostic setting', () => {
    expect(ids((s) => {
      const a = cognitive(s, {}, false);
      new MonitorDiagnosticSetting(s, 'ToStorage', { name: 'st', targetResourceId: a.id, storageAccountId: '/st', enabledLog: [{ categoryGroup: 'allLogs' }] });
    })).toEqual(['IPA-MON1']);
  });

  test('APIM3: an API without any policy fires; a backend entity is followed; a global validate-jwt policy satisfies it', () => {
    expect(ids((s) => gateway(s))).toEqual(['IPA-APIM3']);
    expect(ids((s) => gateway(s, { viaBackend: true, policy: PLAIN_POLICY.replace('<base /></inbound>', '<base /><set-backend-service backend-id="orders-backend" /></inbound>') })))
      .toEqual(['IPA-APIM3']);
    expect(ids((s) => gateway(s, { viaBackend: true, policy: JWT_POLICY.replace('<base /></inbound>', '<base /><set-backend-service backend-id="orders-backend" /></inbound>') })))
      .toEqual([]);
    expect(ids((s) => gateway(s, { global: JWT_POLICY }))).toEqual([]);
  });

  test('APIM3 recognises a Container App by its environment domain or its azurecontainerapps.io host', () => {
    const env = (s: TerraformStack) => new ContainerAppEnvironment(s, 'Environment', { name: 'cae', location: LOC, resourceGroupName: RG, logAnalyticsWorkspaceId: LAW });
    expect(ids((s) => gateway(s, { policy: PLAIN_POLICY, api: { serviceUrl: `https://ca-orders.${env(s).defaultDomain}` } }))).toEqual(['IPA-APIM3']);
    expect(ids((s) => gateway(s, { policy: PLAIN_POLICY, api: { serviceUrl: 'https://ca-orders.nicefield-1a2b3c.swedencentral.azurecontainerapps.io' } })))
      .toEqual(['IPA-APIM3']);
    expect(ids((s) => gateway(s, { policy: JWT_POLICY, api: { serviceUrl: `https://ca-orders.${env(s).defaultDomain}` } }))).toEqual([]);
  });

  test('APIM3 leaves APIs that front no Container App of the stack alone', () => {
    expect(ids((s) => {
      const instance = apim(s);
      new ApiManagementApi(s, 'OpenAi', { name: 'openai', apiManagementName: instance.name, resourceGroupName: RG, revision: '1', path: 'openai', serviceUrl: 'https://aif.openai.azure.com/openai' });
    })).toEqual([]);
  });

  test('APIM1 also judges API-level diagnostics, case-insensitively', () => {
    expect(ids((s) => {
      const { instance, api } = gateway(s, { policy: JWT_POLICY });
      new ApiManagementApiDiagnostic(s, 'ApiDiagnostic', {
        identifier: 'applicationinsights',
        apiManagementName: instance.name,
        apiName: api.name,
        resourceGroupName: RG,
        apiManagementLoggerId: '/logger',
        backendRequest: { headersToLog: ['cookie'] },
      });
    })).toEqual(['IPA-APIM1']);
  });

  test('APIM1 counts the gateway proof header as a credential', () => {
    expect(ids((s) => apimDiagnostic(s, { backendRequest: { headersToLog: ['X-Gateway-Authorization'], bodyBytes: 0 } }))).toEqual(['IPA-APIM1']);
  });

  // The ARM shape of a diagnostic (azapi), as the gateway writes the /openai API's one.
  const armDiagnostic = (type: string, over: { [side: string]: { [kind: string]: any } } = {}) => (s: TerraformStack) => {
    const message = (headers: string[]) => ({ headers, body: { bytes: 0 } });
    const sides: { [side: string]: { [kind: string]: any } } = {
      frontend: { request: message(['traceparent']), response: message([]) },
      backend: { request: message(['traceparent']), response: message([]) },
    };
    for (const [side, kinds] of Object.entries(over)) sides[side] = { ...sides[side], ...kinds };
    new AzapiResource(s, 'ArmDiagnostic', {
      type,
      name: 'applicationinsights',
      parentId: '/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.ApiManagement/service/apim-test/apis/azure-openai',
      body: { properties: { loggerId: '/logger', metrics: true, ...sides } },
    });
  };
  const API_DIAGNOSTIC = 'Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01';
  const SERVICE_DIAGNOSTIC = 'Microsoft.ApiManagement/service/diagnostics@2022-08-01';

  test('APIM1 judges azapi diagnostics (service and API level, any api-version)', () => {
    const findings = (build: (s: TerraformStack) => void) => findingsOf(build).findings.map((f) => [f.ruleId, f.message]);
    expect(findings(armDiagnostic(API_DIAGNOSTIC, { frontend: { request: { headers: ['traceparent', 'Authorization'] } } })))
      .toEqual([['IPA-APIM1', expect.stringContaining('properties.frontend.request logs Authorization; remove them from properties.frontend.request.headers')]]);
    expect(ids(armDiagnostic(SERVICE_DIAGNOSTIC, { backend: { request: { headers: ['x-gateway-authorization'] } } }))).toEqual(['IPA-APIM1']);
    expect(ids(armDiagnostic(API_DIAGNOSTIC, { frontend: { response: { headers: ['Set-Cookie'] } } }))).toEqual(['IPA-APIM1']);
    expect(ids(armDiagnostic(API_DIAGNOSTIC))).toEqual([]);
    expect(ids(armDiagnostic(SERVICE_DIAGNOSTIC))).toEqual([]);
  });

  test('APIM2 judges azapi diagnostics\' response bodies, not request bodies', () => {
    const findings = (build: (s: TerraformStack) => void) => findingsOf(build).findings.map((f) => [f.ruleId, f.message]);
    expect(findings(armDiagnostic(API_DIAGNOSTIC, { backend: { response: { headers: [], body: { bytes: 8192 } } } })))
      .toEqual([['IPA-APIM2', expect.stringContaining('properties.backend.response logs 8192 body bytes; set properties.backend.response.body.bytes to 0')]]);
    expect(ids(armDiagnostic(SERVICE_DIAGNOSTIC, { frontend: { response: { headers: [], body: { bytes: 1 } } } }))).toEqual(['IPA-APIM2']);
    expect(ids(armDiagnostic(API_DIAGNOSTIC, { frontend: { request: { headers: [], body: { bytes: 1024 } } } }))).toEqual([]);
  });

  test('APIM1 and APIM2 leave azapi resources of other types alone', () => {
    // The same body under a type that is no APIM diagnostic is not judged.
    expect(ids(armDiagnostic('Microsoft.ApiManagement/service/apis/policies@2024-05-01', {
      frontend: { request: { headers: ['Authorization'] }, response: { headers: [], body: { bytes: 8192 } } },
    }))).toEqual([]);
  });

  test('APIM7 leaves ordinary named values alone and catches credential names', () => {
    const nv = (name: string, value: string) => (s: TerraformStack) =>
      new ApiManagementNamedValue(s, 'Value', { name, displayName: name, apiManagementName: apim(s).name, resourceGroupName: RG, value });
    expect(ids(nv('McpTenantId', '11111111-1111-1111-1111-111111111111'))).toEqual([]);
    expect(ids(nv('APIMGatewayURL', 'https://apim-test.azure-api.net'))).toEqual([]);
    expect(ids(nv('backend-api-key', 'abc'))).toEqual(['IPA-APIM7']);
  });

  test('IAM1 recognises privileged roles by definition id too', () => {
    expect(ids((s) => role(s, { roleDefinitionName: undefined, roleDefinitionId: '/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635' })))
      .toEqual(['IPA-IAM1']);
  });

  test('IAM2 recognises a subscription path built from an expression', () => {
    expect(ids((s) => role(s, { scope: '/subscriptions/${data.azurerm_client_config.current.subscription_id}' }))).toEqual(['IPA-IAM2']);
  });
});

describe('reporting', () => {
  test('error findings fail synth with one list naming rule, address, path and fix', () => {
    const { error, findings } = findingsOf((s) => {
      registry(s, { adminEnabled: true });
      storage(s, { minTlsVersion: 'TLS1_0' });
    });
    expect(findings.map((f) => [f.ruleId, f.severity, f.path, f.address])).toEqual([
      ['IPA-ACR1', SecurityRuleSeverity.ERROR, 'test/Registry', 'azurerm_container_registry.Registry'],
      ['IPA-ST2', SecurityRuleSeverity.ERROR, 'test/Storage', 'azurerm_storage_account.Storage'],
    ]);
    expect(error).toContain('IPA-ACR1 azurerm_container_registry.Registry (test/Registry): the registry admin user is enabled; set adminEnabled to false');
    expect(error).toContain('IPA-ST2 azurerm_storage_account.Storage (test/Storage): minTlsVersion is TLS1_0; set it to TLS1_2.');
  });

  test('warnings do not fail synth and are annotated on the resource', () => {
    const stack = newStack();
    Aspects.of(stack).add(new SecurityChecks());
    const instance = apim(stack, { identity: undefined });
    expect(() => Testing.synth(stack, true)).not.toThrow();
    Testing.synth(stack, true); // a second synth does not repeat the annotation
    expect(instance.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => m.data)).toEqual([
      expect.stringMatching(/^IPA-APIM6: the instance has no managed identity/),
    ]);
  });

  test('findingsAsWarnings reports errors as warnings and lets synth succeed', () => {
    const { error, findings } = findingsOf((s) => registry(s, { adminEnabled: true }), { findingsAsWarnings: true });
    expect(error).toBeUndefined();
    expect(findings).toEqual([expect.objectContaining({ ruleId: 'IPA-ACR1', severity: SecurityRuleSeverity.WARNING })]);
  });

  test('the aspect only judges what it is applied to, but looks across the stack', () => {
    const stack = newStack();
    const checks = new SecurityChecks();
    registry(stack, { adminEnabled: true });
    const scope = new TerraformStack(Testing.app(), 'other'); // unrelated stack, untouched
    new AzurermProvider(scope, 'azurerm', { features: [{}] });
    Aspects.of(scope).add(checks);
    registry(scope);
    Testing.synth(stack, true);
    Testing.synth(scope, true);
    expect(checks.findings).toEqual([]);
  });

  test('rules() lists every rule with id, severity and title', () => {
    const rules = SecurityChecks.rules();
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.id).toMatch(/^IPA-[A-Z]+\d$/);
      expect([SecurityRuleSeverity.ERROR, SecurityRuleSeverity.WARNING]).toContain(r.severity);
      expect(r.title.length).toBeGreaterThan(10);
    }
  });
});

describe('suppressions', () => {
  test('suppress a rule on one resource, with the reason in the synthesized JSON', () => {
    const stack = newStack();
    const checks = new SecurityChecks();
    Aspects.of(stack).add(checks);
    const acr = registry(stack, { adminEnabled: true, anonymousPullEnabled: true, sku: 'Standard' });
    SecuritySuppressions.add(acr, [{ ruleId: 'IPA-ACR2', reason: '  public base images for a workshop  ' }]);
    expect(() => Testing.synth(stack, true)).toThrow(/IPA-ACR1/);
    expect(checks.findings.map((f) => f.ruleId)).toEqual(['IPA-ACR1']);
    const json = (stack as any).toTerraform();
    expect(json.resource.azurerm_container_registry.Registry['//'].securitySuppressions).toEqual([{ id: 'IPA-ACR2', reason: 'public base images for a workshop' }]);
  });

  test('suppressions on a construct apply to the elements below it; outputs too', () => {
    const stack = newStack();
    const checks = new SecurityChecks();
    Aspects.of(stack).add(checks);
    const key = new TerraformOutput(stack, 'key', { value: cognitive(stack).primaryAccessKey });
    SecuritySuppressions.add(key, [{ ruleId: 'IPA-OUT1', reason: 'consumed by a pipeline that masks it' }]);
    SecuritySuppressions.add(stack, [{ ruleId: 'IPA-APIM6', reason: 'no AI gateway' }]);
    apim(stack, { identity: undefined }); // created after the stack-wide suppression: not covered
    Testing.synth(stack, true);
    expect(checks.findings.map((f) => f.ruleId)).toEqual(['IPA-APIM6']);
    expect((stack as any).toTerraform().output.key['//'].securitySuppressions).toEqual([
      { id: 'IPA-OUT1', reason: 'consumed by a pipeline that masks it' }, { id: 'IPA-APIM6', reason: 'no AI gateway' },
    ]);
  });

  test('a suppression without a reason, for an unknown rule, or on nothing throws', () => {
    const stack = newStack();
    const acr = registry(stack);
    expect(() => SecuritySuppressions.add(acr, [{ ruleId: 'IPA-ACR1', reason: ' ' }])).toThrow(/IPA-ACR1 on test\/Registry needs a reason/);
    expect(() => SecuritySuppressions.add(acr, [{ ruleId: 'IPA-NOPE', reason: 'x' }])).toThrow(/unknown rule id "IPA-NOPE"/);
    expect(() => SecuritySuppressions.add(new TerraformStack(Testing.app(), 'empty'), [{ ruleId: 'IPA-ACR1', reason: 'x' }])).toThrow(/holds no Terraform/);
  });
});
