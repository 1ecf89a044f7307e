// `npm run local:token -- --user alice [--scope <scope>]`: signs a demo user in at the running
// local provider (authorization code + PKCE, no browser) and prints the access token on standard
// output, for pipes such as `verify --token-command`. Reads .local/outputs.json (`npm run local`).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEMO_USERS } from './oidc-provider';
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

function main(argv: string[]): Promise<void> {
  let username = 'alice';
  const scopes: string[] = [];
  let file = '.local/outputs.json';
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    if (argv[i] === '--user') username = next();
    else if (argv[i] === '--scope') scopes.push(next());
    else if (argv[i] === '--outputs') file = next();
    else throw new Error(`unknown argument ${argv[i]} (usage: --user <name> [--scope <scope>] [--outputs <file>])`);
  }
  if (!existsSync(file)) throw new Error(`${file} does not exist: start \`npm run local\` first`);
  const outputs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { value: unknown }>;
  const value = (name: string) => outputs[name]?.value;
  return demoUserToken({
    issuer: String(value('authority')),
    caCertPath: '.local/oidc/cert.pem',
    spaClientId: String(value('spa_client_id')),
    chatAppUrl: String(value('chat_app_url')),
    username,
    scopes: scopes.length ? scopes : (value('spa_scopes') as string[]),
  }).then((token) => { process.stdout.write(`${token}\n`); });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`local:token: ${err.message}\n`);
    process.exitCode = 1;
  });
}
