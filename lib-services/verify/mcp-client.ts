// verify's only MCP client code: `tools/list` through the official SDK's current major, as an MCP
// client with the user's token would call it. Kept in one module so an SDK migration touches only
// this file. The client's default negotiation ('legacy': the plain 2025 initialize handshake) is
// kept on purpose: it is what Foundry speaks through API Management, which is the hop checked.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

/** A refused MCP exchange: the HTTP answer that refused it (never the request's headers). */
export class McpRefusal extends Error {
  constructor(message: string, readonly status?: number, readonly challenge?: string, readonly body?: string, readonly cause?: unknown) {
    super(message);
    this.name = 'McpRefusal';
  }
}

/** Connects (initialize) and lists the tools; throws McpRefusal with the failing HTTP answer. */
export async function listMcpTools(url: string, token: string, timeoutMs = 30_000): Promise<string[]> {
  let refused: { status: number; challenge?: string; body: string } | undefined;
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (!res.ok && !refused) refused = { status: res.status, challenge: res.headers.get('www-authenticate') ?? undefined, body: (await res.clone().text()).slice(0, 2000) };
    return res;
  };
  const client = new Client({ name: 'identity-agent-verify', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: recordingFetch,
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  try {
    await client.connect(transport, { timeout: timeoutMs });
    const { tools } = await client.listTools(undefined, { timeout: timeoutMs });
    return tools.map((t) => t.name);
  } catch (err) {
    if (refused) throw new McpRefusal(`HTTP ${refused.status}`, refused.status, refused.challenge, refused.body, err);
    throw new McpRefusal((err as Error).message.replace(/Bearer\s+\S+/gi, 'Bearer [token]').slice(0, 300), undefined, undefined, undefined, err);
  } finally {
    await client.close().catch(() => undefined);
  }
}
