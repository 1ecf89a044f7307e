import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { installApp, installedVersion, nodeBinary, packLibrary, root, run } from './library';

// A user's view, following the README's install route: `npm run tarball`, then a fresh CDKTF app
// installs the tarball (on Node 22, with engine-strict) and synthesizes on Node 22 and Node 24.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const NODES = [22, 24];

let work: string;
let tarball: string;
let app: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ipa-consumer-'));
  tarball = packLibrary(work);
  run('npx', ['jsii-docgen', '-o', join(work, 'API.md')], root);
  app = join(work, 'app');
  installApp(app, [tarball,
    `cdktf@${installedVersion('cdktf')}`, `constructs@${installedVersion('constructs')}`,
    `@cdktf/provider-azurerm@${installedVersion('@cdktf/provider-azurerm')}`, `@cdktf/provider-azuread@${installedVersion('@cdktf/provider-azuread')}`], { node: nodeBinary(22) });
  writeFileSync(join(app, 'main.js'), `
const { App, TerraformStack } = require('cdktf');
const { AzurermProvider } = require('@cdktf/provider-azurerm/lib/provider');
const { AzureadProvider } = require('@cdktf/provider-azuread/lib/provider');
const { AzapiProvider, IdentityPropagatingAgent, IdentityPropagatingAgentStack } = require('${pkg.name}');
const app = new App({ outdir: process.argv[2], skipValidation: true });
new IdentityPropagatingAgentStack(app, 'consumer', { baseName: 'consumer', location: 'westeurope' });
// The system inside the user's own stack, with the user's providers.
const mine = new TerraformStack(app, 'mine');
new AzurermProvider(mine, 'azurerm', { features: [{}], storageUseAzuread: true });
new AzureadProvider(mine, 'azuread', {});
new AzapiProvider(mine, 'azapi', {});
new IdentityPropagatingAgent(mine, 'Agent', { baseName: 'mine', location: 'westeurope' });
app.synth();
console.log(process.versions.node);
`);
}, 480_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the package ships the compiled library and the service bundles, not the sources', () => {
  const files = run('tar', ['-tzf', tarball], work).split('\n');
  expect(files).toContain('package/lib/index.js');
  expect(files).toContain('package/.jsii');
  expect(files).toContain('package/API.md');
  expect(files).toContain('package/lib-services/dist/orders-api/Dockerfile');
  expect(files.filter((f) => f.startsWith('package/lib-services/')).every((f) => f.startsWith('package/lib-services/dist/'))).toBe(true);
  expect(files.some((f) => f.startsWith('package/src/') && f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
  expect(files.some((f) => f.startsWith('package/test/') || f.startsWith('package/scripts/'))).toBe(false);
});

test('engines name the Node versions the consumer test runs on', () => {
  expect(pkg.engines.node).toBe(`>=${Math.min(...NODES)}.0.0`);
});

test('the committed API.md is what jsii-docgen generates from the current source', () => {
  // API.md is generated, never hand-edited: regenerate with `npx projen docgen` (part of `npm run build`).
  expect(readFileSync(join(root, 'API.md'), 'utf8')).toBe(readFileSync(join(work, 'API.md'), 'utf8'));
});

describe.each(NODES)('on Node %i', (major) => {
  test('the installed tarball synthesizes the stack, and the construct inside the user\'s own stack', () => {
    const out = join(work, `out-${major}`);
    const version = run(nodeBinary(major), ['main.js', out], app).trim();
    expect(version.split('.')[0]).toBe(String(major));
    const stack = JSON.parse(readFileSync(join(out, 'stacks', 'consumer', 'cdk.tf.json'), 'utf8'));
    expect(Object.values<any>(stack.resource.azurerm_resource_group)[0].name).toBe('rg-consumer');
    expect(stack.terraform.required_providers.azapi.source).toBe('azure/azapi');
    const mine = JSON.parse(readFileSync(join(out, 'stacks', 'mine', 'cdk.tf.json'), 'utf8'));
    expect(Object.values<any>(mine.resource.azurerm_resource_group)[0].name).toBe('rg-mine');
    expect(Object.keys(mine.resource.azurerm_container_app)).toHaveLength(2);
    // The user's providers are the only ones (the construct configures none of its own, but
    // the image build's keyed azurerm alias).
    expect(mine.provider.azurerm.filter((p: any) => p.alias === undefined)).toHaveLength(1);
  }, 120_000);
});
