// `npm run local`: the whole identity chain on this machine. The only file of the local chain
// that reads process.env; `npm run local -- --store table` keeps orders in Azurite;
// `--mode foundry-audience` runs the original's mode (the browser's token reaches the Orders API).
import { LOCAL_CHAIN_MODES, startLocalChain, type LocalChainMode, type LocalChainOptions } from './chain';
import { writeAgentRuntimeCredentials, writeLocalOutputs } from './outputs';

function parseArgs(argv: string[]): Pick<LocalChainOptions, 'store' | 'mode'> {
  let store: LocalChainOptions['store'] = 'memory';
  let mode: LocalChainMode = 'audience-bound';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--store' || arg.startsWith('--store=')) {
      const value = arg.includes('=') ? arg.split('=')[1] : argv[++i];
      if (value !== 'memory' && value !== 'table') throw new Error(`--store must be memory or table, not ${JSON.stringify(value ?? '')}`);
      store = value;
    } else if (arg === '--mode' || arg.startsWith('--mode=')) {
      const value = arg.includes('=') ? arg.split('=')[1] : argv[++i];
      if (!LOCAL_CHAIN_MODES.includes(value as LocalChainMode)) throw new Error(`--mode must be ${LOCAL_CHAIN_MODES.join(' or ')}, not ${JSON.stringify(value ?? '')}`);
      mode = value as LocalChainMode;
    } else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run local [-- --store memory|table] [--mode audience-bound|foundry-audience]\nLOCAL_MODEL_URL=<OpenAI-compatible base URL> (with LOCAL_MODEL_NAME, LOCAL_MODEL_API_KEY) replaces the intent router.');
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${arg} (try --help)`);
    }
  }
  return { store, mode };
}

async function main() {
  let store: LocalChainOptions['store'];
  let mode: LocalChainMode | undefined;
  try {
    ({ store, mode } = parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(`local: ${(err as Error).message}`);
    process.exit(2);
  }
  // Ctrl-C while starting: exit, and the chain's exit hook stops the children started so far.
  const early = () => process.exit(130);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const modelUrl = process.env.LOCAL_MODEL_URL?.trim();
  const started = Date.now();
  const chain = await startLocalChain({
    store,
    mode,
    model: modelUrl ? { url: modelUrl, name: process.env.LOCAL_MODEL_NAME, apiKey: process.env.LOCAL_MODEL_API_KEY } : undefined,
  });
  // The URLs as `terraform output -json` prints a stack's: `npm run verify -- --local` reads them.
  const outputsFile = '.local/outputs.json';
  const removeOutputs = writeLocalOutputs(chain, outputsFile);
  // Audience-bound: the agent runtime's client credentials (owner-only, this run's secret), for
  // `npm run local:token -- --for orders-api` and so `verify --local`'s direct MCP check.
  const removeCredentials = chain.mode === 'audience-bound' ? writeAgentRuntimeCredentials(chain, '.local/agent-runtime.json') : () => undefined;
  const pad = (s: string) => s.padEnd(18);
  console.log([
    '',
    `Local identity chain is up (${Date.now() - started} ms). Open the Chat App and sign in:`,
    '',
    `  ${pad('Chat App')}${chain.urls.chatApp}`,
    `  ${pad('OpenID provider')}${chain.urls.issuer}  (self-signed certificate: ${chain.oidc.caCertPath})`,
    `  ${pad('Agent runtime')}${chain.urls.agentProject}  (${modelUrl ? `model ${modelUrl}` : 'intent router'})`,
    `  ${pad('Orders API')}${chain.urls.ordersApi}  (MCP ${chain.urls.ordersMcp}, store ${store}${chain.urls.azurite ? ` on Azurite ${chain.urls.azurite}` : ''})`,
    `  ${pad('Mode')}${chain.mode === 'audience-bound'
      ? `audience-bound: the agent runtime exchanges your token for one for ${chain.ordersAudiences[0]}`
      : 'foundry-audience: your own token (https://ai.azure.com) reaches the Orders API'}`,
    '',
    '  Demo users (password = username):',
    ...chain.users.map((u) => `    ${pad(u.username)}${u.name}, oid ${u.oid}${u.username === 'alice' ? ' (owns the 8 seed orders)' : u.username === 'admin' ? ' (sees all orders)' : ''}${u.mayChangeOrders ? '' : ' (may read orders, not change them)'}`),
    '',
    '  Try: "show my orders", "order 3 webcams", "mark ORD-004 shipped", "delete ORD-009". Ctrl-C stops everything.',
    `  Outputs: ${outputsFile} (check the chain with \`npm run verify -- --local\`).`,
    '',
  ].join('\n'));

  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      console.log('\nlocal: stopping...');
      removeOutputs();
      removeCredentials();
      chain.stop().then(() => process.exit(0), () => process.exit(1));
    });
  }
}

main().catch((err: Error) => {
  console.error(`local: ${err.message}`);
  process.exit(1);
});
