import type {
  ToolChoice as AnthropicToolChoice,
  ContentBlockParam,
  ImageBlockParam,
  MessageCreateParamsStreaming,
  MessageParam,
  Tool,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources';
import type { ChatRequest } from '../language-model.js';
import type { ImagePart, Message, ToolChoice, ToolSpec } from '../message.js';
import { trimPrefill } from './anthropic-prefill.js';

/**
 * `max_tokens` sent when the request sets no `maxOutputTokens`. Anthropic requires the field; 8192
 * fits every current Claude model and a long chat answer, and stays far below the limits where
 * thinking budgets or long generations need more (set `maxOutputTokens` for those).
 */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 8192;

/**
 * Added to the system prompt when JSON is asked for without a schema (Anthropic's structured output
 * needs a schema; with one, `output_config.format` is used instead).
 */
export const ANTHROPIC_JSON_INSTRUCTION =
  'Answer with a single valid JSON value only: no prose before or after it and no Markdown code fences.';

/**
 * The body of `messages.create` with `stream: true`. `temperature` and `top_p` were removed from
 * the SDK 1.x types but the API still reads them (newer models accept only the defaults), so they
 * are sent only when the caller sets them (`temperature` clamped to Anthropic's 0 to 1), and never
 * together: current models refuse that, so `top_p` goes only without a `temperature`.
 */
export type AnthropicRequestBody = MessageCreateParamsStreaming & { temperature?: number; top_p?: number };

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(part: ImagePart): ImageBlockParam {
  if ('data' in part) {
    return {
      type: 'image',
      source: { type: 'base64', media_type: part.mediaType as 'image/png', data: part.data },
    };
  }
  const match = DATA_URL.exec(part.url);
  if (match) {
    return {
      type: 'image',
      source: { type: 'base64', media_type: match[1] as 'image/png', data: match[2] ?? '' },
    };
  }
  return { type: 'image', source: { type: 'url', url: part.url } };
}

function toolInput(input: unknown): Record<string, unknown> {
  if (typeof input === 'object' && input !== null && !Array.isArray(input))
    return input as Record<string, unknown>;
  if (typeof input === 'string') {
    try {
      const parsed: unknown = JSON.parse(input);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // not JSON: fall through
    }
  }
  return input === undefined || input === null ? {} : { value: input };
}

function toolResultContent(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output === undefined) return '';
  return JSON.stringify(output);
}

/**
 * Text Anthropic refuses as a block: empty ("text content blocks must be non-empty") or only
 * whitespace ("… must contain non-whitespace text"); such text says nothing, so it is left out.
 */
function isBlank(text: string): boolean {
  return text.trim() === '';
}

function blocksOf(message: Exclude<Message, { role: 'system' }>): ContentBlockParam[] {
  switch (message.role) {
    case 'user':
      if (typeof message.content === 'string')
        return isBlank(message.content) ? [] : [{ type: 'text', text: message.content }];
      return message.content.flatMap((part): ContentBlockParam[] => {
        if (part.type === 'text') return isBlank(part.text) ? [] : [{ type: 'text', text: part.text }];
        return [imageBlock(part)];
      });
    case 'assistant':
      if (typeof message.content === 'string')
        return isBlank(message.content) ? [] : [{ type: 'text', text: message.content }];
      return message.content.flatMap((part): ContentBlockParam[] => {
        switch (part.type) {
          case 'text':
            return isBlank(part.text) ? [] : [{ type: 'text', text: part.text }];
          case 'reasoning':
            // Anthropic only takes back thinking it signed or encrypted; unsigned reasoning (another
            // provider's) is dropped.
            if (part.redactedData !== undefined)
              return [{ type: 'redacted_thinking', data: part.redactedData }];
            return part.signature
              ? [{ type: 'thinking', thinking: part.text, signature: part.signature }]
              : [];
          default:
            return [
              { type: 'tool_use', id: part.toolCallId, name: part.toolName, input: toolInput(part.input) },
            ];
        }
      });
    case 'tool':
      return message.content.map(
        (part): ToolResultBlockParam => ({
          type: 'tool_result',
          tool_use_id: part.toolCallId,
          content: toolResultContent(part.output),
          ...(part.isError ? { is_error: true } : {}),
        }),
      );
  }
}

/**
 * Anthropic's message list: system messages left out (they go to `system`), tool results as user
 * `tool_result` blocks, consecutive same-role messages merged into one turn (tool results first,
 * as the API requires), and empty or whitespace-only text and messages dropped.
 */
export function toAnthropicMessages(messages: readonly Message[]): MessageParam[] {
  const out: Array<{ role: 'user' | 'assistant'; content: ContentBlockParam[] }> = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = blocksOf(message);
    if (blocks.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  for (const message of out) {
    if (message.role !== 'user') continue;
    const results = message.content.filter((block) => block.type === 'tool_result');
    if (results.length === 0) continue;
    message.content = [...results, ...message.content.filter((block) => block.type !== 'tool_result')];
  }
  return out;
}

function toAnthropicTool(tool: ToolSpec): Tool {
  const schema = { ...tool.inputSchema };
  if (schema.type === undefined) schema.type = 'object';
  return {
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    input_schema: schema as Tool['input_schema'],
  };
}

function toAnthropicToolChoice(choice: ToolChoice): AnthropicToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.toolName };
}

/**
 * Translates a {@link ChatRequest} into the body of Anthropic's `messages.create` (streaming):
 * system prompt in `system`, `max_tokens` always set, tools with `input_schema`, `tool_choice`
 * (`required` becomes `any`), `stop_sequences`, and JSON output through `output_config.format`
 * (with a schema) or a system-prompt instruction (without one).
 */
export function buildAnthropicRequest(
  modelId: string,
  request: Omit<ChatRequest, 'signal'>,
): AnthropicRequestBody {
  const system: string[] = [];
  for (const message of request.messages)
    if (message.role === 'system' && message.content) system.push(message.content);
  const format = request.responseFormat;
  if (format?.type === 'json' && !format.schema) system.push(ANTHROPIC_JSON_INSTRUCTION);

  const body: AnthropicRequestBody = {
    model: modelId,
    max_tokens: request.maxOutputTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages: trimPrefill(toAnthropicMessages(request.messages)),
    stream: true,
  };
  if (system.length > 0) body.system = system.join('\n\n');
  const tools = request.tools ?? [];
  if (tools.length > 0) {
    body.tools = tools.map(toAnthropicTool);
    if (request.toolChoice) body.tool_choice = toAnthropicToolChoice(request.toolChoice);
  }
  // Anthropic refuses an empty or whitespace-only stop sequence ("\n" is a common one for OpenAI
  // models) with a 400 for the whole request; it cannot stop there, so such a sequence is left out.
  const stops = request.stop?.filter((stop) => stop.trim() !== '') ?? [];
  if (stops.length > 0) body.stop_sequences = stops;
  // OpenAI's scale is 0 to 2, Anthropic's 0 to 1 (it refuses more with a 400): clamped.
  if (request.temperature !== undefined) body.temperature = Math.min(1, Math.max(0, request.temperature));
  // Current models refuse both with a 400 ("cannot both be specified"); Anthropic's advice is to
  // alter one of them. The temperature is the one clients set, so it is kept.
  else if (request.topP !== undefined) body.top_p = request.topP;
  if (format?.type === 'json' && format.schema) {
    body.output_config = { format: { type: 'json_schema', schema: format.schema } };
  }
  return body;
}
