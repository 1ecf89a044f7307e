import { Construct } from 'constructs';
import { IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, ImageOptions } from '../src';

/** The example's settings (the CDK Terrain consumer test synthesizes the same from the package). */
export const EXAMPLE_PROPS: IdentityPropagatingAgentStackProps = {
  baseName: 'ordersagent',
  location: 'swedencentral',
  tags: { project: 'identity-propagating-agent', environment: 'example' },
  // Who may chat: a security group (owned by the deployer) gets the agent-runner role on the
  // project. Name its first members here, e.g. AGENT_USER_OBJECT_IDS="<oid>,<oid>", or add
  // members in Entra later; synth warns while nobody but the deployer could chat.
  foundry: { agentUsers: { createGroup: true, groupMembers: agentUserObjectIds() } },
};

/**
 * The example deployment: the whole chain with its defaults. `main.ts` synthesizes it;
 * the tests snapshot it (with a fixed build context, so that service code changes do not
 * change the snapshot).
 */
export function exampleStack(scope: Construct, id = 'identity-propagating-agent', images?: ImageOptions): IdentityPropagatingAgentStack {
  return new IdentityPropagatingAgentStack(scope, id, { ...EXAMPLE_PROPS, images });
}

/** Object ids of the first chat users, from AGENT_USER_OBJECT_IDS (comma-separated); none when unset. */
function agentUserObjectIds(): string[] | undefined {
  const ids = (process.env.AGENT_USER_OBJECT_IDS ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '');
  return ids.length > 0 ? ids : undefined;
}
