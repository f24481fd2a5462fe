import type { GeminiAdapterOptions } from './providers/gemini.js';
import type { OllamaAdapterOptions } from './providers/ollama.js';
import type { ProviderAdapter, ProviderSettings } from './providers/provider-adapter.js';

/** Settings that only one provider understands, keyed by provider. */
export interface ProviderOptions {
  /** `apiVersion`, `includeThoughts`, `thinkingBudget`. */
  gemini?: GeminiAdapterOptions;
  /** `think`, `keepAlive`. */
  ollama?: OllamaAdapterOptions;
}

/** Creates a built-in provider's adapter. */
export type BuiltInFactory = (
  modelId: string,
  settings: ProviderSettings,
  options: ProviderOptions,
) => Promise<ProviderAdapter>;

/** How a built-in provider is found: its adapter module is imported on first use only. */
export interface ProviderEntry {
  /** Loads the adapter factory (a dynamic import, so other vendors' SDKs stay unloaded). */
  load: () => Promise<BuiltInFactory>;
  /** Environment variables read for the API key when `apiKey` is not given, in order. */
  apiKeyEnv: readonly string[];
  /** Environment variables read for the base URL when `baseURL` is not given. */
  baseURLEnv: readonly string[];
}

/** The built-in providers. Each `load` is a dynamic import so each SDK loads only when used. */
export const builtInProviders: Readonly<Record<string, ProviderEntry>> = {
  anthropic: {
    load: async () => (await import('./providers/anthropic.js')).createAnthropicAdapter,
    apiKeyEnv: ['ANTHROPIC_API_KEY'],
    baseURLEnv: ['ANTHROPIC_BASE_URL'],
  },
  openai: {
    load: async () => (await import('./providers/openai.js')).createOpenAIAdapter,
    apiKeyEnv: ['OPENAI_API_KEY'],
    baseURLEnv: ['OPENAI_BASE_URL'],
  },
  'openai-compatible': {
    load: async () => (await import('./providers/openai-compatible.js')).createOpenAICompatibleAdapter,
    apiKeyEnv: ['OPENAI_API_KEY'],
    baseURLEnv: ['OPENAI_BASE_URL'],
  },
  gemini: {
    load: async () => {
      const { createGeminiAdapter } = await import('./providers/gemini.js');
      return (modelId, settings, options) => createGeminiAdapter(modelId, settings, options.gemini);
    },
    apiKeyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    baseURLEnv: ['GEMINI_BASE_URL'],
  },
  ollama: {
    load: async () => {
      const { createOllamaAdapter } = await import('./providers/ollama.js');
      return (modelId, settings, options) => createOllamaAdapter(modelId, settings, options.ollama);
    },
    apiKeyEnv: [],
    baseURLEnv: ['OLLAMA_HOST'],
  },
};

/** Names of the built-in providers. */
export const providerNames: readonly string[] = Object.keys(builtInProviders);
