// `npm run bench`: every benchmark, each reporting ratios measured side by side in one run.
// Benchmarks are never part of `npm test`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const suites = ['synth', 'orders-api', 'chat-app'];

for (const name of suites) {
  const file = join(import.meta.dirname, `${name}.ts`);
  if (!existsSync(file)) continue;
  const started = Date.now();
  const mod = await import(file);
  const results = await mod.run();
  console.log(`\n## ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.table(results);
}
