/** Start-up of the table store never depends on creating the table (issue 11, item 9). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureNamedKeyCredential, generateTableSas, TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableOrderStore } from '../../../lib-services/orders-api/table-store.js';
import { startAzuriteTables, type Azurite } from '../../support/azurite.js';

const ACCOUNT = 'devstoreaccount1';
const KEY = /AccountKey=([^;]+)/;

let azurite: Azurite;
beforeAll(async () => {
  azurite = await startAzuriteTables();
});
afterAll(() => azurite?.stop());

const order = (id: string) => ({
  id,
  customer_name: 'C',
  product: 'P',
  quantity: 1,
  status: 'pending' as const,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  owner_oid: 'oid-1',
  owner_name: null,
});

describe('table store start-up', () => {
  it('starts with a credential scoped to a provisioned table, which may not create tables (403), and serves it', async () => {
    const tableName = `scoped${Date.now()}`;
    // The stack provisions the table ...
    await TableClient.fromConnectionString(azurite.connectionString, tableName, { allowInsecureConnection: true }).createTable();
    // ... and the service's credential may read and write its entities only.
    const sas = generateTableSas(tableName, new AzureNamedKeyCredential(ACCOUNT, KEY.exec(azurite.connectionString)![1]), {
      permissions: { query: true, add: true, update: true, delete: true },
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const scoped = `TableEndpoint=http://127.0.0.1:${azurite.port}/${ACCOUNT};SharedAccessSignature=${sas}`;
    // The premise: this credential is refused table creation.
    const refused = await TableClient.fromConnectionString(scoped, `other${Date.now()}`, { allowInsecureConnection: true })
      .createTable().then(() => 0, (err) => (err as { statusCode?: number }).statusCode);
    expect(refused).toBe(403);

    const store = await TableOrderStore.open({ tableName, connectionString: scoped });
    await store.insert(order('ord-1'));
    expect((await store.list()).map((o) => o.order.id)).toEqual(['ord-1']);
  });

  it('with a connection string that may create tables, creates a missing one', async () => {
    const store = await TableOrderStore.open({ tableName: `fresh${Date.now()}`, connectionString: azurite.connectionString });
    await store.insert(order('ord-2'));
    expect((await store.list()).map((o) => o.order.id)).toEqual(['ord-2']);
  });

  it('any other answer still fails start-up (a table name the service refuses)', async () => {
    await expect(TableOrderStore.open({ tableName: 'no-dashes-allowed', connectionString: azurite.connectionString }))
      .rejects.toMatchObject({ statusCode: 400 });
  });

  describe('in Azure (managed identity against TABLES_ENDPOINT)', () => {
    let server: Server;
    const requests: string[] = [];
    beforeAll(async () => {
      // Where the storage service would be: records whatever start-up sends.
      server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        res.writeHead(403).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('makes no call at start-up: the stack provisions the table', async () => {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const store = await TableOrderStore.open({ tableName: 'orders', endpoint });
      expect(store).toBeInstanceOf(TableOrderStore);
      await new Promise((r) => setTimeout(r, 200));
      expect(requests).toEqual([]);
    });
  });
});
