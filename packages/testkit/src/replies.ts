import type { ServerResponse } from 'node:http';

/** What a reply can see of the connection it answers. */
export interface ReplyContext {
  /** Aborted when the client goes away or the server closes. */
  signal: AbortSignal;
  /** Waits `ms` (resolves early, without error, when `signal` aborts). */
  delay(ms: number): Promise<void>;
}

/** A scripted response: writes to `response`, may wait between writes. */
export type Reply = (response: ServerResponse, context: ReplyContext) => Promise<void> | void;

/** Status and headers of a reply. */
export interface ReplyOptions {
  status?: number;
  headers?: Record<string, string>;
}

/** Timing of a streamed reply. */
export interface StreamOptions extends ReplyOptions {
  /** Wait before each chunk, in ms (default 0). */
  delayMs?: number;
  /** Wait before the first chunk, in ms (default `delayMs`). */
  firstDelayMs?: number;
}

/** One server-sent event; `data` objects are JSON-encoded. */
export interface SseEvent {
  event?: string;
  id?: string;
  data: unknown;
}

function head(response: ServerResponse, options: ReplyOptions, contentType: string | undefined) {
  const headers: Record<string, string> = {
    ...(contentType ? { 'content-type': contentType } : {}),
    ...options.headers,
  };
  response.writeHead(options.status ?? 200, headers);
}

/** A JSON body with a status (default 200). */
export function json(body: unknown, options: ReplyOptions = {}): Reply {
  return (response) => {
    const text = JSON.stringify(body);
    head(
      response,
      { ...options, headers: { 'content-length': String(Buffer.byteLength(text)), ...options.headers } },
      'application/json',
    );
    response.end(text);
  };
}

/** A plain-text (or any `content-type`) body. */
export function text(body: string, options: ReplyOptions & { contentType?: string } = {}): Reply {
  return (response) => {
    head(response, options, options.contentType ?? 'text/plain; charset=utf-8');
    response.end(body);
  };
}

/** An empty body with a status, such as Proxmox's bare 401. */
export function empty(status: number, options: ReplyOptions = {}): Reply {
  return (response) => {
    head(response, { ...options, status }, undefined);
    response.end();
  };
}

/** Encodes one server-sent event the way real servers do (`event:`, `id:`, `data:` lines, blank line). */
export function encodeSseEvent(event: SseEvent): string {
  const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
  let out = '';
  if (event.event) out += `event: ${event.event}\n`;
  if (event.id) out += `id: ${event.id}\n`;
  for (const line of data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** Raw chunks written one by one, optionally spaced out; the body ends after the last. */
export function chunks(
  parts: readonly string[],
  options: StreamOptions & { contentType?: string } = {},
): Reply {
  return async (response, context) => {
    head(response, options, options.contentType ?? 'text/plain; charset=utf-8');
    response.flushHeaders();
    for (const [index, part] of parts.entries()) {
      const wait = index === 0 ? (options.firstDelayMs ?? options.delayMs ?? 0) : (options.delayMs ?? 0);
      if (wait > 0) await context.delay(wait);
      if (context.signal.aborted) return;
      response.write(part);
    }
    response.end();
  };
}

/** A `text/event-stream` of events. */
export function sse(events: readonly SseEvent[], options: StreamOptions = {}): Reply {
  return chunks(events.map(encodeSseEvent), {
    ...options,
    contentType: 'text/event-stream',
    headers: { 'cache-control': 'no-cache', ...options.headers },
  });
}

/** A newline-delimited JSON stream (Ollama's `application/x-ndjson`). */
export function ndjson(lines: readonly unknown[], options: StreamOptions = {}): Reply {
  return chunks(
    lines.map((line) => `${JSON.stringify(line)}\n`),
    { ...options, contentType: 'application/x-ndjson' },
  );
}

/**
 * Writes the head and `parts`, then destroys the socket without ending the body: what a crashed
 * upstream or a dropped connection looks like to the client.
 */
export function abruptClose(
  parts: readonly string[] = [],
  options: StreamOptions & { contentType?: string } = {},
): Reply {
  return async (response, context) => {
    head(response, options, options.contentType ?? 'text/event-stream');
    response.flushHeaders();
    for (const part of parts) {
      if ((options.delayMs ?? 0) > 0) await context.delay(options.delayMs ?? 0);
      response.write(part);
    }
    await context.delay(5);
    response.socket?.destroy();
  };
}

/** Destroys the connection before any response byte: a network failure. */
export function hangUp(): Reply {
  return (response) => {
    response.socket?.destroy();
  };
}

/** Never answers until the client gives up or the server closes: a hung upstream. */
export function hang(): Reply {
  return async (_response, context) => {
    await context.delay(2_147_483_647);
  };
}
