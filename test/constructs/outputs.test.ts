import { join } from 'node:path';
import { Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, resourceWithin, synthJson, SynthJson } from './synth';
import { findAll, parseXml } from './xml';
import { IdentityPropagatingAgentStack, IdentityPropagatingAgentStackProps, McpAuthMode } from '../../src';

// The stack's outputs that `verify` reads (lib-services/verify/outputs.ts): each value in both
// MCP modes, each agreeing with what the services and API Management were configured with, and
// the whole set fed to verify's own parser so that the names and types cannot drift apart.

const servicesDistDir = join(__dirname, 'fixtures', 'services-dist');
const base: IdentityPropagatingAgentStackProps = { baseName: 'orders', location: 'swedencentral', uniqueSuffix: 'abc123', images: { servicesDistDir } };
const synth = (props: Partial<IdentityPropagatingAgentStackProps> = {}) => synthJson(new IdentityPropagatingAgentStack(Testing.app(), 'test', { ...base, ...props }));

const outputs = (json: SynthJson): { [name: string]: any } =>
  Object.fromEntries(Object.entries(json.output ?? {}).map(([name, o]: [string, any]) => [name, o.value]));
const envOf = (json: SynthJson, part: string): { [name: string]: string } => Object.fromEntries(
  resourceWithin(json, 'azurerm_container_app', part).template.container[0].env.map((e: any) => [e.name, e.value]));
const list = (value: string | undefined) => (value ?? '').split(',').filter(Boolean);
const namedValues = (json: SynthJson) => Object.fromEntries((Object.values(resourcesOf(json, 'azurerm_api_management_named_value')) as any[]).map((v) => [v.name, v.value]));
const policyOf = (json: SynthJson, apiName: string) => {
  const [apiId] = Object.entries(resourcesOf(json, 'azurerm_api_management_api')).find(([, a]: any) => a.name === apiName)!;
  const policy = (Object.values(resourcesOf(json, 'azurerm_api_management_api_policy')) as any[]).find((p) => p.api_name === `\${azurerm_api_management_api.${apiId}.name}`);
  return parseXml(policy.xml_content.replace(/\{\{([^{}]+)\}\}/g, (_: string, name: string) => namedValues(json)[name]));
};
const metadataScopes = (json: SynthJson) => (Object.values(resourcesOf(json, 'azurerm_api_management_api_operation_policy')) as any[])
  .map((p) => JSON.parse(findAll(parseXml(p.xml_content), 'inbound/return-response/set-body')[0].text).scopes_supported);

/** Every `${...}` Terraform expression replaced by a stand-in (the same expression, the same GUID), as after apply. */
function resolved<T>(value: T, seen = new Map<string, string>()): T {
  const text = JSON.stringify(value).replace(/\$\{[^{}]*\}/g, (expr) => {
    if (!seen.has(expr)) seen.set(expr, `0000aaaa-0000-4000-8000-${String(seen.size + 1).padStart(12, '0')}`);
    return seen.get(expr)!;
  });
  return JSON.parse(text);
}

/** The outputs as `terraform output -json` prints them. */
function terraformOutputJson(json: SynthJson): string {
  const typeOf = (v: unknown) => (Array.isArray(v) ? ['list', 'string'] : typeof v === 'boolean' ? 'bool' : 'string');
  const entries = Object.entries(resolved(outputs(json))).map(([k, v]) => [k, { value: v, type: typeOf(v), sensitive: false }]);
  return JSON.stringify(Object.fromEntries(entries));
}

/** What the Orders API itself lists in `scopes_supported`, computed by its own code from the environment the stack gives it. */
async function servedScopes(json: SynthJson): Promise<string[]> {
  // Loaded at run time: the services are ES modules outside this project's compilation.
  const services = join(__dirname, '..', '..', 'lib-services');
  const auth = await import(join(services, 'shared', 'auth', 'index.ts'));
  const access = await import(join(services, 'orders-api', 'access.ts'));
  const env = envOf(json, 'OrdersApi');
  const subset = Object.fromEntries(Object.entries(env).filter(([k]) => /^(AUTH_|ORDERS_(READ|WRITE)_SCOPES$)/.test(k)));
  const settings = access.advertisedScopeSettings(auth.authSettingsFromEnv(subset), access.scopeRulesFromEnv(subset));
  return auth.protectedResourceMetadata('https://orders.example/mcp', settings).scopes_supported;
}

const CLIENT_CONFIG_TENANT = '${data.azurerm_client_config.ClientConfig.tenant_id}';

