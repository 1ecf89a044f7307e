/**
 * Plain constants of the order model, free of zod: the start-up path (service, store, routes)
 * uses these without loading the schema library, which is imported on first validation.
 */
export const ORDER_STATUSES = ['pending', 'shipped', 'delivered'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Seed ids are `ORD-001`; new ids are `ORD-` plus 10 random base-32 characters. */
export const ORDER_ID_PATTERN = /^ORD-[0-9A-Z]{3,32}$/;

export const MAX_QUANTITY = 100_000;

/** Fields a client may change, in the order error messages list them. */
export const UPDATABLE_FIELDS = ['customer_name', 'product', 'quantity', 'status'] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];
