/** Order storage: one interface, in-memory and Azure Table Storage implementations. */
import { randomBytes } from 'node:crypto';
import type { Order } from './schemas.js';

export interface StoredOrder {
  order: Order;
  /** Strong entity tag of this version (quoted, as sent in ETag headers). */
  etag: string;
}

/** The id was used before (ids are never reused, even after a delete). */
export class IdTakenError extends Error {
  constructor(id: string) {
    super(`order id ${id} is taken`);
    this.name = 'IdTakenError';
  }
}

/** The stored version changed (or vanished) since it was read. */
export class VersionMismatchError extends Error {
  constructor(id: string) {
    super(`order ${id} changed concurrently`);
    this.name = 'VersionMismatchError';
  }
}

export interface OrderStore {
  /** Orders of one owner, or all when `ownerOid` is undefined. */
  list(ownerOid?: string): Promise<StoredOrder[]>;
  get(id: string): Promise<StoredOrder | undefined>;
  /** Adds a new order; IdTakenError when the id exists or existed. */
  insert(order: Order): Promise<StoredOrder>;
  /** Compare-and-swap on the etag; VersionMismatchError when stale. */
  replace(order: Order, etag: string): Promise<StoredOrder>;
  /** Compare-and-swap delete; the id stays reserved. */
  remove(id: string, etag: string): Promise<void>;
  close(): Promise<void>;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `ORD-` plus 10 random Crockford base-32 characters (50 bits): unique across replicas without a counter. */
export function newOrderId(): string {
  const bytes = randomBytes(10);
  let id = 'ORD-';
  for (const b of bytes) id += CROCKFORD[b % 32];
  return id;
}

/** The default store: one process, lost on restart. */
export class MemoryOrderStore implements OrderStore {
  // undefined value = deleted id, kept so ids are never reused.
  private readonly orders = new Map<string, StoredOrder | undefined>();
  private version = 0;

  async list(ownerOid?: string): Promise<StoredOrder[]> {
    const all = [...this.orders.values()].filter((o): o is StoredOrder => o !== undefined);
    return ownerOid === undefined ? all : all.filter((o) => o.order.owner_oid === ownerOid);
  }

  async get(id: string): Promise<StoredOrder | undefined> {
    return this.orders.get(id);
  }

  async insert(order: Order): Promise<StoredOrder> {
    if (this.orders.has(order.id)) throw new IdTakenError(order.id);
    return this.put(order);
  }

  async replace(order: Order, etag: string): Promise<StoredOrder> {
    if (this.orders.get(order.id)?.etag !== etag) throw new VersionMismatchError(order.id);
    return this.put(order);
  }

  async remove(id: string, etag: string): Promise<void> {
    if (this.orders.get(id)?.etag !== etag) throw new VersionMismatchError(id);
    this.orders.set(id, undefined);
  }

  async close(): Promise<void> {}

  private put(order: Order): StoredOrder {
    const stored = { order: { ...order }, etag: `"m${++this.version}-${randomBytes(6).toString('base64url')}"` };
    this.orders.set(order.id, stored);
    return stored;
  }
}
