import { type FakeServer, type RecordedRequest, startFakeServer } from '../fake-server.js';
import { encodeSseEvent, type Reply } from '../replies.js';
import {
  type AnthropicScript,
  anthropicMessage,
  anthropicStreamEvents,
  fakeId,
  resolveScript,
} from './anthropic-script.js';
import {
  type AnthropicRejection,
  type AnthropicValidationOptions,
  checkAnthropicBody,
  checkAnthropicHeaders,
} from './anthropic-validate.js';

/** An HTTP error the fake answers with, in Anthropic's error JSON. */
export interface AnthropicErrorReply {
  error: {
    status: number;
    /** Default: the type Anthropic uses for `status` (`rate_limit_error` for 429, …). */
    type?: string;
    message?: string;
    /** Sent as the `retry-after` header (seconds or an HTTP date). */
    retryAfter?: string | number;
    /** Sent as the `retry-after-ms` header. */
    retryAfterMs?: number;
    headers?: Record<string, string>;
  };
}

/** What the fake answers a valid request with: a script, an HTTP error, or any raw testkit reply. */
export type AnthropicReply = AnthropicScript | AnthropicErrorReply | { raw: Reply };

/** A `POST /v1/messages` the fake received. */
export interface AnthropicRecordedRequest {
  /** Lower-cased header names, as sent. */
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body (`undefined` when it was not JSON). */
  body: Record<string, unknown> | undefined;
  /** Why the fake rejected it, if it did. */
  rejected: AnthropicRejection | undefined;
  raw: RecordedRequest;
}

/** Options of {@link startAnthropicFake}. */
export interface AnthropicFakeOptions extends AnthropicValidationOptions {
  /** Serve https with the testkit certificate. */
  tls?: boolean;
  /** Answers requests when nothing is queued (default: a short text answer). */
  reply?: AnthropicReply | ((request: AnthropicRecordedRequest) => AnthropicReply);
}

/** A running fake of the Anthropic Messages API. */
export interface AnthropicFake extends AsyncDisposable {
  /** Base URL to give the SDK (`baseURL`): `http://127.0.0.1:<port>`. */
  url: string;
  /** The underlying fake server (raw recordings, extra routes). */
  server: FakeServer;
  /** Every `POST /v1/messages`, oldest first, rejected ones included. */
  requests: AnthropicRecordedRequest[];
  /** Queues replies for the next valid requests, in order. */
  enqueue(...replies: AnthropicReply[]): void;
  /** Requests still being answered: drops to 0 once a client that aborted closed its socket. */
  activeRequests(): number;
  /** Forgets recorded requests and queued replies. */
  reset(): void;
  close(): Promise<void>;
}

const TYPE_FOR_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const MESSAGE_FOR_TYPE: Record<string, string> = {
  invalid_request_error: 'Invalid request',
  authentication_error: 'invalid x-api-key',
  billing_error: 'Your credit balance is too low to access the Anthropic API.',
  permission_error: 'Your API key does not have permission to use the specified resource.',
  not_found_error: 'model: not found',
  request_too_large: 'Request exceeds the maximum allowed number of bytes.',
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
  api_error: 'Internal server error',
  timeout_error: 'Request timeout',
  overloaded_error: 'Overloaded',
};

/** Builds an error reply with Anthropic's JSON; `type` defaults to the one the API uses for `status`. */
export function anthropicError(
  status: number,
  options: Omit<AnthropicErrorReply['error'], 'status'> = {},
): AnthropicErrorReply {
  return { error: { status, ...options } };
}

function rateLimitHeaders(): Record<string, string> {
  const reset = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    'anthropic-ratelimit-requests-limit': '4000',
    'anthropic-ratelimit-requests-remaining': '3999',
    'anthropic-ratelimit-requests-reset': reset,
    'anthropic-ratelimit-tokens-limit': '400000',
    'anthropic-ratelimit-tokens-remaining': '399000',
    'anthropic-ratelimit-tokens-reset': reset,
  };
}

function errorReply(
  status: number,
  type: string,
  message: string,
  extra: Record<string, string> = {},
): Reply {
  return (response) => {
    const requestId = fakeId('req');
    const body = JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId });
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'request-id': requestId,
      ...extra,
    });
    response.end(body);
  };
}

function httpError(reply: AnthropicErrorReply): Reply {
  const { status, retryAfter, retryAfterMs, headers } = reply.error;
  const type =
    reply.error.type ?? TYPE_FOR_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  const message = reply.error.message ?? MESSAGE_FOR_TYPE[type] ?? 'Error';
  return errorReply(status, type, message, {
    ...(status === 429 ? rateLimitHeaders() : {}),
    ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
    ...(retryAfterMs !== undefined ? { 'retry-after-ms': String(retryAfterMs) } : {}),
    ...headers,
  });
}

