import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { installApp, installedVersion, packLibrary, root, run } from './library';
import { EXAMPLE_PROPS } from '../../examples/stack';

// CDK Terrain (cdktn), as README "CDK Terrain" describes it: a fresh app with cdktn, the packed
// library and the @cdktf providers, where `cdktf` is an npm alias of `cdktn` (one core for the
// library, the providers and the user's code). The same program runs on that core and on cdktf
// 0.21 (this repository's node_modules, the compiled library); their Terraform JSON must be equal.
const CDKTN = '0.24.0';
const CONSTRUCTS = '10.7.2'; // cdktn 0.24 peers constructs >=10.6.0 <10.8.0

// The program: the example stack from the core's App, and the construct in the user's own
// stack with the user's providers. argv: <folder to resolve packages from> <core> <library> <outdir>.
const PROGRAM = `
const { createRequire } = require('node:module');
const [base, core, library, outdir] = process.argv.slice(2);
const load = createRequire(base + '/');
const { App, LocalBackend, TerraformStack } = load(core);
const { AzurermProvider } = load('@cdktf/provider-azurerm/lib/provider');
const { AzureadProvider } = load('@cdktf/provider-azuread/lib/provider');
const { AzapiProvider, IdentityPropagatingAgent, IdentityPropagatingAgentStack } = load(library);
const app = new App({ outdir, skipValidation: true });
const example = new IdentityPropagatingAgentStack(app, 'example', ${JSON.stringify(EXAMPLE_PROPS)});
new LocalBackend(example, { path: 'example.tfstate' });
const mine = new TerraformStack(app, 'mine');
new LocalBackend(mine, { path: 'mine.tfstate' });
new AzurermProvider(mine, 'azurerm', { features: [{}], storageUseAzuread: true });
new AzureadProvider(mine, 'azuread', {});
new AzapiProvider(mine, 'azapi', {});
new IdentityPropagatingAgent(mine, 'Agent', { baseName: 'mine', location: 'westeurope' });
app.synth();
`;

let work: string;
let app: string;
let program: string;

/** What Terraform reads (without the `//` metadata, which names the core's version). */
function terraformJson(outdir: string, stack: string): unknown {
  const text = readFileSync(join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8');
  return JSON.parse(text, (key, value) => (key === '//' ? undefined : value));
}

/** Every file of a stack's image build contexts (staged beside cdk.tf.json), with its bytes. */
function assets(outdir: string, stack: string): { [path: string]: string } {
  const dir = join(outdir, 'stacks', stack, 'build-contexts');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  return Object.fromEntries(files.map((f) => [join(f.parentPath, f.name).slice(dir.length), readFileSync(join(f.parentPath, f.name)).toString('base64')]));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ipa-cdktn-'));
  const tarball = packLibrary(work);
  app = join(work, 'app');
  installApp(app, [tarball, `cdktn@${CDKTN}`, `cdktf@npm:cdktn@${CDKTN}`, `constructs@${CONSTRUCTS}`,
    `@cdktf/provider-azurerm@${installedVersion('@cdktf/provider-azurerm')}`, `@cdktf/provider-azuread@${installedVersion('@cdktf/provider-azuread')}`],
  { overrides: { cdktf: `npm:cdktn@${CDKTN}` } });
  program = join(work, 'program.js');
  writeFileSync(program, PROGRAM);
}, 480_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('with cdktf aliased to cdktn', () => {
  let cdktn: string;
  let cdktf: string;
  beforeAll(() => {
    cdktn = join(work, 'out-cdktn');
    run('node', [program, app, 'cdktn', 'cdktf-identity-propagating-agent', cdktn], app);
    // Reference: cdktf 0.21 and the compiled library of this repository (lib/, from the pack above).
    cdktf = join(work, 'out-cdktf');
    run('node', [program, root, 'cdktf', join(root, 'lib', 'index.js'), cdktf], work);
  }, 120_000);

  test('one core: the alias resolves to cdktn for the library and the providers', () => {
    expect(JSON.parse(readFileSync(join(app, 'node_modules', 'cdktf', 'package.json'), 'utf8'))).toMatchObject({ name: 'cdktn', version: CDKTN });
    expect(JSON.parse(readFileSync(join(cdktn, 'stacks', 'example', 'cdk.tf.json'), 'utf8'))['//'].metadata.version).toBe(CDKTN);
  });

  test('the example stack from a cdktn App synthesizes as from cdktf', () => {
    expect(terraformJson(cdktn, 'example')).toEqual(terraformJson(cdktf, 'example'));
    const contexts = assets(cdktn, 'example');
    expect(Object.keys(contexts).length).toBeGreaterThan(0);
    expect(contexts).toEqual(assets(cdktf, 'example'));
  });

  test('IdentityPropagatingAgent inside the user\'s own cdktn TerraformStack synthesizes as under cdktf', () => {
    const json: any = terraformJson(cdktn, 'mine');
    expect(Object.keys(json.resource.azurerm_container_app)).toHaveLength(2);
    expect(json).toEqual(terraformJson(cdktf, 'mine'));
  });
});
