import { describe, expect, it } from 'vitest';
import { toOpenAIRequest } from './openai-request.js';

const options = { maxTokensField: 'max_tokens' as const };

describe('toOpenAIRequest', () => {
  it('sends tool_choice only with tools (OpenAI and vLLM refuse it alone)', () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    expect(toOpenAIRequest('m', { messages, toolChoice: 'auto' }, options)).not.toHaveProperty('tool_choice');
    const tools = [{ name: 'get_weather', description: 'Weather', inputSchema: { type: 'object' } }];
    expect(toOpenAIRequest('m', { messages, tools, toolChoice: 'required' }, options)).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather' } }],
      tool_choice: 'required',
    });
  });

  it("sends a call's arguments back as the model wrote them when they were not JSON", () => {
    const body = toOpenAIRequest(
      'm',
      {
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: [
              { type: 'tool-call', toolCallId: 'c1', toolName: 'f', input: '{"broken' },
              { type: 'tool-call', toolCallId: 'c2', toolName: 'f', input: { a: 1 } },
            ],
          },
        ],
      },
      options,
    );
    expect(body.messages[1]).toMatchObject({
      tool_calls: [
        { id: 'c1', function: { arguments: '{"broken' } },
        { id: 'c2', function: { arguments: '{"a":1}' } },
      ],
    });
  });
});
