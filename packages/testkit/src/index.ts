/**
 * @module @haia/testkit
 * Fakes of the outside services HAIA talks to, served on 127.0.0.1 for tests and benchmarks.
 */

export {
  type AnthropicErrorReply,
  type AnthropicFake,
  type AnthropicFakeOptions,
  type AnthropicRecordedRequest,
  type AnthropicReply,
  anthropicError,
  startAnthropicFake,
} from './anthropic/anthropic-fake.js';
export {
  type AnthropicRedactedThinkingBlock,
  type AnthropicScript,
  type AnthropicScriptBlock,
  type AnthropicScriptUsage,
  type AnthropicStopReason,
  type AnthropicTextBlock,
  type AnthropicThinkingBlock,
  type AnthropicToolUseBlock,
  anthropicMessage,
  anthropicStreamEvents,
} from './anthropic/anthropic-script.js';
export {
  type AnthropicThinkingSupport,
  anthropicThinkingSupport,
} from './anthropic/anthropic-thinking-rules.js';
export {
  type AnthropicRejection,
  type AnthropicValidationOptions,
  anthropicMaxOutputTokens,
} from './anthropic/anthropic-validate.js';
export {
  type BinOptions,
  type BinProcess,
  type BinProcesses,
  startBins,
  waitUntil,
} from './bin-process.js';
export {
  type FakeServer,
  type FakeServerOptions,
  type Handler,
  type RecordedRequest,
  type Route,
  startFakeServer,
} from './fake-server.js';
export {
  type GeminiFake,
  type GeminiFakeOptions,
  type GeminiFakeScript,
  type GeminiFakeToolCall,
  type GoogleErrorBody,
  geminiMaxOutputTokens,
  geminiResponseChunks,
  startGeminiFake,
} from './gemini/gemini-fake.js';
export { repeatedKeys } from './json-line-keys.js';
export { type DiscordFake, type DiscordFakeMessage, startDiscordFake } from './notify/discord-fake.js';
export {
  type NtfyFake,
  type NtfyFakeAttachment,
  type NtfyFakeMessage,
  startNtfyFake,
} from './notify/ntfy-fake.js';
export { startTelegramFake, type TelegramFake, type TelegramFakeMessage } from './notify/telegram-fake.js';
export {
  type OllamaFake,
  type OllamaFakeOptions,
  type OllamaFakeScript,
  type OllamaFakeToolCall,
  ollamaResponseLines,
  startOllamaFake,
} from './ollama/ollama-fake.js';
export {
  type OpenAIChatBody,
  type OpenAIChatRequest,
  type OpenAIFake,
  type OpenAIFakeOptions,
  type OpenAIScriptFunction,
  openAIMaxOutputTokens,
  startOpenAIFake,
} from './openai/openai-fake.js';
export {
  type OpenAIScript,
  type OpenAIScriptError,
  type OpenAIScriptToolCall,
  type OpenAIScriptUsage,
  openAIErrorBody,
} from './openai/openai-script.js';
export { PROXMOX_FIXTURE_NOW, proxmoxFixtures } from './proxmox/fixtures.js';
export {
  type FakeCephCheck,
  type FakeTask,
  PROXMOX_FAKE_TOKEN_SECRET,
  type ProxmoxFake,
  type ProxmoxFakeOptions,
  startProxmoxFake,
} from './proxmox/proxmox-fake.js';
export {
  abruptClose,
  chunks,
  empty,
  encodeSseEvent,
  hang,
  hangUp,
  json,
  ndjson,
  type Reply,
  type ReplyContext,
  type ReplyOptions,
  type SseEvent,
  type StreamOptions,
  sse,
  text,
} from './replies.js';
export { type TestCertificates, testCertificates } from './tls.js';
