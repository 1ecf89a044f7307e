/** Entry point: the only place that reads process.env and listens. */
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { ordersConfigFromEnv, type StoreConfig } from './config.js';
import { seedOrders } from './service.js';
import { MemoryOrderStore, type OrderStore } from './store.js';
import { ConfigError, createTokenVerifier } from '../shared/auth/index.js';
import { createLogger, startTelemetry } from '../shared/observability.js';

async function openStore(config: StoreConfig): Promise<OrderStore> {
  if (config.kind === 'memory') return new MemoryOrderStore();
  // Loaded only when used: keeps the Azure SDK off the memory store's start-up path.
  const { TableOrderStore } = await import('./table-store.js');
  return TableOrderStore.open(config);
}

async function main(): Promise<void> {
  let config;
  try {
    config = ordersConfigFromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`orders-api: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('orders-api');
  await startTelemetry(config.appInsightsConnectionString, logger);

  const store = await openStore(config.store);
  if (config.seedOwnerOid) {
    const inserted = await seedOrders(store, config.seedOwnerOid);
    logger.info('seed orders', { inserted });
  }
  const app = createApp({ config, store, verifier: createTokenVerifier(config.auth), logger });
  const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
    logger.info('listening', { port: info.port, store: config.store.kind });
    // Start-up lines go out now, not at the next batch: whoever watches the log sees the service up.
    logger.flush();
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Stop accepting, let in-flight requests finish, then close the store.
    // Every exit writes out the buffered log lines first.
    const exit = (code: number) => {
      logger.flush();
      process.exit(code);
    };
    const force = setTimeout(() => exit(1), 10_000);
    force.unref();
    server.close(() => {
      void store.close().finally(() => {
        logger.info('stopped');
        exit(0);
      });
    });
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`orders-api: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