function streamReply(script: AnthropicScript & { id: string; model: string }): Reply {
  let events = anthropicStreamEvents(script);
  let destroy = false;
  if (script.streamError) {
    const firstStop = events.findIndex((event) => event.event === 'content_block_stop');
    const after = script.streamError.afterEvents ?? (firstStop === -1 ? 1 : firstStop + 1);
    events = [
      ...events.slice(0, after),
      {
        event: 'error',
        data: {
          type: 'error',
          error: { type: script.streamError.type, message: script.streamError.message },
        },
      },
    ];
  } else if (script.hangAfterEvents !== undefined) {
    events = events.slice(0, script.hangAfterEvents);
  } else if (script.endEarly) {
    events = events.slice(0, script.endEarly.afterEvents ?? events.length - 1);
    destroy = script.endEarly.mode === 'destroy';
  }
  const writes: string[] = [];
  for (const event of events) {
    const encoded = encodeSseEvent(event);
    if (script.splitEvents && encoded.length > 1) {
      const middle = Math.floor(encoded.length / 2);
      writes.push(encoded.slice(0, middle), encoded.slice(middle));
    } else {
      writes.push(encoded);
    }
  }
  return async (response, context) => {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': fakeId('req'),
      ...rateLimitHeaders(),
      ...script.headers,
    });
    response.flushHeaders();
    for (const [index, part] of writes.entries()) {
      const wait = index === 0 ? (script.firstDelayMs ?? script.delayMs ?? 0) : (script.delayMs ?? 0);
      if (wait > 0) await context.delay(wait);
      if (context.signal.aborted) return;
      response.write(part);
    }
    if (script.hangAfterEvents !== undefined) {
      await context.delay(2_147_483_647);
      return;
    }
    if (destroy) {
      await context.delay(5);
      response.socket?.destroy();
      return;
    }
    response.end();
  };
}

function jsonReply(script: AnthropicScript & { id: string; model: string }): Reply {
  return (response) => {
    const body = JSON.stringify(anthropicMessage(script));
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'request-id': fakeId('req'),
      ...rateLimitHeaders(),
      ...script.headers,
    });
    response.end(body);
  };
}

const defaultReply: AnthropicScript = { content: [{ type: 'text', text: 'Hello from the Anthropic fake.' }] };

/**
 * Starts a wire-faithful fake of Anthropic's `POST /v1/messages` on 127.0.0.1: SSE with `event:`
 * lines exactly like the API for `stream: true`, one JSON message otherwise. It checks what the API
 * checks (401 without `x-api-key`, 400 for a missing or malformed `anthropic-version`, a malformed
 * body, no `max_tokens`, roles out of order, unanswered tool calls) and answers valid requests from
 * the queue, then from `options.reply`.
 *
 * @example
 * const fake = await startAnthropicFake();
 * fake.enqueue({ content: [{ type: 'text', text: 'Hi', chunks: ['H', 'i'] }] });
 * const client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
 * await fake.close();
 */
export async function startAnthropicFake(options: AnthropicFakeOptions = {}): Promise<AnthropicFake> {
  const server = await startFakeServer(options.tls ? { tls: true } : {});
  const queue: AnthropicReply[] = [];
  const requests: AnthropicRecordedRequest[] = [];

  server.route('POST', '/v1/messages', (raw) => {
    let body: Record<string, unknown> | undefined;
    let rejected = checkAnthropicHeaders(raw.headers, options);
    if (!rejected) {
      try {
        const parsed: unknown = JSON.parse(raw.body);
        body =
          typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
            ? (parsed as Record<string, unknown>)
            : undefined;
        rejected = checkAnthropicBody(parsed, options);
      } catch {
        rejected = {
          status: 400,
          type: 'invalid_request_error',
          message: 'There was an issue with the request body: invalid JSON',
        };
      }
    } else {
      try {
        body = JSON.parse(raw.body) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
    }
    const recorded: AnthropicRecordedRequest = { headers: raw.headers, body, rejected, raw };
    requests.push(recorded);
    if (rejected) return errorReply(rejected.status, rejected.type, rejected.message);
    const configured = options.reply;
    const reply: AnthropicReply =
      queue.shift() ??
      (typeof configured === 'function' ? configured(recorded) : (configured ?? defaultReply));
    if ('raw' in reply) return reply.raw;
    if ('error' in reply) return httpError(reply);
    const script = resolveScript(reply, String(body?.model ?? 'claude-fake'));
    return body?.stream === true ? streamReply(script) : jsonReply(script);
  });

  const fake: AnthropicFake = {
    url: server.url,
    server,
    requests,
    enqueue(...replies) {
      queue.push(...replies);
    },
    activeRequests: () => server.activeRequests(),
    reset() {
      queue.length = 0;
      requests.length = 0;
      server.reset();
    },
    close: () => server.close(),
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return fake;
}
