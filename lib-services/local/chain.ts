// The whole identity chain on loopback: local OpenID provider and agent runtime in-process,
// the Orders API and the Chat App as child processes running their BUILT bundles with the
// same environment contract they have in Azure. Used by `npm run local` and the e2e tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { modelReasoner } from './agent/model';
import { tokenExchanger, type TokenExchanger } from './agent/token-exchange';
import { createApp as createAgentRuntime } from './agent-runtime';
import { startLocalOidcProvider, type LocalOidc, type LocalOidcOptions, type LocalUser } from './oidc-provider';
import { freePort } from '../shared/net.js';

export type ServiceName = 'orders-api' | 'chat-app';

/**
 * `audience-bound` (default): the agent runtime exchanges the user's token for one for the Orders
 * API's own audience, and the Orders API accepts only that (the MCP authorization spec's rule).
 * `foundry-audience`: the original's mode, the browser's token (audience https://ai.azure.com)
 * passed on and accepted by the Orders API.
 */
export type LocalChainMode = 'audience-bound' | 'foundry-audience';
export const LOCAL_CHAIN_MODES: readonly LocalChainMode[] = ['audience-bound', 'foundry-audience'];

export interface LocalChainOptions {
  /** Orders storage: memory, or Table Storage on an Azurite the chain starts. @default memory */
  store?: 'memory' | 'table';
  /** Git-ignored state (certificate, Azurite data). @default .local */
  stateDir?: string;
  /** Where the built bundles are (paths are relative to the working directory, the repository root). @default lib-services/dist */
  distDir?: string;
  /** OpenAI-compatible model endpoint for the agent instead of the intent router (LOCAL_MODEL_URL). */
  model?: { url: string; name?: string; apiKey?: string };
  /** Agent name the Chat App asks for. @default orders-assistant */
  agentName?: string;
  /** Identity at the MCP hop. @default audience-bound */
  mode?: LocalChainMode;
  /** Receives every output line of the child services (default: printed with a prefix). */
  onServiceLine?: (service: ServiceName | 'azurite' | 'agent-runtime', line: string) => void;
  /** The MCP URL the agent's tool points at (and calls), as a stale agent definition would. @default the Orders API's /mcp */
  agentMcpUrl?: string;
  /** Demo users (usernames) who may use the agent, as Foundry's role on the project decides. @default all */
  agentUsers?: string[];
  /**
   * Environment set on top of a service's (for tests that break one hop); the outputs
   * (`LocalChain.env`) keep describing the intended configuration.
   */
  serviceEnvOverrides?: Partial<Record<ServiceName, Record<string, string>>>;
}

export interface LocalChain {
  urls: { chatApp: string; ordersApi: string; ordersMcp: string; agentProject: string; issuer: string; azurite?: string };
  mode: LocalChainMode;
  /** The audiences the Orders API accepts. */
  ordersAudiences: string[];
  users: LocalUser[];
  oidc: LocalOidc;
  /** Output lines of each child service, in order (JSON lines for the services). */
  logs: Record<ServiceName | 'agent-runtime', string[]>;
  /** The environment each service was configured with (before `serviceEnvOverrides`), and the agent's name. */
  env: Record<ServiceName, Record<string, string>>;
  agentName: string;
  stopService(name: ServiceName): Promise<void>;
  startService(name: ServiceName): Promise<void>;
  /** Restarts the OpenID provider on the same port: same issuer and certificate, new signing keys. */
  restartProvider(): Promise<void>;
  stop(): Promise<void>;
}

// Azurite's published development account (not a secret).
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';


async function waitForHealth(url: string, child: ChildProcess | undefined, anyAnswer = false, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      // Azurite answers an unsigned request with an error status: any answer means it listens.
      if (res.ok || anyAnswer) return;
    } catch { /* not listening yet */ }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function pipeLines(stream: NodeJS.ReadableStream | null, sink: (line: string) => void) {
  let buffer = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      sink(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  });
  stream?.on('end', () => { if (buffer) sink(buffer); });
}

function stopChild(child: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); ok(); });
    child.kill('SIGTERM');
  });
}

