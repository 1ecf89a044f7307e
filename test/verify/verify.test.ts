// verify against the real local chain (OpenID provider, Orders API and Chat App bundles, agent
// runtime): it passes when everything is right, and with one hop broken at a time it fails at
// that hop, with the service's code and the hint, after passing every hop before it. Needs the
// built bundles (`node lib-services/build.mjs`). No token appears in anything verify prints.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalChain, type LocalChain, type LocalChainOptions } from '../../lib-services/local/chain';
import { startLocalOidcProvider, type LocalOidc } from '../../lib-services/local/oidc-provider';
import { localOutputs } from '../../lib-services/local/outputs';
import { demoUserToken } from '../../lib-services/local/token';
import { parseOutputs, type StackOutputs } from '../../lib-services/verify/outputs';
import { renderJson, renderTable } from '../../lib-services/verify/report';
import { runVerify, type VerifyReport } from '../../lib-services/verify/run';
import type { TokenSource } from '../../lib-services/verify/tokens';

const BUNDLE = 'lib-services/dist/verify/verify.mjs';
const ready = ['orders-api/server.mjs', 'chat-app/server.mjs', 'verify/verify.mjs'].every((f) => existsSync(join('lib-services/dist', f)));

const HEALTHY_ORDER = [
  'chat-app.health', 'orders-api.health', 'foundry.tls', 'openid.configuration', 'chat-app.config',
  'metadata.mcp', 'metadata.orders-api', 'challenge.mcp', 'challenge.orders-api-rest',
  'token.user', 'foundry.agent', 'mcp.tools-list', 'chat.round-trip',
];

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
function userSource(chain: LocalChain, username: string, scopes?: string[], seen?: string[][]): TokenSource {
  return {
    describe: `local sign-in of ${username}`,
    async get(requested) {
      seen?.push(requested);
      const token = await demoUserToken({
        issuer: chain.oidc.issuer,
        caCertPath: chain.oidc.caCertPath,
        spaClientId: chain.oidc.spaClientId,
        chatAppUrl: chain.urls.chatApp,
        username,
        scopes: scopes ?? requested,
      });
      issued.push(token);
      return token;
    },
  };
}

async function verify(outputs: StackOutputs, tokenSource?: TokenSource): Promise<{ report: VerifyReport; printed: string }> {
  const lines: string[] = [];
  const report = await runVerify({ outputs, tokenSource, progress: (l) => lines.push(l), chatTimeoutMs: 20_000 });
  const printed = [...lines, renderTable(report), renderJson(report)].join('\n');
  return { report, printed };
}

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

