// The chat SPA: signs the user in with MSAL (redirect flow through the v5 redirect bridge),
// sends each message with the user's own access token in the Authorization header, shows
// the agent's answer as it streams, and asks the user before a tool that needs approval runs.
import {
  InteractionRequiredAuthError, PublicClientApplication,
  type AccountInfo, type Configuration, type ProtocolMode,
} from '@azure/msal-browser';
import type { IdentityReceipt as Receipt } from '../receipts.js';
import { readSseEvents } from '../sse.js';

interface ChatConfig {
  clientId: string;
  authority: string;
  scopes: string[];
  knownAuthorities: string[];
  protocolMode: ProtocolMode;
}

interface Approval {
  id: string;
  name: string;
  server_label: string;
  arguments: Record<string, unknown>;
}


interface ToolCall {
  name: string;
  server_label: string;
  status?: string;
  receipt?: Receipt;
  insufficient_scope?: string;
}

interface Answer {
  response_id: string;
  text: string;
  approvals: Approval[];
  /** Absent from an older Chat App: no receipts then. */
  tool_calls?: ToolCall[];
}

type AgentRequest =
  | { path: '/api/chat'; body: { message: string; previous_response_id?: string } }
  | { path: '/api/chat/approve'; body: { previous_response_id: string; approvals: { id: string; approve: boolean }[] } };

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

const ui = {
  user: byId<HTMLSpanElement>('user'),
  signIn: byId<HTMLButtonElement>('sign-in'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  conversation: byId<HTMLDivElement>('conversation'),
  error: byId<HTMLDivElement>('error'),
  form: byId<HTMLFormElement>('composer'),
  message: byId<HTMLTextAreaElement>('message'),
  send: byId<HTMLButtonElement>('send'),
};

let msal: PublicClientApplication | undefined;
let config: ChatConfig | undefined;
let account: AccountInfo | null = null;
let lastResponseId: string | undefined;
let busy = false;

function showError(message: string): void {
  ui.error.textContent = message;
}

function clearError(): void {
  ui.error.textContent = '';
}

function render(): void {
  const signedIn = account !== null;
  ui.user.textContent = signedIn ? `Signed in as ${account!.name || account!.username}` : 'Not signed in';
  ui.signIn.hidden = signedIn;
  ui.signIn.disabled = !msal;
  ui.signOut.hidden = !signedIn;
  ui.message.disabled = !signedIn || busy;
  ui.send.disabled = !signedIn || busy;
  ui.conversation.setAttribute('aria-busy', String(busy));
}

function addBubble(kind: 'user' | 'agent' | 'note', text: string): HTMLDivElement {
  const bubble = document.createElement('div');
  bubble.className = `msg ${kind}`;
  if (kind !== 'note') {
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = kind === 'user' ? 'You' : 'Agent';
    bubble.append(who);
  }
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  bubble.append(body);
  ui.conversation.append(bubble);
  bubble.scrollIntoView({ block: 'end' });
  return bubble;
}

/** One line per tool call: which service acted, as whom, with a token for which audience, obtained by which client. */
function receiptLine(call: ToolCall): string {
  const tool = call.name || 'a tool';
  if (call.insufficient_scope !== undefined) {
    const scope = call.insufficient_scope ? ` (${call.insufficient_scope})` : '';
    return `${call.server_label || 'The tool server'} refused ${tool}: your sign-in lacks the permission${scope}.`;
  }
  const r = call.receipt;
  if (!r) return `${tool} on ${call.server_label || 'a tool server'}: no receipt (the agent service passed none on).`;
  const who = r.name ? `${r.name} (oid ${r.oid})` : `oid ${r.oid}`;
  return `${r.service} ran ${tool} as ${who}, with a token for ${r.aud ?? 'an unnamed audience'}, obtained by ${r.azp ?? 'an unnamed client'}`
    + `${r.scopes.length ? `; scopes ${r.scopes.join(' ')}` : ''}.`;
}

function showReceipts(bubble: HTMLElement, calls: ToolCall[]): void {
  if (!calls.length) return;
  const list = document.createElement('ul');
  list.className = 'receipts';
  list.setAttribute('aria-label', 'Tool call receipts');
  for (const call of calls) {
    const entry = document.createElement('li');
    entry.className = call.receipt ? 'receipt' : 'receipt missing';
    entry.textContent = receiptLine(call);
    if (call.receipt?.token_id) entry.title = `token id ${call.receipt.token_id}`;
    list.append(entry);
  }
  bubble.append(list);
}

async function accessToken(): Promise<string | undefined> {
  if (!msal || !config || !account) return undefined;
  try {
    const result = await msal.acquireTokenSilent({ scopes: config.scopes, account });
    return result.accessToken;
  } catch (error) {
    if (error instanceof InteractionRequiredAuthError) {
      // Navigates away; the user comes back signed in and sends again.
      await msal.acquireTokenRedirect({ scopes: config.scopes, account });
      return undefined;
    }
    throw error;
  }
}

/** Posts to the Chat App and renders the streamed answer; resolves with it, or undefined after showing an error. */
async function callAgent(request: AgentRequest): Promise<Answer | undefined> {
  const token = await accessToken();
  if (!token) return undefined;
  const response = await fetch(request.path, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json', 'Accept': 'text/event-stream' },
    body: JSON.stringify(request.body),
  });
  if (!response.ok || !response.body || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    showError(await errorMessage(response));
    return undefined;
  }
  const bubble = addBubble('agent', '');
  const text = bubble.querySelector('.text')!;
  let answer: Answer | undefined;
  for await (const { event, data } of readSseEvents(response.body)) {
    if (event === 'delta') {
      text.textContent += (JSON.parse(data) as { text: string }).text;
    } else if (event === 'done') {
      answer = JSON.parse(data) as Answer;
      if (!text.textContent) text.textContent = answer.text;
    } else if (event === 'error') {
      const failure = JSON.parse(data) as { message?: string };
      showError(failure.message ?? 'The agent failed.');
    }
  }
  if (answer) showReceipts(bubble, answer.tool_calls ?? []);
  if (!text.textContent && !bubble.querySelector('.receipts')) bubble.remove();
  if (!answer && !ui.error.textContent) showError('The answer was cut off. Try again.');
  return answer;
}

