/** Concurrency against the memory store and Azure Table Storage (Azurite): distinct ids, ETags, nothing lost. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './harness.js';
import { MemoryOrderStore, type OrderStore } from '../../../lib-services/orders-api/store.js';
import { TableOrderStore } from '../../../lib-services/orders-api/table-store.js';
import { startAzuriteTables, type Azurite } from '../../support/azurite.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

let issuer: TestIssuer;
let azurite: Azurite;
let token: string;

beforeAll(async () => {
  [issuer, azurite] = await Promise.all([TestIssuer.start(), startAzuriteTables()]);
  token = await issuer.mint({ user: USERS.bob });
});
afterAll(async () => {
  await issuer?.stop();
  await azurite?.stop();
});

const stores: [string, () => Promise<OrderStore>][] = [
  ['memory', async () => new MemoryOrderStore()],
  ['Azurite', async () => TableOrderStore.open({ tableName: `conc${Date.now()}`, connectionString: azurite.connectionString })],
];

describe.each(stores)('%s store', (_name, open) => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService(issuer, { store: await open() });
  });
  afterAll(() => svc?.close());

  const put = (id: string, body: unknown, ifMatch?: string) =>
    svc.request(`/orders/${id}`, { method: 'PUT', token, headers: ifMatch ? { 'if-match': ifMatch } : {}, body: JSON.stringify(body) });

  it('200 concurrent creates give 200 distinct orders', async () => {
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      svc.request('/orders', { method: 'POST', token, body: JSON.stringify({ customer_name: `C${i}`, product: 'P', quantity: i + 1 }) })));
    const bad = await Promise.all(responses.filter((r) => r.status !== 201).map(async (r) => `${r.status} ${await r.text()}`));
    expect(bad).toEqual([]);
    const ids = new Set((await Promise.all(responses.map((r) => r.json()))).map((o) => o.id));
    expect(ids.size).toBe(200);
    const listed = await (await svc.request('/orders', { token })).json();
    expect(listed.length).toBe(200);
    expect(new Set(listed.map((o: { customer_name: string }) => o.customer_name)).size).toBe(200);
  });

  it('concurrent updates against one version: exactly one wins, the others get 412', async () => {
    const created = await svc.request('/orders', { method: 'POST', token, body: JSON.stringify({ customer_name: 'Race', product: 'P', quantity: 1 }) });
    const { id } = await created.json();
    const etag = created.headers.get('etag')!;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => put(id, { quantity: 100 + i }, etag)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(19);
    const winner = await results.find((r) => r.status === 200)!.json();
    expect((await (await svc.request(`/orders/${id}`, { token })).json()).quantity).toBe(winner.quantity);
  });

  it('concurrent unconditional partial updates of different fields are all kept', async () => {
    const { id } = await (await svc.request('/orders', { method: 'POST', token, body: JSON.stringify({ customer_name: 'Merge', product: 'P', quantity: 1 }) })).json();
    const results = await Promise.all([
      put(id, { customer_name: 'Merged Name' }), put(id, { product: 'Merged Product' }), put(id, { quantity: 42 }), put(id, { status: 'shipped' }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await (await svc.request(`/orders/${id}`, { token })).json())
      .toMatchObject({ customer_name: 'Merged Name', product: 'Merged Product', quantity: 42, status: 'shipped' });
  });

  it('a deleted id is never handed out again and cannot be re-created', async () => {
    const store = svc.store;
    const { id } = await (await svc.request('/orders', { method: 'POST', token, body: JSON.stringify({ customer_name: 'Gone', product: 'P', quantity: 1 }) })).json();
    expect((await svc.request(`/orders/${id}`, { method: 'DELETE', token })).status).toBe(204);
    const now = new Date().toISOString();
    await expect(store.insert({ id, customer_name: 'x', product: 'y', quantity: 1, status: 'pending', created_at: now, updated_at: now, owner_oid: 'o', owner_name: null }))
      .rejects.toThrow(/taken/);
  });
});
