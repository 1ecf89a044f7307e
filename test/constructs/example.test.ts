import { join } from 'node:path';
import { Testing } from 'cdktf';
import { expect, test } from 'vitest';
import { synthJson } from './synth';
import { exampleStack } from '../../examples/stack';

// The service bundles change with every service commit; the snapshot uses a fixed build context.
const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');

// A change guard: behaviour is asserted by the fine-grained tests; this catches any unreviewed change.
test('example stack synthesizes as reviewed', () => {
  expect(synthJson(exampleStack(Testing.app(), undefined, { servicesDistDir }))).toMatchSnapshot();
});
