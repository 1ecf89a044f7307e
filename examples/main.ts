// A CDKTF app that deploys the example: `npm run synth` (or `cdktf synth` in this folder)
// writes the Terraform JSON to examples/cdktf.out; `cdktf deploy` applies it.
import { App } from 'cdktf';
import { exampleStack } from './stack';

// Validations run on synth: the stack's security rules fail it on any error finding.
const app = new App({ outdir: 'cdktf.out' });
exampleStack(app);
app.synth();
