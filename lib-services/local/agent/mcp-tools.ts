// The agent's only way to the Orders API: the official MCP client, carrying the caller's own
// bearer token, as Foundry's UserEntraToken connection does. No credential of its own.
// The SDK's current major: it negotiates the current revision (2026-07-28) with a server that
// offers it (server/discover) and falls back to the 2025 handshake with one that does not.
import { Client, InsufficientScopeError, SdkError, SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { receiptOf, scopeRefusalOf } from './outcome';
import type { ToolInfo, ToolOutcome } from './types';

export interface ToolSession {
  list(): Promise<ToolInfo[]>;
  call(name: string, args: Record<string, unknown>): Promise<ToolOutcome>;
  close(): Promise<void>;
}

type Failure = { unreachable: boolean; text: string; insufficientScope?: string };

function denied(scope: string | undefined): Failure {
  if (!scope) return { unreachable: false, text: 'the Orders service denied the call (403)' };
  return { unreachable: false, insufficientScope: scope, text: `the Orders service requires the scope ${scope} for this (403 insufficient_scope)` };
}

/** A short reason for a failed MCP exchange; never includes headers (the token). */
export function describeMcpFailure(err: unknown): Failure {
  // 403 with an insufficient_scope challenge: the SDK hands over the challenge's `scope` (it has
  // no OAuth provider here to step up with); a bare 403 may still name it in the JSON-RPC body.
  if (err instanceof InsufficientScopeError) return denied(err.requiredScope);
  if (err instanceof SdkHttpError) {
    const code = err.status;
    if (code === 401) return { unreachable: false, text: 'the Orders service rejected your sign-in (401)' };
    if (code === 403) return denied(scopeRefusalOf(err.message));
    return { unreachable: code >= 500 || code === 404, text: `the Orders service answered HTTP ${code}` };
  }
  let cause: string | undefined;
  // fetch wraps the socket error, and the SDK wraps fetch's in its own (whose codes are the SDK's): walk down to the system code.
  for (let e = err as { cause?: unknown; code?: unknown } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && !(e instanceof SdkError)) { cause = e.code; break; }
  }
  if (cause === 'ECONNREFUSED') return { unreachable: true, text: 'connection refused' };
  if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') return { unreachable: true, text: 'it did not answer in time' };
  return { unreachable: true, text: cause ? `network error ${cause}` : ((err as Error)?.message ?? 'unknown error').slice(0, 200) };
}

export interface ToolSessionOptions {
  timeoutMs?: number;
  /** Sent as X-Request-ID so the Orders API's request log lines can be matched to this session. */
  requestId?: string;
}

export function mcpToolSession(mcpUrl: string, bearer: string, options: ToolSessionOptions = {}): ToolSession {
  let connected: Promise<Client> | undefined;
  const timeout = options.timeoutMs ?? 30_000;
  const connect = () => {
    connected ??= (async () => {
      const client = new Client({ name: 'local-agent-runtime', version: '0.1.0' }, { versionNegotiation: { mode: 'auto' } });
      const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${bearer}`, ...(options.requestId ? { 'X-Request-ID': options.requestId } : {}) } },
      });
      await client.connect(transport, { timeout });
      return client;
    })();
    return connected;
  };
  return {
    async list() {
      const client = await connect();
      const { tools } = await client.listTools(undefined, { timeout });
      return tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema as Record<string, unknown> }));
    },
    async call(name, args) {
      try {
        const client = await connect();
        const result = await client.callTool({ name, arguments: args }, { timeout });
        const content = Array.isArray(result.content) ? result.content : [];
        const text = content.map((c) => (c.type === 'text' ? c.text : undefined)).filter((t) => t !== undefined).join('\n');
        return { ok: !result.isError, text, receipt: receiptOf(result) };
      } catch (err) {
        connected = undefined;
        const failure = describeMcpFailure(err);
        return { ok: false, unreachable: failure.unreachable, text: failure.text, insufficientScope: failure.insufficientScope };
      }
    },
    async close() {
      const pending = connected;
      connected = undefined;
      if (pending) await pending.then((c) => c.close()).catch(() => undefined);
    },
  };
}
