/**
 * The Orders API's delegated scopes, as they appear in a token's `scp` claim (short names, for
 * example `Orders.Read`). API Management's policies, the Orders API's settings and its app
 * registration are built from the same pair, so they cannot disagree.
 */
export interface OrdersApiScopes {
  /** Reading orders: the read tools (`list-orders`, `get-order`, `health-check`) and the GET routes. */
  readonly read: string;
  /** Changing orders (`create-order`, `update-order`, `delete-order`, POST, PUT, DELETE); it also allows reading. */
  readonly write: string;
}

/** The scopes of the Orders API registration this library creates. */
export const DEFAULT_ORDERS_API_SCOPES: OrdersApiScopes = { read: 'Orders.Read', write: 'Orders.ReadWrite' };
