// verify against the real local chain (OpenID provider, Orders API and Chat App bundles, agent
// runtime): it passes when everything is right, and with one hop broken at a time it fails at
// that hop, with the service's code and the hint, after passing every hop before it. Needs the
// built bundles (`node lib-services/build.mjs`). No token appears in anything verify prints.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ordersApiSource, userSource as localUserSource } from './local-sources';
import { startLocalChain, type LocalChain, type LocalChainOptions } from '../../lib-services/local/chain';
import { ORDERS_API_LOCAL_CLIENT_ID, startLocalOidcProvider, type LocalOidc } from '../../lib-services/local/oidc-provider';
import { localOutputs, writeAgentRuntimeCredentials, writeLocalOutputs } from '../../lib-services/local/outputs';
import { demoUserToken } from '../../lib-services/local/token';
import { parseOutputs, type StackOutputs } from '../../lib-services/verify/outputs';
import { renderJson, renderTable } from '../../lib-services/verify/report';
import { runVerify, type VerifyReport } from '../../lib-services/verify/run';
import type { TokenSource } from '../../lib-services/verify/tokens';

const BUNDLE = 'lib-services/dist/verify/verify.mjs';
const ready = ['orders-api/server.mjs', 'chat-app/server.mjs', 'verify/verify.mjs'].every((f) => existsSync(join('lib-services/dist', f)));

const BEFORE_TOKEN = [
  'chat-app.health', 'orders-api.health', 'foundry.tls', 'openid.configuration', 'chat-app.config',
  'metadata.mcp', 'metadata.orders-api', 'challenge.mcp', 'challenge.orders-api-rest',
];
/** Audience-bound (the default): the Orders API token is checked, and the user's own is refused at MCP. */
const HEALTHY_ORDER = [...BEFORE_TOKEN, 'token.user', 'token.mcp', 'foundry.agent', 'mcp.user-token-refused', 'mcp.tools-list', 'chat.round-trip'];
const FOUNDRY_AUDIENCE_ORDER = [...BEFORE_TOKEN, 'token.user', 'foundry.agent', 'mcp.tools-list', 'chat.round-trip'];
const ORDERS_AUD = [`api://${ORDERS_API_LOCAL_CLIENT_ID}`, ORDERS_API_LOCAL_CLIENT_ID];
const ORDERS_SCOPES = [`api://${ORDERS_API_LOCAL_CLIENT_ID}/Orders.Read`, `api://${ORDERS_API_LOCAL_CLIENT_ID}/Orders.ReadWrite`];

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'verify-test-'));
  dirs.push(d);
  return d;
};
/** Every token any source handed out, to prove none reaches verify's output. */
const issued: string[] = [];

function outputsOf(chain: LocalChain, patch: Record<string, unknown> = {}): StackOutputs {
  const raw: Record<string, unknown> = { ...localOutputs(chain) };
  for (const [k, v] of Object.entries(patch)) raw[k] = { value: v, type: 'string', sensitive: false };
  return parseOutputs(JSON.stringify(raw), 'test outputs');
}

/** The demo user's token as the SPA gets it; `scopes` replaces the resource scopes asked for. */
const userSource = (chain: LocalChain, username: string, scopes?: string[], seen?: string[][]) =>
  localUserSource(chain, username, { issued, scopes, seen });
/** The demo user's token for the Orders API, exchanged as the agent runtime does. */
const mcpSource = (chain: LocalChain, username: string, seen?: string[][]) => ordersApiSource(chain, username, { issued, seen });

async function verify(outputs: StackOutputs, tokenSource?: TokenSource, mcpTokenSource?: TokenSource) {
  const lines: string[] = [];
  const report = await runVerify({ outputs, tokenSource, mcpTokenSource, progress: (l) => lines.push(l), chatTimeoutMs: 20_000 });
  const printed = [...lines, renderTable(report), renderJson(report)].join('\n');
  return { report, printed };
}

/** verify as `--local` runs it: alice, and in audience-bound mode her token for the Orders API. */
const asAlice = (chain: LocalChain, outputs = outputsOf(chain)) => verify(outputs, userSource(chain, 'alice'), chain.mode === 'audience-bound' ? mcpSource(chain, 'alice') : undefined);

