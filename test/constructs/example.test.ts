import { Testing } from 'cdktf';
import { expect, test } from 'vitest';
import { synthJson } from './synth';
import { exampleStack } from '../../examples/stack';

// A change guard: behaviour is asserted by the fine-grained tests; this catches any unreviewed change.
test('example stack synthesizes as reviewed', () => {
  expect(synthJson(exampleStack(Testing.app()))).toMatchSnapshot();
});
