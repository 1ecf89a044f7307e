// One CDKTF app per use case: `npx tsx main.ts [example]` (or EXAMPLE=<example>), `full` by default.
// It writes the Terraform JSON to examples/cdktf.out/stacks/<stack>/; `npm run plan|deploy|destroy`
// (scripts/terraform.sh) then runs terraform there, and `npx cdktf synth|deploy` works too.
import { App, AzurermBackendConfig, TerraformStack } from 'cdktf';
import { withLocalState } from './backend';
import { byoStack } from './byo-stack';
import { EXAMPLE_STATE, existingStack } from './existing-stack';
import { ordersApiAlone } from './orders-api-alone';
import { exampleStack } from './stack';

/** Where existing-stack keeps its state: the example's values unless TFSTATE_* name yours. */
function stateFromEnvironment(): AzurermBackendConfig {
  const env = process.env;
  return {
    ...EXAMPLE_STATE,
    resourceGroupName: env.TFSTATE_RESOURCE_GROUP ?? EXAMPLE_STATE.resourceGroupName,
    storageAccountName: env.TFSTATE_STORAGE_ACCOUNT ?? EXAMPLE_STATE.storageAccountName,
    containerName: env.TFSTATE_CONTAINER ?? EXAMPLE_STATE.containerName,
  };
}

const EXAMPLES: { [name: string]: (app: App) => TerraformStack } = {
  'full': (app) => exampleStack(app),
  'byo': (app) => byoStack(app),
  'existing-stack': (app) => existingStack(app, undefined, stateFromEnvironment()),
  'orders-api': (app) => ordersApiAlone(app),
};

const name = process.argv[2] ?? process.env.EXAMPLE ?? 'full';
const example = EXAMPLES[name];
if (example === undefined) {
  console.error(`examples/main.ts: no example "${name}"; choose one of ${Object.keys(EXAMPLES).join(', ')}.`);
  process.exit(2);
}
// Validations run on synth: the stack's security rules fail it on any error finding.
const app = new App({ outdir: 'cdktf.out' });
withLocalState(example(app));
app.synth();
