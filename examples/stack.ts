import { Construct } from 'constructs';
import { IdentityPropagatingAgentStack } from '../src';

/**
 * The example deployment: the whole chain with its defaults. `main.ts` synthesizes it;
 * the tests snapshot it.
 */
export function exampleStack(scope: Construct, id = 'identity-propagating-agent'): IdentityPropagatingAgentStack {
  return new IdentityPropagatingAgentStack(scope, id, {
    baseName: 'ordersagent',
    location: 'swedencentral',
    tags: { project: 'identity-propagating-agent', environment: 'example' },
  });
}
