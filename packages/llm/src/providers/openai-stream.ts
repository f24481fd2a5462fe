import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatEvent, FinishReason, Usage } from '../chat-event.js';

/** Quirky fields compatible servers add to a delta (vLLM, llama.cpp, LM Studio, OpenRouter). */
interface CompatibleDelta {
  reasoning_content?: unknown;
  reasoning?: unknown;
  /** The legacy single function call (`finish_reason: "function_call"`) some older servers still send. */
  function_call?: { name?: string; arguments?: string } | null;
}

/** The slot of a legacy `function_call`, apart from the indexes of `tool_calls`. */
const LEGACY_CALL_INDEX = -1;

interface PendingCall {
  id: string;
  name: string;
  arguments: string;
  emitted: boolean;
}

/** Options of {@link mapOpenAIStream}. */
export interface OpenAIStreamOptions {
  /** `provider:model` for the finish event. */
  responseModel: string;
  /** Makes ids for tool calls a server sent without one. */
  generateId: () => string;
  /** Called when the stream ended without a `finish_reason`: must throw. */
  onTruncated: () => never;
  /** Turns anything thrown (by `open`, the SDK or `onTruncated`) into the error to throw. */
  mapError: (error: unknown) => unknown;
  /** Called for each chunk with tool-call fragments (output that is yielded only when the call is whole). */
  onOutput?: (() => void) | undefined;
}

/**
 * Sends the request (`open`) and turns its Chat Completions chunks into {@link ChatEvent}s: text and
 * reasoning deltas as they come, tool calls assembled from their fragments (by `index`, a new `id`
 * at a known index starts a new call; a legacy `function_call` is one more call), usage from the
 * final chunk, one `finish` at the end. Errors go through `options.mapError`.
 *
 * A hand-written async iterator, not a generator: each generator layer costs a few hundred
 * nanoseconds per chunk (measured in bench/llm-overhead.bench.mjs). A chunk's first event is handed
 * over directly; the rare extra ones (reasoning and text in one chunk, tool calls at the end) wait
 * in a small queue. Serves one `next()` at a time, as `for await` and the core call it.
 */
export function mapOpenAIStream(
  open: () => Promise<AsyncIterable<ChatCompletionChunk>>,
  options: OpenAIStreamOptions,
): AsyncIterableIterator<ChatEvent> {
  return new OpenAIEvents(open, options);
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

class OpenAIEvents implements AsyncIterableIterator<ChatEvent> {
  private source: AsyncIterator<ChatCompletionChunk> | undefined;
  private readonly queue: ChatEvent[] = [];
  private readonly calls: PendingCall[] = [];
  private readonly slotByIndex = new Map<number, PendingCall>();
  private finishReason: string | undefined;
  private refused = false;
  private usage: Usage | undefined;
  private responseId: string | undefined;
  private ended = false;

  constructor(
    private readonly open: () => Promise<AsyncIterable<ChatCompletionChunk>>,
    private readonly options: OpenAIStreamOptions,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ChatEvent>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ done: false, value: queued });
    if (this.ended) return Promise.resolve(DONE);
    const source = this.source;
    if (source) return source.next().then(this.onChunk, this.onError);
    return this.open().then((chunks) => {
      const opened = chunks[Symbol.asyncIterator]();
      this.source = opened;
      return opened.next().then(this.onChunk, this.onError);
    }, this.onError);
  }

  async return(): Promise<IteratorResult<ChatEvent>> {
    this.ended = true;
    this.queue.length = 0;
    const source = this.source;
    this.source = undefined;
    // Closes the SDK stream, and with it the request.
    if (source?.return) await source.return();
    return DONE;
  }

  private readonly onError = (error: unknown): never => {
    this.ended = true;
    this.source = undefined;
    throw this.options.mapError(error);
  };

  private readonly onChunk = (
    result: IteratorResult<ChatCompletionChunk>,
  ): IteratorResult<ChatEvent> | Promise<IteratorResult<ChatEvent>> => {
    if (this.ended) return DONE;
    if (result.done) return this.end();
    const event = this.map(result.value);
    if (event) return { done: false, value: event };
    // A chunk without events (the role chunk, usage, an empty delta): read the next one.
    return this.next();
  };

  /** The chunk's first event (returned) and any others (queued). */
  private map(chunk: ChatCompletionChunk): ChatEvent | undefined {
    this.responseId ??= chunk.id || undefined;
    if (chunk.usage) this.usage = toUsage(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return undefined;
    let first: ChatEvent | undefined;
    const add = (event: ChatEvent) => {
      if (first) this.queue.push(event);
      else first = event;
    };
    const delta = (choice.delta ?? {}) as ChatCompletionChunk.Choice.Delta & CompatibleDelta;
    const reasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : delta.reasoning;
    if (typeof reasoning === 'string' && reasoning !== '') add({ type: 'reasoning-delta', text: reasoning });
    if (typeof delta.content === 'string' && delta.content !== '')
      add({ type: 'text-delta', text: delta.content });
    // A refusal comes instead of content (finish_reason stays "stop"): marked, and the finish says why.
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      this.refused = true;
      add({ type: 'text-delta', text: delta.refusal, refusal: true });
    }
    if (delta.tool_calls) {
      addFragments(delta.tool_calls, this.calls, this.slotByIndex, this.options.generateId);
      this.options.onOutput?.();
    }
    if (delta.function_call) {
      const legacy = { index: LEGACY_CALL_INDEX, function: delta.function_call };
      addFragments(
        [legacy as ChatCompletionChunk.Choice.Delta.ToolCall],
        this.calls,
        this.slotByIndex,
        this.options.generateId,
      );
      this.options.onOutput?.();
    }
    if (choice.finish_reason) {
      this.finishReason = choice.finish_reason;
      for (const call of this.calls)
        if (!call.emitted) for (const event of emit(call, this.finishReason)) add(event);
    }
    return first;
  }

  /** The source ended: the remaining tool calls and the finish, or the truncation error. */
  private end(): IteratorResult<ChatEvent> {
    this.ended = true;
    this.source = undefined;
    const finishReason = this.finishReason;
    if (!finishReason) {
      try {
        this.options.onTruncated();
      } catch (error) {
        throw this.options.mapError(error);
      }
    }
    for (const call of this.calls) if (!call.emitted) this.queue.push(...emit(call, finishReason));
    this.queue.push({
      type: 'finish',
      finishReason: this.refused ? 'content-filter' : toFinishReason(finishReason, this.calls.length > 0),
      usage: this.usage ?? { inputTokens: 0, outputTokens: 0 },
      response: { model: this.options.responseModel, id: this.responseId },
    });
    return { done: false, value: this.queue.shift() as ChatEvent };
  }
}

