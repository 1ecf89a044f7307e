/** Order operations as the caller: ownership, ETags and audit, shared by REST and MCP. */
import { ORDER_ID_PATTERN, UPDATABLE_FIELDS } from './model.js';
import type { CreateOrderInput, Order, UpdateOrderInput } from './schemas.js';
import { IdTakenError, newOrderId, VersionMismatchError, type OrderStore, type StoredOrder } from './store.js';
import type { Principal } from '../shared/auth/index.js';
import type { Logger } from '../shared/observability.js';

export type DomainErrorCode = 'not_found' | 'precondition_failed' | 'invalid_request' | 'conflict';

/** A failure the caller can act on; REST maps it to a status, MCP to a tool error. */
export class DomainError extends Error {
  static readonly STATUS: Record<DomainErrorCode, 400 | 404 | 409 | 412> = {
    invalid_request: 400, not_found: 404, conflict: 409, precondition_failed: 412,
  };

  readonly code: DomainErrorCode;
  constructor(code: DomainErrorCode, message: string) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
  }

  get status(): 400 | 404 | 409 | 412 {
    return DomainError.STATUS[this.code];
  }
}

export interface CallContext {
  requestId: string;
}

/** The 8 seed orders of the original Orders API, verbatim. */
export const SEED_ORDERS: readonly Pick<Order, 'id' | 'customer_name' | 'product' | 'quantity' | 'status' | 'created_at'>[] = [
  { id: 'ORD-001', customer_name: 'Alice Johnson', product: 'Wireless Keyboard', quantity: 2, status: 'delivered', created_at: '2025-12-01T10:00:00Z' },
  { id: 'ORD-002', customer_name: 'Bob Smith', product: 'USB-C Hub', quantity: 1, status: 'shipped', created_at: '2025-12-05T14:30:00Z' },
  { id: 'ORD-003', customer_name: 'Carol Lee', product: 'Monitor Stand', quantity: 1, status: 'pending', created_at: '2025-12-10T09:15:00Z' },
  { id: 'ORD-004', customer_name: 'David Kim', product: 'Mechanical Keyboard', quantity: 1, status: 'shipped', created_at: '2025-12-12T11:45:00Z' },
  { id: 'ORD-005', customer_name: 'Eve Martinez', product: 'Webcam HD', quantity: 3, status: 'pending', created_at: '2025-12-15T08:20:00Z' },
  { id: 'ORD-006', customer_name: 'Frank Wilson', product: 'Laptop Sleeve', quantity: 2, status: 'delivered', created_at: '2025-12-18T16:00:00Z' },
  { id: 'ORD-007', customer_name: 'Grace Chen', product: 'Noise-Cancelling Headphones', quantity: 1, status: 'shipped', created_at: '2025-12-20T13:10:00Z' },
  { id: 'ORD-008', customer_name: 'Hank Brown', product: 'Ergonomic Mouse', quantity: 4, status: 'pending', created_at: '2025-12-22T10:30:00Z' },
];

/** Inserts the seed orders for `ownerOid` unless their ids exist or existed (idempotent across restarts and replicas). */
export async function seedOrders(store: OrderStore, ownerOid: string): Promise<number> {
  let inserted = 0;
  for (const seed of SEED_ORDERS) {
    try {
      await store.insert({ ...seed, updated_at: seed.created_at, owner_oid: ownerOid, owner_name: null });
      inserted++;
    } catch (err) {
      if (!(err instanceof IdTakenError)) throw err;
    }
  }
  return inserted;
}

/** RFC 9110 If-Match with strong comparison; `*` matches any current version. */
export function ifMatchAllows(ifMatch: string, etag: string): boolean {
  const value = ifMatch.trim();
  if (value === '*') return true;
  return value.split(',').map((t) => t.trim()).some((t) => t === etag);
}

const notFound = (id: string) => new DomainError('not_found', `Order ${id} not found`);
const MAX_WRITE_ATTEMPTS = 50;

export class OrderService {
  private readonly admins: Set<string>;

  constructor(
    private readonly store: OrderStore,
    adminOids: readonly string[],
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.admins = new Set(adminOids);
  }

  isAdmin(p: Principal): boolean {
    return this.admins.has(p.oid);
  }

