import { randomUUID } from 'node:crypto';
import type { GenerateContentResponse } from '@google/genai';
import type { ChatEvent, FinishEvent, FinishReason, Usage } from '../chat-event.js';
import { LlmError } from '../llm-error.js';
import { GEMINI_GENERATED_ID_PREFIX } from './gemini-request.js';

const CONTENT_FILTER = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/** Maps Gemini's `finishReason` (and whether calls were made) to ours. */
export function mapGeminiFinishReason(reason: string, madeToolCalls: boolean): FinishReason {
  if (reason === 'STOP') return madeToolCalls ? 'tool-calls' : 'stop';
  if (reason === 'MAX_TOKENS') return 'length';
  if (CONTENT_FILTER.has(reason)) return 'content-filter';
  return 'other';
}

/** Reads `usageMetadata` into our usage; thinking tokens are output tokens too. */
export function mapGeminiUsage(usage: GenerateContentResponse['usageMetadata']): Usage {
  const thoughts = usage?.thoughtsTokenCount;
  const result: Usage = {
    inputTokens: usage?.promptTokenCount ?? 0,
    outputTokens: (usage?.candidatesTokenCount ?? 0) + (thoughts ?? 0),
  };
  if (usage?.cachedContentTokenCount !== undefined) result.cachedInputTokens = usage.cachedContentTokenCount;
  if (thoughts !== undefined) result.reasoningTokens = thoughts;
  return result;
}

/**
 * Turns the chunks of one `streamGenerateContent` response into chat events. `push` returns the
 * events of one chunk; `finish` returns the closing event or throws when the stream ended early.
 */
export class GeminiStreamState {
  private finishReason: string | undefined;
  private blockReason: string | undefined;
  private usage: GenerateContentResponse['usageMetadata'];
  private responseId: string | undefined;
  private callCount = 0;
  private readonly fallbackId = randomUUID().slice(0, 8);

  constructor(private readonly modelId: string) {}

  /** Events of one chunk, in the order of its parts. */
  push(chunk: GenerateContentResponse): ChatEvent[] {
    const events: ChatEvent[] = [];
    if (chunk.responseId) this.responseId = chunk.responseId;
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;
    if (chunk.promptFeedback?.blockReason) this.blockReason = String(chunk.promptFeedback.blockReason);
    const candidate = chunk.candidates?.[0];
    for (const part of candidate?.content?.parts ?? []) {
      const signature = part.thoughtSignature;
      if (part.functionCall) {
        if (signature) events.push({ type: 'reasoning-delta', text: '', signature });
        const index = this.callCount++;
        events.push({
          type: 'tool-call',
          toolCallId:
            part.functionCall.id ||
            `${GEMINI_GENERATED_ID_PREFIX}${this.responseId ?? this.fallbackId}-${index}`,
          toolName: part.functionCall.name ?? '',
          input: part.functionCall.args ?? {},
        });
      } else if (typeof part.text === 'string') {
        if (part.thought) {
          if (part.text !== '' || signature) {
            events.push({ type: 'reasoning-delta', text: part.text, ...(signature ? { signature } : {}) });
          }
        } else {
          if (signature) events.push({ type: 'reasoning-delta', text: '', signature });
          if (part.text !== '') events.push({ type: 'text-delta', text: part.text });
        }
      }
    }
    if (candidate?.finishReason) this.finishReason = String(candidate.finishReason);
    return events;
  }

  /** The closing event; throws when Gemini closed the stream without a finish reason. */
  finish(): FinishEvent {
    const response = { model: `gemini:${this.modelId}`, id: this.responseId };
    const usage = mapGeminiUsage(this.usage);
    if (this.blockReason && !this.finishReason) {
      return { type: 'finish', finishReason: 'content-filter', usage, response };
    }
    if (!this.finishReason) {
      throw new LlmError({
        code: 'network',
        message: 'Gemini closed the stream before it finished (no finishReason): the answer is incomplete.',
        provider: 'gemini',
        model: this.modelId,
      });
    }
    return {
      type: 'finish',
      finishReason: mapGeminiFinishReason(this.finishReason, this.callCount > 0),
      usage,
      response,
    };
  }
}
