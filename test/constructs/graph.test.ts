import { join } from 'node:path';
import { TerraformResource, TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { dependencyGraph, synthJson, SynthJson, withoutMetadata } from './synth';
import { byoStack } from '../../examples/byo-stack';
import { exampleStack } from '../../examples/stack';
import { AgentUserRole, IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, McpAuthMode } from '../../src';

// The guard for a whole class of first-apply failures: a resource that names a parent created
// in the same stack by a string (a name or an id computed from the same inputs as the
// parent's) does not wait for it, and Azure answers "parent not found" while the parent is
// still provisioning. Every such resource must reach its parent through the Terraform graph.
// Nothing below lists today's resources: parents are every resource of the JSON, and the
// arguments checked are recognised by their names.

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const OPENAPI_FIXTURE = join(servicesDistDir, 'orders-api', 'openapi.json');
const base: IdentityPropagatingAgentStackProps = { baseName: 'orders', location: 'swedencentral', uniqueSuffix: 'abc123', images: { servicesDistDir } };

/** Arguments that name another resource: `*_name`, `*_id`, `*_ids`, `scope`, `identity` (not a resource's own `name`/`display_name`). */
const NAMING_ARGUMENT = /(^|_)(name|names|id|ids)$|^(scope|identity)$/;
const OWN_NAME = new Set(['name', 'display_name']);

/** A resource's own identifier named after its type's last word, e.g. an operation's `operation_id`. */
function isOwnIdentifier(type: string, key: string): boolean {
  const last = type.split('_').pop();
  return key === `${last}_id` || key === `${last}_name`;
}

/** Every string under a naming argument, with its path (nested blocks and lists included). */
function namingValues(body: any, type: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  const walk = (value: any, path: string, key: string, top: boolean) => {
    if (typeof value === 'string') {
      if (NAMING_ARGUMENT.test(key) && !OWN_NAME.has(key) && !(top && isOwnIdentifier(type, key))) found.push([path, value]);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`, key, top));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, k, false);
    }
  };
  for (const [k, v] of Object.entries(body)) {
    if (k === 'depends_on' || k === 'lifecycle' || k === 'provider' || k === '//') continue;
    walk(v, k, k, true);
  }
  return found;
}

/** True when `value` is `name`, or holds it as a whole path segment or leading host label (`…/<name>/…`, `<name>.host`). */
function names(value: string, name: string): boolean {
  if (value === name) return true;
  for (let at = value.indexOf(name); at >= 0; at = value.indexOf(name, at + 1)) {
    const before = at === 0 ? '' : value[at - 1];
    const after = value[at + name.length] ?? '';
    if ((before === '' || before === '/') && (after === '' || after === '/' || after === '.')) return true;
  }
  return false;
}

/** Every node `from` reaches through references and `depends_on` (Terraform orders along these, transitively). */
function reachable(graph: Map<string, Set<string>>, from: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(from) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}

/**
 * The guard: for every resource argument whose value names another resource of the same
 * JSON (its literal or computed `name`, or that name inside an id), the parent must be
 * reachable through the graph. Returns one line per violation.
 */
function unorderedParentReferences(json: SynthJson): string[] {
  const graph = dependencyGraph(json);
  const resources: Array<{ address: string; type: string; body: any }> = [];
  for (const [type, byId] of Object.entries(json.resource ?? {})) {
    for (const [id, body] of Object.entries(byId)) resources.push({ address: `${type}.${id}`, type, body });
  }
  const parents = resources.filter((r) => typeof r.body.name === 'string' && r.body.name.length >= 3);
  const findings: string[] = [];
  for (const child of resources) {
    const reaches = reachable(graph, child.address);
    for (const [path, value] of namingValues(child.body, child.type)) {
      for (const parent of parents) {
        if (parent.address === child.address || !names(value, parent.body.name)) continue;
        if (!reaches.has(parent.address)) {
          findings.push(`${child.address}.${path} names ${parent.address} ("${parent.body.name}") without a reference or depends_on`);
        }
      }
    }
  }
  return findings;
}

const stackOf = (props: Partial<IdentityPropagatingAgentStackProps> = {}) => new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props });

// The examples and every switch of the stack.
const configurations: Array<[string, () => TerraformStack]> = [
  ['the example', () => exampleStack(Testing.app(), undefined, { servicesDistDir })],
  ['bring your own everything', () => byoStack(Testing.app(), undefined, OPENAPI_FIXTURE)],
  ['default', () => stackOf()],
  ['the original audience (FOUNDRY_AUDIENCE)', () => stackOf({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE })],
  ['admin consent', () => stackOf({ entra: { adminConsent: true } })],
  ['admin consent, original audience', () => stackOf({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE, entra: { adminConsent: true } })],
  ['agent users: a new group and named principals', () => stackOf({ foundry: { agentUsers: { createGroup: true, groupMembers: ['44444444-4444-4444-4444-444444444444'], principalIds: ['55555555-5555-5555-5555-555555555555'] } } })],
  ['agent users with a built-in role', () => stackOf({ foundry: { agentUsers: { principalIds: ['55555555-5555-5555-5555-555555555555'], role: AgentUserRole.FOUNDRY_USER } } })],
  ['no APIM', () => stackOf({ gateway: { enabled: false } })],
  ['existing APIM', () => stackOf({ gateway: { existingName: 'apim-shared', existingResourceGroupName: 'rg-shared' } })],
  ['APIM without the gateway proof', () => stackOf({ gateway: { ordersApiGatewayProof: false } })],
  ['the AI gateway, new APIM', () => stackOf({ gateway: { aiGateway: true } })],
  ['the AI gateway, existing APIM', () => stackOf({ gateway: { aiGateway: true, existingName: 'apim-shared', existingResourceGroupName: 'rg-shared' } })],
  ['existing Foundry account and project', () => stackOf({ foundry: { existingAccountName: 'ai-shared', existingAccountResourceGroupName: 'rg-shared', existingProjectName: 'agents', model: { existingDeploymentName: 'gpt-4o' } } })],
  ['existing Foundry account, new project', () => stackOf({ foundry: { existingAccountName: 'ai-shared', existingAccountResourceGroupName: 'rg-shared' } })],
  ['existing resource group', () => stackOf({ existingResourceGroupName: 'rg-platform' })],
  ['existing registry', () => stackOf({ images: { servicesDistDir, existingRegistryName: 'crshared', existingRegistryResourceGroupName: 'rg-shared' } })],
  ['own images, no registry', () => stackOf({ images: { ordersApiImage: 'example.azurecr.io/orders-api:1', chatAppImage: 'example.azurecr.io/chat-app:1' } })],
  ['existing Container Apps environment', () => stackOf({ containerApps: { existingEnvironmentName: 'cae-shared', existingEnvironmentResourceGroupName: 'rg-shared' } })],
  ['existing storage account', () => stackOf({ storage: { existingStorageAccountId: '/subscriptions/s/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdata' } })],
  ['existing Log Analytics workspace', () => stackOf({ monitoring: { existingLogAnalyticsWorkspaceId: '/subscriptions/s/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/workspaces/log-ops' } })],
  ['existing SPA registration', () => stackOf({ entra: { existingSpaClientId: '33333333-3333-3333-3333-333333333333' } })],
  ['existing SPA registration with admin consent', () => stackOf({ entra: { existingSpaClientId: '33333333-3333-3333-3333-333333333333', adminConsent: true } })],
];

describe('every resource reaches the parents it names through the Terraform graph', () => {
  test.each(configurations)('%s', (_name, build) => {
    const json = withoutMetadata(synthJson(build()));
    expect(Object.keys(json.resource ?? {}).length).toBeGreaterThan(5);
    expect(unorderedParentReferences(json)).toEqual([]);
  });
});

describe('the guard fails on the API Management case', () => {
  const service = (json: SynthJson) => Object.values(json.resource!.azurerm_api_management)[0];
  const group = (json: SynthJson) => `\${azurerm_resource_group.${Object.keys(json.resource!.azurerm_resource_group)[0]}.name}`;
  /**
   * The stack with one named value pointed at the service as before the fix, by an escape hatch:
   * `api_management_name` a string equal to the service's name, `resource_group_name` the group's.
   */
  function brokenNamedValue(build: () => TerraformStack, serviceName: (json: SynthJson) => string): SynthJson {
    const json = synthJson(build());
    const broken = build();
    const namedValue = broken.node.findAll().find((c): c is TerraformResource =>
      c instanceof TerraformResource && c.terraformResourceType === 'azurerm_api_management_named_value')!;
    namedValue.addOverride('api_management_name', serviceName(json));
    namedValue.addOverride('resource_group_name', group(json));
    return withoutMetadata(synthJson(broken));
  }
  const brokenDefault = brokenNamedValue(() => stackOf(), () => 'apim-orders-abc123');

  test('a child naming the service by its literal name is reported', () => {
    const findings = unorderedParentReferences(brokenDefault);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(/^azurerm_api_management_named_value\.\w+\.api_management_name names azurerm_api_management\.Gateway_Service_\w+ \("apim-orders-abc123"\)/);
  });

  test('...and by the same computed name as the service (the example, before the fix)', () => {
    const example = () => exampleStack(Testing.app(), undefined, { servicesDistDir });
    const findings = unorderedParentReferences(brokenNamedValue(example, (json) => service(json).name));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(/api_management_name names azurerm_api_management\.Gateway_Service_\w+ \("apim-ordersagent-\$\{substr/);
  });

  test('an id built from the service\'s name is reported too', () => {
    const json = structuredClone(brokenDefault);
    // An id-shaped naming on another child: the service's diagnostic setting pointed at it by a string.
    const setting = Object.values(json.resource!.azurerm_monitor_diagnostic_setting).find((s: any) => /azurerm_api_management\./.test(s.target_resource_id)) as any;
    setting.target_resource_id = '/subscriptions/s/resourceGroups/rg-orders/providers/Microsoft.ApiManagement/service/apim-orders-abc123';
    const findings = unorderedParentReferences(json);
    expect(findings).toHaveLength(2);
    expect(findings.some((f) => /azurerm_monitor_diagnostic_setting\.\w+\.target_resource_id names azurerm_api_management\./.test(f))).toBe(true);
  });

  test('a depends_on on the service satisfies it, as a reference does', () => {
    const json = structuredClone(brokenDefault);
    const [address] = Object.keys(json.resource!.azurerm_api_management);
    for (const nv of Object.values(json.resource!.azurerm_api_management_named_value) as any[]) {
      nv.depends_on = [...(nv.depends_on ?? []), `azurerm_api_management.${address}`];
    }
    expect(unorderedParentReferences(json)).toEqual([]);
  });

  test('the custom agent-runner role: an assignment naming it by its name instead of a reference is reported', () => {
    const json = withoutMetadata(synthJson(stackOf({ foundry: { agentUsers: { principalIds: ['55555555-5555-5555-5555-555555555555'] } } })));
    expect(unorderedParentReferences(json)).toEqual([]);
    const [roleAddress, role] = Object.entries(json.resource!.azurerm_role_definition)[0] as [string, any];
    const assignments = Object.values(json.resource!.azurerm_role_assignment) as any[];
    const assignment = assignments.find((r) => String(r.role_definition_id).includes(roleAddress));
    // What a hand-written assignment would do: the custom role by name, no reference, no depends_on.
    delete assignment.role_definition_id;
    assignment.role_definition_name = role.name;
    const finding = new RegExp(`^azurerm_role_assignment\\.\\S+\\.role_definition_name names azurerm_role_definition\\.${roleAddress} `);
    expect(unorderedParentReferences(json)).toEqual([expect.stringMatching(finding)]);
  });

  test('the matcher: whole names, path segments and leading host labels only', () => {
    expect(names('apim-x', 'apim-x')).toBe(true);
    expect(names('/service/apim-x/apis', 'apim-x')).toBe(true);
    expect(names('apim-x.azure-api.net/x', 'apim-x')).toBe(true);
    expect(names('apim-x2', 'apim-x')).toBe(false);
    expect(names('my-apim-x', 'apim-x')).toBe(false);
  });
});