const byId = (report: VerifyReport, id: string) => {
  const r = report.results.find((x) => x.id === id);
  if (!r) throw new Error(`no check ${id} in ${report.results.map((x) => x.id).join(', ')}`);
  return r;
};

/** The first failure is `id`, and every check before it passed. */
function expectFailsAt(report: VerifyReport, id: string) {
  expect(report.ok).toBe(false);
  expect(report.firstFailure?.id).toBe(id);
  const index = report.results.findIndex((r) => r.id === id);
  expect(report.results.slice(0, index).map((r) => [r.id, r.status])).toEqual(report.results.slice(0, index).map((r) => [r.id, 'pass']));
  return report.results[index];
}

function expectNoToken(printed: string) {
  expect(issued.length).toBeGreaterThan(0);
  for (const token of issued) {
    expect(printed).not.toContain(token);
    // Not even the signature part, which is the secret half of a JWT.
    expect(printed).not.toContain(token.split('.')[2]);
  }
  expect(printed).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!ready && !process.env.CI)('verify against the local chain (audience-bound, the default)', () => {
  let chain: LocalChain;
  let stateDir: string;
  /** Read at every (re)start of a service: a test sets one, restarts the service, and restores it. */
  const overrides: NonNullable<LocalChainOptions['serviceEnvOverrides']> = {};

  beforeAll(async () => {
    stateDir = tempDir();
    chain = await startLocalChain({ stateDir, onServiceLine: () => undefined, serviceEnvOverrides: overrides });
    // verify runs in this process here: trust the chain's certificate as --ca-file does.
    setDefaultCACertificates([...getCACertificates('default'), readFileSync(chain.oidc.caCertPath, 'utf8')]);
  }, 60_000);

  afterAll(() => chain?.stop());

  it('the outputs describe the mode that runs: the Orders API\'s audiences, the agent runtime as the only client, its scopes as the metadata lists them', () => {
    expect(chain.mode).toBe('audience-bound');
    const values = Object.fromEntries(Object.entries(localOutputs(chain)).map(([k, v]) => [k, v.value]));
    expect(values).toMatchObject({
      mcp_auth_mode: 'audience-bound',
      mcp_audiences: ORDERS_AUD,
      mcp_allowed_client_ids: ['agent-runtime'],
      orders_api_scopes: ORDERS_SCOPES,
      chat_app_audiences: ['https://ai.azure.com'],
    });
    // And as verify reads them.
    expect(outputsOf(chain)).toMatchObject({ mcpAuthMode: 'audience-bound', mcpAudiences: ORDERS_AUD, mcpAllowedClientIds: ['agent-runtime'], ordersApiScopes: ORDERS_SCOPES });
  });

  it('passes every check, in request order, on the healthy chain', async () => {
    const seen: string[][] = [];
    const { report, printed } = await verify(outputsOf(chain), userSource(chain, 'alice'), mcpSource(chain, 'alice', seen));
    expect(report.results.map((r) => [r.id, r.status])).toEqual(HEALTHY_ORDER.map((id) => [id, 'pass']));
    expect(report.ok).toBe(true);
    // The metadata's scopes_supported agree with orders_api_scopes (metadata.mcp compares them).
    expect(byId(report, 'metadata.mcp').detail).toContain(`scopes ${ORDERS_SCOPES.join(' ')}`);
    expect(byId(report, 'token.user').detail).toContain('oid a11ce000-0000-4000-8000-000000000001');
    // verify asks for the read scope; the token is the same user's, for the Orders API, obtained by the agent runtime.
    expect(seen).toEqual([[ORDERS_SCOPES[0]]]);
    const mcpToken = byId(report, 'token.mcp').detail;
    expect(mcpToken).toContain(`aud "${ORDERS_API_LOCAL_CLIENT_ID}"`);
    expect(mcpToken).toContain('azp agent-runtime');
    expect(mcpToken).toContain('oid a11ce000-0000-4000-8000-000000000001');
    expect(byId(report, 'mcp.user-token-refused').detail).toBe('401 invalid_token for a token for https://ai.azure.com');
    expect(byId(report, 'foundry.agent').detail).toContain(`-> ${chain.urls.ordersMcp} via mcp-entra`);
    expect(byId(report, 'mcp.tools-list').detail).toContain('list-orders');
    expect(byId(report, 'chat.round-trip').detail).toContain('You have 8 orders');
    expect(printed).toContain('15 passed, 0 warning(s), 0 failed, 0 skipped.');
    expectNoToken(printed);
  }, 60_000);

  it('without a token, checks what needs none and skips the rest', async () => {
    const { report } = await verify(outputsOf(chain));
    expect(report.ok).toBe(true);
    const skipped = report.results.filter((r) => r.status === 'skip').map((r) => r.id);
    expect(skipped).toEqual(['token.user', 'token.mcp', 'foundry.agent', 'mcp.user-token-refused', 'mcp.tools-list', 'chat.round-trip']);
    expect(byId(report, 'token.user').detail).toMatch(/no user token given/);
  });

  it('with the user\'s token but none for the Orders API (as in Azure): the direct MCP checks are skipped, saying why; the rest passes', async () => {
    const { report, printed } = await verify(outputsOf(chain), userSource(chain, 'alice'));
    expect(report.ok).toBe(true);
    expect(report.results.filter((r) => r.status !== 'pass').map((r) => [r.id, r.status])).toEqual([['token.mcp', 'skip'], ['mcp.tools-list', 'skip']]);
    const reason = byId(report, 'token.mcp').detail;
    expect(reason).toContain(`accepts only a token for ${ORDERS_AUD.join(' or ')} obtained for the user by the client(s) agent-runtime, which a user cannot request for themselves`);
    expect(reason).toContain('--mcp-token-file or --mcp-token-command');
    expect(byId(report, 'mcp.tools-list').detail).toBe(reason);
    // The hop is still checked through the agent, and the user's own token is still refused at MCP.
    expect(byId(report, 'chat.round-trip').status).toBe('pass');
    expect(byId(report, 'mcp.user-token-refused').status).toBe('pass');
    expect(printed).toContain('13 passed, 0 warning(s), 0 failed, 2 skipped.');

    // A deployment whose outputs do not name the allowed client: the reason says whose it is in Azure, and that it is unproven.
    const { report: azureLike } = await verify(outputsOf(chain, { mcp_allowed_client_ids: null }), userSource(chain, 'alice'));
    expect(azureLike.ok).toBe(true);
    expect(byId(azureLike, 'token.mcp').detail).toContain('the agent\'s client (in Azure: the one Foundry uses for the UserEntraToken connection; which app id that is remains unproven)');
  }, 60_000);

  it('the Orders API stopped: fails at its health check, refused connection, "not running"', async () => {
    await chain.stopService('orders-api');
    try {
      const { report, printed } = await asAlice(chain);
      const failure = expectFailsAt(report, 'orders-api.health');
      expect(failure.code).toBe('ECONNREFUSED');
      expect(failure.hint).toMatch(/the Orders API is not running/);
      // What depends on it is skipped, not reported as more failures of its own.
      expect(byId(report, 'metadata.orders-api').status).toBe('skip');
      expect(byId(report, 'challenge.orders-api-rest').status).toBe('skip');
      expectNoToken(printed);
    } finally {
      await chain.startService('orders-api');
    }
  }, 60_000);

  it('wrong metadata (the Orders API names another resource): fails at the MCP metadata with the PUBLIC_BASE_URL hint', async () => {
    overrides['orders-api'] = { PUBLIC_BASE_URL: 'http://127.0.0.1:9' };
    await chain.startService('orders-api');
    try {
      const { report } = await asAlice(chain);
      const failure = expectFailsAt(report, 'metadata.mcp');
      expect(failure.detail).toContain('resource is "http://127.0.0.1:9/mcp", expected ' + chain.urls.ordersMcp);
      expect(failure.hint).toContain(`PUBLIC_BASE_URL, which must be ${chain.urls.ordersApi}`);
      // The challenge names a metadata URL that nothing serves.
      expect(byId(report, 'challenge.mcp').status).toBe('fail');
    } finally {
      delete overrides['orders-api'];
      await chain.startService('orders-api');
    }
  }, 60_000);

  it('metadata whose scopes disagree with what the Orders API checks: fails at the MCP metadata naming both scope lists', async () => {
    // The Orders API checks another write scope than the registration (and the outputs) define.
    overrides['orders-api'] = { ORDERS_WRITE_SCOPES: 'Orders.Write', AUTH_REQUIRED_SCOPES: 'Orders.Read,Orders.Write' };
    await chain.startService('orders-api');
    try {
      const { report } = await asAlice(chain);
      const failure = expectFailsAt(report, 'metadata.mcp');
      expect(failure.detail).toContain(`scopes_supported is [${ORDERS_SCOPES[0]}, api://${ORDERS_API_LOCAL_CLIENT_ID}/Orders.Write], the stack expects [${ORDERS_SCOPES.join(', ')}]`);
      expect(failure.hint).toMatch(/ORDERS_READ_SCOPES/);
    } finally {
      delete overrides['orders-api'];
      await chain.startService('orders-api');
    }
  }, 60_000);

  it('a token without the scope: fails at the token, naming the scope, before any service sees it', async () => {
    const { report, printed } = await verify(outputsOf(chain), userSource(chain, 'alice', []), mcpSource(chain, 'alice'));
    const failure = expectFailsAt(report, 'token.user');
    expect(failure.detail).toMatch(/scp "" holds none of user_impersonation/);
    expect(failure.hint).toMatch(/delegated permission user_impersonation and consent/);
    for (const id of ['token.mcp', 'foundry.agent', 'mcp.user-token-refused', 'mcp.tools-list', 'chat.round-trip']) expect(byId(report, id).status).toBe('skip');
    expectNoToken(printed);
  }, 60_000);

  describe('a token for the wrong audience', () => {
    let other: LocalOidc;
    beforeAll(async () => {
      // Another provider of the same tenant and SPA client id, issuing tokens for Microsoft Graph.
      other = await startLocalOidcProvider({ port: 0, audience: 'https://graph.microsoft.com', redirectUris: [`${chain.urls.chatApp}/redirect.html`], stateDir: tempDir() });
      setDefaultCACertificates([...getCACertificates('default'), readFileSync(chain.oidc.caCertPath, 'utf8'), readFileSync(other.caCertPath, 'utf8')]);
    });
    afterAll(() => other?.close());

    it('fails at the token with the audience to ask for', async () => {
      const source: TokenSource = {
        describe: 'graph token',
        get: async () => {
          const token = await demoUserToken({ issuer: other.issuer, caCertPath: other.caCertPath, spaClientId: other.spaClientId, chatAppUrl: chain.urls.chatApp, username: 'alice', scopes: other.scopes });
          issued.push(token);
          return token;
        },
      };
      const { report, printed } = await verify(outputsOf(chain), source, mcpSource(chain, 'alice'));
      const failure = expectFailsAt(report, 'token.user');
      expect(failure.detail).toContain('aud is https://graph.microsoft.com, expected https://ai.azure.com');
      expect(failure.hint).toContain('ask for a token for https://ai.azure.com');
      expectNoToken(printed);
    }, 60_000);
  });

  it('the user\'s own token given as the MCP token: fails at the Orders API token, naming the audience and the client it needs', async () => {
    const { report, printed } = await verify(outputsOf(chain), userSource(chain, 'alice'), userSource(chain, 'alice'));
    const failure = expectFailsAt(report, 'token.mcp');
    expect(failure.detail).toContain(`aud is https://ai.azure.com, expected ${ORDERS_AUD.join(' or ')}`);
    expect(failure.detail).toContain('issued to client chat-spa, but the MCP endpoint accepts only agent-runtime');
    expect(failure.hint).toContain(`ask for a token for ${ORDERS_AUD[0]}`);
    expect(failure.hint).toContain('npm run local:token -- --for orders-api');
    expect(byId(report, 'mcp.tools-list').status).toBe('skip');
    expectNoToken(printed);
  }, 60_000);

  it('an Orders API token of another user: fails at the Orders API token, naming both oids', async () => {
    const { report } = await verify(outputsOf(chain), userSource(chain, 'alice'), mcpSource(chain, 'bob'));
    const failure = expectFailsAt(report, 'token.mcp');
    expect(failure.detail).toContain('oid is b0b00000-0000-4000-8000-000000000002, the user token\'s is a11ce000-0000-4000-8000-000000000001');
  }, 60_000);

  it('an MCP endpoint that also accepts the user\'s own token (audience not bound): fails at that check with the AUTH_AUDIENCES hint', async () => {
    overrides['orders-api'] = { AUTH_AUDIENCES: [...ORDERS_AUD, 'https://ai.azure.com'].join(','), AUTH_ALLOWED_CLIENT_IDS: 'agent-runtime,chat-spa' };
    await chain.startService('orders-api');
    try {
      const { report, printed } = await asAlice(chain);
      const failure = expectFailsAt(report, 'mcp.user-token-refused');
      // Past the audience, the user's token fails only the scope check: the audience is not bound.
      expect([failure.httpStatus, failure.code]).toEqual([403, 'insufficient_scope']);
      expect(failure.detail).toContain('passed the audience check');
      expect(failure.hint).toContain(`must accept only ${ORDERS_AUD.join(' or ')}`);
      expect(failure.hint).toContain('AUTH_AUDIENCES');
      expectNoToken(printed);
    } finally {
      delete overrides['orders-api'];
      await chain.startService('orders-api');
    }
  }, 60_000);

  describe('the agent', () => {
    let broken: LocalChain;
    beforeAll(async () => {
      // One chain, two breaks told apart by the user: only bob may use the agent (alice gets
      // Foundry's 403), and the agent's MCP tool points at a stale URL.
      broken = await startLocalChain({ stateDir: tempDir(), onServiceLine: () => undefined, agentMcpUrl: 'http://127.0.0.1:9/mcp', agentUsers: ['bob'] });
      setDefaultCACertificates([...getCACertificates('default'), readFileSync(chain.oidc.caCertPath, 'utf8'), readFileSync(broken.oidc.caCertPath, 'utf8')]);
    }, 60_000);
    afterAll(() => broken?.stop());

    it('a tool URL that does not match: fails at the agent definition, naming both URLs', async () => {
      const { report } = await verify(outputsOf(broken), userSource(broken, 'bob'), mcpSource(broken, 'bob'));
      const failure = expectFailsAt(report, 'foundry.agent');
      expect(failure.detail).toContain(`points at http://127.0.0.1:9/mcp, not the stack's MCP endpoint ${broken.urls.ordersMcp}`);
      expect(failure.hint).toMatch(/apply again so the agent gets a new version with the stack's MCP URL/);
      // The MCP endpoint itself is fine; the chat shows the agent failing to use its tool.
      expect(byId(report, 'mcp.user-token-refused').status).toBe('pass');
      expect(byId(report, 'mcp.tools-list').status).toBe('pass');
      expect(byId(report, 'chat.round-trip').status).toBe('warn');
    }, 60_000);

    it('the agent answers 403: fails at the agent with PermissionDenied and names the role, scope and user', async () => {
      const { report, printed } = await asAlice(broken);
      const failure = expectFailsAt(report, 'foundry.agent');
      expect(failure.httpStatus).toBe(403);
      expect(failure.code).toBe('PermissionDenied');
      expect(failure.hint).toContain('Foundry User (53ca6127-db72-4b80-b1b0-d745d6d5456d)');
      expect(failure.hint).toContain('at the Foundry project scope to object id a11ce000-0000-4000-8000-000000000001');
      expect(failure.hint).toContain('Microsoft.CognitiveServices/accounts/AIServices/agents/read');
      // The chat fails the same way through the Chat App (its 403 for Foundry's refusal).
      const chat = byId(report, 'chat.round-trip');
      expect([chat.status, chat.httpStatus]).toEqual(['fail', 403]);
      expect(chat.hint).toContain('Foundry User');
      expectNoToken(printed);
    }, 60_000);
  });

  describe('the packaged command', () => {
    const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((ok) => {
      execFile(process.execPath, [BUNDLE, ...args], { timeout: 90_000 }, (err, stdout, stderr) => {
        ok({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      });
    });
    const progressLines = (stderr: string, total: number) => stderr.split('\n').filter((l) => new RegExp(`^verify: \\[\\s*\\d+/${total}\\]`).test(l));
    let dir: string;
    let outputsFile: string;
    let tokenFile: string;
    let mcpTokenFile: string;
    beforeAll(async () => {
      dir = tempDir();
      outputsFile = join(dir, 'outputs.json');
      tokenFile = join(dir, 'token');
      mcpTokenFile = join(dir, 'mcp-token');
      writeFileSync(outputsFile, JSON.stringify(localOutputs(chain)));
      writeFileSync(tokenFile, await userSource(chain, 'alice').get(['https://ai.azure.com/user_impersonation']), { mode: 0o600 });
      writeFileSync(mcpTokenFile, await mcpSource(chain, 'alice').get([ORDERS_SCOPES[0]]), { mode: 0o600 });
    });

    it('passes with --token-file, --mcp-token-file and --json, exit 0, one progress line per check, no token printed', async () => {
      const { code, stdout, stderr } = await run(['--outputs', outputsFile, '--token-file', tokenFile, '--mcp-token-file', mcpTokenFile, '--ca-file', chain.oidc.caCertPath, '--json']);
      const json = JSON.parse(stdout);
      expect({ code, ok: json.ok, failure: json.first_failure }).toEqual({ code: 0, ok: true, failure: null });
      expect(json.checks.map((c: { id: string }) => c.id)).toEqual(HEALTHY_ORDER);
      expect(json.checks.every((c: { status: string }) => c.status === 'pass')).toBe(true);
      expect(progressLines(stderr, 15)).toHaveLength(15);
      expectNoToken(stdout + stderr);
    }, 60_000);

    it('without an MCP token: exit 0, the table says which checks were skipped and why', async () => {
      const { code, stdout, stderr } = await run(['--outputs', outputsFile, '--token-file', tokenFile, '--ca-file', chain.oidc.caCertPath]);
      expect(code).toBe(0);
      expect(stdout).toContain('13 passed, 0 warning(s), 0 failed, 2 skipped.');
      expect(stdout.replace(/\s+/g, ' ')).toContain('which a user cannot request for themselves');
      expectNoToken(stdout + stderr);
    }, 60_000);

    it('--local reads the runner\'s files: signs alice in and gets her Orders API token as the agent runtime (npm run local:token -- --for orders-api)', async () => {
      // What `npm run local` writes, into this chain's own (temporary) state folder.
      writeLocalOutputs(chain, join(stateDir, 'outputs.json'));
      writeAgentRuntimeCredentials(chain, join(stateDir, 'agent-runtime.json'));
      // Owner-only: the file (0600) and the folder (0700); nothing for group or others.
      expect((statSync(join(stateDir, 'agent-runtime.json')).mode % 0o1000).toString(8)).toBe('600');
      expect((statSync(stateDir).mode % 0o1000).toString(8)).toBe('700');
      const { code, stdout, stderr } = await run(['--local', '--local-dir', stateDir, '--json']);
      const json = JSON.parse(stdout);
      expect({ code, ok: json.ok, failure: json.first_failure }).toEqual({ code: 0, ok: true, failure: null });
      expect(json.checks.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual(HEALTHY_ORDER.map((id) => [id, 'pass']));
      expect(json.checks.find((c: { id: string }) => c.id === 'token.mcp').detail).toContain('azp agent-runtime');
      expect(stderr).toContain('MCP token from the agent runtime\'s token exchange (npm run local:token -- --for orders-api)');
      expect(progressLines(stderr, 15)).toHaveLength(15);
      // Neither a token (the subprocesses' are not in `issued`: no JWT shape at all) nor the agent runtime's secret.
      expectNoToken(stdout + stderr);
      expect(stdout + stderr).not.toContain(chain.oidc.agentClient.clientSecret);
    }, 90_000);

    it('exits 1 at the failing hop (--token-command printing a token without the scope), 2 on outputs missing a value', async () => {
      const scopeless = join(dir, 'scopeless');
      writeFileSync(scopeless, await userSource(chain, 'alice', []).get([]), { mode: 0o600 });
      const failing = await run(['--outputs', outputsFile, '--token-command', `cat ${scopeless}`, '--ca-file', chain.oidc.caCertPath]);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toContain('First failing hop: OpenID provider: a user token for the Chat App.');
      expectNoToken(failing.stdout + failing.stderr);

      // A token command that fails after printing the token to stderr: its words are reported, the token is not.
      const leaky = await run(['--outputs', outputsFile, '--token-command', `cat ${tokenFile} >&2; echo >&2; echo AADSTS65001 consent >&2; exit 3`, '--ca-file', chain.oidc.caCertPath, '--json']);
      const leakyJson = JSON.parse(leaky.stdout);
      const tokenCheck = leakyJson.checks.find((c: { id: string }) => c.id === 'token.user');
      expect({ code: leaky.code, status: tokenCheck.status, code_: tokenCheck.code }).toEqual({ code: 1, status: 'fail', code_: 'AADSTS65001' });
      expect(tokenCheck.detail).toContain('exit 3');
      expect(tokenCheck.detail).toContain('[token]');
      expect(tokenCheck.hint).toMatch(/^consent is missing/);
      expectNoToken(leaky.stdout + leaky.stderr);

      const partial = join(dir, 'partial.json');
      const { agent_name: _dropped, ...rest } = localOutputs(chain);
      writeFileSync(partial, JSON.stringify(rest));
      const bad = await run(['--outputs', partial]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('lacks the output(s) agent_name');
    }, 60_000);
  });
});

describe.skipIf(!ready && !process.env.CI)('verify against the local chain in foundry-audience mode', () => {
  let chain: LocalChain;
  beforeAll(async () => {
    chain = await startLocalChain({ stateDir: tempDir(), mode: 'foundry-audience', onServiceLine: () => undefined });
    setDefaultCACertificates([...getCACertificates('default'), readFileSync(chain.oidc.caCertPath, 'utf8')]);
  }, 60_000);
  afterAll(() => chain?.stop());

  it('the outputs describe the original\'s mode: the user\'s own audience and client at the MCP hop', () => {
    const values = Object.fromEntries(Object.entries(localOutputs(chain)).map(([k, v]) => [k, v.value]));
    expect(values).toMatchObject({
      mcp_auth_mode: 'foundry-audience',
      mcp_audiences: ['https://ai.azure.com'],
      mcp_allowed_client_ids: ['chat-spa'],
      orders_api_scopes: ['https://ai.azure.com/user_impersonation'],
    });
  });

  it('passes every check with the user\'s token alone (no Orders API token, no audience-bound checks)', async () => {
    const { report, printed } = await asAlice(chain);
    expect(report.results.map((r) => [r.id, r.status])).toEqual(FOUNDRY_AUDIENCE_ORDER.map((id) => [id, 'pass']));
    expect(byId(report, 'metadata.mcp').detail).toContain('scopes https://ai.azure.com/user_impersonation');
    expect(byId(report, 'chat.round-trip').detail).toContain('You have 8 orders');
    expect(printed).toContain('13 passed, 0 warning(s), 0 failed, 0 skipped.');
    expectNoToken(printed);
  }, 60_000);

  it('the packaged command refuses an MCP token option in this mode (exit 2), rather than ignore it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'outputs.json'), JSON.stringify(localOutputs(chain)));
    const result = await new Promise<{ code: number; stderr: string }>((ok) => {
      execFile(process.execPath, [BUNDLE, '--outputs', join(dir, 'outputs.json'), '--mcp-token-file', join(dir, 'absent')], (err, _stdout, stderr) => ok({ code: err ? Number(err.code ?? 1) : 0, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the outputs say foundry-audience mode, where the MCP endpoint takes the user\'s own token');
  }, 30_000);

  it('metadata whose scopes disagree with the outputs: fails at the MCP metadata naming both scope lists', async () => {
    const { report } = await asAlice(chain, outputsOf(chain, { orders_api_scopes: ['https://ai.azure.com/Orders.Read'] }));
    const failure = expectFailsAt(report, 'metadata.mcp');
    expect(failure.detail).toContain('scopes_supported is [https://ai.azure.com/user_impersonation], the stack expects [https://ai.azure.com/Orders.Read]');
  }, 60_000);
});
