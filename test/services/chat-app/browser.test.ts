// The SPA in a real browser (Debian's chromium through playwright-core): loads under the
// strict CSP, signs in against the local OpenID provider (oidc-provider over https), sends a
// message, renders the streamed answer and an approval card from the Foundry stand-in.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FoundryStandIn, messageItem, sendEvents, streamEvents } from './foundry-standin.js';
import { ensureBundle, startBundle, type RunningChatApp } from './support.js';
import { startLocalOidcProvider, type LocalOidc } from '../../../lib-services/local/oidc-provider.js';
import { freePort } from '../../../lib-services/shared/net.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

let stateDir: string;
let oidc: LocalOidc;
let standIn: FoundryStandIn;
let chatApp: RunningChatApp;
let browser: Browser;
const consoleLines: string[] = [];


// Skipped only off CI: under CI=true a missing browser fails the run instead of hiding the suite.
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the SPA in chromium', () => {
  beforeAll(async () => {
    ensureBundle();
    stateDir = mkdtempSync(join(tmpdir(), 'chat-browser-'));
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    [oidc, standIn] = await Promise.all([
      startLocalOidcProvider({ port: 0, redirectUris: [`${origin}/redirect.html`], stateDir }),
      FoundryStandIn.start(),
    ]);
    chatApp = await startBundle({
      PORT: String(port),
      AUTH_ISSUERS: oidc.issuer,
      AUTH_JWKS_URI: oidc.jwksUri,
      AUTH_REQUIRED_SCOPES: 'user_impersonation',
      AUTH_AUTHORITY: oidc.issuer,
      SPA_CLIENT_ID: oidc.spaClientId,
      FOUNDRY_PROJECT_ENDPOINT: standIn.projectEndpoint,
      // The chat app fetches the provider's JWKS over https with its self-signed certificate.
      NODE_EXTRA_CA_CERTS: oidc.caCertPath,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await chatApp?.stop();
    await Promise.all([oidc?.close(), standIn?.stop()]);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 } });
    // Nothing leaves the machine.
    await context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => route.abort());
    const page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    return page;
  }

  it('signs in, streams an answer, and asks before a tool runs', async () => {
    const page = await newPage();
    await page.goto(chatApp.url);
    const signIn = page.getByRole('button', { name: 'Sign in' });
    await expect.poll(() => signIn.isEnabled()).toBe(true);
    expect(await page.locator('#message').isDisabled()).toBe(true);

    // Redirect sign-in at the local OpenID provider.
    await signIn.click();
    await expect.poll(() => new URL(page.url()).origin, { timeout: 10_000 }).toBe(oidc.issuer);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('alice');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#user').textContent(), { timeout: 10_000 }).toContain('Alice Johnson');
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);

    // A streamed answer: slow chunks, so the page shows part of it before the end.
    const chunks = ['Alice, ', 'you ', 'have ', 'two ', 'orders.'];
    standIn.next((_req, res) => sendEvents(res, streamEvents('resp_browser_1', [messageItem(chunks.join(''))], chunks), 250));
    await page.getByLabel('Message').fill('What are my orders?');
    await page.getByRole('button', { name: 'Send' }).click();
    const log = page.getByRole('log');
    const agentText = log.locator('.msg.agent .text').last();
    await expect.poll(() => agentText.textContent(), { timeout: 5000 }).toMatch(/^Alice, (you )?$|^Alice, you have $/);
    await expect.poll(() => agentText.textContent(), { timeout: 5000 }).toBe('Alice, you have two orders.');
    expect(await log.textContent()).toContain('What are my orders?');

    // The bearer that reached the stand-in is the user's own token from the provider.
    const sent = standIn.requests[0];
    const claims = JSON.parse(Buffer.from(String(sent.headers.authorization).split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ iss: oidc.issuer, aud: 'https://ai.azure.com', azp: oidc.spaClientId, scp: 'user_impersonation', name: 'Alice Johnson' });
    expect(sent.body).toMatchObject({ input: 'What are my orders?', stream: true });

    // An approval card, then the decision goes back to the agent.
    await page.getByLabel('Message').fill('Please delete ORD-001');
    await page.keyboard.press('Enter');
    const approve = page.getByRole('button', { name: 'Approve' });
    await expect.poll(() => approve.isVisible(), { timeout: 5000 }).toBe(true);
    expect(await page.getByRole('button', { name: 'Deny' }).isVisible()).toBe(true);
    const card = page.getByRole('group', { name: /delete-order/ });
    expect(await card.textContent()).toContain('"order_id": "ORD-001"');
    await approve.click();
    await expect.poll(() => log.textContent(), { timeout: 5000 }).toContain('Deleted order ORD-001.');
    const [, asked, approval] = standIn.requests;
    expect(asked.body.input).toBe('Please delete ORD-001');
    expect(approval.body).toMatchObject({
      input: [{ type: 'mcp_approval_response', approval_request_id: expect.stringMatching(/^mcpr_/), approve: true }],
      previous_response_id: expect.stringMatching(/^resp_/),
    });
    expect(approval.headers.authorization).toBe(sent.headers.authorization);
    // The alert region is empty (and so hidden from the accessibility tree) when all went well.
    expect(await page.locator('#error[role="alert"]').textContent()).toBe('');

    const violations = consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l));
    expect(violations).toEqual([]);
    expect(consoleLines.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });

  it('shows an upstream refusal plainly, then signs out', async () => {
    const page = await newPage();
    await page.goto(chatApp.url);
    // A fresh context has no session: sign in again (the provider remembers nothing per context).
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => new URL(page.url()).origin, { timeout: 10_000 }).toBe(oidc.issuer);
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('bob');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#user').textContent(), { timeout: 10_000 }).toContain('Bob Smith');
    standIn.next((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await page.getByLabel('Message').fill('hello');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 5000 }).toMatch(/may not run this agent/);
    expect(await page.locator('#message').isEnabled()).toBe(true);

    // Sign out at the provider, back to the app signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => new URL(page.url()).origin, { timeout: 10_000 }).toBe(oidc.issuer);
    await page.locator('#logout').click();
    await expect.poll(() => new URL(page.url()).origin, { timeout: 10_000 }).toBe(chatApp.url);
    await expect.poll(() => page.locator('#user').textContent(), { timeout: 10_000 }).toBe('Not signed in');
    expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
  });
});
