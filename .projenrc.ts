import { cdktf, javascript } from 'projen';

const AZURERM = '@cdktf/provider-azurerm@^14.23.1';
const AZUREAD = '@cdktf/provider-azuread@^14.3.1';

const project = new cdktf.ConstructLibraryCdktf({
  name: 'cdktf-identity-propagating-agent',
  description:
    'CDK for Terraform constructs that deploy an Azure AI Foundry agent whose tool calls carry the signed-in user\'s own Entra ID token to the backend API.',
  author: 'Identity Propagating Agent contributors',
  authorAddress: 'maintainers@identity-propagating-agent.dev',
  repositoryUrl: 'https://github.com/identity-propagating-agent/cdktf-identity-propagating-agent.git',
  license: 'MIT',
  keywords: ['cdktf', 'terraform', 'azure', 'entra-id', 'ai-foundry', 'mcp', 'api-management', 'on-behalf-of-user'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // Releases: the version and CHANGELOG.md come from conventional commits (projen's bump); the
  // release workflow (.github/workflows/release.yml) publishes to npm and the four jsii targets.
  // CI here is .ci/run; GitHub runs only the release and the pull-request title lint.
  github: true,
  githubOptions: { mergify: false, pullRequestLint: true },
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  release: true,
  releaseToNpm: true,
  // npm trusted publishing (OIDC from the release workflow): no NPM_TOKEN secret to leak.
  npmTrustedPublishing: true,
  // Package names for the other jsii languages.
  publishToPypi: { distName: 'cdktf-identity-propagating-agent', module: 'cdktf_identity_propagating_agent' },
  publishToNuget: { dotNetNamespace: 'IdentityPropagatingAgent.Cdktf', packageId: 'IdentityPropagatingAgent.Cdktf' },
  publishToMaven: {
    javaPackage: 'dev.identitypropagatingagent.cdktf',
    mavenGroupId: 'dev.identity-propagating-agent',
    mavenArtifactId: 'cdktf-identity-propagating-agent',
  },
  // The release job runs the tests: Chromium for the browser suites (the runner has Chrome) and Node 22.
  releaseWorkflowSetupSteps: [{
    name: 'Chromium and Node 22 for the tests',
    run: 'sudo ln -sf "$(command -v google-chrome)" /usr/bin/chromium && bash scripts/node-tool.sh 22',
  }],
  publishToGo: { moduleName: 'github.com/identity-propagating-agent/cdktf-identity-propagating-agent-go', packageName: 'identitypropagatingagent' },
  jest: false,
  cdktfVersion: '^0.21.0',
  constructsVersion: '^10.4.2',
  jsiiVersion: '~5.9.0',
  typescriptVersion: '~5.9.3',
  minNodeVersion: '24.0.0',
  workflowNodeVersion: '24',
  docgen: true,
  peerDeps: [AZURERM, AZUREAD],
  devDeps: [
    AZURERM,
    AZUREAD,
    'cdktf-cli@^0.21.0',
    'vitest@^5.1.0',
    'tsx@^4.20.0',
    'esbuild@^0.28.0',
    // services (bundled into lib-services/dist, so dev dependencies of the library)
    'hono@^4.13.0',
    '@hono/node-server@^2.1.0',
    'jose@^6.2.0',
    // MCP: the current major (server + Hono adapter, client); the v1 SDK stays for old-revision client tests.
    '@modelcontextprotocol/server@^2.4.0',
    '@modelcontextprotocol/hono@^2.0.2',
    '@modelcontextprotocol/client@^2.4.0',
    '@modelcontextprotocol/sdk@^1.32.0',
    'zod@^4.1.0',
    'sonic-boom@^4.2.0',
    '@azure/identity@^4.14.0',
    '@azure/core-auth@^1.10.0',
    '@azure/data-tables@^13.3.0',
    '@azure/monitor-opentelemetry@^1.21.0',
    '@azure/msal-browser@^5.29.0',
    // local chain and tests
    'oidc-provider@^9.13.0',
    'azurite@^3.37.0',
    'playwright-core@^1.65.0',
    'fast-check@^4.10.0',
    'autocannon@^9.0.0',
  ],
  // test/tsconfig.json type-checks the construct tests; the services (ESM, bundler resolution)
  // have their own lib-services/tsconfig.json that also covers test/services, test/local and bench.
  tsconfigDev: {
    compilerOptions: {},
    exclude: ['services/**', 'local/**', 'support/**', 'verify/**'],
  },
  gitignore: ['/.tools/', '/.bench-out/', 'cdktf.out/', '*.tfstate', '*.tfstate.*', '.terraform/', 'tfplan', '/lib-services/dist/', '/.local/', '/coverage/', '.gen/', '*.pem', '*.key'],
  // The package contents are an allow-list (package.json "files"), not an ignore list.
  npmignoreEnabled: false,
  eslintOptions: {
    // The eslint task (and so `npm test`) checks and never rewrites a file; `npm run lint:fix` fixes.
    commandOptions: { fix: false },
    dirs: ['src'],
    devdirs: ['test', 'examples', 'bench', 'lib-services'],
  },
});

// Consumers: the Node versions the consumer test runs on (22 and 24 LTS). Development: Node 24
// (.nvmrc; scripts/node24.sh brings it to older machines).
project.package.addEngine('node', '>=22.0.0');
new (require('projen').TextFile)(project, '.nvmrc', { lines: ['24'] });

// What the npm package holds: the compiled library, its jsii assembly and docs, and the services
// as prebuilt bundles (the image build contexts), never their sources, tests or local state.
project.package.addField('files', ['lib/**/*.js', 'lib/**/*.d.ts', '.jsii', 'API.md', 'lib-services/dist/**']);

const LIB_INDEXES = ['@cdktf/provider-azurerm/lib', '@cdktf/provider-azurerm/lib/index', '@cdktf/provider-azuread/lib', '@cdktf/provider-azuread/lib/index']
  .map((name) => ({ name, message: 'Import a resource module (lib/<resource>), not the lib index.' }));
// Provider packages by deep path only: the root index loads ~1,500 modules (1.6 s, 420 MiB per process).
project.eslint?.addRules({
  'no-restricted-imports': ['error', {
    paths: [
      { name: '@cdktf/provider-azurerm', message: 'Import by deep path: @cdktf/provider-azurerm/lib/<resource>.' },
      { name: '@cdktf/provider-azuread', message: 'Import by deep path: @cdktf/provider-azuread/lib/<resource>.' },
      ...LIB_INDEXES,
    ],
  }],
});
// Every cdktf core import passes through src/internal/tf.ts (the seam for a move to CDK Terrain).
project.eslint?.addOverride({
  files: ['src/**/*.ts'],
  excludedFiles: ['src/internal/tf.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      paths: [
        { name: 'cdktf', message: 'Import cdktf core through src/internal/tf.ts (the cdktf/cdktn seam).' },
        { name: '@cdktf/provider-azurerm', message: 'Import by deep path: @cdktf/provider-azurerm/lib/<resource>.' },
        { name: '@cdktf/provider-azuread', message: 'Import by deep path: @cdktf/provider-azuread/lib/<resource>.' },
        ...LIB_INDEXES,
      ],
      patterns: [
        { group: ['cdktf/*'], message: 'Import cdktf core through src/internal/tf.ts.' },
      ],
    }],
  },
});

