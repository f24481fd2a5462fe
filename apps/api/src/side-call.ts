import type { OpenAiMessage } from './request-schema.js';

/** Which client's background task a request is, when it is one. */
export type SideCallKind = 'openwebui-task' | 'librechat-title';

function firstText(message: OpenAiMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!content) return '';
  for (const part of content) if (typeof part.text === 'string') return part.text;
  return '';
}

const LIBRECHAT_TITLE =
  /\bconcise title\b|\bprovide a (?:short |brief )?title\b|\bdetected language\b[\s\S]*\btitle\b/i;

/**
 * OpenWebUI's default task prompts that do not start `### Task:`: emoji (voice calls) and
 * mixture-of-agents answers, each a lone user message.
 */
const OPENWEBUI_UNTITLED_TASKS = [
  "Your task is to reflect the speaker's likely facial expression",
  'You have been provided with a set of responses from various models',
];

/**
 * Recognises the side calls chat UIs make on the chat connection, in the order of
 * reference/openai-compat-clients.md 1.7:
 * - OpenWebUI's tasks (titles, tags, follow-ups, autocomplete, search queries, emoji, …): the
 *   `X-OpenWebUI-Task` header (v0.10 and later); without it a lone user message, not streamed,
 *   starting `### Task:` with a `<chat_history>` block (its default templates; a chat message with
 *   files or web search also starts `### Task:`, OpenWebUI's RAG template, and is streamed with no
 *   chat history block), or one of the default emoji and mixture-of-agents prompts, or the Legacy
 *   tool-mode call (a system message starting `Available Tools:` and a user message starting `Query:`);
 * - LibreChat's title prompt (a lone system message, or a lone message asking for a title).
 * They are answered by the plain model, never stored, never given tools.
 */
export function detectSideCall(
  messages: readonly OpenAiMessage[],
  headers: Headers,
  stream: boolean,
): SideCallKind | undefined {
  const task = headers.get('x-openwebui-task');
  if (task && task.trim() !== '') return 'openwebui-task';
  if (messages.length === 2) {
    const [system, query] = messages as [OpenAiMessage, OpenAiMessage];
    const legacyToolCall =
      system.role === 'system' &&
      firstText(system).trimStart().startsWith('Available Tools:') &&
      query.role === 'user' &&
      firstText(query).trimStart().startsWith('Query:');
    return legacyToolCall ? 'openwebui-task' : undefined;
  }
  if (messages.length !== 1) return undefined;
  const [only] = messages as [OpenAiMessage];
  const text = firstText(only);
  if (only.role === 'user') {
    const start = text.trimStart();
    if (!stream && start.startsWith('### Task:') && text.includes('<chat_history>')) return 'openwebui-task';
    if (OPENWEBUI_UNTITLED_TASKS.some((prompt) => start.startsWith(prompt))) return 'openwebui-task';
  }
  if (only.role === 'system' || only.role === 'developer') return 'librechat-title';
  if (only.role === 'user' && LIBRECHAT_TITLE.test(text) && /\{?convo\}?|User:|AI:/.test(text)) {
    return 'librechat-title';
  }
  return undefined;
}
