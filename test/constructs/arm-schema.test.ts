import { join } from 'node:path';
import { Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { ARM_TYPES, armCheck, armViolations } from './arm-schema';
import { synthJson, SynthJson } from './synth';
import { byoStack } from '../../examples/byo-stack';
import { exampleStack } from '../../examples/stack';
import { IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, McpAuthMode } from '../../src';

// Every azapi body the library synthesizes (the example, the bring-your-own example and each
// switch configuration) is checked against the ARM type facts of its type@api-version:
// property names, types, enums, required properties. Bodies no published schema describes are
// listed below with the reason, and each listing is proven still true.

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const OPENAPI = join(servicesDistDir, 'orders-api', 'openapi.json');
const CONNECTIONS = 'Microsoft.CognitiveServices/accounts/projects/connections@2025-04-01-preview';

const base: IdentityPropagatingAgentStackProps = { baseName: 'orders', location: 'swedencentral', uniqueSuffix: 'abc123', images: { servicesDistDir } };
const configurations: { [name: string]: Partial<IdentityPropagatingAgentStackProps> } = {
  'default': {},
  'original audience (FOUNDRY_AUDIENCE)': { mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE },
  'no APIM': { gateway: { enabled: false } },
  'AI gateway': { gateway: { aiGateway: true } },
  'existing APIM': { gateway: { existingName: 'apim-shared', existingResourceGroupName: 'rg-shared' } },
  'existing Foundry': { foundry: { existingAccountName: 'ai-shared', existingAccountResourceGroupName: 'rg-shared', existingProjectName: 'agents', model: { existingDeploymentName: 'gpt-4o' } } },
  'existing storage account': { storage: { existingStorageAccountId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/shared/providers/Microsoft.Storage/storageAccounts/stshared' } },
};

const synthesized: { [name: string]: SynthJson } = {
  'example': synthJson(exampleStack(Testing.app(), undefined, { servicesDistDir })),
  'bring-your-own example': synthJson(byoStack(Testing.app(), undefined, OPENAPI)),
  ...Object.fromEntries(Object.entries(configurations).map(([name, props]) =>
    [`configuration "${name}"`, synthJson(new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props }))])),
};

interface AzapiBody {
  readonly where: string;
  readonly resource: 'azapi_resource' | 'azapi_data_plane_resource';
  readonly type: string;
  /** What ARM receives: the body, with azapi's own `location`, `tags` and `identity` merged in. */
  readonly body: any;
  readonly schemaValidationEnabled?: boolean;
}

const bodies: AzapiBody[] = Object.entries(synthesized).flatMap(([source, json]) =>
  (['azapi_resource', 'azapi_data_plane_resource'] as const).flatMap((resource) =>
    Object.entries(json.resource?.[resource] ?? {}).map(([id, r]: [string, any]) => ({
      where: `${source}: ${resource}.${id}`,
      resource,
      type: r.type,
      body: {
        ...r.body,
        ...(r.location !== undefined ? { location: r.location } : {}),
        ...(r.tags !== undefined ? { tags: r.tags } : {}),
        ...(r.identity !== undefined ? { identity: armIdentity(r.identity) } : {}),
      },
      schemaValidationEnabled: r.schema_validation_enabled,
    }))));

function armIdentity(identity: { type: string; identity_ids?: string[] }) {
  const userAssigned = identity.identity_ids && Object.fromEntries(identity.identity_ids.map((i) => [i, {}]));
  return { type: identity.type, ...(userAssigned ? { userAssignedIdentities: userAssigned } : {}) };
}

/** Bodies the published schemas cannot describe, and why (each is checked to still need the listing). */
const NOT_DESCRIBED: Array<{ type: string; matches: (b: AzapiBody) => boolean; reason: string }> = [
  {
    type: 'Microsoft.Foundry/agents@v1',
    matches: (b) => b.resource === 'azapi_data_plane_resource',
    reason: 'a Foundry data-plane object: no ARM schema exists, and azapi v2.9.0 embeds none for it '
      + '(only a customization, internal/services/customization/foundry_agent_customization.go)',
  },
  {
    type: CONNECTIONS,
    matches: (b) => b.body.properties?.authType === 'UserEntraToken',
    reason: 'ConnectionPropertiesV2 at 2025-04-01-preview has no UserEntraToken case of its authType discriminator and no '
      + 'top-level `audience`; Foundry needs both for the MCP connection that forwards the user\'s token (azure-facts.md)',
  },
];
const exemption = (b: AzapiBody) => NOT_DESCRIBED.find((e) => e.type === b.type && e.matches(b));

test('the sources hold azapi bodies of every kind the library writes', () => {
  const types = new Set(bodies.map((b) => b.type));
  expect([...types].sort()).toEqual(expect.arrayContaining([
    'Microsoft.Storage/storageAccounts@2023-05-01', 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01', CONNECTIONS, 'Microsoft.Foundry/agents@v1',
  ]));
});

describe.each(Object.keys(synthesized))('%s', (source) => {
  const checked = bodies.filter((b) => b.where.startsWith(`${source}:`) && !exemption(b));
  test.each(checked.map((b) => [b.where.slice(source.length + 2), b] as const))('%s conforms to its ARM type', (_where, b) => {
    expect(armViolations(ARM_TYPES, b.type, b.body)).toEqual([]);
  });
});

describe('bodies the schemas cannot describe', () => {
  test.each(NOT_DESCRIBED.map((e) => [e.type, e] as const))('%s: listed for a reason that still holds', (_type, e) => {
    const matched = bodies.filter((b) => b.type === e.type && e.matches(b));
    expect(matched.length, 'a listing no body needs any more').toBeGreaterThan(0);
    for (const b of matched) {
      if (ARM_TYPES.resources[b.type] === undefined) continue; // no facts exist at all: the reason is the absence
      // The schema really refuses it; when a newer schema accepts it, drop the listing.
      expect(armViolations(ARM_TYPES, b.type, b.body), b.where).not.toEqual([]);
    }
    expect(e.reason.length).toBeGreaterThan(40);
  });

  test('the UserEntraToken connection is refused only for what the schema lacks', () => {
    const connection = bodies.find((b) => b.type === CONNECTIONS && b.body.properties.authType === 'UserEntraToken')!;
    expect(armViolations(ARM_TYPES, CONNECTIONS, connection.body)).toEqual([
      expect.stringMatching(/^properties\.authType: "UserEntraToken" is not one of AAD, /),
    ]);
    // Described as the nearest authType it has (AAD, no credentials), only the top-level audience is foreign.
    const asAad = { ...connection.body, properties: { ...connection.body.properties, authType: 'AAD' } };
    expect(armViolations(ARM_TYPES, CONNECTIONS, asAad)).toEqual([expect.stringMatching(/^properties\.audience: unknown property/)]);
  });
});

/** Values outside an extensible enum's known values (ARM admits any string there), reviewed one by one. */
const REVIEWED_OPEN_ENUM_VALUES: { [note: string]: string } = {
  'properties.category: "ApiManagement"': 'the category Foundry gives an API Management gateway connection (azure-facts.md, the original project\'s Bicep)',
};

test('values outside the known values of an extensible enum are only the reviewed ones', () => {
  const found = new Set(bodies.filter((b) => !exemption(b) || ARM_TYPES.resources[b.type])
    .flatMap((b) => armCheck(ARM_TYPES, b.type, b.body).openEnumValues.map((n) => n.replace(/ is not a known value .*$/, ''))));
  expect([...found].filter((n) => REVIEWED_OPEN_ENUM_VALUES[n] === undefined), 'not reviewed').toEqual([]);
  expect(Object.keys(REVIEWED_OPEN_ENUM_VALUES).filter((n) => !found.has(n)), 'reviewed but no longer written').toEqual([]);
});

test('schema validation stays on for every body that passes its schema', () => {
  const off = bodies.filter((b) => b.schemaValidationEnabled === false && !exemption(b));
  expect(off.map((b) => b.where)).toEqual([]);
});

describe('the check fails on a broken body', () => {
  const account = bodies.find((b) => b.type === 'Microsoft.Storage/storageAccounts@2023-05-01')!;
  const connection = bodies.find((b) => b.type === CONNECTIONS && b.body.properties.category === 'ApiManagement')
    ?? { body: { properties: { category: 'ApiManagement', authType: 'AAD', target: 'https://x', isSharedToAll: true } } };
  const storage = 'Microsoft.Storage/storageAccounts@2023-05-01';
  const withProperties = (extra: object) => ({ ...account.body, properties: { ...account.body.properties, ...extra } });
  const { kind: _kind, ...withoutKind } = account.body;

  test.each([
    ['an unknown property (a typo)', storage, withProperties({ allowBlobPublicAcess: false }), /^properties\.allowBlobPublicAcess: unknown property/],
    ['an unknown top-level property', storage, { ...account.body, audience: 'x' }, /^audience: unknown property/],
    ['a value outside an enum', storage, withProperties({ accessTier: 'Warm' }), /^properties\.accessTier: "Warm" is not one of Hot, Cool, Premium, Cold$/],
    ['a value outside an enum, nested', storage, withProperties({ networkAcls: { defaultAction: 'Block' } }), /^properties\.networkAcls\.defaultAction: "Block" is not one of Allow, Deny$/],
    ['a wrong type', storage, withProperties({ supportsHttpsTrafficOnly: 'yes' }), /^properties\.supportsHttpsTrafficOnly: must be a boolean/],
    ['a read-only property', storage, withProperties({ provisioningState: 'Succeeded' }), /^properties\.provisioningState: read-only property/],
    ['a missing required property', storage, withoutKind, /^kind: required property missing/],
    ['an unknown discriminator value', CONNECTIONS, { properties: { ...connection.body.properties, authType: 'Bogus' } }, /^properties\.authType: "Bogus" is not one of /],
    ['a wrong type in a discriminated body', CONNECTIONS, { properties: { ...connection.body.properties, isSharedToAll: 'yes' } }, /^properties\.isSharedToAll: must be a boolean/],
  ] as Array<[string, string, any, RegExp]>)('%s', (_name, type, body, expected) => {
    const violations = armViolations(ARM_TYPES, type, body);
    expect(violations).toEqual([expect.stringMatching(expected)]);
  });

  test('a value outside an extensible enum is not a violation (the schema admits any string) but is reported', () => {
    const result = armCheck(ARM_TYPES, storage, withProperties({ minimumTlsVersion: 'TLS1_4' }));
    expect(result.violations).toEqual([]);
    expect(result.openEnumValues).toEqual([expect.stringMatching(/^properties\.minimumTlsVersion: "TLS1_4" is not a known value \(TLS1_0, TLS1_1, TLS1_2, TLS1_3\)$/)]);
  });

  test('a type@api-version without facts is an error that says how to add it', () => {
    expect(() => armViolations(ARM_TYPES, 'Microsoft.Storage/storageAccounts@2099-01-01', {})).toThrow(/add it to RESOURCE_TYPES in fixtures\/arm-types\/extract\.mjs/);
  });
});

test('the fixture names where its facts come from', () => {
  expect(ARM_TYPES.source).toMatchObject({ repository: 'Azure/terraform-provider-azapi', tag: 'v2.9.0', commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
  for (const b of bodies.filter((x) => !exemption(x))) expect(Object.keys(ARM_TYPES.resources), b.where).toContain(b.type);
});
