// `npm run local:token -- --user alice [--scope <scope>] [--for orders-api]`: signs a demo user in
// at the running local provider (authorization code + PKCE, no browser) and prints the access token
// on standard output, for pipes such as `verify --token-command`. With `--for orders-api` it then
// does what only the agent runtime may do (Foundry, in Azure): exchanges that token, with the agent
// runtime's client credentials, for the user's token for the Orders API's own audience.
// Reads .local/outputs.json and, for the exchange, .local/agent-runtime.json (`npm run local`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenExchanger } from './agent/token-exchange';
import { DEMO_USERS } from './oidc-provider';
import type { AgentRuntimeCredentials } from './outputs';
import { signIn } from './sign-in';

export interface DemoTokenRequest {
  /** The local issuer (the SPA's authority, with or without the trailing slash). */
  issuer: string;
  caCertPath: string;
  spaClientId: string;
  chatAppUrl: string;
  username: string;
  /** Resource scopes; the sign-in scopes (openid, profile) are added. */
  scopes: string[];
}

/** A demo user's access token from the local provider, obtained as the SPA obtains it. */
export async function demoUserToken(r: DemoTokenRequest): Promise<string> {
  const user = DEMO_USERS.find((u) => u.username === r.username);
  if (!user) throw new Error(`${r.username} is not a demo user (${DEMO_USERS.map((u) => u.username).join(', ')})`);
  const scope = [...new Set(['openid', 'profile', ...r.scopes.flatMap((s) => s.split(/\s+/)).filter(Boolean)])].join(' ');
  const result = await signIn({
    issuer: r.issuer.replace(/\/+$/, ''),
    caCertPath: r.caCertPath,
    clientId: r.spaClientId,
    redirectUri: `${r.chatAppUrl}/redirect.html`,
    scope,
    username: user.username,
    password: user.password,
  });
  return result.accessToken;
}

export interface OrdersApiTokenRequest {
  /** The user's sign-in, as the SPA does it (its scopes are the SPA's, for the agent). */
  user: DemoTokenRequest;
  agentRuntime: AgentRuntimeCredentials;
  /** Orders API scopes to ask for (qualified or short); the provider grants only what the user may have. */
  scopes: string[];
}

/** The demo user's token for the Orders API: the user's own token, exchanged as the agent runtime. */
export async function demoOrdersApiToken(r: OrdersApiTokenRequest): Promise<string> {
  const subject = await demoUserToken(r.user);
  const exchange = tokenExchanger({
    tokenEndpoint: r.agentRuntime.token_endpoint,
    clientId: r.agentRuntime.client_id,
    clientSecret: r.agentRuntime.client_secret,
    audience: r.agentRuntime.audience,
    scopes: r.scopes,
    ca: readFileSync(r.user.caCertPath),
  });
  return (await exchange(subject)).accessToken;
}

function readJson(file: string, what: string): Record<string, unknown> {
  if (!existsSync(file)) throw new Error(`${file} does not exist: start \`npm run local\` first${what}`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

const USAGE = 'usage: --user <name> [--scope <scope>]... [--for orders-api] [--state-dir <dir>] [--outputs <file>]';

function main(argv: string[]): Promise<void> {
  let username = 'alice';
  const scopes: string[] = [];
  let stateDir = '.local';
  let file: string | undefined;
  let target: 'orders-api' | undefined;
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case '--user': username = next(); break;
      case '--scope': scopes.push(next()); break;
      case '--outputs': file = next(); break;
      case '--state-dir': stateDir = next(); break;
      case '--for': {
        const value = next();
        if (value !== 'orders-api') throw new Error(`--for takes orders-api (the only resource the agent runtime obtains tokens for), not ${JSON.stringify(value)}`);
        target = value;
        break;
      }
      default: throw new Error(`unknown argument ${argv[i]} (${USAGE})`);
    }
  }
  const outputs = readJson(file ?? join(stateDir, 'outputs.json'), '');
  const value = (name: string) => (outputs[name] as { value?: unknown } | undefined)?.value;
  const user: DemoTokenRequest = {
    issuer: String(value('authority')),
    caCertPath: join(stateDir, 'oidc', 'cert.pem'),
    spaClientId: String(value('spa_client_id')),
    chatAppUrl: String(value('chat_app_url')),
    username,
    scopes: value('spa_scopes') as string[],
  };
  let token: Promise<string>;
  if (target === 'orders-api') {
    if (value('mcp_auth_mode') !== 'audience-bound') {
      throw new Error(`the local chain runs in ${String(value('mcp_auth_mode'))} mode: the Orders API accepts the user's own token, so leave out --for`);
    }
    const credentials = readJson(join(stateDir, 'agent-runtime.json'), ' (in audience-bound mode it writes the agent runtime\'s credentials there)') as unknown as AgentRuntimeCredentials;
    const asked = scopes.flatMap((s) => s.split(/\s+/)).filter(Boolean);
    token = demoOrdersApiToken({ user, agentRuntime: credentials, scopes: asked.length ? asked : value('orders_api_scopes') as string[] });
  } else {
    token = demoUserToken({ ...user, scopes: scopes.length ? scopes : user.scopes });
  }
  return token.then((t) => { process.stdout.write(`${t}\n`); });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  Promise.resolve().then(() => main(process.argv.slice(2))).catch((err: Error) => {
    process.stderr.write(`local:token: ${err.message}\n`);
    process.exitCode = 1;
  });
}
