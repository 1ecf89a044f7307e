/**
 * The one source of the Orders API surface: request validation, the OpenAPI document and the
 * MCP tool input schemas all derive from these zod schemas.
 */
import { z } from 'zod';
import { MAX_QUANTITY, ORDER_ID_PATTERN, ORDER_STATUSES, type UpdatableField } from './model.js';

export { ORDER_ID_PATTERN, ORDER_STATUSES, UPDATABLE_FIELDS, type OrderStatus } from './model.js';

function text(field: string, description: string) {
  const error = `${field} must be a string of 1 to 200 characters (after trimming)`;
  return z.string({ error }).trim().min(1, { error }).max(200, { error }).describe(description);
}

export const orderIdSchema = z.string({ error: 'order_id must be a string like ORD-001' })
  .regex(ORDER_ID_PATTERN, { error: 'order_id must look like ORD-001' })
  .describe('Order id, for example ORD-001');
export const customerNameSchema = text('customer_name', 'Name of the customer the order is for');
export const productSchema = text('product', 'Product ordered, for example "Wireless Keyboard"');
export const quantitySchema = z.number({ error: `quantity must be an integer from 1 to ${MAX_QUANTITY}` })
  .int({ error: `quantity must be an integer from 1 to ${MAX_QUANTITY}` })
  .min(1, { error: `quantity must be an integer from 1 to ${MAX_QUANTITY}` })
  .max(MAX_QUANTITY, { error: `quantity must be an integer from 1 to ${MAX_QUANTITY}` })
  .describe('Number of items, 1 to 100000');
export const statusSchema = z.enum(ORDER_STATUSES, { error: `status must be one of ${ORDER_STATUSES.join(', ')}` })
  .describe('Fulfilment status: pending, shipped or delivered');

/** Fields a client may send when creating an order (new orders are always `pending`). */
export const createOrderShape = {
  customer_name: customerNameSchema,
  product: productSchema,
  quantity: quantitySchema,
};
export const CreateOrderRequest = z.object(createOrderShape).describe('A new order; the caller becomes its owner');
export type CreateOrderInput = z.output<typeof CreateOrderRequest>;

/** Fields a client may change (exactly UPDATABLE_FIELDS of model.ts); at least one must be present. */
export const updateOrderShape = {
  customer_name: customerNameSchema.optional(),
  product: productSchema.optional(),
  quantity: quantitySchema.optional(),
  status: statusSchema.optional(),
} satisfies Record<UpdatableField, z.ZodType>;
export const UpdateOrderRequest = z.object(updateOrderShape).describe('A partial update: only the fields sent change');
export type UpdateOrderInput = z.output<typeof UpdateOrderRequest>;

export const Order = z.object({
  id: orderIdSchema,
  customer_name: z.string(),
  product: z.string(),
  quantity: quantitySchema,
  status: statusSchema,
  created_at: z.string().describe('Creation time, ISO 8601 UTC'),
  updated_at: z.string().describe('Last change, ISO 8601 UTC'),
  owner_oid: z.string().describe('Entra object id of the owner'),
  owner_name: z.string().nullable().describe('Display name of the owner when known'),
}).describe('An order');
export type Order = z.output<typeof Order>;

export const ApiError = z.object({
  error: z.string().describe('Machine-readable code'),
  message: z.string().describe('Human-readable explanation'),
}).describe('An error');

export const Health = z.object({ status: z.literal('healthy') });

/** `field: problem` from the first zod issue; the message always names the field. */
export function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : 'body';
  const message = issue?.message ?? 'invalid input';
  return message.startsWith(field) ? message : `${field}: ${message}`;
}