describe.skipIf(!ready && !process.env.CI)('verify against the local chain', () => {
  let chain: LocalChain;
  /** Read at every (re)start of a service: a test sets one, restarts the service, and restores it. */
  const overrides: NonNullable<LocalChainOptions['serviceEnvOverrides']> = {};

  beforeAll(async () => {
    chain = await startLocalChain({ stateDir: tempDir(), onServiceLine: () => undefined, serviceEnvOverrides: overrides });
    // verify runs in this process here: trust the chain's certificate as --ca-file does.
    setDefaultCACertificates([...getCACertificates('default'), readFileSync(chain.oidc.caCertPath, 'utf8')]);
  }, 60_000);

  afterAll(async () => {
    await chain?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('passes every check, in request order, on the healthy chain', async () => {
    const { report, printed } = await verify(outputsOf(chain), userSource(chain, 'alice'));
    expect(report.results.map((r) => [r.id, r.status])).toEqual(HEALTHY_ORDER.map((id) => [id, 'pass']));
    expect(report.ok).toBe(true);
    expect(byId(report, 'token.user').detail).toContain('oid a11ce000-0000-4000-8000-000000000001');
    expect(byId(report, 'foundry.agent').detail).toContain(`-> ${chain.urls.ordersMcp} via mcp-entra`);
    expect(byId(report, 'mcp.tools-list').detail).toContain('list-orders');
    expect(byId(report, 'chat.round-trip').detail).toContain('You have 8 orders');
    expect(printed).toContain('13 passed, 0 warning(s), 0 failed, 0 skipped.');
    expectNoToken(printed);
  }, 60_000);

  it('without a token, checks what needs none and skips the rest', async () => {
    const { report } = await verify(outputsOf(chain));
    expect(report.ok).toBe(true);
    const skipped = report.results.filter((r) => r.status === 'skip').map((r) => r.id);
    expect(skipped).toEqual(['token.user', 'foundry.agent', 'mcp.tools-list', 'chat.round-trip']);
    expect(byId(report, 'token.user').detail).toMatch(/no user token given/);
  });

  it('the Orders API stopped: fails at its health check, refused connection, "not running"', async () => {
    await chain.stopService('orders-api');
    try {
      const { report, printed } = await verify(outputsOf(chain), userSource(chain, 'alice'));
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
      const { report } = await verify(outputsOf(chain), userSource(chain, 'alice'));
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

  it('metadata whose scopes disagree with the outputs: fails at the MCP metadata naming both scope lists', async () => {
    const { report } = await verify(outputsOf(chain, { orders_api_scopes: ['https://ai.azure.com/Orders.Read'] }), userSource(chain, 'alice'));
    const failure = expectFailsAt(report, 'metadata.mcp');
    expect(failure.detail).toContain('scopes_supported is [https://ai.azure.com/user_impersonation], the stack expects [https://ai.azure.com/Orders.Read]');
    expect(failure.hint).toMatch(/ORDERS_READ_SCOPES/);
  }, 60_000);

  it('a token without the scope: fails at the token, naming the scope, before any service sees it', async () => {
    const { report, printed } = await verify(outputsOf(chain), userSource(chain, 'alice', []));
    const failure = expectFailsAt(report, 'token.user');
    expect(failure.detail).toMatch(/scp "" holds none of user_impersonation/);
    expect(failure.hint).toMatch(/delegated permission user_impersonation and consent/);
    for (const id of ['foundry.agent', 'mcp.tools-list', 'chat.round-trip']) expect(byId(report, id).status).toBe('skip');
    expectNoToken(printed);
  }, 60_000);

  describe('a token for the wrong audience', () => {
    let other: LocalOidc;
    beforeAll(async () => {
      // Another provider of the same tenant and SPA client id, issuing tokens for Microsoft Graph.
      other = await startLocalOidcProvider({ port: 0, audience: 'https://graph.microsoft.com', redirectUris: [`${chain.urls.chatApp}/redirect.html`], stateDir: tempDir() });
      setDefaultCACertificates([...getCACertificates('default'), readFileSync(other.caCertPath, 'utf8')]);
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
      const { report, printed } = await verify(outputsOf(chain), source);
      const failure = expectFailsAt(report, 'token.user');
      expect(failure.detail).toContain('aud is https://graph.microsoft.com, expected https://ai.azure.com');
      expect(failure.hint).toContain('ask for a token for https://ai.azure.com');
      expectNoToken(printed);
    }, 60_000);
  });

  it('audience-bound outputs: asks for the Orders API\'s scope and refuses a token for Foundry\'s audience at the MCP hop', async () => {
    const seen: string[][] = [];
    const outputs = outputsOf(chain, { mcp_auth_mode: 'audience-bound', mcp_audiences: ['api://orders-local', 'orders-local'], orders_api_scopes: ['api://orders-local/Orders.Read', 'api://orders-local/Orders.ReadWrite'] });
    // A source that ignores the scope asked for (as a misconfigured --token-command would).
    const { report } = await verify(outputs, userSource(chain, 'alice', ['https://ai.azure.com/user_impersonation'], seen));
    expect(seen).toContainEqual(['api://orders-local/Orders.Read']);
    const failure = byId(report, 'token.mcp');
    expect(failure.status).toBe('fail');
    expect(failure.detail).toContain('aud is https://ai.azure.com, expected api://orders-local or orders-local');
    expect(byId(report, 'mcp.tools-list').status).toBe('skip');
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
      const { report } = await verify(outputsOf(broken), userSource(broken, 'bob'));
      const failure = expectFailsAt(report, 'foundry.agent');
      expect(failure.detail).toContain(`points at http://127.0.0.1:9/mcp, not the stack's MCP endpoint ${broken.urls.ordersMcp}`);
      expect(failure.hint).toMatch(/apply again so the agent gets a new version with the stack's MCP URL/);
      // The MCP endpoint itself is fine; the chat shows the agent failing to use its tool.
      expect(byId(report, 'mcp.tools-list').status).toBe('pass');
      expect(byId(report, 'chat.round-trip').status).toBe('warn');
    }, 60_000);

    it('the agent answers 403: fails at the agent with PermissionDenied and names the role, scope and user', async () => {
      const { report, printed } = await verify(outputsOf(broken), userSource(broken, 'alice'));
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
      execFile(process.execPath, [BUNDLE, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
        ok({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      });
    });
    let dir: string;
    let outputsFile: string;
    let tokenFile: string;
    beforeAll(async () => {
      dir = tempDir();
      outputsFile = join(dir, 'outputs.json');
      tokenFile = join(dir, 'token');
      writeFileSync(outputsFile, JSON.stringify(localOutputs(chain)));
      writeFileSync(tokenFile, await userSource(chain, 'alice').get(['https://ai.azure.com/user_impersonation']), { mode: 0o600 });
    });

    it('passes with --token-file and --json, exit 0, one progress line per check, no token printed', async () => {
      const { code, stdout, stderr } = await run(['--outputs', outputsFile, '--token-file', tokenFile, '--ca-file', chain.oidc.caCertPath, '--json']);
      const json = JSON.parse(stdout);
      expect({ code, ok: json.ok, failure: json.first_failure }).toEqual({ code: 0, ok: true, failure: null });
      expect(json.checks.map((c: { id: string }) => c.id)).toEqual(HEALTHY_ORDER);
      expect(stderr.split('\n').filter((l) => /^verify: \[\s*\d+\/13\]/.test(l))).toHaveLength(13);
      expectNoToken(stdout + stderr);
    }, 60_000);

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
