import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatEvent, FinishReason, Usage } from '../chat-event.js';

/** Quirky fields compatible servers add to a delta (vLLM, llama.cpp, LM Studio, OpenRouter). */
interface CompatibleDelta {
  reasoning_content?: unknown;
  reasoning?: unknown;
}

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
}

/**
 * Turns Chat Completions chunks into {@link ChatEvent}s: text and reasoning deltas as they come,
 * tool calls assembled from their fragments (by `index`, a new `id` at a known index starts a new
 * call), usage from the final chunk, one `finish` at the end.
 */
export async function* mapOpenAIStream(
  chunks: AsyncIterable<ChatCompletionChunk>,
  options: OpenAIStreamOptions,
): AsyncGenerator<ChatEvent> {
  const calls: PendingCall[] = [];
  const slotByIndex = new Map<number, PendingCall>();
  let finishReason: string | null | undefined;
  let usage: Usage | undefined;
  let responseId: string | undefined;

  for await (const chunk of chunks) {
    responseId ??= chunk.id || undefined;
    if (chunk.usage) usage = toUsage(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = (choice.delta ?? {}) as ChatCompletionChunk.Choice.Delta & CompatibleDelta;
    const reasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : delta.reasoning;
    if (typeof reasoning === 'string' && reasoning !== '') yield { type: 'reasoning-delta', text: reasoning };
    if (typeof delta.content === 'string' && delta.content !== '')
      yield { type: 'text-delta', text: delta.content };
    for (const [position, fragment] of (delta.tool_calls ?? []).entries()) {
      const index = typeof fragment.index === 'number' ? fragment.index : position;
      let call = slotByIndex.get(index);
      if (!call || (fragment.id && call.id !== fragment.id && (call.arguments !== '' || call.emitted))) {
        call = { id: fragment.id || options.generateId(), name: '', arguments: '', emitted: false };
        calls.push(call);
        slotByIndex.set(index, call);
      }
      if (fragment.function?.name) call.name += fragment.function.name;
      if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
    }
    if (choice.finish_reason) {
      finishReason = choice.finish_reason;
      for (const call of calls) if (!call.emitted) yield emit(call);
    }
  }

  if (!finishReason) options.onTruncated();
  for (const call of calls) if (!call.emitted) yield emit(call);
  yield {
    type: 'finish',
    finishReason: toFinishReason(finishReason, calls.length > 0),
    usage: usage ?? { inputTokens: 0, outputTokens: 0 },
    response: { model: options.responseModel, id: responseId },
  };
}

function emit(call: PendingCall): ChatEvent {
  call.emitted = true;
  return {
    type: 'tool-call',
    toolCallId: call.id,
    toolName: call.name,
    input: parseArguments(call.arguments),
  };
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
