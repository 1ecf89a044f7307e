// `verify`: walks a deployed stack hop by hop, the way a request travels, and names the first hop
// that fails with the service's own error code and what to change. Never prints a token.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { parseOutputs, OutputsError, type StackOutputs } from './outputs';
import { renderJson, renderTable } from './report';
import { runVerify } from './run';
import { commandTokenSource, deviceCodeTokenSource, fileTokenSource, shellQuote, type TokenSource } from './tokens';

const USAGE = `usage: verify [--outputs <file>|-] [--local [--local-dir <dir>]] [token] [--json] [--ca-file <pem>] [--message <text>]

Reads the stack's outputs (\`terraform output -json\`), from a file, from standard input (-, or a
pipe), or with --local from .local/outputs.json (written by \`npm run local\`), and checks the
chain in request order. Exit status 1 when a check fails, 2 on bad arguments or outputs.

token (optional; without one the checks that need a user token are skipped):
  --token-command "<cmd>"   runs <cmd> in a shell; {scope} is replaced by the scope to ask for
                            e.g. "az account get-access-token --scope {scope} --query accessToken -o tsv"
  --token-file <file>       a file holding the user's access token
  --device-code             device-code sign-in (@azure/identity); --client-id <id> (default: the SPA)
  --no-token                skip the token checks (also with --local)
audience-bound mode: the MCP endpoint accepts only a token for the Orders API that the agent's
client (Foundry's, in Azure) obtained for the user; a user cannot ask for one, so without one of
these the direct MCP checks are skipped, saying why (the chat still checks the hop via the agent):
  --mcp-token-command "<cmd>" / --mcp-token-file <file>   such a token ({scope} as above)
--local also trusts <dir>/oidc/cert.pem and, unless a token option is given, signs the demo user
alice in at the local provider (--local-user <name> for another); in audience-bound mode it gets
the MCP token as the agent runtime does (npm run local:token -- --for orders-api). <dir>: .local`;

interface Args {
  outputs?: string;
  local: boolean;
  /** The local chain's state folder. @default .local */
  localDir?: string;
  localUser: string;
  json: boolean;
  tokenCommand?: string;
  tokenFile?: string;
  mcpTokenFile?: string;
  mcpTokenCommand?: string;
  deviceCode: boolean;
  clientId?: string;
  noToken: boolean;
  caFile?: string;
  message?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { local: false, localUser: 'alice', json: false, deviceCode: false, noToken: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || (v.startsWith('--') && inline === undefined)) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--outputs': args.outputs = value(); break;
      case '-': args.outputs = '-'; break;
      case '--local': args.local = true; break;
      case '--local-user': args.localUser = value(); break;
      case '--local-dir': args.localDir = value(); break;
      case '--json': args.json = true; break;
      case '--token-command': args.tokenCommand = value(); break;
      case '--token-file': args.tokenFile = value(); break;
      case '--mcp-token-file': args.mcpTokenFile = value(); break;
      case '--mcp-token-command': args.mcpTokenCommand = value(); break;
      case '--device-code': args.deviceCode = true; break;
      case '--client-id': args.clientId = value(); break;
      case '--no-token': args.noToken = true; break;
      case '--ca-file': args.caFile = value(); break;
      case '--message': args.message = value(); break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: throw new UsageError(`unknown argument ${argv[i]} (try --help)`);
    }
  }
  const sources = [args.tokenCommand, args.tokenFile, args.deviceCode || undefined].filter(Boolean).length;
  if (sources > 1) throw new UsageError('give one of --token-command, --token-file and --device-code');
  if (args.mcpTokenFile && args.mcpTokenCommand) throw new UsageError('give one of --mcp-token-command and --mcp-token-file');
  if (args.noToken && (sources || args.mcpTokenFile || args.mcpTokenCommand)) throw new UsageError('--no-token contradicts the token option given');
  if (args.local && args.outputs) throw new UsageError('--local reads .local/outputs.json: leave out --outputs');
  if (args.localDir !== undefined && !args.local) throw new UsageError('--local-dir goes with --local');
  args.localDir ??= '.local';
  if (args.message !== undefined && !args.message.trim()) throw new UsageError('--message must not be empty');
  return args;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readOutputs(args: Args): Promise<StackOutputs> {
  if (args.local) {
    const file = join(args.localDir!, 'outputs.json');
    if (!existsSync(file)) throw new OutputsError(`${file} does not exist: start the local chain first (\`npm run local\`) in this folder`);
    return parseOutputs(readFileSync(file, 'utf8'), file);
  }
  if (args.outputs && args.outputs !== '-') {
    if (!existsSync(args.outputs)) throw new OutputsError(`${args.outputs} does not exist (write it with \`terraform output -json > ${args.outputs}\`)`);
    return parseOutputs(readFileSync(args.outputs, 'utf8'), args.outputs);
  }
  if (!args.outputs && process.stdin.isTTY) throw new UsageError('no outputs: pass --outputs <file>, pipe `terraform output -json` in, or use --local');
  const text = await readStdin();
  if (!text.trim()) throw new OutputsError('standard input is empty: pipe `terraform output -json` in, or pass --outputs <file> or --local');
  return parseOutputs(text, 'standard input');
}

