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
 * Recognises the side calls chat UIs make on the chat connection: OpenWebUI's tasks (titles, tags,
 * follow-ups, autocomplete, search queries; the `X-OpenWebUI-Task` header, or a single user message
 * starting `### Task:`) and LibreChat's title prompt (a lone system message, or a lone message
 * asking for a title). They are answered by the plain model, never stored, never given tools.
 */
export function detectSideCall(
  messages: readonly OpenAiMessage[],
  headers: Headers,
): SideCallKind | undefined {
  const task = headers.get('x-openwebui-task');
  if (task && task.trim() !== '') return 'openwebui-task';
  if (messages.length !== 1) return undefined;
  const [only] = messages as [OpenAiMessage];
  const text = firstText(only);
  if (only.role === 'user' && text.trimStart().startsWith('### Task:')) return 'openwebui-task';
  if (only.role === 'system' || only.role === 'developer') return 'librechat-title';
  if (only.role === 'user' && LIBRECHAT_TITLE.test(text) && /\{?convo\}?|User:|AI:/.test(text)) {
    return 'librechat-title';
  }
  return undefined;
}
