// Request-body helpers: one JSON object, bounded in size; problems become 400/413 JSON.
import type { Context } from 'hono';

/** Bigger than any valid body (8000 characters of message, escaped) and small enough to read at once. */
export const MAX_BODY_BYTES = 64 * 1024;

export class RequestError extends Error {
  constructor(message: string, readonly status: 400 | 413 = 400, readonly code = 'invalid_request') {
    super(message);
    this.name = 'RequestError';
  }
}

export async function readJsonBody(c: Context): Promise<Record<string, unknown>> {
  // The Content-Type is not insisted on: the token travels in a header, not a cookie, so a
  // cross-site form post cannot act as the user anyway.
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const bytes = await readBounded(c.req.raw);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new RequestError('the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function tooLarge(): RequestError {
  return new RequestError(`the body is larger than ${MAX_BODY_BYTES} bytes`, 413, 'payload_too_large');
}

/** Reads the body, stopping (and refusing) as soon as it passes the limit. */
async function readBounded(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
