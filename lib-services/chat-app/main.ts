// Entry point of `node server.mjs`: the only place that reads process.env and listens.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { AgentClient } from './agent-client.js';
import { createApp } from './app.js';
import { chatSettingsFromEnv, type ChatSettings } from './config.js';
import { loadStaticFiles } from './static-files.js';
import { ConfigError, createTokenVerifier } from '../shared/auth/index.js';
import { createLogger } from '../shared/observability.js';

let settings: ChatSettings;
try {
  settings = chatSettingsFromEnv(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`chat-app: configuration error: ${error.message}`);
  process.exit(1);
}

// The bundle sits next to public/; run from source (tsx), the last build's files are used.
const here = dirname(fileURLToPath(import.meta.url));
const publicDir = [join(here, 'public'), join(here, '..', 'dist', 'chat-app', 'public')].find((d) => existsSync(d));

const logger = createLogger('chat-app');
const app = createApp({
  settings,
  logger,
  // A lazy fetch: touching the global at start-up loads Node's HTTP client before it is needed.
  verifier: createTokenVerifier(settings.auth, { fetch: (input, init) => globalThis.fetch(input, init) }),
  agent: new AgentClient({
    projectEndpoint: settings.foundryProjectEndpoint,
    agentName: settings.agentName,
    timeoutMs: settings.agentTimeoutMs,
    agentReferenceKey: settings.agentReferenceKey,
  }),
  // Read on the first page request, not before listening.
  staticFiles: publicDir ? () => loadStaticFiles(publicDir) : undefined,
});

const server = serve({ fetch: app.fetch, port: settings.port, hostname: process.env.HOST ?? '0.0.0.0' }, (info) => {
  logger.info('chat-app listening', { port: info.port, agent: settings.agentName, foundry: settings.foundryProjectEndpoint });
  // Start-up lines go out now, not at the next batch: whoever watches the log sees the service up.
  logger.flush();
});

// Every exit writes out the buffered log lines first.
const exit = () => {
  logger.flush();
  process.exit(0);
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info('shutting down', { signal });
    server.close(exit);
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    // Streams may hold connections open; do not wait for them past a few seconds.
    setTimeout(exit, 5000).unref();
  });
}
