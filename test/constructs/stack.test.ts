import { join } from 'node:path';
import { App, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resolveIn, resourcesOf, synthJson } from './synth';
import { IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps } from '../../src';

// Image build contexts from a fixture: construct tests never depend on (or race with) the real bundles.
const base: IdentityPropagatingAgentStackProps = {
  baseName: 'orders',
  location: 'swedencentral',
  images: { servicesDistDir: join(__dirname, 'fixtures', 'services-dist') },
};

function stack(props: Partial<IdentityPropagatingAgentStackProps> = {}) {
  return new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props });
}

describe('providers', () => {
  test('configures azurerm (Entra storage data plane), azuread and azapi', () => {
    const json = synthJson(stack({ subscriptionId: '00000000-0000-0000-0000-000000000001', tenantId: '11111111-1111-1111-1111-111111111111' }));
    // The default provider, plus the image build's alias for its key-signed build-context account.
    expect(json.provider?.azurerm?.[0]).toEqual({
      features: [{}],
      storage_use_azuread: true,
      subscription_id: '00000000-0000-0000-0000-000000000001',
      tenant_id: '11111111-1111-1111-1111-111111111111',
    });
    expect(json.provider?.azuread).toEqual([{ tenant_id: '11111111-1111-1111-1111-111111111111' }]);
    expect(json.provider?.azapi).toEqual([{ subscription_id: '00000000-0000-0000-0000-000000000001', tenant_id: '11111111-1111-1111-1111-111111111111' }]);
    expect(json.terraform.required_providers.azapi).toEqual({ source: 'azure/azapi', version: '>= 2.9.0, < 3.0.0' });
    expect(json.terraform.required_providers.azurerm.version).toBe('4.55.0');
    expect(json.terraform.required_providers.azuread.version).toBe('3.7.0');
  });

  test('the tenant comes from the deploying identity unless given', () => {
    const s = stack();
    expect(resolveIn(s, s.tenantId)).toMatch(/data\.azurerm_client_config\.ClientConfig\.tenant_id/);
    expect(stack({ tenantId: '11111111-1111-1111-1111-111111111111' }).tenantId).toBe('11111111-1111-1111-1111-111111111111');
  });
});

describe('resource group', () => {
  test('a new one named rg-<baseName> by default, with tags', () => {
    const json = synthJson(stack({ tags: { team: 'a' } }));
    expect(onlyResource(json, 'azurerm_resource_group')).toMatchObject({ name: 'rg-orders', location: 'swedencentral', tags: { team: 'a' } });
    expect(json.data?.azurerm_resource_group).toBeUndefined();
  });

  test('an explicit name', () => {
    expect(onlyResource(synthJson(stack({ resourceGroupName: 'my-rg' })), 'azurerm_resource_group').name).toBe('my-rg');
  });

  test('an existing one is looked up, not created, and everything goes in it', () => {
    const json = synthJson(stack({ existingResourceGroupName: 'shared-rg' }));
    expect(resourcesOf(json, 'azurerm_resource_group')).toEqual({});
    const lookups = Object.values(json.data?.azurerm_resource_group ?? {});
    expect(lookups).toHaveLength(1);
    expect(lookups[0]).toMatchObject({ name: 'shared-rg' });
    expect(onlyResource(json, 'azurerm_log_analytics_workspace').resource_group_name).toMatch(/data\.azurerm_resource_group\.\w+\.name/);
  });

  test('a new name and an existing group together are rejected, naming both', () => {
    expect(() => stack({ resourceGroupName: 'a', existingResourceGroupName: 'b' }))
      .toThrow(/IdentityPropagatingAgent: resourceGroupName and existingResourceGroupName cannot be used together/);
  });
});

describe('names', () => {
  test.each(['ab', 'Orders', '1orders', 'orders-', 'or--ders', 'a'.repeat(15), 'orders_x'])('baseName %j is rejected with a message naming it', (baseName) => {
    expect(() => stack({ baseName })).toThrow(new RegExp(`baseName "${baseName}" is invalid`));
  });

  test('the unique suffix derives from subscription and resource group by default', () => {
    const s = stack();
    expect(resolveIn(s, s.placement.uniqueSuffix)).toMatch(/substr\(sha1\(join\("\/", \[data\.azurerm_client_config\.\w+\.subscription_id, azurerm_resource_group\.\w+\.name\]\)\), 0, 6\)/);
    expect(stack({ uniqueSuffix: 'x1y2z3' }).placement.uniqueSuffix).toBe('x1y2z3');
    expect(() => stack({ uniqueSuffix: 'NO!' })).toThrow(/uniqueSuffix "NO!" is invalid/);
  });
});

describe('monitoring', () => {
  test('a new workspace (30 days) and a workspace-based Application Insights', () => {
    const json = synthJson(stack());
    const workspace = onlyResource(json, 'azurerm_log_analytics_workspace');
    expect(workspace).toMatchObject({ name: 'log-orders', sku: 'PerGB2018', retention_in_days: 30, location: 'swedencentral' });
    const insights = onlyResource(json, 'azurerm_application_insights');
    expect(insights).toMatchObject({ name: 'appi-orders', application_type: 'web' });
    expect(insights.workspace_id).toMatch(/^\$\{azurerm_log_analytics_workspace\.\w+\.id\}$/);
  });

  test('an existing workspace: none is created and Application Insights uses it', () => {
    const id = '/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w';
    const json = synthJson(stack({ monitoring: { existingLogAnalyticsWorkspaceId: id } }));
    expect(resourcesOf(json, 'azurerm_log_analytics_workspace')).toEqual({});
    expect(onlyResource(json, 'azurerm_application_insights').workspace_id).toBe(id);
  });

  test('retention, quota and sampling reach the resources', () => {
    const json = synthJson(stack({ monitoring: { retentionInDays: 90, dailyQuotaGb: 5, samplingPercentage: 50 } }));
    expect(onlyResource(json, 'azurerm_log_analytics_workspace')).toMatchObject({ retention_in_days: 90, daily_quota_gb: 5 });
    expect(onlyResource(json, 'azurerm_application_insights').sampling_percentage).toBe(50);
  });

  test('settings of a new workspace with an existing one are rejected, naming both', () => {
    expect(() => stack({ monitoring: { existingLogAnalyticsWorkspaceId: 'x', retentionInDays: 60 } }))
      .toThrow(/Monitoring: existingLogAnalyticsWorkspaceId and retentionInDays cannot be used together/);
    expect(() => stack({ monitoring: { retentionInDays: 7 } })).toThrow(/retentionInDays is 7; it must be a whole number from 30 to 730/);
  });

  test('a rejected configuration synthesizes nothing', () => {
    const app = new App({ outdir: '/nonexistent-never-written' });
    expect(() => new IdentityPropagatingAgentStack(app, 's', { ...base, monitoring: { existingLogAnalyticsWorkspaceId: 'x', dailyQuotaGb: 1 } })).toThrow();
  });
});
