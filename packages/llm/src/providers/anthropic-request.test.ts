import { describe, expect, it } from 'vitest';
import { buildAnthropicRequest, toAnthropicMessages } from './anthropic-request.js';

describe('toAnthropicMessages', () => {
  it('puts tool results first when a user message is merged into the same turn', () => {
    const messages = toAnthropicMessages([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 't1', toolName: 'run', input: {} }] },
      { role: 'user', content: 'also this' },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 't1', toolName: 'run', output: 'done' }] },
    ]);
    expect(messages[2]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't1', content: 'done' },
        { type: 'text', text: 'also this' },
      ],
    });
  });

  it('drops unsigned reasoning, empty text and empty messages, and normalises tool input', () => {
    const messages = toAnthropicMessages([
      { role: 'user', content: '' },
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'from another provider' },
          { type: 'text', text: '' },
          { type: 'tool-call', toolCallId: 'a', toolName: 'x', input: '{"k":1}' },
          { type: 'tool-call', toolCallId: 'b', toolName: 'x', input: undefined },
          { type: 'tool-call', toolCallId: 'c', toolName: 'x', input: [1, 2] },
        ],
      },
    ]);
    expect(messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'q' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'a', name: 'x', input: { k: 1 } },
          { type: 'tool_use', id: 'b', name: 'x', input: {} },
          { type: 'tool_use', id: 'c', name: 'x', input: { value: [1, 2] } },
        ],
      },
    ]);
  });
});

describe('buildAnthropicRequest', () => {
  it('joins several system messages and leaves optional fields out', () => {
    const body = buildAnthropicRequest('claude-x', {
      messages: [
        { role: 'system', content: 'A' },
        { role: 'user', content: 'q' },
        { role: 'system', content: 'B' },
      ],
      stop: [],
      tools: [],
      toolChoice: 'auto',
    });
    expect(body).toEqual({
      model: 'claude-x',
      max_tokens: 8192,
      stream: true,
      system: 'A\n\nB',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }] }],
    });
  });
});
