/**
 * @module @haia/llm
 * One streaming chat-model interface over Anthropic, OpenAI(-compatible), Gemini and Ollama.
 */

export { bindLogger } from './bound-logger.js';
export type { CallHook, CallLogLevel, CallOutcome, CallRecord } from './call-record.js';
export {
  addUsage,
  type ChatEvent,
  emptyUsage,
  type FallbackEvent,
  type FinishEvent,
  type FinishReason,
  type ReasoningDeltaEvent,
  type ResponseInfo,
  type TextDeltaEvent,
  type ToolCallEvent,
  type Usage,
} from './chat-event.js';
export { collectStream } from './collect-stream.js';
export { type CoreModelOptions, createCoreModel, type Sleep } from './core-model.js';
export { type CreateModelOptions, createModel } from './create-model.js';
export { createFallbackModel, type FallbackModelOptions, isFallbackError } from './fallback-model.js';
export type {
  ChatRequest,
  GenerateResult,
  LanguageModel,
  ReasoningEffort,
  ResponseFormat,
} from './language-model.js';
export { LightAbortController } from './light-abort.js';
export {
  codeForStatus,
  LlmError,
  type LlmErrorCode,
  type LlmErrorOptions,
  parseRetryAfter,
} from './llm-error.js';
export { type Logger, noopLogger } from './logger.js';
export {
  type AssistantMessage,
  type ImageDataPart,
  type ImagePart,
  type ImageUrlPart,
  type JsonSchema,
  type Message,
  messageText,
  type ReasoningPart,
  type Role,
  type SystemMessage,
  type TextPart,
  type ToolCallPart,
  type ToolChoice,
  type ToolMessage,
  type ToolResultPart,
  type ToolSpec,
  type UserMessage,
} from './message.js';
export { type ModelId, parseModelId } from './model-id.js';
export { type ProviderOptions, providerNames } from './provider-registry.js';
export type { ProviderAdapter, ProviderFactory, ProviderSettings } from './providers/provider-adapter.js';
export { addReasoningDelta } from './reasoning-parts.js';
export { redactSecrets } from './redact.js';
export { defaultRetryPolicy, type RetryPolicy, retryDelay } from './retry-policy.js';
