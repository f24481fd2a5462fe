import type { ToolCallPart } from './message.js';

/** Why the model stopped. */
export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'error' | 'other';

/** Token counts; `cachedInputTokens` and `reasoningTokens` only where the provider reports them. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
}

/** Which model answered and the provider's id of the response. */
export interface ResponseInfo {
  /** `provider:model` of the model that answered (the fallback model, when one took over). */
  model: string;
  id: string | undefined;
}

/**
 * A piece of the answer's text. `refusal: true` marks text in which the model declined to answer
 * (OpenAI's `refusal`; a note for Anthropic's `stop_reason: "refusal"`), which a client may want to
 * show apart (the OpenAI wire has `message.refusal` for it); a consumer that ignores the flag treats
 * it as ordinary text of the answer. A stream with a refusal finishes with `content-filter`.
 */
export interface TextDeltaEvent {
  type: 'text-delta';
  text: string;
  refusal?: true;
}

/**
 * A piece of the model's reasoning; Anthropic also sends the reasoning block's `signature`, or a
 * whole encrypted block as `redactedData` (with empty text), which is a reasoning part of its own.
 */
export interface ReasoningDeltaEvent {
  type: 'reasoning-delta';
  text: string;
  signature?: string;
  redactedData?: string;
}

/** A complete tool call with its input parsed (streamed fragments are assembled first). */
export interface ToolCallEvent extends Omit<ToolCallPart, 'type'> {
  type: 'tool-call';
}

/** The end of the stream: always exactly one, always last. */
export interface FinishEvent {
  type: 'finish';
  finishReason: FinishReason;
  usage: Usage;
  response: ResponseInfo;
}

/**
 * A fallback model moved on: `model` answers from here, because `failed` failed before its first
 * event. Comes before any other event of `model`, so a stream can name the model that answers from
 * its first chunk (the `finish` event's `response.model` says it too).
 */
export interface FallbackEvent {
  type: 'fallback';
  /** `provider:model` of the model that answers now. */
  model: string;
  /** `provider:model` of the model that failed. */
  failed: string;
}

/** What `model.stream()` yields. */
export type ChatEvent = TextDeltaEvent | ReasoningDeltaEvent | ToolCallEvent | FallbackEvent | FinishEvent;

/** Usage with every count zero. */
export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0 };
}

/** Adds two usages; optional counts stay absent unless one side has them. */
export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
  };
  if (a.cachedInputTokens !== undefined || b.cachedInputTokens !== undefined) {
    sum.cachedInputTokens = (a.cachedInputTokens ?? 0) + (b.cachedInputTokens ?? 0);
  }
  if (a.reasoningTokens !== undefined || b.reasoningTokens !== undefined) {
    sum.reasoningTokens = (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0);
  }
  return sum;
}
