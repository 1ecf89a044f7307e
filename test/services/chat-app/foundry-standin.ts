/**
 * A recording stand-in for the Foundry project endpoint on loopback: it keeps every request
 * it receives (headers, JSON body, whether the caller hung up) and answers with Responses API
 * shapes (`response` objects, `mcp_approval_request` items, the streaming events
 * `response.created` … `response.output_text.delta` … `response.completed`).
 *
 * By default it plays a tiny scripted agent: a message mentioning "delete" asks for approval
 * of `delete-order`; an approval answer gets a confirmation; anything else is echoed back.
 * Tests queue other behaviour with `next(reply)`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PROJECT_PATH = '/api/projects/standin';
export const RESPONSES_PATH = `${PROJECT_PATH}/openai/v1/responses`;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
  /** The caller closed the connection before the answer was complete. */
  aborted: boolean;
  /** The answer was completely written. */
  finished: boolean;
}

export type Reply = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface StreamEvent {
  type: string;
  [key: string]: unknown;
}

export class FoundryStandIn {
  static async start(): Promise<FoundryStandIn> {
    const standIn = new FoundryStandIn();
    await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  readonly requests: RecordedRequest[] = [];
  private readonly queue: Reply[] = [];
  private readonly server: Server;
  private responseCount = 0;

  private constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 500;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** What FOUNDRY_PROJECT_ENDPOINT is set to. */
  get projectEndpoint(): string {
    return `${this.origin}${PROJECT_PATH}`;
  }

  /** The next request gets this reply instead of the scripted agent. */
  next(reply: Reply): this {
    this.queue.push(reply);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
  }

  nextResponseId(): string {
    return `resp_${String(++this.responseCount).padStart(6, '0')}`;
  }

  /** Resolves once `predicate` holds, polling briefly; rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > until) throw new Error('stand-in: condition not reached in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // keep the raw text
    }
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: new URL(req.url ?? '/', this.origin).pathname,
      headers: req.headers,
      body,
      aborted: false,
      finished: false,
    };
    this.requests.push(recorded);
    res.on('close', () => {
      if (!res.writableFinished) recorded.aborted = true;
    });
    res.on('finish', () => {
      recorded.finished = true;
    });
    if (recorded.method !== 'POST' || recorded.path !== RESPONSES_PATH) {
      sendJson(res, 404, { error: { code: 'not_found', message: 'stand-in: no such route' } });
      return;
    }
    const reply = this.queue.shift() ?? scriptedAgent(this);
    await reply(recorded, res);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A completed `response` object. */
export function responseObject(id: string, output: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, object: 'response', created_at: Math.floor(Date.now() / 1000), status: 'completed', error: null, output, ...extra };
}

export function messageItem(text: string, id = `msg_${Math.random().toString(36).slice(2, 10)}`): Record<string, unknown> {
  return { type: 'message', id, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
}

export function approvalItem(id: string, name: string, args: Record<string, unknown>, serverLabel = 'orders_mcp'): Record<string, unknown> {
  return { type: 'mcp_approval_request', id, server_label: serverLabel, name, arguments: JSON.stringify(args) };
}

/** The event sequence a streamed response produces for these output items; text is sent in `chunks`. */
export function streamEvents(id: string, output: Record<string, unknown>[], chunks?: string[]): StreamEvent[] {
  const events: StreamEvent[] = [];
  const inProgress = responseObject(id, [], { status: 'in_progress' });
  events.push({ type: 'response.created', response: inProgress }, { type: 'response.in_progress', response: inProgress });
  output.forEach((item, index) => {
    if (item.type === 'message') {
      const text = (item.content as { text: string }[])[0].text;
      events.push({ type: 'response.output_item.added', output_index: index, item: { ...item, status: 'in_progress', content: [] } });
      events.push({ type: 'response.content_part.added', item_id: item.id, output_index: index, content_index: 0, part: { type: 'output_text', text: '' } });
      for (const delta of chunks ?? words(text)) {
        events.push({ type: 'response.output_text.delta', item_id: item.id, output_index: index, content_index: 0, delta, logprobs: [] });
      }
      events.push({ type: 'response.output_text.done', item_id: item.id, output_index: index, content_index: 0, text });
      events.push({ type: 'response.content_part.done', item_id: item.id, output_index: index, content_index: 0, part: { type: 'output_text', text } });
    } else {
      events.push({ type: 'response.output_item.added', output_index: index, item });
    }
    events.push({ type: 'response.output_item.done', output_index: index, item });
  });
  events.push({ type: 'response.completed', response: responseObject(id, output) });
  return events.map((e, i) => ({ ...e, sequence_number: i }));
}

function words(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [text];
}

/** Writes SSE events, `gapMs` apart; stops early when the caller hangs up. */
export async function sendEvents(res: ServerResponse, events: StreamEvent[], gapMs = 0): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const event of events) {
    if (res.destroyed) return;
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  res.end();
}

/** The default behaviour: a deterministic little agent. */
export function scriptedAgent(standIn: FoundryStandIn): Reply {
  return async (req, res) => {
    const id = standIn.nextResponseId();
    const input = req.body?.input;
    let output: Record<string, unknown>[];
    if (typeof input === 'string' && /delete/i.test(input)) {
      output = [approvalItem(`mcpr_${id.slice(5)}`, 'delete-order', { order_id: 'ORD-001' })];
    } else if (Array.isArray(input) && input[0]?.type === 'mcp_approval_response') {
      output = [messageItem(input[0].approve ? 'Deleted order ORD-001.' : 'I did not delete order ORD-001.')];
    } else {
      output = [messageItem(`You said: ${String(input)}`)];
    }
    if (req.body?.stream) await sendEvents(res, streamEvents(id, output));
    else sendJson(res, 200, responseObject(id, output));
  };
}

/** Answers nothing until the caller hangs up. */
export const hang: Reply = () => undefined;
