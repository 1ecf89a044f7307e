/**
 * Azure Table Storage store: managed identity (DefaultAzureCredential) against TABLES_ENDPOINT
 * in Azure (the table is provisioned; start-up calls nothing), or a connection string for Azurite
 * (the table is created if missing). Loaded lazily: the memory store never pays for it.
 */
import { odata, TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import type { Order } from './schemas.js';
import { IdTakenError, VersionMismatchError, type OrderStore, type StoredOrder } from './store.js';

const PARTITION = 'orders';

interface OrderEntity {
  partitionKey: string;
  rowKey: string;
  customer_name?: string;
  product?: string;
  quantity?: number;
  status?: string;
  created_at?: string;
  updated_at?: string;
  owner_oid?: string;
  owner_name?: string;
  /** Deleted orders stay as tombstones so their ids are never reused. */
  deleted: boolean;
}

export interface TableStoreOptions {
  tableName: string;
  endpoint?: string;
  connectionString?: string;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** Table ETags are weak and contain quotes; clients get a strong, opaque tag derived from them. */
function toHttpEtag(tableEtag: string): string {
  return `"${Buffer.from(tableEtag).toString('base64url')}"`;
}

function toTableEtag(httpEtag: string): string | undefined {
  const m = /^"([A-Za-z0-9_-]+)"$/.exec(httpEtag);
  return m ? Buffer.from(m[1], 'base64url').toString() : undefined;
}

function toEntity(order: Order): OrderEntity {
  const { id, owner_name: ownerName, ...rest } = order;
  return { partitionKey: PARTITION, rowKey: id, ...rest, ...(ownerName === null ? {} : { owner_name: ownerName }), deleted: false };
}

function fromEntity(e: TableEntityResult<OrderEntity>): StoredOrder {
  return {
    order: {
      id: e.rowKey!,
      customer_name: e.customer_name ?? '',
      product: e.product ?? '',
      quantity: Number(e.quantity ?? 0),
      status: (e.status ?? 'pending') as Order['status'],
      created_at: e.created_at ?? '',
      updated_at: e.updated_at ?? e.created_at ?? '',
      owner_oid: e.owner_oid ?? '',
      owner_name: e.owner_name ?? null,
    },
    etag: toHttpEtag(e.etag),
  };
}

export class TableOrderStore implements OrderStore {
  static async open(options: TableStoreOptions): Promise<TableOrderStore> {
    if (!options.connectionString) {
      // In Azure the stack provisions the table and the identity's role is scoped to it, so it
      // may not create tables: start-up makes no call at all (a refusal would crash-loop the revision).
      const { DefaultAzureCredential } = await import('@azure/identity');
      return new TableOrderStore(new TableClient(options.endpoint!, options.tableName, new DefaultAzureCredential()));
    }
    // A connection string (Azurite, a local run): create the table if the credential may.
    // Azurite speaks plain http on loopback.
    const client = TableClient.fromConnectionString(options.connectionString, options.tableName, { allowInsecureConnection: true });
    try {
      await client.createTable(); // 409 "already exists" is success for the SDK
    } catch (err) {
      // A SAS scoped to the table may use it but not create it: the table is someone else's to provision.
      if (statusOf(err) !== 403) throw err;
    }
    return new TableOrderStore(client);
  }

  private constructor(private readonly client: TableClient) {}

  async list(ownerOid?: string): Promise<StoredOrder[]> {
    const filter = ownerOid === undefined
      ? odata`PartitionKey eq ${PARTITION} and deleted eq false`
      : odata`PartitionKey eq ${PARTITION} and deleted eq false and owner_oid eq ${ownerOid}`;
    const out: StoredOrder[] = [];
    for await (const e of this.client.listEntities<OrderEntity>({ queryOptions: { filter } })) out.push(fromEntity(e));
    return out;
  }

  async get(id: string): Promise<StoredOrder | undefined> {
    try {
      const e = await this.client.getEntity<OrderEntity>(PARTITION, id);
      return e.deleted ? undefined : fromEntity(e);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async insert(order: Order): Promise<StoredOrder> {
    try {
      const res = await this.client.createEntity<OrderEntity>(toEntity(order));
      return { order: { ...order }, etag: toHttpEtag(res.etag!) };
    } catch (err) {
      if (statusOf(err) === 409) throw new IdTakenError(order.id);
      throw err;
    }
  }

  async replace(order: Order, etag: string): Promise<StoredOrder> {
    return { order: { ...order }, etag: await this.write(toEntity(order), etag) };
  }

  async remove(id: string, etag: string): Promise<void> {
    await this.write({ partitionKey: PARTITION, rowKey: id, deleted: true }, etag);
  }

  async close(): Promise<void> {}

  private async write(entity: TableEntity<OrderEntity>, httpEtag: string): Promise<string> {
    const tableEtag = toTableEtag(httpEtag);
    if (!tableEtag) throw new VersionMismatchError(entity.rowKey);
    try {
      const res = await this.client.updateEntity(entity, 'Replace', { etag: tableEtag });
      return toHttpEtag(res.etag!);
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 404) throw new VersionMismatchError(entity.rowKey);
      throw err;
    }
  }
}
