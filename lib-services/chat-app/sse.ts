// A small server-sent events reader, shared by the server (reading the agent service's
// stream) and the SPA (reading the Chat App's stream). Only the `event` and `data`
// fields matter here; `id`, `retry` and comments are skipped.

export interface SseEvent {
  event: string;
  data: string;
}

/** Yields every complete event of a `text/event-stream` body, in order. */
export async function* readSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // Events end with a blank line; line ends may be \n, \r\n or \r. A trailing \r
      // waits for the next chunk, which may start with the \n of the same line end.
      const held = !done && buffer.endsWith('\r') ? '\r' : '';
      buffer = (held ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, '\n');
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const event = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
        end = buffer.indexOf('\n\n');
      }
      buffer += held;
      if (done) {
        // A final event without its blank line still counts (the stream was closed cleanly).
        const event = parseBlock(buffer);
        if (event) yield event;
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event = '';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!event && data.length === 0) return undefined;
  return { event: event || 'message', data: data.join('\n') };
}
