import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { TextResponse } from './http-response.js';
import { type OpenAIErrorBody, readErrorPayload } from './openai-error-mapping.js';
import { type ServerSentEvent, ServerSentEventParser } from './server-sent-events.js';

/** What the stream throws for an `error` object the server sent instead of a chunk. */
export type StreamErrorFactory = (body: OpenAIErrorBody, upstream: string) => Error;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The Chat Completions chunks of a successful response, parsed from its `text/event-stream` body
 * (`data: [DONE]` ends it; an `error` object in the data, or an `error` event, is thrown through
 * `streamError`; a chunk that is not JSON throws a `SyntaxError`). A server that answered a
 * streaming request with one `chat.completion` JSON (some compatible servers ignore `stream`)
 * yields that answer as a single chunk. A hand-written iterator: one promise per body read, not
 * per event. `return()` closes the connection.
 */
export function openAIChunks(
  response: TextResponse,
  streamError: StreamErrorFactory,
): AsyncIterableIterator<ChatCompletionChunk> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('application/json')) return completionAsChunk(response, streamError);
  return new OpenAIChunkStream(response, streamError);
}

class OpenAIChunkStream implements AsyncIterableIterator<ChatCompletionChunk> {
  private readonly parser = new ServerSentEventParser();
  private readonly events: ServerSentEvent[] = [];
  private readonly chunks: ChatCompletionChunk[] = [];
  private sawDone = false;
  private ended = false;
  /** An error found in a read; thrown after the chunks before it in that read are handed out. */
  private failure: unknown;

  constructor(
    private readonly response: TextResponse,
    private readonly streamError: StreamErrorFactory,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ChatCompletionChunk>> {
    const chunk = this.chunks.shift();
    if (chunk) return Promise.resolve({ done: false, value: chunk });
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      this.finish();
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve(DONE);
    return this.response.read().then(this.onPiece, this.onFailure);
  }

  async return(): Promise<IteratorResult<ChatCompletionChunk>> {
    this.chunks.length = 0;
    this.failure = undefined;
    this.finish();
    return DONE;
  }

  private readonly onPiece = (
    piece: string | undefined,
  ): IteratorResult<ChatCompletionChunk> | Promise<IteratorResult<ChatCompletionChunk>> => {
    if (piece === undefined) {
      this.finish();
      return DONE;
    }
    this.parser.push(piece, this.events);
    try {
      for (let index = 0; index < this.events.length; index++) {
        this.accept(this.events[index] as ServerSentEvent);
      }
    } catch (error) {
      this.failure = error;
    } finally {
      this.events.length = 0;
    }
    return this.next();
  };

  private readonly onFailure = (error: unknown): never => {
    this.finish();
    throw error;
  };

  private accept(event: ServerSentEvent): void {
    // Like the openai SDK: everything after [DONE] is read (so the connection is reused) but ignored.
    if (this.sawDone) return;
    if (event.data.startsWith('[DONE]')) {
      this.sawDone = true;
      return;
    }
    const data = JSON.parse(event.data) as ChatCompletionChunk & { error?: unknown; message?: unknown };
    if (event.event === 'error' || data?.error) throw errorFrom(data ?? {}, this.streamError);
    // Not a chunk (a bare number or null): nothing to map.
    if (typeof data !== 'object' || data === null) return;
    this.chunks.push(data);
  }

  private finish(): void {
    this.ended = true;
    this.response.close();
  }
}

/** The error a payload carries, as the stream's error. */
function errorFrom(data: unknown, streamError: StreamErrorFactory): Error {
  const found = readErrorPayload(data) ?? { body: {}, upstream: JSON.stringify(data) };
  return streamError(found.body, found.upstream);
}

/** A whole `chat.completion` answer as the one chunk a stream of it would have. */
function completionAsChunk(
  response: TextResponse,
  streamError: StreamErrorFactory,
): AsyncIterableIterator<ChatCompletionChunk> {
  let pending: Promise<ChatCompletionChunk[]> | undefined;
  const load = async (): Promise<ChatCompletionChunk[]> => {
    const data = JSON.parse(await response.text()) as ChatCompletion & { error?: unknown };
    if (data?.error) throw errorFrom(data, streamError);
    if (typeof data !== 'object' || data === null) throw new SyntaxError('the answer is not a JSON object');
    const chunk: ChatCompletionChunk = {
      id: data.id,
      object: 'chat.completion.chunk',
      created: data.created,
      model: data.model,
      choices: (data.choices ?? []).map((choice) => ({
        index: choice.index,
        delta: {
          ...choice.message,
          role: 'assistant',
          tool_calls: choice.message?.tool_calls?.map((call, index) => ({ index, ...call })),
        } as ChatCompletionChunk.Choice.Delta,
        finish_reason: choice.finish_reason,
      })),
      ...(data.usage ? { usage: data.usage } : {}),
    };
    return [chunk];
  };
  const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      pending ??= load();
      const chunk = (await pending).shift();
      return chunk ? { done: false, value: chunk } : DONE;
    },
    return: async () => {
      response.close();
      return DONE;
    },
  };
  return iterator;
}