async function errorMessage(response: Response): Promise<string> {
  let message = '';
  try {
    message = ((await response.json()) as { message?: string }).message ?? '';
  } catch {
    // Not JSON: fall back to the status.
  }
  if (response.status === 401) return 'Your sign-in is no longer valid. Sign out and sign in again.';
  return message || `The request failed (HTTP ${response.status}).`;
}

async function run(request: AgentRequest): Promise<void> {
  busy = true;
  clearError();
  render();
  let answer: Answer | undefined;
  try {
    answer = await callAgent(request);
  } catch (error) {
    showError(`Something went wrong: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    busy = false;
    render();
  }
  if (!answer) {
    ui.message.focus();
    return;
  }
  lastResponseId = answer.response_id;
  if (answer.approvals.length) showApprovals(answer.response_id, answer.approvals);
  else ui.message.focus();
}

/** One card per tool call; once every card has a decision they go back together. */
function showApprovals(responseId: string, approvals: Approval[]): void {
  const decisions = new Map<string, boolean>();
  let first: HTMLElement | undefined;
  for (const approval of approvals) {
    const card = document.createElement('section');
    card.className = 'approval';
    card.setAttribute('role', 'group');
    const heading = document.createElement('h2');
    heading.id = `approval-${approval.id}`;
    heading.tabIndex = -1;
    heading.textContent = `Approve the tool "${approval.name}"?`;
    card.setAttribute('aria-labelledby', heading.id);
    const server = document.createElement('p');
    server.textContent = `The agent wants to run ${approval.name} on ${approval.server_label || 'a tool server'} with these arguments:`;
    const args = document.createElement('pre');
    args.textContent = JSON.stringify(approval.arguments, null, 2);
    const actions = document.createElement('div');
    actions.className = 'actions';
    const approve = document.createElement('button');
    approve.type = 'button';
    approve.textContent = 'Approve';
    const deny = document.createElement('button');
    deny.type = 'button';
    deny.className = 'secondary';
    deny.textContent = 'Deny';
    const outcome = document.createElement('p');
    outcome.className = 'decision';
    outcome.setAttribute('role', 'status');
    const decide = (approved: boolean) => {
      approve.disabled = true;
      deny.disabled = true;
      outcome.textContent = approved ? 'Approved.' : 'Denied.';
      decisions.set(approval.id, approved);
      if (decisions.size === approvals.length) {
        void run({
          path: '/api/chat/approve',
          body: { previous_response_id: responseId, approvals: [...decisions].map(([id, ok]) => ({ id, approve: ok })) },
        });
      }
    };
    approve.addEventListener('click', () => decide(true));
    deny.addEventListener('click', () => decide(false));
    actions.append(approve, deny);
    card.append(heading, server, args, actions, outcome);
    ui.conversation.append(card);
    first ??= heading;
  }
  first?.scrollIntoView({ block: 'nearest' });
  first?.focus();
}

function send(): void {
  const message = ui.message.value.trim();
  if (!message || busy) return;
  ui.message.value = '';
  addBubble('user', message);
  void run({ path: '/api/chat', body: { message, previous_response_id: lastResponseId } });
}

async function start(): Promise<void> {
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  ui.message.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  ui.signIn.addEventListener('click', () => {
    clearError();
    msal?.loginRedirect({ scopes: config!.scopes }).catch((error: Error) => showError(`Sign-in failed: ${error.message}`));
  });
  ui.signOut.addEventListener('click', () => {
    const leaving = account;
    account = null;
    lastResponseId = undefined;
    render();
    // The id token tells a generic OpenID provider which client signs out, so that it
    // honours the post-logout redirect (Entra does not need it, and accepts it).
    msal?.logoutRedirect({ account: leaving, idTokenHint: leaving?.idToken })
      .catch((error: Error) => showError(`Sign-out failed: ${error.message}`));
  });

  const response = await fetch('/api/config');
  if (!response.ok) throw new Error(`the configuration could not be loaded (HTTP ${response.status})`);
  config = (await response.json()) as ChatConfig;
  const msalConfig: Configuration = {
    auth: {
      clientId: config.clientId,
      authority: config.authority,
      knownAuthorities: config.knownAuthorities,
      redirectUri: `${location.origin}/redirect.html`,
      postLogoutRedirectUri: `${location.origin}/`,
    },
    cache: { cacheLocation: 'sessionStorage' },
    system: { protocolMode: config.protocolMode },
  };
  msal = new PublicClientApplication(msalConfig);
  await msal.initialize();
  const result = await msal.handleRedirectPromise();
  account = result?.account ?? msal.getActiveAccount() ?? msal.getAllAccounts()[0] ?? null;
  if (account) msal.setActiveAccount(account);
  render();
  if (account) ui.message.focus();
}

render();
start().catch((error: unknown) => {
  showError(`The app could not start: ${error instanceof Error ? error.message : String(error)}`);
  render();
});
