import { Testing, TerraformStack } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { synthJson, withoutMetadata } from './synth';
import { AzapiDataPlaneResource, AzapiProvider, AzapiResource } from '../../src';

function newStack() {
  const stack = new TerraformStack(Testing.app(), 'azapi');
  new AzapiProvider(stack, 'azapi', {});
  return stack;
}

describe('azapi binding', () => {
  test('provider block and version constraint (2.9 or newer, below 3)', () => {
    const stack = new TerraformStack(Testing.app(), 'p');
    new AzapiProvider(stack, 'azapi', { subscriptionId: 'sub', tenantId: 'ten', useOidc: true, useCli: false, skipProviderRegistration: true });
    const json = synthJson(stack);
    expect(json.provider?.azapi).toEqual([{ subscription_id: 'sub', tenant_id: 'ten', use_oidc: true, use_cli: false, skip_provider_registration: true }]);
    expect(json.terraform.required_providers).toEqual({ azapi: { source: 'azure/azapi', version: '>= 2.9.0, < 3.0.0' } });
  });

  test('azapi_resource: every argument in the shape azapi reads, body keys verbatim', () => {
    const stack = newStack();
    new AzapiResource(stack, 'conn', {
      type: 'Microsoft.CognitiveServices/accounts/projects/connections@2025-04-01-preview',
      name: 'mcp-entra',
      parentId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/a/projects/p',
      location: 'swedencentral',
      identity: { type: 'UserAssigned', identityIds: ['/id/1'] },
      tags: { a: 'b' },
      body: { properties: { category: 'RemoteTool', authType: 'UserEntraToken', audience: 'https://ai.azure.com', metadata: { type: 'custom_MCP' } } },
      responseExportValues: ['properties.target'],
      schemaValidationEnabled: false,
      ignoreCasing: true,
      ignoreMissingProperty: true,
      retry: { errorMessageRegex: ['InternalServerError'], intervalSeconds: 10, maxIntervalSeconds: 60, multiplier: 2, randomizationFactor: 0.1 },
      createHeaders: { 'x-ms-test': '1' },
      updateHeaders: { 'x-ms-test': '2' },
      deleteHeaders: { 'If-Match': '*' },
      readHeaders: { 'x-ms-read': '1' },
      createQueryParameters: { q: ['1'] },
      locks: ['project'],
      replaceTriggersExternalValues: { v: 1 },
      timeouts: { create: '30m', delete: '10m' },
    });
    const json = synthJson(stack);
    expect(withoutMetadata(json.resource?.azapi_resource.conn)).toEqual({
      type: 'Microsoft.CognitiveServices/accounts/projects/connections@2025-04-01-preview',
      name: 'mcp-entra',
      parent_id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/a/projects/p',
      location: 'swedencentral',
      identity: { type: 'UserAssigned', identity_ids: ['/id/1'] },
      tags: { a: 'b' },
      body: { properties: { category: 'RemoteTool', authType: 'UserEntraToken', audience: 'https://ai.azure.com', metadata: { type: 'custom_MCP' } } },
      response_export_values: ['properties.target'],
      schema_validation_enabled: false,
      ignore_casing: true,
      ignore_missing_property: true,
      retry: { error_message_regex: ['InternalServerError'], interval_seconds: 10, max_interval_seconds: 60, multiplier: 2, randomization_factor: 0.1 },
      create_headers: { 'x-ms-test': '1' },
      update_headers: { 'x-ms-test': '2' },
      delete_headers: { 'If-Match': '*' },
      read_headers: { 'x-ms-read': '1' },
      create_query_parameters: { q: ['1'] },
      locks: ['project'],
      replace_triggers_external_values: { v: 1 },
      timeouts: { create: '30m', delete: '10m' },
    });
  });

  test('azapi_resource: unset arguments are left out, references resolve', () => {
    const stack = newStack();
    const parent = new AzapiResource(stack, 'parent', { type: 'Microsoft.Resources/resourceGroups@2024-03-01', name: 'rg', parentId: '/subscriptions/s', location: 'westeurope' });
    const child = new AzapiResource(stack, 'child', { type: 'T@v', name: 'c', parentId: parent.id, body: { properties: { endpoint: parent.outputValue('properties.endpoint') } } });
    const json = synthJson(stack);
    expect(withoutMetadata(json.resource?.azapi_resource.parent)).toEqual({ type: 'Microsoft.Resources/resourceGroups@2024-03-01', name: 'rg', parent_id: '/subscriptions/s', location: 'westeurope' });
    expect(withoutMetadata(json.resource?.azapi_resource.child)).toEqual({
      type: 'T@v',
      name: 'c',
      parent_id: '${azapi_resource.parent.id}',
      body: { properties: { endpoint: '${azapi_resource.parent.output.properties.endpoint}' } },
    });
    expect(child.terraformResourceType).toBe('azapi_resource');
  });

  test('azapi_data_plane_resource: a Foundry agent', () => {
    const stack = newStack();
    new AzapiDataPlaneResource(stack, 'agent', {
      type: 'Microsoft.Foundry/agents@v1',
      name: 'orders-assistant',
      parentId: 'acct.services.ai.azure.com/api/projects/proj',
      body: { definition: { kind: 'prompt', model: 'gpt-4o', tools: [{ type: 'mcp', server_label: 'orders_mcp', allowed_tools: ['list-orders'] }] } },
      responseExportValues: ['versions.latest.version'],
      retry: { errorMessageRegex: ['PermissionDenied'] },
      deleteHeaders: { 'If-Match': '*' },
    });
    const json = synthJson(stack);
    expect(withoutMetadata(json.resource?.azapi_data_plane_resource.agent)).toEqual({
      type: 'Microsoft.Foundry/agents@v1',
      name: 'orders-assistant',
      parent_id: 'acct.services.ai.azure.com/api/projects/proj',
      body: { definition: { kind: 'prompt', model: 'gpt-4o', tools: [{ type: 'mcp', server_label: 'orders_mcp', allowed_tools: ['list-orders'] }] } },
      response_export_values: ['versions.latest.version'],
      retry: { error_message_regex: ['PermissionDenied'] },
      delete_headers: { 'If-Match': '*' },
    });
  });
});
