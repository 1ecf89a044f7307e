import { join } from 'node:path';
import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { synthJson, withoutMetadata } from './synth';
import { AzapiProvider, IdentityPropagatingAgent, IdentityPropagatingAgentProps, IdentityPropagatingAgentStack } from '../../src';

const props: IdentityPropagatingAgentProps = {
  baseName: 'orders',
  location: 'swedencentral',
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  tenantId: '11111111-1111-1111-1111-111111111111',
  images: { servicesDistDir: join(__dirname, 'fixtures', 'services-dist') },
};

describe('IdentityPropagatingAgent inside a stack of your own', () => {
  test('synthesizes the same resources, data sources and outputs as the stack, at the same addresses', () => {
    const own = new TerraformStack(Testing.app(), 'own');
    new AzurermProvider(own, 'azurerm', { features: [{}], storageUseAzuread: true, subscriptionId: props.subscriptionId, tenantId: props.tenantId });
    new AzureadProvider(own, 'azuread', { tenantId: props.tenantId });
    new AzapiProvider(own, 'azapi', { subscriptionId: props.subscriptionId, tenantId: props.tenantId });
    // "Default" keeps the stack's addresses; any other id is a prefix of them.
    new IdentityPropagatingAgent(own, 'Default', props);
    const stack = new IdentityPropagatingAgentStack(Testing.app(), 'own', props);

    const mine = withoutMetadata(synthJson(own));
    const theirs = withoutMetadata(synthJson(stack));
    expect(Object.keys(mine.resource ?? {}).length).toBeGreaterThan(20);
    expect(mine.resource).toEqual(theirs.resource);
    expect(mine.data).toEqual(theirs.data);
    expect(mine.output).toEqual(theirs.output);
  });

  test('outputs keep their names under any construct id; outputPrefix places two systems in one stack', () => {
    const own = new TerraformStack(Testing.app(), 'two');
    new AzurermProvider(own, 'azurerm', { features: [{}], storageUseAzuread: true });
    new AzureadProvider(own, 'azuread', {});
    new AzapiProvider(own, 'azapi', {});
    new IdentityPropagatingAgent(own, 'First', props);
    new IdentityPropagatingAgent(own, 'Second', { ...props, baseName: 'orders2', outputPrefix: 'second_' });
    const outputs = Object.keys(synthJson(own).output ?? {});
    expect(outputs).toEqual(expect.arrayContaining(['chat_app_url', 'second_chat_app_url', 'mcp_endpoint', 'second_mcp_endpoint']));
    expect(() => new IdentityPropagatingAgent(new TerraformStack(Testing.app(), 'bad'), 'A', { ...props, outputPrefix: 'no-dash' }))
      .toThrow(/outputPrefix "no-dash" is invalid/);
  });

  test('a stack without the providers fails synth naming each missing one', () => {
    const own = new TerraformStack(Testing.app(), 'bare');
    new AzurermProvider(own, 'azurerm', { features: [{}], storageUseAzuread: true });
    new IdentityPropagatingAgent(own, 'Agent', props);
    expect(() => Testing.synth(own, true)).toThrow(/no azuread provider[\s\S]*no azapi provider/);
    expect(() => Testing.synth(own, true)).not.toThrow(/no azurerm provider/);
  });

  test('the stack applies the security checks once, to the whole stack', () => {
    const stack = new IdentityPropagatingAgentStack(Testing.app(), 'checked', props);
    expect(stack.agent.securityChecks).toBe(stack.securityChecks);
    Testing.synth(stack, true);
    expect(stack.securityChecks.findings).toEqual([]);
  });
});
