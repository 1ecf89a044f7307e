// The contract from the built bundle: `node lib-services/dist/chat-app/server.mjs`, driven over HTTP.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FoundryStandIn, hang, messageItem, streamEvents } from './foundry-standin.js';
import { BUNDLE, ensureBundle, ROOT, startBundle, type RunningChatApp } from './support.js';
import { readSseEvents } from '../../../lib-services/chat-app/sse.js';
import { TestIssuer } from '../../support/issuer.js';

let issuer: TestIssuer;
let standIn: FoundryStandIn;
let chatApp: RunningChatApp;

function env(): Record<string, string> {
  const { AUTH_ALLOWED_CLIENT_IDS: _unused, ...auth } = issuer.env();
  return {
    ...auth,
    SPA_CLIENT_ID: issuer.clientId,
    AUTH_AUTHORITY: 'https://login.example.test/tenant',
    FOUNDRY_PROJECT_ENDPOINT: standIn.projectEndpoint,
    AGENT_TIMEOUT_MS: '5000',
  };
}

beforeAll(async () => {
  ensureBundle();
  [issuer, standIn] = await Promise.all([TestIssuer.start(), FoundryStandIn.start()]);
  chatApp = await startBundle(env());
});
afterAll(async () => {
  await chatApp?.stop();
  await Promise.all([issuer?.stop(), standIn?.stop()]);
});
beforeEach(() => standIn.reset());

describe('the bundle serves the SPA and the API', () => {
  it.each([
    ['/', /text\/html/, 'src="/app.js"'],
    ['/app.js', /text\/javascript/, 'acquireTokenSilent'],
    ['/redirect.html', /text\/html/, 'src="/redirect.js"'],
    ['/redirect.js', /text\/javascript/, ''],
    ['/style.css', /text\/css/, ':root'],
  ])('GET %s', async (path, type, contains) => {
    const res = await fetch(`${chatApp.url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(type);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.text();
    if (contains) expect(body.includes(contains), `${path} holds ${contains}`).toBe(true);
  });

  it('the SPA has no inline script and no off-origin script', async () => {
    for (const page of ['/', '/redirect.html']) {
      const html = await (await fetch(`${chatApp.url}${page}`)).text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, body] of scripts) {
        expect(body.trim()).toBe('');
        expect(attrs).toMatch(/src="\/[a-z]+\.js"/);
      }
      expect(html).not.toMatch(/\son[a-z]+=/i);
    }
  });

  it('GET /health and /api/config', async () => {
    expect(await (await fetch(`${chatApp.url}/health`)).json()).toEqual({ status: 'healthy' });
    expect(await (await fetch(`${chatApp.url}/api/config`)).json()).toEqual({
      clientId: issuer.clientId,
      authority: 'https://login.example.test/tenant',
      scopes: ['https://ai.azure.com/.default'],
      knownAuthorities: ['login.example.test'],
      protocolMode: 'OIDC',
    });
  });

  it('POST /api/chat as JSON and as an event stream, with the user token upstream', async () => {
    const token = await issuer.mint();
    const headers = { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' };
    const json = await fetch(`${chatApp.url}/api/chat`, { method: 'POST', headers, body: JSON.stringify({ message: 'hello' }) });
    expect(await json.json()).toMatchObject({ text: 'You said: hello', approvals: [] });
    const sse = await fetch(`${chatApp.url}/api/chat`, {
      method: 'POST', headers: { ...headers, accept: 'text/event-stream' }, body: JSON.stringify({ message: 'hello there' }),
    });
    const events: string[] = [];
    for await (const e of readSseEvents(sse.body!)) events.push(`${e.event}:${e.data}`);
    expect(events).toEqual([
      'delta:{"text":"You "}', 'delta:{"text":"said: "}', 'delta:{"text":"hello "}', 'delta:{"text":"there"}',
      expect.stringMatching(/^done:\{"response_id":"resp_\d+","text":"You said: hello there","approvals":\[\],"tool_calls":\[\]\}$/),
    ]);
    expect(standIn.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
    expect(chatApp.output()).not.toContain(token.split('.')[2]);
  });

  it('401 with a challenge without a token; the stand-in receives nothing', async () => {
    const res = await fetch(`${chatApp.url}/api/chat`, { method: 'POST', body: JSON.stringify({ message: 'hi' }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${chatApp.url}/.well-known/oauth-protected-resource/api"`);
    expect(standIn.requests).toHaveLength(0);
  });

  it.each([false, true])('a browser that disconnects aborts the upstream request (stream: %s)', async (stream) => {
    standIn.next(hang);
    const browser = new AbortController();
    const pending = fetch(`${chatApp.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: await issuer.bearer(), ...(stream ? { accept: 'text/event-stream' } : {}) },
      body: JSON.stringify({ message: 'a long question' }),
      signal: browser.signal,
    }).catch(() => undefined);
    await standIn.waitFor(() => standIn.requests.length === 1);
    browser.abort();
    await pending;
    await standIn.waitFor(() => standIn.requests[0].aborted);
  });
});

describe('a browser that leaves mid-stream', () => {
  it('aborts the upstream stream after the first delta was relayed', async () => {
    standIn.next(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const e of streamEvents('resp_mid', [messageItem('first part, then silence')], ['first part', ', then silence']).slice(0, 5)) {
        res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      }
    });
    const browser = new AbortController();
    const res = await fetch(`${chatApp.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: await issuer.bearer(), accept: 'text/event-stream' },
      body: JSON.stringify({ message: 'tell me a long story' }),
      signal: browser.signal,
    });
    const events = readSseEvents(res.body!);
    const first = await events.next();
    expect(first.value).toEqual({ event: 'delta', data: '{"text":"first part"}' });
    browser.abort();
    await events.return(undefined).catch(() => undefined);
    await standIn.waitFor(() => standIn.requests[0].aborted);
  });
});

describe('start-up checks', () => {
  it.each(['SPA_CLIENT_ID', 'FOUNDRY_PROJECT_ENDPOINT'])('refuses to start without %s, with one line naming it', (variable) => {
    const result = spawnSync(process.execPath, [BUNDLE], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', PORT: '0', ...env(), [variable]: '' }, encoding: 'utf8', timeout: 10_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
  });
});
