// A CDKTF app that deploys the example: `npm run synth` (or `cdktf synth` in this folder)
// writes the Terraform JSON to examples/cdktf.out; `cdktf deploy` applies it.
import { App } from 'cdktf';
import { exampleStack } from './stack';

// skipValidation: synth must not need a terraform binary on the machine.
const app = new App({ outdir: 'cdktf.out', skipValidation: true });
exampleStack(app);
app.synth();
