import type { ChatEvent, FinishReason, ResponseInfo, Usage } from './chat-event.js';
import type { Logger } from './logger.js';
import type { AssistantMessage, JsonSchema, Message, ToolCallPart, ToolChoice, ToolSpec } from './message.js';

/**
 * Plain text, or JSON (optionally matching a schema) where the provider supports it. `strict` asks
 * OpenAI for strict schema adherence and `description` tells the model what the format is for
 * (both sent by the OpenAI adapters only).
 */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json'; schema?: JsonSchema; name?: string; description?: string; strict?: boolean };

/**
 * How much a reasoning model should think, in OpenAI's words (`reasoning_effort`). OpenAI and
 * `openai-compatible:` servers get it as it is (or the nearest effort a model that refuses it names); Ollama gets `think` (`none` turns thinking off,
 * `minimal` is `low`, `xhigh` is `high`); Gemini a thinking budget (0, 1 024, 8 192 or 24 576
 * tokens, as Google's own OpenAI endpoint maps it); Anthropic thinking: adaptive at this effort
 * (Claude 4.6 and later) or a budget of 1 024 to 32 768 tokens (earlier models), `none` none.
 */
export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

/** One model call. */
export interface ChatRequest {
  messages: Message[];
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  responseFormat?: ResponseFormat;
  /** Asks for repeatable sampling (OpenAI, Ollama, Gemini; Anthropic has none and ignores it). */
  seed?: number;
  /** -2 to 2: less (positive) or more repetition of frequent tokens (OpenAI, Ollama, Gemini; not Anthropic). */
  frequencyPenalty?: number;
  /** -2 to 2: less (positive) or more repetition of any token already used (OpenAI, Ollama, Gemini; not Anthropic). */
  presencePenalty?: number;
  /** How much a reasoning model thinks (see {@link ReasoningEffort} for each provider). */
  reasoningEffort?: ReasoningEffort;
  /** Aborts the call at once, including the HTTP request. */
  signal?: AbortSignal;
  /**
   * The caller needs only the finished answer, not its deltas as they are written (`generate()` sets
   * this unless told otherwise). Adapters that can ask the server for one non-streamed response do
   * so (`openai-compatible` sends `stream: false`, much cheaper for client and server); the events
   * still come, all at the end, and the first-token timeout does not apply. Others stream as usual.
   */
  wholeAnswer?: boolean;
  /**
   * This call's logger (e.g. bound to the request's correlation id): its `llm call` line, retries
   * and fallbacks are written through it, bound to `component: 'llm'` (see `bindLogger`), instead of
   * the model's own logger. Never sent to the provider.
   */
  logger?: Logger;
}

/** A collected (non-streaming) answer. */
export interface GenerateResult {
  text: string;
  reasoning: string;
  toolCalls: ToolCallPart[];
  finishReason: FinishReason;
  usage: Usage;
  /** The answer as an assistant message, ready to append to the conversation. */
  message: AssistantMessage;
  response: ResponseInfo;
}

/**
 * A chat model. `stream()` yields text, reasoning and tool-call events and exactly one `finish`
 * last; `generate()` is the same stream, collected. Failures are thrown as `LlmError`.
 */
export interface LanguageModel {
  /** `anthropic`, `openai`, `openai-compatible`, `gemini`, `ollama`, or a custom name. */
  readonly provider: string;
  /** The provider's model name, e.g. `claude-sonnet-4-5` or `llama3.1:8b`. */
  readonly modelId: string;
  stream(request: ChatRequest): AsyncIterable<ChatEvent>;
  generate(request: ChatRequest): Promise<GenerateResult>;
}