  async list(p: Principal): Promise<Order[]> {
    const rows = await this.store.list(this.isAdmin(p) ? undefined : p.oid);
    return rows.map((r) => r.order).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  async get(p: Principal, id: string): Promise<StoredOrder> {
    return this.visible(p, id);
  }

  async create(p: Principal, input: CreateOrderInput, ctx: CallContext): Promise<StoredOrder> {
    return this.audited(p, 'create', undefined, ctx, async (setId) => {
      const at = this.now().toISOString();
      for (let attempt = 0; ; attempt++) {
        const order: Order = {
          id: newOrderId(),
          customer_name: input.customer_name,
          product: input.product,
          quantity: input.quantity,
          status: 'pending',
          created_at: at,
          updated_at: at,
          owner_oid: p.oid,
          owner_name: p.name ?? p.username ?? null,
        };
        setId(order.id);
        try {
          return await this.store.insert(order);
        } catch (err) {
          // 50 random bits make a collision improbable; retry a few times anyway.
          if (!(err instanceof IdTakenError) || attempt >= 4) throw err;
        }
      }
    });
  }

  async update(p: Principal, id: string, patch: UpdateOrderInput, ifMatch: string | undefined, ctx: CallContext): Promise<StoredOrder> {
    const changes = Object.fromEntries(UPDATABLE_FIELDS.filter((f) => patch[f] !== undefined).map((f) => [f, patch[f]]));
    if (Object.keys(changes).length === 0) {
      throw new DomainError('invalid_request', `body: send at least one of ${UPDATABLE_FIELDS.join(', ')}`);
    }
    return this.audited(p, 'update', id, ctx, async () => {
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        const current = await this.visible(p, id);
        if (ifMatch !== undefined && !ifMatchAllows(ifMatch, current.etag)) throw this.stale(id);
        try {
          return await this.store.replace({ ...current.order, ...changes, updated_at: this.now().toISOString() }, current.etag);
        } catch (err) {
          if (!(err instanceof VersionMismatchError)) throw err;
          // The version the client matched is gone: 412. Unconditional: re-read and apply again.
          if (ifMatch !== undefined) throw this.stale(id);
        }
      }
      throw new DomainError('conflict', `Order ${id} is changing too often; try again`);
    });
  }

  async delete(p: Principal, id: string, ifMatch: string | undefined, ctx: CallContext): Promise<void> {
    await this.audited(p, 'delete', id, ctx, async () => {
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        const current = await this.visible(p, id);
        if (ifMatch !== undefined && !ifMatchAllows(ifMatch, current.etag)) throw this.stale(id);
        try {
          return await this.store.remove(id, current.etag);
        } catch (err) {
          if (!(err instanceof VersionMismatchError)) throw err;
          if (ifMatch !== undefined) throw this.stale(id);
        }
      }
      throw new DomainError('conflict', `Order ${id} is changing too often; try again`);
    });
  }

  private stale(id: string): DomainError {
    return new DomainError('precondition_failed', `Order ${id} has changed since the given ETag; fetch it again`);
  }

  /** The order when it exists and the caller may see it; absent and not-yours are the same 404. */
  private async visible(p: Principal, id: string): Promise<StoredOrder> {
    if (!ORDER_ID_PATTERN.test(id)) throw notFound(id.length > 64 ? `${id.slice(0, 64)}…` : id);
    const found = await this.store.get(id);
    if (!found || (found.order.owner_oid !== p.oid && !this.isAdmin(p))) throw notFound(id);
    return found;
  }

  /** Runs one write and records one audit line: who, what, which order, outcome. Never the token. */
  private async audited<T>(p: Principal, operation: string, orderId: string | undefined, ctx: CallContext,
    write: (setId: (id: string) => void) => Promise<T>): Promise<T> {
    let id = orderId;
    let outcome = 'success';
    try {
      return await write((newId) => {
        id = newId;
      });
    } catch (err) {
      outcome = err instanceof DomainError ? err.code : 'error';
      throw err;
    } finally {
      this.logger.info('audit', {
        audit: true,
        request_id: ctx.requestId,
        caller_oid: p.oid,
        token_id: p.tokenId,
        admin: this.isAdmin(p) || undefined,
        operation,
        order_id: id !== undefined && ORDER_ID_PATTERN.test(id) ? id : undefined,
        outcome,
      });
    }
  }
}
