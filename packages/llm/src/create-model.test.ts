import { describe, expect, it } from 'vitest';
import { createModel } from './create-model.js';
import { LlmError } from './llm-error.js';
import { parseModelId } from './model-id.js';
import { providerNames } from './provider-registry.js';

describe('parseModelId', () => {
  it('splits at the first colon only', () => {
    expect(parseModelId('ollama:llama3.1:8b')).toEqual({ provider: 'ollama', modelId: 'llama3.1:8b' });
    expect(parseModelId('openai:gpt-4o-mini')).toEqual({ provider: 'openai', modelId: 'gpt-4o-mini' });
  });

  it.each(['gpt-4o', ':gpt-4o', 'openai:', '', ' : '])('rejects %j', (id) => {
    expect(() => parseModelId(id)).toThrow(LlmError);
    expect(() => parseModelId(id)).toThrow(/expected "provider:model"/);
  });
});

describe('createModel', () => {
  it('knows every built-in provider without loading any SDK', () => {
    expect(providerNames).toEqual(['anthropic', 'openai', 'openai-compatible', 'gemini', 'ollama']);
    const model = createModel('ollama:llama3.1:8b', { env: {} });
    expect(model).toMatchObject({ provider: 'ollama', modelId: 'llama3.1:8b' });
  });

  it('rejects an unknown provider with an invalid-request error listing the known ones', () => {
    let error: unknown;
    try {
      createModel('mistral:large');
    } catch (caught) {
      error = caught;
    }
    expect(LlmError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid-request', retryable: false, provider: 'mistral' });
    expect((error as Error).message).toMatch(/anthropic, openai, openai-compatible, gemini, ollama/);
    expect(() => createModel('toString:x')).toThrow(/Unknown provider/);
    expect(() => createModel('nocolon')).toThrow(/Malformed model id/);
  });

  it('rejects bad options in one invalid-request error without echoing values', () => {
    let error: unknown;
    try {
      createModel('openai:gpt-4o-mini', {
        apiKey: 'sk-secret-value-123456',
        baseURL: 'not a url sk-secret-value-123456',
        maxRetries: -1,
        timeoutMs: 0,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'invalid-request', retryable: false });
    const message = (error as Error).message;
    expect(message).toMatch(/baseURL/);
    expect(message).toMatch(/maxRetries/);
    expect(message).toMatch(/timeoutMs/);
    expect(message).not.toContain('sk-secret-value-123456');
  });
});
