// The outputs verify reads, and the token text it accepts: bad input gets an error naming what is wrong.
import { describe, expect, it } from 'vitest';
import { parseOutputs } from '../../lib-services/verify/outputs';
import { tokenFromText } from '../../lib-services/verify/tokens';

const base = {
  chat_app_url: 'https://ca-chat.example.net/',
  spa_client_id: '11111111-1111-4111-8111-111111111111',
  orders_api_url: 'https://ca-orders.example.net',
  mcp_endpoint: 'https://apim-x.azure-api.net/orders-mcp/mcp',
  apim_gateway_url: 'https://apim-x.azure-api.net',
  foundry_project_endpoint: 'https://ai-x.services.ai.azure.com/api/projects/p',
  agent_name: 'orders-assistant',
};
const tf = (o: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, type: 'string', sensitive: false }])));

describe('parseOutputs', () => {
  it('reads `terraform output -json`, trims trailing slashes, defaults to the Foundry-audience mode', () => {
    const o = parseOutputs(tf(base), 'x');
    expect(o).toMatchObject({ chatAppUrl: 'https://ca-chat.example.net', apimGatewayUrl: 'https://apim-x.azure-api.net', mcpAuthMode: 'foundry-audience', agentName: 'orders-assistant' });
    expect(o.tenantId).toBeUndefined();
  });

  it('also reads plain maps and cdktf\'s outputs file nested under the stack name', () => {
    expect(parseOutputs(JSON.stringify(base), 'x').agentName).toBe('orders-assistant');
    expect(parseOutputs(JSON.stringify({ 'identity-propagating-agent': base }), 'x').mcpEndpoint).toBe(base.mcp_endpoint);
  });

  it('reads lists and the mode', () => {
    const o = parseOutputs(tf({ ...base, mcp_auth_mode: 'audience-bound', mcp_audiences: ['api://a', 'a'], orders_api_scopes: 'api://a/Orders.Read,api://a/Orders.ReadWrite', orders_api_gateway_proof: true }), 'x');
    expect(o).toMatchObject({ mcpAuthMode: 'audience-bound', mcpAudiences: ['api://a', 'a'], ordersApiScopes: ['api://a/Orders.Read', 'api://a/Orders.ReadWrite'], ordersApiGatewayProof: true });
    expect(parseOutputs(tf({ ...base, mcp_allowed_client_ids: ['agent-runtime'] }), 'x').mcpAllowedClientIds).toEqual(['agent-runtime']);
  });

  it('reads foundry-audience, and foundry as its older name', () => {
    expect(parseOutputs(tf({ ...base, mcp_auth_mode: 'foundry-audience' }), 'x').mcpAuthMode).toBe('foundry-audience');
    expect(parseOutputs(tf({ ...base, mcp_auth_mode: 'foundry' }), 'x').mcpAuthMode).toBe('foundry-audience');
  });

  it.each([
    ['not JSON', 'nope', /x is not JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['a missing output', tf({ ...base, agent_name: undefined }), /lacks the output\(s\) agent_name/],
    ['a URL that is not one', tf({ ...base, chat_app_url: 'ca-chat' }), /chat_app_url is not a URL/],
    ['a non-http URL', tf({ ...base, mcp_endpoint: 'ftp://x/mcp' }), /mcp_endpoint must be an http\(s\) URL/],
    ['an unknown mode', tf({ ...base, mcp_auth_mode: 'both' }), /mcp_auth_mode must be "audience-bound" or "foundry-audience", not "both"/],
    ['a list of numbers', tf({ ...base, mcp_audiences: [1] }), /mcp_audiences must be a list of strings/],
  ])('rejects %s with a message naming it', (_name, text, message) => {
    expect(() => parseOutputs(text, 'x')).toThrow(message);
  });
});

describe('tokenFromText', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl';
  it('takes a bare token, a Bearer line, the last line, or the accessToken of the Azure CLI\'s JSON', () => {
    expect(tokenFromText(`${jwt}\n`, 's')).toBe(jwt);
    expect(tokenFromText(`Bearer ${jwt}`, 's')).toBe(jwt);
    expect(tokenFromText(`> npm banner\n${jwt}`, 's')).toBe(jwt);
    expect(tokenFromText(JSON.stringify({ accessToken: jwt, expiresOn: 'x' }), 's')).toBe(jwt);
  });
  it('refuses text that holds no JWT, without echoing it', () => {
    expect(() => tokenFromText('secret-but-not-a-jwt', 'the token command')).toThrow('the token command gave no access token');
    try { tokenFromText('secret-but-not-a-jwt', 's'); } catch (e) { expect((e as Error).message).not.toContain('secret-but-not-a-jwt'); }
  });
});
