import type { ToolOutput } from '@haia/agent';

/** The part of an MCP `tools/call` result this package reads. */
export interface McpCallResult {
  content?: readonly unknown[];
  structuredContent?: unknown;
  isError?: boolean;
  /** Pre-2024-11 servers answer with `toolResult` instead of `content`. */
  toolResult?: unknown;
}

/** Decoded size of base64 text, without decoding it. */
function base64Bytes(data: string): number {
  const trimmed = data.replace(/\s/g, '');
  const padding = trimmed.endsWith('==') ? 2 : trimmed.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((trimmed.length * 3) / 4) - padding);
}

function describePart(part: unknown): string {
  if (typeof part !== 'object' || part === null) return String(part);
  const item = part as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  switch (item.type) {
    case 'text':
      return text(item.text);
    case 'image':
    case 'audio':
      return `[${item.type} ${text(item.mimeType) || 'unknown type'}, ${base64Bytes(text(item.data))} bytes]`;
    case 'resource_link': {
      const label = text(item.title) || text(item.name) || text(item.uri);
      const details = [text(item.mimeType), text(item.description)].filter(Boolean).join(', ');
      return `[resource link: ${label} <${text(item.uri)}>${details ? ` (${details})` : ''}]`;
    }
    case 'resource': {
      const resource = (item.resource ?? {}) as Record<string, unknown>;
      const uri = text(resource.uri);
      if (typeof resource.text === 'string') return `[resource ${uri}]\n${resource.text}`;
      const type = text(resource.mimeType) || 'unknown type';
      return `[resource ${uri}, ${type}, ${base64Bytes(text(resource.blob))} bytes]`;
    }
    default:
      return JSON.stringify(part);
  }
}

/**
 * Maps an MCP tool result to what the model reads: text parts joined by newlines, images and audio
 * described with their type and size, resources and resource links with their URI; a result with
 * only `structuredContent` becomes that JSON value. `isError` results become `{ isError: true, content }`.
 */
export function mapToolResult(result: McpCallResult): ToolOutput {
  let text: string;
  if (Array.isArray(result.content) && result.content.length > 0) {
    text = result.content.map(describePart).join('\n');
  } else if (result.structuredContent !== undefined && !result.isError) {
    return result.structuredContent as ToolOutput;
  } else if (result.toolResult !== undefined) {
    text = typeof result.toolResult === 'string' ? result.toolResult : JSON.stringify(result.toolResult);
  } else {
    text = result.structuredContent !== undefined ? JSON.stringify(result.structuredContent) : '';
  }
  if (result.isError) return { isError: true, content: text || 'The tool failed without saying why.' };
  return text;
}