describe.each([
  ['audience-bound (the default)', {}],
  ['foundry-audience', { mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE }],
] as Array<[string, Partial<IdentityPropagatingAgentStackProps>]>)('%s: the outputs verify reads', (mode, props) => {
  const json = synth(props);
  const out = outputs(json);
  const bound = mode.startsWith('audience-bound');
  const registration = Object.keys(resourcesOf(json, 'azuread_application')).find((id) => id.startsWith('OrdersApiRegistration_'));
  const clientId = `\${azuread_application.${registration}.client_id}`;
  const chat = envOf(json, 'ChatApp');
  const orders = envOf(json, 'OrdersApi');

  test('tenant and authority: the deployment\'s tenant, the Chat App\'s AUTH_AUTHORITY', () => {
    expect(out.tenant_id).toBe(CLIENT_CONFIG_TENANT);
    expect(out.authority).toBe(`https://login.microsoftonline.com/${CLIENT_CONFIG_TENANT}`);
    expect(out.authority).toBe(chat.AUTH_AUTHORITY);
  });

  test('the SPA\'s scopes and the Chat App\'s audiences and required scopes, as the Chat App is configured', () => {
    expect(out.spa_scopes).toEqual(['https://ai.azure.com/.default']);
    expect(out.spa_scopes).toEqual(list(chat.AUTH_SCOPES));
    expect(out.chat_app_audiences).toEqual(['https://ai.azure.com']);
    expect(out.chat_app_audiences).toEqual(list(chat.AUTH_AUDIENCES));
    expect(out.chat_app_required_scopes).toEqual([]);
    expect(chat.AUTH_REQUIRED_SCOPES).toBeUndefined();
  });

  test('the mode, in the words verify reads', () => {
    expect(out.mcp_auth_mode).toBe(bound ? 'audience-bound' : 'foundry-audience');
  });

  test('the MCP audiences: what API Management\'s validate-jwt and the Orders API accept', () => {
    expect(out.mcp_audiences).toEqual(bound ? [`api://${clientId}`, clientId] : ['https://ai.azure.com']);
    expect(out.mcp_audiences).toEqual(list(orders.AUTH_AUDIENCES));
    for (const api of ['orders-mcp', 'orders-api']) expect(findAll(policyOf(json, api), 'inbound/validate-jwt/audiences/audience').map((a) => a.text)).toEqual(out.mcp_audiences);
    expect(out.mcp_allowed_client_ids).toEqual([]);
  });

  test('the Orders API scopes: qualified exactly as the Orders API and API Management list them in scopes_supported', async () => {
    expect(out.orders_api_scopes).toEqual(bound ? [`api://${clientId}/Orders.Read`, `api://${clientId}/Orders.ReadWrite`] : ['https://ai.azure.com/.default']);
    const documents = metadataScopes(json);
    expect(documents).toHaveLength(3);
    for (const scopes of documents) expect(scopes).toEqual(out.orders_api_scopes);
    const seen = new Map<string, string>();
    const outputsResolved = resolved(out.orders_api_scopes, seen);
    expect(await servedScopes(resolved(json, seen))).toEqual(outputsResolved);
  });

  test('the gateway proof and the MCP connection the agent\'s tool uses', () => {
    expect(out.orders_api_gateway_proof).toBe(true);
    expect(orders.GATEWAY_AUDIENCE).toBeDefined();
    expect(out.mcp_connection_name).toBe('mcp-entra');
    expect(onlyResource(json, 'azapi_data_plane_resource').body.definition.tools[0].project_connection_id).toBe(out.mcp_connection_name);
  });

  test('none is sensitive or holds a secret', () => {
    for (const [name, o] of Object.entries(json.output!) as Array<[string, any]>) {
      expect(o.sensitive, name).toBeUndefined();
      expect(JSON.stringify(o.value), name).not.toMatch(/secret|password|access_key|primary_key|connection_string|sas/i);
    }
  });
});

describe('outputs follow the switches', () => {
  test('allowed clients, a given tenant and authority, no gateway proof, no gateway', () => {
    const tenant = '7e7e7e7e-0000-4000-8000-000000000001';
    const client = '5ca5ca5c-0000-4000-8000-000000000001';
    const out = outputs(synth({ tenantId: tenant, containerApps: { ordersApiAllowedClientIds: [client], authority: 'https://login.example.test/t' }, gateway: { ordersApiGatewayProof: false } }));
    expect(out).toMatchObject({ tenant_id: tenant, authority: 'https://login.example.test/t', mcp_allowed_client_ids: [client], orders_api_gateway_proof: false });
    const noApim = outputs(synth({ gateway: { enabled: false } }));
    expect(noApim.orders_api_gateway_proof).toBe(false);
    expect(noApim.apim_gateway_url).toBeUndefined();
  });

  test('a required scope of the original\'s mode is qualified by its audience, as the Orders API qualifies it', () => {
    const out = outputs(synth({ mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE, containerApps: { ordersApiRequiredScopes: ['user_impersonation'] } }));
    expect(out.orders_api_scopes).toEqual(['https://ai.azure.com/user_impersonation']);
  });
});

describe('verify reads the synthesized outputs (names and types cannot drift)', () => {
  const camelToSnake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

  test.each([
    ['audience-bound', {}],
    ['foundry-audience', { mcpAuth: McpAuthMode.FOUNDRY_AUDIENCE }],
  ] as Array<[string, Partial<IdentityPropagatingAgentStackProps>]>)('%s: every output verify knows is there with the type it expects, and verify knows every output', async (mode, props) => {
    const { parseOutputs } = await import('../../lib-services/verify/outputs.js');
    const json = synth(props);
    const parsed = parseOutputs(terraformOutputJson(json), 'the synthesized outputs') as unknown as { [field: string]: unknown };
    const missing = Object.entries(parsed).filter(([, v]) => v === undefined).map(([k]) => camelToSnake(k));
    expect(missing, 'outputs verify reads that the stack lacks').toEqual([]);
    expect(Object.keys(json.output!).sort(), 'outputs verify does not read').toEqual(Object.keys(parsed).map(camelToSnake).sort());
    expect(parsed.mcpAuthMode).toBe(mode);
    expect(parsed.ordersApiGatewayProof).toBe(true);
  });

  test('a type verify would refuse fails the parser (the check can fail)', async () => {
    const { parseOutputs } = await import('../../lib-services/verify/outputs.js');
    const doc = JSON.parse(terraformOutputJson(synth()));
    doc.orders_api_gateway_proof.value = 'true';
    expect(() => parseOutputs(JSON.stringify(doc), 'x')).toThrow(/orders_api_gateway_proof must be true or false/);
    doc.orders_api_gateway_proof.value = true;
    doc.mcp_auth_mode.value = 'AUDIENCE_BOUND';
    expect(() => parseOutputs(JSON.stringify(doc), 'x')).toThrow(/mcp_auth_mode must be "audience-bound" or "foundry-audience"/);
  });
});
