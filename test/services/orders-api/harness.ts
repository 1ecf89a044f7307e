/** Builds the Orders API for tests: real config parsing, injected store, captured logs, real HTTP on loopback. */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../../../lib-services/orders-api/app.js';
import { ordersConfigFromEnv } from '../../../lib-services/orders-api/config.js';
import { seedOrders } from '../../../lib-services/orders-api/service.js';
import { MemoryOrderStore, type OrderStore } from '../../../lib-services/orders-api/store.js';
import { createTokenVerifier } from '../../../lib-services/shared/auth/index.js';
import { createLogger } from '../../../lib-services/shared/observability.js';
import { USERS, type TestIssuer } from '../../support/issuer.js';

export interface TestService {
  url: string;
  store: OrderStore;
  logs: string[];
  request(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** Admin is carol; the seed owner is alice. The rate limit is off unless `env` sets RATE_LIMIT_PER_MINUTE (suites that fire hundreds of requests as one user). */
export interface StartOptions {
  env?: Record<string, string>;
  store?: OrderStore;
  seed?: boolean;
}

export async function startService(issuer: TestIssuer, options: StartOptions = {}): Promise<TestService> {
  const config = ordersConfigFromEnv({ ...issuer.env(), ORDERS_ADMIN_OIDS: USERS.carol.oid, PORT: '0', RATE_LIMIT_PER_MINUTE: '0', ...options.env });
  const store = options.store ?? new MemoryOrderStore();
  if (options.seed ?? true) await seedOrders(store, USERS.alice.oid);
  const logs: string[] = [];
  const app = createApp({ config, store, verifier: createTokenVerifier(config.auth), logger: createLogger('orders-api', (l) => logs.push(l)) });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    logs,
    request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('authorization', `Bearer ${init.token}`);
      if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(`${url}${path}`, { ...init, headers });
    },
    close: () => new Promise<void>((resolve) => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Every token-looking fragment in the logs: a token's parts must never appear. */
export function logsContainToken(logs: string[], tokens: string[]): boolean {
  const text = logs.join('');
  return tokens.some((t) => t.split('.').some((part) => part.length >= 16 && text.includes(part.slice(0, 24))));
}
