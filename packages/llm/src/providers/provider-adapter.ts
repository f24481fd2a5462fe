import type { ChatEvent } from '../chat-event.js';
import type { ChatRequest } from '../language-model.js';
import type { Logger } from '../logger.js';

/** Settings every provider adapter receives (resolved by `createModel`). */
export interface ProviderSettings {
  apiKey: string | undefined;
  baseURL: string | undefined;
  headers: Record<string, string>;
  /** The fetch to send requests with (injectable for tests). */
  fetch: typeof globalThis.fetch;
  logger: Logger;
}

/**
 * One provider's wire translation: a single attempt, no retries and no timeouts (the core adds
 * those). `stream` must:
 * - send the request with `signal` so an abort closes the socket at once;
 * - throw an `LlmError` (code, status, `retryAfterMs`, a helpful message without secrets) for every
 *   failure, including failures after output began (abrupt close, missing terminal event,
 *   in-stream error events);
 * - yield `text-delta`, `reasoning-delta`, complete `tool-call` events, and one `finish` last whose
 *   `response.model` is `provider:modelId` (the core overwrites it for fallbacks).
 */
export interface ProviderAdapter {
  readonly provider: string;
  readonly modelId: string;
  /**
   * True when `stream()` honours `ChatRequest.wholeAnswer` with one non-streamed response: the core
   * then does not apply the first-token timeout to such calls (the first event comes at the end).
   */
  readonly answersWhole?: boolean;
  /**
   * True when `stream()` uses its signal only through `aborted`, `reason` and `abort` listeners
   * (no `fetch`, no vendor SDK): the core then passes a lighter signal than an `AbortSignal`.
   */
  readonly acceptsLightSignal?: boolean;
  /**
   * One attempt. `onOutput`, when given, is called as output the adapter holds back arrives (the
   * fragments of a tool call, yielded whole at its end): the core's first-token timeout then stops,
   * as at a first event, so a long tool call that is still streaming is not cut off.
   */
  stream(
    request: Omit<ChatRequest, 'signal'>,
    signal: AbortSignal,
    onOutput?: () => void,
  ): AsyncIterable<ChatEvent>;
}

/** Creates an adapter; async so that the vendor SDK can be imported on first use only. */
export type ProviderFactory = (modelId: string, settings: ProviderSettings) => Promise<ProviderAdapter>;
