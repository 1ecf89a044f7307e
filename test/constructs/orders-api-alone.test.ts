import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, synthJson, testPlacement } from './synth';
import { ImageRegistry, ServiceContainerApps, ServiceContainerAppsProps } from '../../src';

// The Orders API without the Chat App: ServiceContainerApps without chatAppImage, ImageRegistry with chatApp false.
const placement = testPlacement();
const servicesDistDir = `${__dirname}/fixtures/services-dist`;
// GUIDs where Azure expects them (the parts refuse anything else).
const ORDERS_PRINCIPAL = '0d0d0d0d-0000-4000-8000-000000000001';
const SPA = '5ba5ba5b-0000-4000-8000-000000000001';
const orders = { id: '/uami/orders', principalId: ORDERS_PRINCIPAL, clientId: '0c0c0c0c-0000-4000-8000-000000000001' };
const chat = { id: '/uami/chat', principalId: 'c4a7c4a7-0000-4000-8000-000000000002', clientId: '0c0c0c0c-0000-4000-8000-000000000002' };
const ordersOnly: ServiceContainerAppsProps = {
  placement,
  environmentId: '/env/id',
  environmentDefaultDomain: 'happy-sea-123.swedencentral.azurecontainerapps.io',
  ordersApiIdentity: orders,
  ordersApiImage: 'cr.azurecr.io/orders-api:aaa',
  registry: { loginServer: 'cr.azurecr.io', id: '/registries/cr' },
  tenantId: '7e7e7e7e-0000-4000-8000-000000000001',
  tablesEndpoint: 'https://st.table.core.windows.net/',
};

function apps(props: Partial<ServiceContainerAppsProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const result = new ServiceContainerApps(stack, 'Apps', { ...ordersOnly, ...props });
  return { apps: result, json: synthJson(stack) };
}

describe('ServiceContainerApps without chatAppImage', () => {
  test('creates the Orders API only, with its AcrPull', () => {
    const { apps: a, json } = apps();
    expect(onlyResource(json, 'azurerm_container_app').name).toBe('ca-orders-orders-api');
    expect(onlyResource(json, 'azurerm_role_assignment').principal_id).toBe(ORDERS_PRINCIPAL);
    expect(a.ordersApiAppId).toBeDefined();
    expect(a.chatAppAppId).toBeUndefined();
  });

  test('with chatAppImage and its settings both apps exist', () => {
    const { apps: a, json } = apps({ chatAppImage: 'cr.azurecr.io/chat-app:bbb', chatAppIdentity: chat, spaClientId: SPA, foundryProjectEndpoint: 'https://f' });
    expect(Object.values<any>(resourcesOf(json, 'azurerm_container_app')).map((x) => x.name).sort()).toEqual(['ca-orders-chat-app', 'ca-orders-orders-api']);
    expect(a.chatAppAppId).toBeDefined();
  });

  test('a Chat App setting without chatAppImage is refused, naming it', () => {
    expect(() => apps({ spaClientId: SPA })).toThrow('ServiceContainerApps: chatAppImage is not set, so no Chat App is created and spaClientId has nothing to configure.');
    expect(() => apps({ chatAppIdentity: chat })).toThrow(/chatAppIdentity has nothing to configure/);
    expect(() => apps({ agentName: 'a' })).toThrow(/agentName has nothing to configure/);
  });

  test('chatAppImage without what the Chat App needs is refused, naming it', () => {
    expect(() => apps({ chatAppImage: 'i', chatAppIdentity: chat, spaClientId: SPA }))
      .toThrow('ServiceContainerApps: the Chat App (chatAppImage) needs foundryProjectEndpoint.');
    expect(() => apps({ chatAppImage: 'i', spaClientId: SPA, foundryProjectEndpoint: 'https://f' })).toThrow(/needs chatAppIdentity/);
  });
});

describe('ImageRegistry with chatApp false', () => {
  const registry = (props: object) => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const images = new ImageRegistry(stack, 'Images', { placement, servicesDistDir, ...props });
    return { images, json: synthJson(stack) };
  };

  test('builds the Orders API image only', () => {
    const { images, json } = registry({ chatApp: false });
    expect(Object.keys(resourcesOf(json, 'azurerm_container_registry_task'))).toEqual([expect.stringMatching(/^Images_OrdersApiBuildTask/)]);
    expect(images.ordersApiImage).toBeDefined();
    expect(images.chatAppImage).toBeUndefined();
    expect(Object.keys(resourcesOf(registry({}).json, 'azurerm_container_registry_task'))).toHaveLength(2);
  });

  test('chatAppImage with chatApp false is refused', () => {
    expect(() => registry({ chatApp: false, chatAppImage: 'x' })).toThrow('ImageRegistry: chatApp is false, so chatAppImage has nothing to configure.');
  });
});
