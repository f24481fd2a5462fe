import { readFileSync } from 'node:fs';
import { type Message, messageText } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import type { Store } from '@haia/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type LooseJson, sseData, testStore } from './helpers.js';

interface Step {
  method: string;
  path: string;
  kind?: 'turn' | 'task';
  reply?: string;
  body?: unknown;
  expect: { status: number; stream?: boolean };
}

interface Fixture {
  headers: Record<string, string>;
  steps: Step[];
}

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixture;

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

/** Replays a captured client session; returns the conversation ids the chat turns landed in. */
async function replay(fixture: Fixture, keys: string) {
  const replies: string[] = [];
  const model = new MockLanguageModel({ results: () => ({ text: replies.shift() ?? 'unexpected call' }) });
  const server = buildServer({ model, store, env: { HAIA_API_KEYS: keys } });
  const turnConversations: string[] = [];
  let taskCalls = 0;
  for (const step of fixture.steps) {
    if (step.reply) replies.push(step.reply);
    const response = await server.app.handle(
      new Request(`http://localhost${step.path}`, {
        method: step.method,
        headers: fixture.headers,
        ...(step.body ? { body: JSON.stringify(step.body) } : {}),
      }),
    );
    expect(response.status, `${step.method} ${step.path}`).toBe(step.expect.status);
    if (step.method === 'GET') {
      const list = (await response.json()) as { data: Array<{ id: string }> };
      expect(list.data.map((entry) => entry.id)).toContain('haia');
      continue;
    }
    const conversationId = response.headers.get('x-haia-conversation-id');
    if (step.expect.stream) {
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const events = sseData(await response.text()) as Array<LooseJson>;
      expect(events.at(-1)).toBe('[DONE]');
      expect(events.map((event) => event.choices?.[0]?.delta?.content ?? '').join('')).toBe(step.reply);
    } else {
      expect(response.headers.get('content-type')).toBe('application/json');
      const body = (await response.json()) as LooseJson;
      expect(body.choices[0].message.content).toBe(step.reply);
    }
    if (step.kind === 'task') {
      taskCalls++;
      expect(conversationId, 'task calls are not stored').toBeNull();
    } else {
      turnConversations.push(conversationId as string);
    }
  }
  return { turnConversations, taskCalls, model };
}

describe('captured client sessions replayed', () => {
  it('OpenWebUI: one conversation for the chat turns, task calls answered plainly and not stored, a regenerate is a branch', async () => {
    const { turnConversations, taskCalls, model } = await replay(
      load('openwebui-session'),
      'owui-connection-key',
    );
    expect(taskCalls).toBe(3);
    expect(new Set(turnConversations).size).toBe(1);
    const stored = await store.getConversation(turnConversations[0] as string);
    expect(stored?.conversation).toMatchObject({
      externalId: '5b0c7d8e-chat',
      client: 'openwebui',
      userId: '0f7e2a40-user',
    });
    // The active branch is the regenerated answer; the task prompts never reached the history.
    expect(stored?.messages.map((message) => messageText(message as Message))).toEqual([
      'How is my cluster?',
      'pve1 is up; 2 VMs run.',
      'Which VMs are stopped?',
      'All VMs are running.',
    ]);
    // Task calls went to the plain model without the homelab context of the conversation.
    const taskCall = model.calls.find((call) =>
      messageText(call.messages[0] as Message).startsWith('### Task:'),
    );
    expect(taskCall?.messages).toHaveLength(1);
    expect(taskCall?.maxOutputTokens).toBe(1000);
  });

  it('LibreChat: the title call with an unknown model and a lone system message is a side call; turns continue one conversation', async () => {
    const { turnConversations, taskCalls } = await replay(load('librechat-session'), 'librechat-key');
    expect(taskCalls).toBe(1);
    expect(new Set(turnConversations).size).toBe(1);
    const stored = await store.getConversation(turnConversations[0] as string);
    expect(stored?.conversation.userId).toBe('65f0c0ffee');
    expect(stored?.messages.map((message) => messageText(message as Message))).toEqual([
      'Is ceph healthy?',
      'Ceph is HEALTH_OK.',
      'How many OSDs?',
      '3 OSDs are up.',
    ]);
  });
});
