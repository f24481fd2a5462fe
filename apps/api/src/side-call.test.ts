import { describe, expect, it } from 'vitest';
import type { OpenAiMessage } from './request-schema.js';
import { detectSideCall } from './side-call.js';

const user = (content: string): OpenAiMessage => ({ role: 'user', content });
const none = new Headers();

describe('detectSideCall', () => {
  it("takes OpenWebUI's task header first, whatever the messages", () => {
    const headers = new Headers({ 'x-openwebui-task': 'title_generation' });
    expect(detectSideCall([user('anything')], headers, true)).toBe('openwebui-task');
    expect(
      detectSideCall([user('anything')], new Headers({ 'x-openwebui-task': ' ' }), false),
    ).toBeUndefined();
  });

  it('without the header, knows a default task template: not streamed, with its chat history block', () => {
    const title =
      '### Task:\nGenerate a concise, 3-5 word title.\n### Chat History:\n<chat_history>\nUSER: hi\n</chat_history>';
    expect(detectSideCall([user(title)], none, false)).toBe('openwebui-task');
    // The same text streamed is a chat turn (OpenWebUI never streams its tasks).
    expect(detectSideCall([user(title)], none, true)).toBeUndefined();
  });

  it("leaves OpenWebUI's RAG prompt (a chat turn with files or web search) to the agent", () => {
    const rag =
      '### Task:\nRespond to the user query using the provided context, incorporating inline citations.\n<context>\n<source id="1">pve1 runs 2 VMs</source>\n</context>\n<user_query>\nhow many VMs?\n</user_query>';
    expect(detectSideCall([user(rag)], none, true)).toBeUndefined();
    expect(detectSideCall([user(rag)], none, false)).toBeUndefined();
  });

  it("knows OpenWebUI's emoji, mixture-of-agents and Legacy tool-mode prompts", () => {
    expect(
      detectSideCall(
        [user("Your task is to reflect the speaker's likely facial expression through a fitting emoji.")],
        none,
        false,
      ),
    ).toBe('openwebui-task');
    expect(
      detectSideCall(
        [
          user(
            'You have been provided with a set of responses from various models to the latest user query: "hi"',
          ),
        ],
        none,
        true,
      ),
    ).toBe('openwebui-task');
    const legacy: OpenAiMessage[] = [
      { role: 'system', content: 'Available Tools: [{"name": "get_weather"}]' },
      user('Query: History:\nUSER: hi\nQuery: weather?'),
    ];
    expect(detectSideCall(legacy, none, false)).toBe('openwebui-task');
    // A real two-message chat is not one.
    expect(
      detectSideCall([{ role: 'system', content: 'You are HAIA.' }, user('Query: hi')], none, true),
    ).toBe(undefined);
  });

  it("knows LibreChat's title prompts and nothing else", () => {
    expect(detectSideCall([{ role: 'system', content: 'Write a title.' }], none, false)).toBe(
      'librechat-title',
    );
    expect(
      detectSideCall(
        [user('Please provide a concise title for this conversation. User: hi AI: hello')],
        none,
        false,
      ),
    ).toBe('librechat-title');
    expect(detectSideCall([user('How are my VMs?')], none, true)).toBeUndefined();
  });
});
