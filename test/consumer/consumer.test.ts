import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';

// A user's view: pack the library, install the tarball into a fresh CDKTF app, synthesize.
const root = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const installed = (name: string) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

let work: string;
let tarball: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ipa-consumer-'));
  // lib/ is the jsii output that the package's "main" points at.
  run('npx', ['jsii', '--silence-warnings=reserved-word'], root);
  run('npm', ['pack', '--pack-destination', work], root);
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  run('npx', ['jsii-docgen', '-o', join(work, 'API.md')], root);
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the package ships the compiled library and the service bundles, not the sources', () => {
  const files = run('tar', ['-tzf', tarball], work).split('\n');
  expect(files).toContain('package/lib/index.js');
  expect(files).toContain('package/.jsii');
  expect(files).toContain('package/API.md');
  expect(files.filter((f) => f.startsWith('package/lib-services/')).every((f) => f.startsWith('package/lib-services/dist/'))).toBe(true);
  expect(files.some((f) => f.startsWith('package/src/') && f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
  expect(files.some((f) => f.startsWith('package/test/'))).toBe(false);
});

test('the committed API.md is what jsii-docgen generates from the current source', () => {
  // API.md is generated, never hand-edited: regenerate with `npx projen docgen` (part of `npm run build`).
  expect(readFileSync(join(root, 'API.md'), 'utf8')).toBe(readFileSync(join(work, 'API.md'), 'utf8'));
});

test('a fresh CDKTF app installs the tarball and synthesizes a stack that uses it', () => {
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, version: '1.0.0' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball,
    `cdktf@${installed('cdktf')}`, `constructs@${installed('constructs')}`,
    `@cdktf/provider-azurerm@${installed('@cdktf/provider-azurerm')}`, `@cdktf/provider-azuread@${installed('@cdktf/provider-azuread')}`], app);
  writeFileSync(join(app, 'main.js'), `
const { App } = require('cdktf');
const { IdentityPropagatingAgentStack } = require('${pkg.name}');
const app = new App({ outdir: 'cdktf.out', skipValidation: true });
new IdentityPropagatingAgentStack(app, 'consumer', { baseName: 'consumer', location: 'westeurope' });
app.synth();
`);
  run('node', ['main.js'], app);
  const synthesized = JSON.parse(readFileSync(join(app, 'cdktf.out', 'stacks', 'consumer', 'cdk.tf.json'), 'utf8'));
  expect(synthesized.resource.azurerm_resource_group).toBeDefined();
  expect(Object.values<any>(synthesized.resource.azurerm_resource_group)[0].name).toBe('rg-consumer');
  expect(synthesized.terraform.required_providers.azapi.source).toBe('azure/azapi');
}, 300_000);
