// The example stack, synthesized exactly as examples/main.ts does, into a scratch folder.
import { App } from 'cdktf';
import { exampleStack } from '../examples/stack';

const app = new App({ outdir: process.env.BENCH_OUTDIR ?? 'cdktf.out', skipValidation: true });
exampleStack(app);
app.synth();
