import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, synthJson, testPlacement } from './synth';
import { ImageRegistry, ServiceContainerApps, ServiceContainerAppsProps } from '../../src';

// The Orders API without the Chat App: ServiceContainerApps without chatAppImage, ImageRegistry with chatApp false.
const placement = testPlacement();
const servicesDistDir = `${__dirname}/fixtures/services-dist`;
const orders = { id: '/uami/orders', principalId: 'orders-principal', clientId: 'orders-client' };
const chat = { id: '/uami/chat', principalId: 'chat-principal', clientId: 'chat-client' };
const ordersOnly: ServiceContainerAppsProps = {
  placement,
  environmentId: '/env/id',
  environmentDefaultDomain: 'happy-sea-123.swedencentral.azurecontainerapps.io',
  ordersApiIdentity: orders,
  ordersApiImage: 'cr.azurecr.io/orders-api:aaa',
  registry: { loginServer: 'cr.azurecr.io', id: '/registries/cr' },
  tenantId: '11111111-1111-1111-1111-111111111111',
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
    expect(onlyResource(json, 'azurerm_role_assignment').principal_id).toBe('orders-principal');
    expect(a.ordersApiAppId).toBeDefined();
    expect(a.chatAppAppId).toBeUndefined();
  });

  test('with chatAppImage and its settings both apps exist', () => {
    const { apps: a, json } = apps({ chatAppImage: 'cr.azurecr.io/chat-app:bbb', chatAppIdentity: chat, spaClientId: '33333333-3333-3333-3333-333333333333', foundryProjectEndpoint: 'https://f' });
    expect(Object.values<any>(resourcesOf(json, 'azurerm_container_app')).map((x) => x.name).sort()).toEqual(['ca-orders-chat-app', 'ca-orders-orders-api']);
    expect(a.chatAppAppId).toBeDefined();
  });

  test('a Chat App setting without chatAppImage is refused, naming it', () => {
    expect(() => apps({ spaClientId: '33333333-3333-3333-3333-333333333333' })).toThrow('ServiceContainerApps: chatAppImage is not set, so no Chat App is created and spaClientId has nothing to configure.');
    expect(() => apps({ chatAppIdentity: chat })).toThrow(/chatAppIdentity has nothing to configure/);
    expect(() => apps({ agentName: 'a' })).toThrow(/agentName has nothing to configure/);
  });

  test('chatAppImage without what the Chat App needs is refused, naming it', () => {
    expect(() => apps({ chatAppImage: 'i', chatAppIdentity: chat, spaClientId: '33333333-3333-3333-3333-333333333333' }))
      .toThrow('ServiceContainerApps: the Chat App (chatAppImage) needs foundryProjectEndpoint.');
    expect(() => apps({ chatAppImage: 'i', spaClientId: '33333333-3333-3333-3333-333333333333', foundryProjectEndpoint: 'https://f' })).toThrow(/needs chatAppIdentity/);
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
