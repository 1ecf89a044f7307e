import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, synthJson, testPlacement } from './synth';
import { SpaRegistration, SpaRegistrationProps } from '../../src';

const placement = testPlacement();

function synth(props: Partial<SpaRegistrationProps> = { chatAppUrl: 'https://ca-orders-chat-app.sea.azurecontainerapps.io' }) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const spa = new SpaRegistration(stack, 'Spa', { placement, ...props });
  return { spa, json: synthJson(stack) };
}

describe('a new SPA registration', () => {
  test('single tenant, SPA redirect URIs on the Chat App origin and localhost, no public-client flows', () => {
    const { json } = synth();
    const app = onlyResource(json, 'azuread_application');
    expect(app).toMatchObject({
      display_name: 'Chat App (orders)',
      sign_in_audience: 'AzureADMyOrg',
      fallback_public_client_enabled: false,
    });
    expect(app.single_page_application.redirect_uris).toEqual([
      'https://ca-orders-chat-app.sea.azurecontainerapps.io/',
      'https://ca-orders-chat-app.sea.azurecontainerapps.io/redirect.html',
      'http://localhost:8080/',
      'http://localhost:8080/redirect.html',
    ]);
    expect(app.web).toBeUndefined();
    expect(app.identifier_uris).toBeUndefined();
  });

  test('delegated access to Azure AI user_impersonation (else AADSTS650057)', () => {
    const app = onlyResource(synth().json, 'azuread_application');
    expect(app.required_resource_access).toEqual([{
      resource_app_id: '18a66f5f-dbdf-4c17-9dd7-1634712a9cbe',
      resource_access: [{ id: '1a7925b5-f871-417a-9b8b-303f9f29fa10', type: 'Scope' }],
    }]);
  });

  test('a service principal, and the deployer owns both', () => {
    const { spa, json } = synth();
    const sp = onlyResource(json, 'azuread_service_principal');
    expect(sp.client_id).toMatch(/^\$\{azuread_application\.\w+\.client_id\}$/);
    expect(sp.app_role_assignment_required).toBe(false);
    const owner = /^\$\{data\.azuread_client_config\.\w+\.object_id\}$/;
    expect(onlyResource(json, 'azuread_application').owners).toEqual([expect.stringMatching(owner)]);
    expect(sp.owners).toEqual([expect.stringMatching(owner)]);
    expect(spa.clientId).toMatch(/TOKEN/);
  });

  test('options: display name, no localhost, assignment required', () => {
    const { json } = synth({ chatAppUrl: 'https://chat.example', displayName: 'My Chat', localhostRedirectUris: false, appRoleAssignmentRequired: true });
    const app = onlyResource(json, 'azuread_application');
    expect(app.display_name).toBe('My Chat');
    expect(app.single_page_application.redirect_uris).toEqual(['https://chat.example/', 'https://chat.example/redirect.html']);
    expect(onlyResource(json, 'azuread_service_principal').app_role_assignment_required).toBe(true);
  });

  test('the Chat App URL is required', () => {
    expect(() => synth({})).toThrow(/chatAppUrl is required for a new registration/);
  });
});

describe('an existing client id', () => {
  test('creates nothing and passes the client id through', () => {
    const { spa, json } = synth({ existingSpaClientId: '33333333-3333-3333-3333-333333333333' });
    expect(spa.clientId).toBe('33333333-3333-3333-3333-333333333333');
    expect(resourcesOf(json, 'azuread_application')).toEqual({});
    expect(resourcesOf(json, 'azuread_service_principal')).toEqual({});
    expect(json.data).toBeUndefined();
  });

  test.each(['displayName', 'localhostRedirectUris', 'appRoleAssignmentRequired', 'chatAppUrl'])('with %s is rejected, naming both', (prop) => {
    const value = prop === 'localhostRedirectUris' || prop === 'appRoleAssignmentRequired' ? true : 'x';
    expect(() => synth({ existingSpaClientId: '33333333-3333-3333-3333-333333333333', [prop]: value }))
      .toThrow(new RegExp(`SpaRegistration: existingSpaClientId and ${prop} cannot be used together`));
  });
});
