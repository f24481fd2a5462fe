import type { ApiError } from './api-error.js';
import type { OpenAiFinishReason, OpenAiUsage } from './openai-usage.js';

/** The last frame of a successful stream. */
export const DONE_FRAME = 'data: [DONE]\n\n';

/** A `: keepalive` comment frame: ignored by every client, keeps proxies' idle timers from firing. */
export const KEEPALIVE_FRAME = ': keepalive\n\n';

/**
 * Builds the SSE frames of one `chat.completion.chunk` stream, OpenAI's sequence exactly: the same
 * `id`, `created` and `model` on every chunk, `role` in the first delta, `finish_reason` on a last
 * chunk with an empty delta, an optional usage chunk with `choices: []`, then `data: [DONE]`.
 * Frames are plain string concatenation around `JSON.stringify` of the changing part only.
 */
export class ChunkFrames {
  private readonly head: string;
  private readonly deltaPrefix: string;
  /** The stream's `id` (`chatcmpl-…`). */
  readonly id: string;
  /** The stream's `created`, in seconds. */
  readonly created: number;

  constructor(id: string, created: number, model: string) {
    this.id = id;
    this.created = created;
    this.head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)}`;
    this.deltaPrefix = `data: ${this.head},"choices":[{"index":0,"delta":`;
  }

  /** The first chunk: the assistant role with empty content. */
  role(): string {
    return `${this.deltaPrefix}{"role":"assistant","content":""},"finish_reason":null}]}\n\n`;
  }

  /** A piece of the answer's text. */
  content(text: string): string {
    return `${this.deltaPrefix}{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`;
  }

  /** A piece of a refusal (the model declined to answer), as `delta.refusal`, like OpenAI streams it. */
  refusal(text: string): string {
    return `${this.deltaPrefix}{"refusal":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`;
  }

  /** A piece of reasoning, as `delta.reasoning_content` (OpenWebUI shows it as thinking). */
  reasoning(text: string): string {
    return `${this.deltaPrefix}{"reasoning_content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`;
  }

  /** Tool calls for the client's own tools, each complete in one fragment. */
  toolCalls(calls: unknown[]): string {
    return `${this.deltaPrefix}{"tool_calls":${JSON.stringify(calls)}},"finish_reason":null}]}\n\n`;
  }

  /** The last choice chunk. */
  finish(reason: OpenAiFinishReason): string {
    return `${this.deltaPrefix}{},"finish_reason":"${reason}"}]}\n\n`;
  }

  /** The usage chunk (`stream_options.include_usage`). */
  usage(usage: OpenAiUsage): string {
    return `data: ${this.head},"choices":[],"usage":${JSON.stringify(usage)}}\n\n`;
  }

  /** An error after streaming began: clients show it (OpenWebUI) or throw it (openai SDK). */
  error(error: ApiError): string {
    return `data: ${JSON.stringify(error.toEnvelope())}\n\n`;
  }
}
