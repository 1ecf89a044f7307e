import { Construct } from 'constructs';
import { IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, ImageOptions } from '../src';

/** The example's settings (the CDK Terrain consumer test synthesizes the same from the package). */
export const EXAMPLE_PROPS: IdentityPropagatingAgentStackProps = {
  baseName: 'ordersagent',
  location: 'swedencentral',
  tags: { project: 'identity-propagating-agent', environment: 'example' },
};

/**
 * The example deployment: the whole chain with its defaults. `main.ts` synthesizes it;
 * the tests snapshot it (with a fixed build context, so that service code changes do not
 * change the snapshot).
 */
export function exampleStack(scope: Construct, id = 'identity-propagating-agent', images?: ImageOptions): IdentityPropagatingAgentStack {
  return new IdentityPropagatingAgentStack(scope, id, { ...EXAMPLE_PROPS, images });
}
