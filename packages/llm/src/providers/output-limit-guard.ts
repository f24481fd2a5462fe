import type { Logger } from '../logger.js';
import type { RequestGuard } from './guard-chain.js';

/**
 * Sends a model's requests, and lowers an output token limit above the model's maximum to that
 * maximum once the provider has said what it is: `send` is `create(input)`, and when the provider
 * refuses it for its limit (a 400 before any output, which names the maximum), `create` once more
 * with the limit at that maximum, and so, at once, for every later call that asks for more.
 */
export type OutputLimitGuard<Base> = RequestGuard<Base>;

/** Options of {@link createOutputLimitGuard}. */
export interface OutputLimitGuardOptions<Base> {
  modelId: string;
  logger: Logger;
  /** The output token limit `input` asks for, or undefined when it sets none. */
  limitOf(input: Base): number | undefined;
  /** `input` with its output token limit set to `limit`. */
  withLimit<Input extends Base>(input: Input, limit: number): Input;
  /** The model's maximum that a provider error states, or undefined for any other error. */
  statedMaximum(error: unknown): number | undefined;
  /**
   * The room a provider error says this request leaves for the answer (its context minus the
   * prompt), or undefined: the request goes again with that limit, and later calls are not changed.
   */
  statedRoom?(error: unknown): number | undefined;
}

/**
 * An {@link OutputLimitGuard} for one model. Chat clients send their user's "max tokens" setting to
 * every model, and a default that fits one model is above another's maximum (Claude 3 Haiku takes
 * 4096, gpt-4o 16384); the provider refuses the whole request instead of answering with fewer
 * tokens, so the request goes again with the most the model allows.
 */
export function createOutputLimitGuard<Base>(options: OutputLimitGuardOptions<Base>): OutputLimitGuard<Base> {
  let maximum: number | undefined;
  return {
    // Not async: a call without a limit (most) gets `create`'s own promise.
    send(input, create) {
      const asked = options.limitOf(input);
      if (asked === undefined) return create(input);
      if (maximum !== undefined && asked > maximum) return create(options.withLimit(input, maximum));
      return create(input).catch((error: unknown) => {
        const room = options.statedRoom?.(error);
        if (room !== undefined && room >= 1 && room < asked) {
          options.logger.debug(
            { model: options.modelId, requested: asked, room },
            "the request's token limit is above the room its context leaves: sent with the room",
          );
          return create(options.withLimit(input, room));
        }
        const stated = options.statedMaximum(error);
        if (stated === undefined || stated < 1 || stated >= asked) throw error;
        maximum = stated;
        options.logger.info(
          { model: options.modelId, requested: asked, maximum: stated },
          "the model's output token maximum is below the request's limit: sent with the maximum",
        );
        return create(options.withLimit(input, stated));
      });
    },
  };
}

/** A 400's message, or undefined for any other error. */
function badRequestMessage(error: unknown): string | undefined {
  const { status, message } = (error ?? {}) as { status?: unknown; message?: unknown };
  return status === 400 && typeof message === 'string' ? message : undefined;
}

/**
 * Anthropic's words: "max_tokens: 10000 > 4096, which is the maximum allowed number of output
 * tokens for claude-3-haiku-20240307".
 */
const ANTHROPIC_OVER_MAXIMUM =
  /max_tokens: \d+ > (\d+), which is the maximum allowed number of output tokens/;

/** The maximum an Anthropic 400 says the model allows for `max_tokens`, or undefined. */
export function anthropicStatedMaximum(error: unknown): number | undefined {
  const found = ANTHROPIC_OVER_MAXIMUM.exec(badRequestMessage(error) ?? '');
  return found ? Number(found[1]) : undefined;
}

/**
 * OpenAI's words (and a proxy's that passes them on): "max_tokens is too large: 20480. This model
 * supports at most 16384 completion tokens, whereas you provided 20480." (or `max_completion_tokens`).
 */
const OPENAI_OVER_MAXIMUM =
  /max_(?:completion_)?tokens is too large: \d+\. This model supports at most (\d+) completion tokens/;

/** The maximum an OpenAI-style 400 says the model allows for its completion tokens, or undefined. */
export function openAIStatedMaximum(error: unknown): number | undefined {
  const found = OPENAI_OVER_MAXIMUM.exec(badRequestMessage(error) ?? '');
  return found ? Number(found[1]) : undefined;
}

/**
 * Google's words: "Unable to submit request because it has a maxOutputTokens value of 100000 but the
 * supported range is from 1 (inclusive) to 8193 (exclusive)."
 */
const GEMINI_OVER_MAXIMUM =
  /maxOutputTokens value of \d+ but the supported range is from 1 \(inclusive\) to (\d+) \(exclusive\)/;

/** The maximum `maxOutputTokens` a Gemini 400 says the model allows, or undefined. */
export function geminiStatedMaximum(error: unknown): number | undefined {
  const found = GEMINI_OVER_MAXIMUM.exec(badRequestMessage(error) ?? '');
  return found ? Number(found[1]) - 1 : undefined;
}

/**
 * vLLM's words when the limit does not fit beside the prompt: "'max_tokens' or
 * 'max_completion_tokens' is too large: 64000. This model's maximum context length is 64001 tokens
 * and your request has 24235 input tokens (64000 > 64001 - 24235)", and the older "This model's
 * maximum context length is 4096 tokens. However, you requested 5000 tokens (1000 in the messages,
 * 4000 in the completion)".
 */
const ROOM_AFTER_PROMPT = [
  /maximum context length is (\d+) tokens and your request has (\d+) input tokens/,
  /maximum context length is (\d+) tokens\. However, you requested \d+ tokens \((\d+) in the messages, \d+ in the completion\)/,
];

/**
 * The room for the answer that an OpenAI-style 400 says the request's prompt leaves in the model's
 * context, or undefined (also when the prompt alone does not fit: that is a context-length error).
 */
export function openAIStatedRoom(error: unknown): number | undefined {
  const message = badRequestMessage(error);
  if (message === undefined) return undefined;
  for (const pattern of ROOM_AFTER_PROMPT) {
    const found = pattern.exec(message);
    if (found) return Number(found[1]) - Number(found[2]);
  }
  return undefined;
}

/** The body fields of an OpenAI chat request that carry its output token limit. */
interface OpenAITokenLimitBody {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
}

/** The output token limit of an OpenAI chat request body, whichever field carries it. */
export function openAITokenLimit(body: OpenAITokenLimitBody): number | undefined {
  return body.max_completion_tokens ?? body.max_tokens ?? undefined;
}

/** `body` with `limit` in the field that carried its limit. */
export function withOpenAITokenLimit<Body extends OpenAITokenLimitBody>(body: Body, limit: number): Body {
  return body.max_completion_tokens != null
    ? { ...body, max_completion_tokens: limit }
    : { ...body, max_tokens: limit };
}