/** Adds one chunk's tool-call fragments to the calls being assembled. */
function addFragments(
  fragments: ChatCompletionChunk.Choice.Delta.ToolCall[],
  calls: PendingCall[],
  slotByIndex: Map<number, PendingCall>,
  generateId: () => string,
): void {
  for (let position = 0; position < fragments.length; position++) {
    const fragment = fragments[position];
    if (!fragment) continue;
    const index = typeof fragment.index === 'number' ? fragment.index : position;
    let call = slotByIndex.get(index);
    if (!call || (fragment.id && call.id !== fragment.id && (call.arguments !== '' || call.emitted))) {
      call = { id: fragment.id || generateId(), name: '', arguments: '', emitted: false };
      calls.push(call);
      slotByIndex.set(index, call);
    }
    // Names are never split; some compatible servers repeat the name on every fragment.
    if (fragment.function?.name && call.name === '') call.name = fragment.function.name;
    if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
  }
}

/**
 * The finished call as an event; none for a call the token limit cut off (its arguments do not
 * parse and `finish_reason` is `length`): the `length` finish tells the caller the answer is cut.
 */
function emit(call: PendingCall, finishReason: string | undefined): ChatEvent[] {
  call.emitted = true;
  const input = parseArguments(call.arguments);
  if (finishReason === 'length' && typeof input === 'string') return [];
  return [{ type: 'tool-call', toolCallId: call.id, toolName: call.name, input }];
}

/** Parses tool-call arguments; an empty string is `{}`, invalid JSON stays the raw string. */
export function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** OpenAI's `finish_reason` in our words; `stop` with tool calls (a common quirk) is `tool-calls`. */
export function toFinishReason(reason: string | null | undefined, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'stop':
      return hasToolCalls ? 'tool-calls' : 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return hasToolCalls ? 'tool-calls' : 'other';
  }
}

/** Chat Completions usage in our words; cached and reasoning tokens only when reported. */
export function toUsage(usage: NonNullable<ChatCompletionChunk['usage']>): Usage {
  const result: Usage = { inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  if (typeof cached === 'number') result.cachedInputTokens = cached;
  if (typeof reasoning === 'number') result.reasoningTokens = reasoning;
  return result;
}
