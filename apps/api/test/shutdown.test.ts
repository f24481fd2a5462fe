import { createAgent, createToolset, defineTool } from '@haia/agent';
import { type Message, messageText } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import type { Store } from '@haia/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAgentRunner } from '../src/agent-runner.js';
import { buildServer, sseData, testStore } from './helpers.js';

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

async function openStream(url: string, content: string) {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'haia', stream: true, messages: [{ role: 'user', content }] }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const first = await reader.read();
  text += decoder.decode(first.value);
  const rest = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return text;
      text += decoder.decode(value);
    }
  })();
  return { response, rest };
}

describe('graceful shutdown', () => {
  it('stops accepting, lets a running stream finish and store its answer, then closes', async () => {
    const words = Array.from({ length: 20 }, (_, index) => ({
      type: 'text-delta' as const,
      text: `w${index} `,
    }));
    const model = new MockLanguageModel({ results: [words], delayMs: 5 });
    const server = buildServer({ model, store });
    const url = await server.listen();
    const { response, rest } = await openStream(url, 'a long answer please');
    const stopped = server.stop();
    const text = await rest;
    await stopped;
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    const stored = await store.getConversation(response.headers.get('x-haia-conversation-id') as string);
    expect(stored?.messages[1]).toMatchObject({ role: 'assistant', status: 'complete' });
    expect(messageText(stored?.messages[1] as Message)).toBe(words.map((word) => word.text).join(''));
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('waits for a request that arrived before the stop but had not begun its turn yet', async () => {
    // The conversation lookup is held until the stop has begun.
    let reached!: () => void;
    const atLookup = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowStore = new Proxy(store, {
      get(target, property) {
        if (property === 'resolveConversation') {
          return async (...args: Parameters<Store['resolveConversation']>) => {
            reached();
            await gate;
            return target.resolveConversation(...args);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const model = new MockLanguageModel({ results: { text: 'made it' } });
    const server = buildServer({ model, store: slowStore });
    const url = await server.listen();
    const opened = openStream(url, 'just before the stop');
    await atLookup;
    let stopDone = false;
    const stopped = server.stop().then(() => {
      stopDone = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopDone).toBe(false);
    release();
    const { response, rest } = await opened;
    expect(response.status).toBe(200);
    expect(sseData(await rest).at(-1)).toBe('[DONE]');
    await stopped;
    const stored = await store.getConversation(response.headers.get('x-haia-conversation-id') as string);
    expect(stored?.messages.map((message) => message.status)).toEqual(['complete', 'complete']);
  });

  it('aborts streams still running after the grace period and stores them as partial', async () => {
    const model = new MockLanguageModel({
      results: [Array.from({ length: 1000 }, () => ({ type: 'text-delta' as const, text: 'x' }))],
      delayMs: 5,
    });
    const server = buildServer({ model, store, shutdownGraceMs: 30 });
    const url = await server.listen();
    const { response, rest } = await openStream(url, 'never ending');
    await server.stop();
    const events = sseData(await rest);
    expect(events.at(-1)).toMatchObject({ error: { code: 'shutting_down', type: 'api_error' } });
    const stored = await store.getConversation(response.headers.get('x-haia-conversation-id') as string);
    expect(stored?.messages[1]).toMatchObject({ role: 'assistant', status: 'partial' });
    expect(messageText(stored?.messages[1] as Message).length).toBeLessThan(1000);
  });
});

describe('cancellation', () => {
  it('sends keepalive comments during a long tool step and aborts the tool when the client leaves', async () => {
    let toolSignal: AbortSignal | undefined;
    const slowCheck = defineTool({
      name: 'slow_check',
      description: 'A check that takes a while',
      input: z.object({}),
      annotations: { readOnly: true },
      execute: (_input, { signal }) => {
        toolSignal = signal;
        return new Promise((resolve) =>
          signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
        );
      },
    });
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'call_slow', toolName: 'slow_check', input: {} }] },
        { text: 'never reached' },
      ],
    });
    const server = buildServer({
      model,
      store,
      keepaliveMs: 20,
      runnerFor: (answering) =>
        createAgentRunner(
          createAgent({ model: answering, toolsets: [createToolset('checks', [slowCheck])] }),
        ),
    });
    const url = await server.listen();
    try {
      const controller = new AbortController();
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'haia',
          stream: true,
          messages: [{ role: 'user', content: `check ${Date.now()}` }],
        }),
        signal: controller.signal,
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes(': keepalive')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      expect(text).toContain(': keepalive\n\n');
      expect(toolSignal?.aborted).toBe(false);
      controller.abort();
      for (let attempt = 0; attempt < 200 && !toolSignal?.aborted; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(toolSignal?.aborted).toBe(true);
      const conversationId = response.headers.get('x-haia-conversation-id') as string;
      for (let attempt = 0; attempt < 200; attempt++) {
        const stored = await store.getConversation(conversationId);
        if ((stored?.messages.length ?? 0) > 1) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const stored = await store.getConversation(conversationId);
      expect(stored?.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
      expect(stored?.messages[1]?.status).toBe('partial');
      expect(stored?.messages[2]?.content).toMatchObject([
        { toolCallId: 'call_slow', toolName: 'slow_check' },
      ]);
      expect(model.calls).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});