// Services, tests, benchmarks and examples build from dev dependencies (the services are bundled);
// their nested package.json files only set "type": "module", so resolve dependencies at the root.
// tsc (with bundler resolution for lib-services) already reports unresolved imports there.
project.eslint?.addOverride({
  files: ['lib-services/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
  rules: {
    'import/no-extraneous-dependencies': ['error', { devDependencies: true, peerDependencies: true, optionalDependencies: false, packageDir: ['.'] }],
    'import/no-unresolved': 'off',
  },
});

// eslint and tsc keep Node's compile cache under os.tmpdir() unless told otherwise: keep it in
// node_modules/.cache, so that a run leaves the temp folder as it found it.
project.tasks.addEnvironment('NODE_COMPILE_CACHE', '$(pwd)/node_modules/.cache/node-compile-cache');

// vitest instead of jest; never rewrites snapshots (a mismatch or a missing snapshot fails under CI=true).
project.testTask.reset();
project.testTask.spawn(project.tasks.tryFind('eslint')!);
project.testTask.exec('tsc --noEmit -p test/tsconfig.json');
project.testTask.exec('tsc --noEmit -p examples/tsconfig.json');
project.testTask.exec('tsc --noEmit -p lib-services/tsconfig.json');
project.testTask.spawn(project.addTask('build:services', {
  description: 'Bundle the Orders API and the Chat App into lib-services/dist/<service>/',
  exec: 'node lib-services/build.mjs',
}));
// Each jsii target's code is generated (no toolchains needed), so a target that breaks fails the tests.
project.testTask.spawn(project.addTask('jsii-targets', {
  description: 'Compile with jsii, then generate the Python, .NET, Java and Go code (jsii-pacmak --code-only) into a temp folder',
  steps: [{ spawn: 'compile' }, { exec: 'bash scripts/jsii-targets.sh' }],
}));
project.testTask.exec('vitest run');
project.addTask('test:update', { description: 'Rewrite snapshots (never in CI)', exec: 'vitest run --update' });
project.addTask('test:watch', { exec: 'vitest' });
// The example builds its images from the service bundles: build them first (a fresh clone has none).
project.addTask('synth', {
  description: 'Build the service bundles, then synthesize the example stack into examples/cdktf.out (no terraform binary needed)',
}).spawn(project.tasks.tryFind('build:services')!);
project.tasks.tryFind('synth')!.exec('tsx main.ts', { cwd: 'examples' });
// The install route until the package is on the registry (README "Use it in your own CDKTF app";
// test/consumer follows it): bundles, jsii compile, then npm pack (extra args go to npm pack).
project.addTask('tarball', {
  description: 'Build the service bundles, compile with jsii, and npm pack the library into <name>-<version>.tgz',
}).spawn(project.tasks.tryFind('build:services')!);
project.tasks.tryFind('tarball')!.spawn(project.compileTask);
project.tasks.tryFind('tarball')!.exec('npm pack', { receiveArgs: true });
project.addTask('bench', { description: 'Benchmarks (ratios measured in one run)', exec: 'tsx bench/run.ts' });
project.addTask('local', {
  description: 'Run the whole identity chain on loopback (local OpenID provider, Orders API, agent runtime, Chat App)',
  exec: 'node lib-services/build.mjs && tsx lib-services/local/main.ts',
  receiveArgs: true,
});
project.addTask('local:token', {
  description: 'Print a demo user\'s access token from the running local chain (--user alice, --scope <scope>; --for orders-api: exchanged as the agent runtime)',
  exec: 'tsx lib-services/local/token.ts',
  receiveArgs: true,
});
// `verify` ships as a bin (the bundle in lib-services/dist/verify); here it runs the same bundle.
project.addBins({ verify: 'lib-services/dist/verify/verify.mjs' });
project.addTask('verify', {
  description: 'Check a deployed stack hop by hop (--outputs <terraform output -json file>, or --local after `npm run local`)',
  exec: 'node lib-services/build.mjs verify && node lib-services/dist/verify/verify.mjs',
  receiveArgs: true,
});
// The bundles ship in the package: build them before packaging.
project.preCompileTask.spawn(project.tasks.tryFind('build:services')!);

project.addTask('lint:fix', {
  description: 'eslint with --fix (rewrites files; `npm run eslint` only checks)',
  env: { ESLINT_USE_FLAT_CONFIG: 'false', NODE_NO_WARNINGS: '1' },
  exec: 'eslint --ext .ts,.tsx --fix --no-error-on-unmatched-pattern src test examples bench lib-services projenrc .projenrc.ts',
});

// jsii-pacmak writes a .npmignore unless told not to; the package contents are the "files" allow-list.
for (const task of project.tasks.all.filter((t) => t.name.startsWith('package:'))) {
  const language = task.name.slice('package:'.length);
  task.reset();
  task.exec(`jsii-pacmak -v --no-npmignore --target ${language}`);
}

project.gitattributes.addAttributes('*.snap', 'linguist-generated');
project.synth();
