import { type AnthropicFake, type OpenAIFake, startAnthropicFake, startOpenAIFake } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from './call-record.js';
import { createModel } from './create-model.js';
import type { Message, ToolCallPart } from './message.js';
import { failure } from './providers/adapter-test-helpers.js';
import { toolCallIdError } from './tool-call-ids.js';

const OPENAI_KEY = 'sk-ids-test-key-abcdef123456';
const ANTHROPIC_KEY = 'sk-ant-api03-ids-test-key-0123456789';
let openai: OpenAIFake;
let anthropic: AnthropicFake;

beforeEach(async () => {
  openai = await startOpenAIFake({ apiKeys: [OPENAI_KEY] });
  anthropic = await startAnthropicFake({ apiKey: ANTHROPIC_KEY });
});
afterEach(async () => {
  await openai.close();
  await anthropic.close();
});

function call(toolCallId: string): ToolCallPart {
  return { type: 'tool-call', toolCallId, toolName: 'list_vms', input: {} };
}

function result(toolCallId: string): Message {
  return { role: 'tool', content: [{ type: 'tool-result', toolCallId, toolName: 'list_vms', output: 'ok' }] };
}

const orphan: Message[] = [
  { role: 'user', content: 'Which VMs run?' },
  { role: 'assistant', content: [call('call_a')] },
  result('call_a'),
  { role: 'user', content: 'And now?' },
  result('call_zz'),
];

const duplicate: Message[] = [
  { role: 'user', content: 'Which VMs run?' },
  { role: 'assistant', content: [call('call_0')] },
  result('call_0'),
  { role: 'assistant', content: 'Two.' },
  { role: 'user', content: 'And now?' },
  { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, call('call_1'), call('call_1')] },
  result('call_1'),
];

/** A server that numbers its calls per turn (`call_0` every turn): OpenAI accepts it, so do we. */
const reusedAcrossTurns: Message[] = [
  { role: 'user', content: 'Which VMs run?' },
  { role: 'assistant', content: [call('call_0')] },
  result('call_0'),
  { role: 'assistant', content: 'Two.' },
  { role: 'user', content: 'And now?' },
  { role: 'assistant', content: [call('call_0')] },
  result('call_0'),
];

describe('tool-call ids are checked before any provider call', () => {
  it('refuses a tool result that answers no earlier call, naming its index and id, and sends nothing', async () => {
    const records: CallRecord[] = [];
    const model = createModel('openai:gpt-4o-mini', {
      apiKey: OPENAI_KEY,
      baseURL: openai.baseURL,
      env: {},
      onCall: (record) => records.push(record),
    });
    const error = await failure(model.generate({ messages: orphan }));
    expect(error).toMatchObject({ code: 'invalid-request', retryable: false, provider: 'openai' });
    expect(error.message).toContain('messages[4] (tool)');
    expect(error.message).toContain('"call_zz"');
    expect(error.message).toMatch(/Remove the result/);
    expect(openai.server.requests).toHaveLength(0);
    // The failed call is still reported once, as every call is.
    expect(records).toMatchObject([{ outcome: 'error', errorCode: 'invalid-request', retries: 0 }]);
  });

  it('refuses two tool calls of one message with the same id, naming it, and sends nothing', async () => {
    const model = createModel('anthropic:claude-test', {
      apiKey: ANTHROPIC_KEY,
      baseURL: anthropic.url,
      env: {},
    });
    const error = await failure(model.generate({ messages: duplicate }));
    expect(error).toMatchObject({ code: 'invalid-request', retryable: false, provider: 'anthropic' });
    expect(error.message).toContain('messages[5] (assistant)');
    expect(error.message).toContain('"call_1"');
    expect(error.message).toContain('two tool calls');
    expect(error.message).toMatch(/an id of its own/);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('lets an id an earlier turn used again through (servers that number calls per turn)', async () => {
    openai.enqueue({ text: 'Still two.' });
    const model = createModel('openai:gpt-4o-mini', { apiKey: OPENAI_KEY, baseURL: openai.baseURL, env: {} });
    expect(toolCallIdError(reusedAcrossTurns, 'openai', 'gpt-4o-mini')).toBeUndefined();
    expect((await model.generate({ messages: reusedAcrossTurns })).text).toBe('Still two.');
    expect(openai.requests).toHaveLength(1);
  });

  it('lets a sound tool round trip through to the provider', async () => {
    openai.enqueue({ text: 'Both run.' });
    const model = createModel('openai:gpt-4o-mini', { apiKey: OPENAI_KEY, baseURL: openai.baseURL, env: {} });
    const history: Message[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Which VMs run?' },
      { role: 'assistant', content: [call('call_a'), call('call_b')] },
      result('call_b'),
      result('call_a'),
      { role: 'assistant', content: 'Two.' },
      { role: 'user', content: 'Still?' },
      { role: 'assistant', content: [call('call_c')] },
      result('call_c'),
    ];
    const answer = await model.generate({ messages: history });
    expect(answer.text).toBe('Both run.');
    expect(openai.requests).toHaveLength(1);
  });

  it('quotes a long id only in part', () => {
    const long = `call_${'x'.repeat(500)}`;
    const error = toolCallIdError([result(long)], 'acme', 'm1');
    expect(error?.message).toContain('messages[0] (tool)');
    expect(error?.message.length).toBeLessThan(400);
    expect(toolCallIdError([{ role: 'user', content: 'Hi' }], 'acme', 'm1')).toBeUndefined();
  });
});
