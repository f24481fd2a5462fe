import { startAnthropicFake, startGeminiFake, startOllamaFake, startOpenAIFake } from '@haia/testkit';
import { describe, expect, it } from 'vitest';
import { createModel } from '../create-model.js';
import type { ChatRequest } from '../language-model.js';
import type { Message } from '../message.js';

const hi: Message[] = [{ role: 'user', content: 'Hi' }];
const sampling: Omit<ChatRequest, 'messages'> = {
  seed: 42,
  frequencyPenalty: 0.5,
  presencePenalty: -0.25,
  reasoningEffort: 'high',
};

// biome-ignore lint/suspicious/noExplicitAny: tests read recorded wire bodies field by field
type WireBody = Record<string, any>;

describe('seed, penalties and reasoning effort on the wire', () => {
  it.each(['openai', 'openai-compatible'] as const)(
    '%s sends them as OpenAI names them',
    async (provider) => {
      // Penalties to a model that takes them, the effort to a reasoning model (gpt-5 refuses penalties).
      const fake = await startOpenAIFake({
        apiKeys: ['sk-sampling'],
        models: ['gpt-4.1-mini', 'gpt-5-mini'],
      });
      try {
        const model = (id: string) =>
          createModel(`${provider}:${id}`, {
            apiKey: 'sk-sampling',
            baseURL: fake.baseURL,
            env: {},
            maxRetries: 0,
          });
        const { reasoningEffort, ...penalties } = sampling;
        await model('gpt-4.1-mini').generate({ messages: hi, ...penalties });
        await model('gpt-5-mini').generate({ messages: hi, seed: 42, reasoningEffort });
        await model('gpt-5-mini').generate({ messages: hi });
        const [set, effort, unset] = fake.requests.map((request) => request.body as WireBody);
        expect(set).toMatchObject({ seed: 42, frequency_penalty: 0.5, presence_penalty: -0.25 });
        expect(effort).toMatchObject({ seed: 42, reasoning_effort: 'high' });
        for (const key of ['seed', 'frequency_penalty', 'presence_penalty', 'reasoning_effort']) {
          expect(unset).not.toHaveProperty(key);
        }
      } finally {
        await fake.close();
      }
    },
  );

  it('ollama: options for the sampling, think for the effort (overriding the model setting)', async () => {
    const ollama = await startOllamaFake({ models: ['gpt-oss'], thinkingModels: ['gpt-oss'] });
    try {
      const options = { baseURL: ollama.url, env: {}, maxRetries: 0 };
      const thinking = createModel('ollama:gpt-oss', {
        ...options,
        providerOptions: { ollama: { think: true } },
      });
      await thinking.generate({ messages: hi, ...sampling });
      await thinking.generate({ messages: hi, reasoningEffort: 'none' });
      await thinking.generate({ messages: hi, reasoningEffort: 'minimal' });
      await thinking.generate({ messages: hi });
      const bodies = ollama.requests.map((request) => request.json<WireBody>());
      expect(bodies[0]?.options).toEqual({ seed: 42, frequency_penalty: 0.5, presence_penalty: -0.25 });
      expect(bodies.map((body) => body.think)).toEqual(['high', false, 'low', true]);
      expect(bodies[3]).not.toHaveProperty('options');
    } finally {
      await ollama.close();
    }
  });

  it('gemini: generationConfig for the sampling, a thinking budget for the effort', async () => {
    const gemini = await startGeminiFake();
    try {
      const model = createModel('gemini:gemini-2.5-flash', {
        apiKey: gemini.apiKey,
        baseURL: gemini.url,
        env: {},
        maxRetries: 0,
        providerOptions: { gemini: { thinkingBudget: 2048 } },
      });
      await model.generate({ messages: hi, ...sampling });
      await model.generate({ messages: hi, reasoningEffort: 'none' });
      await model.generate({ messages: hi });
      const configs = gemini.requests.map((request) => request.json<WireBody>().generationConfig);
      expect(configs[0]).toMatchObject({
        seed: 42,
        frequencyPenalty: 0.5,
        presencePenalty: -0.25,
        thinkingConfig: { thinkingBudget: 24_576 },
      });
      expect(configs[1].thinkingConfig.thinkingBudget).toBe(0);
      expect(configs[2].thinkingConfig.thinkingBudget).toBe(2048);
      expect(configs[2]).not.toHaveProperty('seed');
    } finally {
      await gemini.close();
    }
  });

  it('anthropic has no seed or penalties and leaves them out; the effort turns thinking on', async () => {
    const fake = await startAnthropicFake({ apiKey: 'sk-ant-sampling-key-123456' });
    try {
      const model = createModel('anthropic:claude-test', {
        apiKey: 'sk-ant-sampling-key-123456',
        baseURL: fake.url,
        env: {},
        maxRetries: 0,
      });
      const result = await model.generate({ messages: hi, ...sampling });
      expect(result.finishReason).toBe('stop');
      const body = fake.requests.at(-1)?.body ?? {};
      for (const key of ['seed', 'frequency_penalty', 'presence_penalty', 'reasoning_effort']) {
        expect(body).not.toHaveProperty(key);
      }
      expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 16_384 });
    } finally {
      await fake.close();
    }
  });
});