export async function startLocalChain(options: LocalChainOptions = {}): Promise<LocalChain> {
  const stateDir = resolve(options.stateDir ?? '.local');
  const distDir = resolve(options.distDir ?? join('lib-services', 'dist'));
  const agentName = options.agentName ?? 'orders-assistant';
  const mode = options.mode ?? 'audience-bound';
  if (!LOCAL_CHAIN_MODES.includes(mode)) throw new Error(`mode must be one of ${LOCAL_CHAIN_MODES.join(', ')}, not ${JSON.stringify(mode)}`);
  const echo = options.onServiceLine ?? ((svc, line) => process.stdout.write(`[${svc}] ${line}\n`));
  for (const svc of ['orders-api', 'chat-app'] as const) {
    if (!existsSync(join(distDir, svc, 'server.mjs'))) {
      throw new Error(`${join(distDir, svc, 'server.mjs')} is missing: run \`node lib-services/build.mjs\` first`);
    }
  }
  // Private: it holds the provider's TLS key and, in audience-bound mode, the agent runtime's secret.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });

  const children = new Map<string, ChildProcess>();
  // Last resort when the runner exits without stop() (Ctrl-C during start-up): no orphans.
  const killOrphans = () => { for (const c of children.values()) c.kill('SIGTERM'); };
  process.once('exit', killOrphans);
  const logs: LocalChain['logs'] = { 'orders-api': [], 'chat-app': [], 'agent-runtime': [] };
  let agentServer: ServerType | undefined;
  let oidc: LocalOidc | undefined;

  const stopAll = async () => {
    await Promise.all([...children.values()].map((c) => stopChild(c)));
    children.clear();
    process.off('exit', killOrphans);
    if (agentServer) await new Promise<void>((ok) => agentServer!.close(() => ok()));
    await oidc?.close();
  };

  try {
    const [chatPort, ordersPort, agentPort] = [await freePort(), await freePort(), await freePort()];
    const chatApp = `http://127.0.0.1:${chatPort}`;
    const ordersApi = `http://127.0.0.1:${ordersPort}`;
    const agentRuntime = `http://127.0.0.1:${agentPort}`;
    const oidcOptions: LocalOidcOptions = { port: 0, redirectUris: [`${chatApp}/redirect.html`], stateDir };
    oidc = await startLocalOidcProvider(oidcOptions);
    oidcOptions.port = Number(new URL(oidc.issuer).port);
    const admin = oidc.users.find((u) => u.username === 'admin')!;
    const alice = oidc.users.find((u) => u.username === 'alice')!;

    // Token rules shared by both services: the local issuer stands in for the Entra tenant.
    const authEnv = {
      AUTH_TENANT_ID: oidc.tenantId,
      AUTH_ISSUERS: oidc.issuer,
      AUTH_JWKS_URI: oidc.jwksUri,
      AUTH_AUDIENCES: oidc.audience,
      AUTH_REQUIRED_SCOPES: 'user_impersonation',
      NODE_EXTRA_CA_CERTS: oidc.caCertPath,
      HOST: '127.0.0.1',
    };

    let azurite: string | undefined;
    let storeEnv: Record<string, string> = { STORE: 'memory' };
    if (options.store === 'table') {
      const port = await freePort();
      const bin = resolve('node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
      const child = spawn(process.execPath, [bin, '--tableHost', '127.0.0.1', '--tablePort', String(port),
        '--skipApiVersionCheck', '--disableProductStyleUrl', '--inMemoryPersistence'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.set('azurite', child);
      pipeLines(child.stderr, (line) => echo('azurite', line));
      azurite = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
      await waitForHealth(`${azurite}/Tables`, child, true);
      storeEnv = {
        STORE: 'table',
        AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};TableEndpoint=${azurite};`,
      };
    }

    // Audience-bound: the Orders API accepts only tokens for itself, obtained by the agent runtime,
    // and checks the read and write scopes per operation.
    const { ordersApi: resource, agentClient } = oidc;
    const ordersAuthEnv: Record<string, string> = mode === 'audience-bound'
      ? {
        AUTH_AUDIENCES: resource.audiences.join(','),
        AUTH_ALLOWED_CLIENT_IDS: agentClient.clientId,
        AUTH_REQUIRED_SCOPES: `${resource.scopes.read},${resource.scopes.write}`,
        ORDERS_READ_SCOPES: resource.scopes.read,
        ORDERS_WRITE_SCOPES: resource.scopes.write,
      }
      : { AUTH_ALLOWED_CLIENT_IDS: oidc.spaClientId };

    const serviceEnv: Record<ServiceName, Record<string, string>> = {
      'orders-api': {
        ...authEnv,
        ...storeEnv,
        PORT: String(ordersPort),
        ...ordersAuthEnv,
        ORDERS_SEED_OWNER_OID: alice.oid,
        ORDERS_ADMIN_OIDS: admin.oid,
        PUBLIC_BASE_URL: ordersApi,
      },
      'chat-app': {
        ...authEnv,
        PORT: String(chatPort),
        SPA_CLIENT_ID: oidc.spaClientId,
        AUTH_AUTHORITY: `${oidc.issuer}/`,
        AUTH_SCOPES: oidc.scopes.join(','),
        FOUNDRY_PROJECT_ENDPOINT: `${agentRuntime}/api/projects/local`,
        AGENT_NAME: agentName,
      },
    };
    const healthUrl: Record<ServiceName, string> = { 'orders-api': `${ordersApi}/health`, 'chat-app': `${chatApp}/health` };

    const startService = async (name: ServiceName) => {
      // Only what the contract names, plus PATH/HOME: nothing of the caller's environment leaks in.
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...serviceEnv[name], ...options.serviceEnvOverrides?.[name] };
      const child = spawn(process.execPath, [join(distDir, name, 'server.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.set(name, child);
      const sink = (line: string) => { logs[name].push(line); echo(name, line); };
      pipeLines(child.stdout, sink);
      pipeLines(child.stderr, sink);
      try {
        await waitForHealth(healthUrl[name], child);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}\n${logs[name].slice(-5).join('\n')}`);
      }
    };

    // One exchanger per provider instance: a restarted provider has a new client secret and keys.
    let exchanger: { for: LocalOidc; exchange: TokenExchanger } | undefined;
    const exchangerFor = (current: LocalOidc) => {
      if (exchanger?.for !== current) {
        const audience = current.ordersApi.audiences[0];
        exchanger = {
          for: current,
          exchange: tokenExchanger({
            tokenEndpoint: current.tokenEndpoint,
            clientId: current.agentClient.clientId,
            clientSecret: current.agentClient.clientSecret,
            audience,
            scopes: [current.ordersApi.scopes.read, current.ordersApi.scopes.write].map((s) => `${audience}/${s}`),
            ca: readFileSync(current.caCertPath),
          }),
        };
      }
      return exchanger.exchange;
    };

    const agentApp = createAgentRuntime({
      ordersMcpUrl: options.agentMcpUrl ?? `${ordersApi}/mcp`,
      allowedCallerOids: options.agentUsers?.map((u) => {
        const user = oidc!.users.find((x) => x.username === u);
        if (!user) throw new Error(`agentUsers: ${u} is not a demo user`);
        return user.oid;
      }),
      agentName,
      reasoner: options.model ? modelReasoner({ url: options.model.url, model: options.model.name, apiKey: options.model.apiKey }) : undefined,
      tokenExchange: mode === 'audience-bound' ? (subjectToken) => exchangerFor(oidc!)(subjectToken) : undefined,
      log: (entry) => {
        const line = JSON.stringify({ level: 'info', time: new Date().toISOString(), ...entry });
        logs['agent-runtime'].push(line);
        echo('agent-runtime', line);
      },
    });
    agentServer = await new Promise<ServerType>((ok) => {
      const s = serve({ fetch: agentApp.fetch, hostname: '127.0.0.1', port: agentPort }, () => ok(s));
    });

    await Promise.all([startService('orders-api'), startService('chat-app')]);

    const chain: LocalChain = {
      urls: { chatApp, ordersApi, ordersMcp: `${ordersApi}/mcp`, agentProject: `${agentRuntime}/api/projects/local`, issuer: oidc.issuer, azurite },
      mode,
      ordersAudiences: (serviceEnv['orders-api'].AUTH_AUDIENCES ?? '').split(','),
      users: oidc.users,
      oidc,
      logs,
      env: serviceEnv,
      agentName,
      stopService: async (name) => {
        await stopChild(children.get(name));
        children.delete(name);
      },
      startService: async (name) => {
        await stopChild(children.get(name));
        await startService(name);
      },
      restartProvider: async () => {
        await oidc!.close();
        oidc = await startLocalOidcProvider(oidcOptions);
        chain.oidc = oidc;
        chain.users = oidc.users;
      },
      stop: stopAll,
    };
    return chain;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
