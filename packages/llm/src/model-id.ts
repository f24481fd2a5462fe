import { LlmError } from './llm-error.js';

/** A `provider:model` id split at its first colon. */
export interface ModelId {
  provider: string;
  modelId: string;
}

/**
 * Splits `provider:model` at the first colon only, so `ollama:llama3.1:8b` is provider `ollama`,
 * model `llama3.1:8b`. Throws an `invalid-request` {@link LlmError} when either side is empty.
 */
export function parseModelId(id: string): ModelId {
  const colon = typeof id === 'string' ? id.indexOf(':') : -1;
  const provider = colon > 0 ? id.slice(0, colon).trim() : '';
  const modelId = colon > 0 ? id.slice(colon + 1).trim() : '';
  if (!provider || !modelId) {
    throw new LlmError({
      code: 'invalid-request',
      message: `Malformed model id ${JSON.stringify(id)}: expected "provider:model", for example "openai:gpt-4o-mini" or "ollama:llama3.1:8b".`,
      provider: provider || 'unknown',
      model: modelId || String(id),
      retryable: false,
    });
  }
  return { provider, modelId };
}
