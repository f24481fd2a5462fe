import { startAnthropicFake, startGeminiFake, startOllamaFake, startOpenAIFake } from '@haia/testkit';
import { describe, expect, it, vi } from 'vitest';
import type { CallRecord } from './call-record.js';
import { createModel } from './create-model.js';
import type { LanguageModel } from './language-model.js';

const pieces = Array.from({ length: 20 }, (_, index) => `piece ${index} `);

interface Case {
  name: string;
  start: (onCall: (record: CallRecord) => void) => Promise<{
    model: LanguageModel;
    activeRequests: () => number;
    close: () => Promise<void>;
  }>;
}

const cases: Case[] = [
  {
    name: 'openai',
    start: async (onCall) => {
      const fake = await startOpenAIFake({ apiKeys: ['sk-break-test-0000'] });
      fake.enqueue({ text: pieces, delayMs: 5 });
      const model = createModel('openai:gpt-4o-mini', {
        apiKey: 'sk-break-test-0000',
        baseURL: fake.baseURL,
        env: {},
        onCall,
      });
      return { model, activeRequests: fake.activeRequests, close: fake.close };
    },
  },
  {
    name: 'anthropic',
    start: async (onCall) => {
      const fake = await startAnthropicFake({ apiKey: 'sk-ant-break-test-0000' });
      fake.enqueue({ content: [{ type: 'text', text: pieces.join(''), chunks: pieces }], delayMs: 5 });
      const model = createModel('anthropic:claude-test', {
        apiKey: 'sk-ant-break-test-0000',
        baseURL: fake.url,
        env: {},
        onCall,
      });
      return { model, activeRequests: () => fake.activeRequests(), close: () => fake.close() };
    },
  },
  {
    name: 'gemini',
    start: async (onCall) => {
      const fake = await startGeminiFake();
      fake.reply({ text: pieces, delayMs: 5 });
      const model = createModel('gemini:gemini-2.5-flash', {
        apiKey: fake.apiKey,
        baseURL: fake.url,
        env: {},
        onCall,
      });
      return { model, activeRequests: () => fake.activeRequests(), close: () => fake.close() };
    },
  },
  {
    name: 'ollama',
    start: async (onCall) => {
      const fake = await startOllamaFake();
      fake.reply({ text: pieces, delayMs: 5 });
      const model = createModel('ollama:llama3.2', { baseURL: fake.url, env: {}, onCall });
      return { model, activeRequests: () => fake.activeRequests(), close: () => fake.close() };
    },
  },
];

describe('breaking out of for await early', () => {
  for (const { name, start } of cases) {
    it(`${name}: closes the socket and logs the call as cancelled`, async () => {
      const records: CallRecord[] = [];
      const { model, activeRequests, close } = await start((record) => records.push(record));
      try {
        let first = '';
        for await (const event of model.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
          if (event.type === 'text-delta') {
            first = event.text;
            break;
          }
        }
        expect(first).toBe('piece 0 ');
        await vi.waitFor(() => expect(activeRequests()).toBe(0));
        expect(records).toHaveLength(1);
        expect(records[0]).toMatchObject({ provider: name, outcome: 'cancelled', retries: 0 });
      } finally {
        await close();
      }
    });
  }
});
