import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources';
import type { ChatEvent, FinishReason, Usage } from '../chat-event.js';
import { LlmError } from '../llm-error.js';
import type { Logger } from '../logger.js';

/** Anthropic `stop_reason` to {@link FinishReason}. */
export function anthropicFinishReason(stopReason: string | null | undefined): FinishReason {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    default:
      return 'other';
  }
}

/**
 * The refusal text yielded (as a `refusal` text delta) for `stop_reason: "refusal"`, where Anthropic
 * sends no text of its own saying so: Claude's safety classifiers stopped the answer.
 */
export const ANTHROPIC_REFUSAL_TEXT =
  'Claude declined to answer this request (Anthropic stopped it with stop_reason "refusal").';

interface UsageCounts {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

type BlockState =
  | { kind: 'text' }
  | { kind: 'thinking' }
  | { kind: 'tool'; id: string; name: string; json: string; initial: unknown }
  | { kind: 'other'; type: string };

/** Where the mapped stream came from, for errors and the finish event. */
export interface AnthropicStreamContext {
  modelId: string;
  logger: Logger;
  /** Turns anything thrown into the error to throw; `started`: events were already yielded. */
  mapError: (error: unknown, started: boolean) => unknown;
  /** Called when the events ended without `message_stop`: must throw. */
  onIncomplete: () => never;
  /** Called as a `tool_use` block's fragments arrive (it is yielded only when whole). */
  onOutput?: (() => void) | undefined;
}

/**
 * Maps Anthropic's raw stream events to {@link ChatEvent}s: text and thinking deltas as they come
 * (a thinking block's `signature_delta` as a `reasoning-delta` with empty text and the signature),
 * `tool_use` blocks assembled from their `input_json_delta` fragments and yielded whole at
 * `content_block_stop`, and one `finish` at `message_stop` (after a `refusal` text delta saying so
 * when the stop reason is `refusal`). `inputTokens` counts every input token
 * (uncached plus cache reads plus cache writes); `cachedInputTokens` is the cache reads.
 * A tool call whose arguments do not parse is dropped when `max_tokens` cut it off (the finish is
 * then `length`) and an error otherwise. `open` sends the request; one generator for the whole
 * attempt (each layer of async generator costs a few hundred nanoseconds per event).
 */
export async function* mapAnthropicStream(
  open: () => Promise<AsyncIterable<RawMessageStreamEvent>>,
  context: AnthropicStreamContext,
): AsyncGenerator<ChatEvent> {
  const blocks = new Map<number, BlockState>();
  const counts: UsageCounts = {};
  let id: string | undefined;
  let stopReason: string | null | undefined;
  // A tool call whose arguments do not parse: dropped if max_tokens cut it off (the next event is
  // then a message_delta saying so), thrown at the next event otherwise.
  let brokenCall: LlmError | undefined;
  let started = false;

  const mergeCounts = (usage: UsageCounts | null | undefined) => {
    if (!usage) return;
    for (const key of [
      'input_tokens',
      'output_tokens',
      'cache_read_input_tokens',
      'cache_creation_input_tokens',
    ] as const) {
      const value = usage[key];
      if (typeof value === 'number') counts[key] = value;
    }
    if (usage.output_tokens_details) counts.output_tokens_details = usage.output_tokens_details;
  };

  try {
    for await (const event of await open()) {
      if (brokenCall) {
        const cut =
          event.type === 'message_delta' && anthropicFinishReason(event.delta.stop_reason) === 'length';
        if (!cut) throw brokenCall;
        brokenCall = undefined;
      }
      switch (event.type) {
        case 'message_start':
          id = event.message.id;
          mergeCounts(event.message.usage as UsageCounts);
          break;
        case 'content_block_start': {
          const block = event.content_block;
          if (block.type === 'text') {
            blocks.set(event.index, { kind: 'text' });
            if (block.text) {
              started = true;
              yield { type: 'text-delta', text: block.text };
            }
          } else if (block.type === 'thinking') {
            blocks.set(event.index, { kind: 'thinking' });
            if (block.thinking) {
              started = true;
              yield { type: 'reasoning-delta', text: block.thinking };
            }
          } else if (block.type === 'tool_use') {
            blocks.set(event.index, {
              kind: 'tool',
              id: block.id,
              name: block.name,
              json: '',
              initial: block.input,
            });
            context.onOutput?.();
          } else if (block.type === 'redacted_thinking') {
            // Complete in its start event: opaque, and needed back in a tool round trip.
            blocks.set(event.index, { kind: 'other', type: block.type });
            started = true;
            yield { type: 'reasoning-delta', text: '', redactedData: block.data };
          } else {
            // Server tool blocks and their results: not part of HAIA's message model.
            context.logger.debug(
              { provider: 'anthropic', blockType: block.type },
              'anthropic content block skipped',
            );
            blocks.set(event.index, { kind: 'other', type: block.type });
          }
          break;
        }
        case 'content_block_delta': {
          const delta = event.delta;
          const block = blocks.get(event.index);
          if (delta.type === 'text_delta') {
            if (delta.text) {
              started = true;
              yield { type: 'text-delta', text: delta.text };
            }
          } else if (delta.type === 'thinking_delta') {
            if (delta.thinking) {
              started = true;
              yield { type: 'reasoning-delta', text: delta.thinking };
            }
          } else if (delta.type === 'signature_delta') {
            started = true;
            yield { type: 'reasoning-delta', text: '', signature: delta.signature };
          } else if (delta.type === 'input_json_delta') {
            if (block?.kind === 'tool') {
              block.json += delta.partial_json;
              context.onOutput?.();
            }
          }
          break;
        }
        case 'content_block_stop': {
          const block = blocks.get(event.index);
          blocks.delete(event.index);
          if (block?.kind !== 'tool') break;
          let input: unknown;
          if (block.json.trim() === '') {
            input = block.initial ?? {};
          } else {
            try {
              input = JSON.parse(block.json);
            } catch (error) {
              brokenCall = new LlmError({
                code: 'server',
                message: `Anthropic sent arguments for the tool call "${block.name}" that are not valid JSON; try again.`,
                provider: 'anthropic',
                model: context.modelId,
                cause: error,
              });
              break;
            }
          }
          started = true;
          yield { type: 'tool-call', toolCallId: block.id, toolName: block.name, input };
          break;
        }
        case 'message_delta':
          stopReason = event.delta.stop_reason;
          mergeCounts(event.usage as UsageCounts);
          break;
        case 'message_stop': {
          const usage: Usage = {
            inputTokens:
              (counts.input_tokens ?? 0) +
              (counts.cache_read_input_tokens ?? 0) +
              (counts.cache_creation_input_tokens ?? 0),
            outputTokens: counts.output_tokens ?? 0,
          };
          if (typeof counts.cache_read_input_tokens === 'number')
            usage.cachedInputTokens = counts.cache_read_input_tokens;
          const thinking = counts.output_tokens_details?.thinking_tokens;
          if (typeof thinking === 'number') usage.reasoningTokens = thinking;
          started = true;
          if (stopReason === 'refusal')
            yield { type: 'text-delta', text: ANTHROPIC_REFUSAL_TEXT, refusal: true };
          yield {
            type: 'finish',
            finishReason: anthropicFinishReason(stopReason),
            usage,
            response: { model: `anthropic:${context.modelId}`, id },
          };
          return;
        }
        default:
          break;
      }
    }
    context.onIncomplete();
  } catch (error) {
    throw context.mapError(error, started);
  }
}