function tokenSources(args: Args, outputs: StackOutputs, log: (line: string) => void): { user?: TokenSource; mcp?: TokenSource } {
  if (args.noToken) return {};
  if ((args.mcpTokenFile || args.mcpTokenCommand) && outputs.mcpAuthMode !== 'audience-bound') {
    throw new UsageError(`the outputs say ${outputs.mcpAuthMode} mode, where the MCP endpoint takes the user's own token: leave out --mcp-token-file / --mcp-token-command`);
  }
  // The local chain's helper, signing a demo user in (no browser); --for orders-api exchanges as the agent runtime.
  const localToken = (extra: string) => `npx --no-install tsx lib-services/local/token.ts --state-dir ${shellQuote(args.localDir!)} --user ${args.localUser.replace(/[^A-Za-z0-9_-]/g, '')} --scope {scope}${extra}`;
  const mcp = args.mcpTokenFile ? fileTokenSource(args.mcpTokenFile)
    : args.mcpTokenCommand ? commandTokenSource(args.mcpTokenCommand)
      : args.local && outputs.mcpAuthMode === 'audience-bound' ? commandTokenSource(localToken(' --for orders-api'), 120_000, 'the agent runtime\'s token exchange (npm run local:token -- --for orders-api)')
        : undefined;
  if (args.tokenFile) return { user: fileTokenSource(args.tokenFile), mcp };
  if (args.tokenCommand) return { user: commandTokenSource(args.tokenCommand), mcp };
  if (args.deviceCode) {
    const authority = outputs.authority ?? (outputs.tenantId ? `https://login.microsoftonline.com/${outputs.tenantId}` : undefined);
    const tenantId = outputs.tenantId ?? (authority ? new URL(authority).pathname.split('/')[1] : undefined);
    if (!tenantId || !authority) throw new UsageError('--device-code needs the tenant_id (or authority) output');
    const clientId = args.clientId ?? outputs.spaClientId;
    return { user: deviceCodeTokenSource({ tenantId, clientId, authorityHost: new URL(authority).origin, prompt: log }), mcp };
  }
  if (args.local) return { user: commandTokenSource(localToken(''), 120_000, `local sign-in of ${args.localUser}`), mcp };
  return { mcp };
}

async function main(): Promise<number> {
  let args: Args;
  let outputs: StackOutputs;
  const log = (line: string) => process.stderr.write(`verify: ${line}\n`);
  try {
    args = parseArgs(process.argv.slice(2));
    const localCa = join(args.localDir!, 'oidc', 'cert.pem');
    const caFile = args.caFile ?? (args.local && existsSync(localCa) ? localCa : undefined);
    if (caFile) {
      if (!existsSync(caFile)) throw new UsageError(`--ca-file ${caFile} does not exist`);
      // Trusted beside the system's roots, for every https request of this process (fetch included).
      setDefaultCACertificates([...getCACertificates('default'), readFileSync(caFile, 'utf8')]);
    }
    outputs = await readOutputs(args);
  } catch (err) {
    if (err instanceof UsageError || err instanceof OutputsError) {
      log(err.message);
      return 2;
    }
    throw err;
  }
  let sources: ReturnType<typeof tokenSources>;
  try {
    sources = tokenSources(args, outputs, log);
  } catch (err) {
    log((err as Error).message);
    return 2;
  }
  log(`checking ${outputs.chatAppUrl} (${outputs.apimGatewayUrl ? 'with' : 'without'} API Management, ${outputs.mcpAuthMode} mode)${sources.user ? `, token from ${sources.user.describe}` : ', no user token'}`
    + `${sources.mcp ? `, MCP token from ${sources.mcp.describe}` : ''}`);
  const report = await runVerify({ outputs, tokenSource: sources.user, mcpTokenSource: sources.mcp, chatMessage: args.message, progress: log });
  process.stdout.write(args.json ? renderJson(report) : `\n${renderTable(report, Math.max(80, process.stdout.columns ?? 110))}`);
  return report.ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: Error) => {
  process.stderr.write(`verify: ${err.message}\n`);
  process.exitCode = 2;
});
