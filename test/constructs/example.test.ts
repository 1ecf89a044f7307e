import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalBackend, TerraformStack, Testing } from 'cdktf';
import { afterAll, describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, synthJson } from './synth';
import { withLocalState } from '../../examples/backend';
import { EXAMPLE_STATE, existingStack } from '../../examples/existing-stack';
import { ordersApiAlone } from '../../examples/orders-api-alone';
import { exampleStack } from '../../examples/stack';

// The service bundles change with every service commit; the snapshots use a fixed build context.
const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const examples = resolve(__dirname, '..', '..', 'examples');

// A change guard: behaviour is asserted by the fine-grained tests; this catches any unreviewed change
// (byo is snapshotted in stack-infra1.test.ts).
test('example stack synthesizes as reviewed', () => {
  expect(synthJson(exampleStack(Testing.app(), undefined, { servicesDistDir }))).toMatchSnapshot();
});

test('existing-stack example synthesizes as reviewed', () => {
  expect(synthJson(existingStack(Testing.app(), undefined, undefined, { servicesDistDir }))).toMatchSnapshot();
});

test('orders-api example synthesizes as reviewed', () => {
  expect(synthJson(ordersApiAlone(Testing.app(), undefined, servicesDistDir))).toMatchSnapshot();
});

describe('the system inside an existing stack', () => {
  const json = synthJson(existingStack(Testing.app(), undefined, undefined, { servicesDistDir }));

  test('keeps the user\'s azurerm backend and providers', () => {
    expect(json.terraform.backend).toEqual({
      azurerm: {
        resource_group_name: EXAMPLE_STATE.resourceGroupName,
        storage_account_name: EXAMPLE_STATE.storageAccountName,
        container_name: EXAMPLE_STATE.containerName,
        key: EXAMPLE_STATE.key,
        use_azuread_auth: true,
      },
    });
    // One default azurerm (the user's) beside the image builds' keyed alias; one azuread, one azapi.
    expect(json.provider!.azurerm.filter((p: any) => p.alias === undefined)).toEqual([{ features: [{}], storage_use_azuread: true }]);
    expect(json.provider!.azuread).toHaveLength(1);
    expect(json.provider!.azapi).toHaveLength(1);
  });

  test('places the whole system: both apps, Foundry, API Management', () => {
    expect(Object.keys(resourcesOf(json, 'azurerm_container_app'))).toHaveLength(2);
    expect(onlyResource(json, 'azurerm_resource_group').name).toBe('rg-platagent');
    expect(onlyResource(json, 'azurerm_api_management').name).toMatch(/^apim-platagent-/);
    // The construct's outputs keep their plain names in the user's stack (verify reads them).
    expect(Object.keys(json.output!)).toEqual(expect.arrayContaining(['chat_app_url', 'mcp_endpoint', 'mcp_auth_mode', 'orders_api_scopes']));
    expect(Object.keys(json.output!).filter((k) => k.includes('OrdersAgent'))).toEqual([]);
  });
});

describe('the Orders API alone behind an existing API Management', () => {
  const json = synthJson(ordersApiAlone(Testing.app(), undefined, servicesDistDir));

  test('one app, the Orders API, pulling the one image built for it', () => {
    const app = onlyResource(json, 'azurerm_container_app');
    expect(app.name).toBe('ca-orders-orders-api');
    expect(Object.keys(resourcesOf(json, 'azurerm_container_registry_task'))).toEqual([expect.stringMatching(/^Images_OrdersApiBuildTask/)]);
    const env = Object.fromEntries(app.template.container[0].env.map((e: any) => [e.name, e.value]));
    expect(env.PUBLIC_BASE_URL).toBe('https://apim-platform.azure-api.net/orders-mcp');
    expect(env.GATEWAY_AUDIENCE).toBeDefined();
    expect(env.SPA_CLIENT_ID).toBeUndefined();
  });

  test('the APIs go on the existing service; no Foundry, no new API Management, no SPA', () => {
    expect(Object.values<any>(json.data!.azurerm_api_management)).toEqual([{ name: 'apim-platform', resource_group_name: expect.stringMatching(/^\$\{data\.azurerm_resource_group\./) }]);
    expect(onlyResource({ resource: json.data }, 'azurerm_resource_group').name).toBe('rg-platform');
    expect(resourcesOf(json, 'azurerm_api_management')).toEqual({});
    expect(Object.keys(resourcesOf(json, 'azurerm_api_management_api')).length).toBeGreaterThan(0);
    expect(resourcesOf(json, 'azurerm_cognitive_account')).toEqual({});
    // The one app registration is the gateway proof's audience (no SPA, no Orders API registration).
    expect(Object.keys(resourcesOf(json, 'azuread_application'))).toEqual([expect.stringMatching(/^Gateway_GatewayProof_Application_/)]);
    expect(json.output!.mcp_endpoint.value).toBe('https://apim-platform.azure-api.net/orders-mcp/mcp');
  });
});

describe('state', () => {
  test('local by default, relative to the example: no path of this machine in the JSON', () => {
    const json = synthJson(withLocalState(exampleStack(Testing.app(), undefined, { servicesDistDir })));
    expect(json.terraform.backend).toEqual({ local: { path: '../../../terraform.identity-propagating-agent.tfstate' } });
  });

  test('a stack with its own backend keeps it', () => {
    const stack = new TerraformStack(Testing.app(), 'mine');
    new LocalBackend(stack, { path: 'elsewhere.tfstate' });
    expect(synthJson(withLocalState(stack)).terraform.backend).toEqual({ local: { path: 'elsewhere.tfstate' } });
  });
});

// Each example is an app: `npx tsx main.ts <example>` writes its stack (the bundles are built by the test command).
describe('runnable apps', () => {
  const out = mkdtempSync(join(tmpdir(), 'ipa-examples-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const tsx = resolve(examples, '..', 'node_modules', '.bin', 'tsx');

  test.each([
    ['full', 'identity-propagating-agent'],
    ['byo', 'identity-propagating-agent-byo'],
    ['existing-stack', 'my-platform'],
    ['orders-api', 'orders-api'],
  ])('%s synthesizes the stack %s', (example, stack) => {
    const cwd = mkdtempSync(join(out, `${example}-`));
    execFileSync(tsx, [join(examples, 'main.ts'), example], { cwd, stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync(join(cwd, 'cdktf.out', 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stacks)).toEqual([stack]);
    const json = readFileSync(join(cwd, 'cdktf.out', 'stacks', stack, 'cdk.tf.json'), 'utf8');
    expect(json).not.toContain(cwd);
    expect(JSON.parse(json).terraform.backend).toBeDefined();
  }, 120_000);

  test('an unknown example is refused, naming the choices', () => {
    expect(() => execFileSync(tsx, [join(examples, 'main.ts'), 'nope'], { cwd: out, stdio: 'pipe' }))
      .toThrow(/no example "nope"; choose one of full, byo, existing-stack, orders-api/);
  });
});
