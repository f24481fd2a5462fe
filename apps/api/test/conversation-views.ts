import type { StoredMessage } from '@haia/store';
import type { OpenAIChatRequest } from '@haia/testkit';
import type { LooseJson } from './helpers.js';

/** The lines the conversation tests compare: what reached the model, and what was stored. */

/**
 * JSON text with its objects' keys sorted (a held path keeps the order an answer was written in,
 * one read back from PostgreSQL has jsonb's); other text as it is.
 */
export function sortedJson(text: string): string {
  const sort = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sort)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([key, entry]) => [key, sort(entry)]),
          )
        : value;
  try {
    return JSON.stringify(sort(JSON.parse(text)));
  } catch {
    return text;
  }
}

/** What the model was sent, one line a message, for the messages `keep` lets through. */
export function contextLines(
  request: OpenAIChatRequest | undefined,
  keep: (message: LooseJson) => boolean,
): string[] {
  return (request?.body.messages ?? []).filter(keep).map((message) => {
    const calls = (message.tool_calls as LooseJson[] | undefined)?.map(
      (call) => `[call ${call.function.name} ${call.id}]`,
    );
    const text =
      typeof message.content === 'string' || message.content === null
        ? (message.content ?? '')
        : JSON.stringify(message.content);
    if (message.role === 'tool') return `tool ${message.tool_call_id}: ${sortedJson(text)}`;
    return `${message.role}: ${text}${calls ? ` ${calls.join(' ')}` : ''}`;
  });
}

/** A conversation's whole tree (every branch), one indented line a message, with its status. */
export function treeLines(
  messages: readonly StoredMessage[],
  text: (message: StoredMessage) => string,
): string[] {
  const children = new Map<string | null, StoredMessage[]>();
  for (const message of messages) {
    const siblings = children.get(message.parentId) ?? [];
    siblings.push(message);
    children.set(message.parentId, siblings);
  }
  const lines: string[] = [];
  const walk = (parentId: string | null, depth: number) => {
    for (const message of children.get(parentId) ?? []) {
      const status = message.status === 'complete' ? '' : ` (${message.status})`;
      lines.push(`${'  '.repeat(depth)}${message.role}: ${text(message)}${status}`);
      walk(message.id, depth + 1);
    }
  };
  walk(null, 0);
  return lines;
}
