import type { ChatRequest, ReasoningEffort } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import type { ImagePart, Message } from '../message.js';

/** Prefix of tool-call ids HAIA made up because Ollama sent none; they are not echoed back. */
export const OLLAMA_GENERATED_ID_PREFIX = 'ollama-call-';

/** How hard an Ollama thinking model should think; `true`/`false` for models without levels. */
export type OllamaThink = boolean | 'low' | 'medium' | 'high';

/** Ollama-only request fields. */
export interface OllamaRequestOptions {
  think?: OllamaThink | undefined;
  keepAlive?: string | number | undefined;
}

/** One message of `/api/chat`. */
export interface OllamaWireMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  images?: string[];
  thinking?: string;
  tool_calls?: Array<{ id?: string; function: { name: string; arguments: Record<string, unknown> } }>;
  tool_name?: string;
  tool_call_id?: string;
}

/** The `/api/chat` body. */
export interface OllamaChatBody {
  model: string;
  messages: OllamaWireMessage[];
  stream: boolean;
  tools?: Array<{ type: 'function'; function: { name: string; description: string; parameters: unknown } }>;
  format?: 'json' | Record<string, unknown>;
  think?: OllamaThink;
  keep_alive?: string | number;
  options?: {
    temperature?: number;
    top_p?: number;
    stop?: string[];
    num_predict?: number;
    seed?: number;
    frequency_penalty?: number;
    presence_penalty?: number;
  };
}

/** Ollama's `think` for a request's reasoning effort: levels where Ollama has them, off for `none`. */
const THINK_FOR_EFFORT: Record<ReasoningEffort, OllamaThink> = {
  none: false,
  minimal: 'low',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
};

const DATA_URL = /^data:([^;,]+)?(;base64)?,(.*)$/s;

/**
 * Translates a chat request into an `/api/chat` body: system prompts stay `system` messages, images
 * go base64 in `images`, tool results become `tool` messages naming the tool.
 */
export function toOllamaBody(
  modelId: string,
  request: Omit<ChatRequest, 'signal'>,
  options: OllamaRequestOptions = {},
): OllamaChatBody {
  const messages: OllamaWireMessage[] = [];
  for (const message of request.messages) messages.push(...toWireMessages(message, modelId));
  const body: OllamaChatBody = { model: modelId, messages, stream: true };

  const choice = request.toolChoice ?? 'auto';
  let tools = request.tools ?? [];
  if (choice === 'none') tools = [];
  else if (typeof choice === 'object') tools = tools.filter((tool) => tool.name === choice.toolName);
  if (tools.length > 0) {
    body.tools = tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
    }));
  }
  if (request.responseFormat?.type === 'json') body.format = request.responseFormat.schema ?? 'json';
  // The request's effort overrides the model's configured `think`.
  const think =
    request.reasoningEffort !== undefined ? THINK_FOR_EFFORT[request.reasoningEffort] : options.think;
  if (think !== undefined) body.think = think;
  if (options.keepAlive !== undefined) body.keep_alive = options.keepAlive;
  const modelOptions: NonNullable<OllamaChatBody['options']> = {};
  if (request.temperature !== undefined) modelOptions.temperature = request.temperature;
  if (request.topP !== undefined) modelOptions.top_p = request.topP;
  if (request.stop && request.stop.length > 0) modelOptions.stop = request.stop;
  if (request.maxOutputTokens !== undefined) modelOptions.num_predict = request.maxOutputTokens;
  if (request.seed !== undefined) modelOptions.seed = request.seed;
  if (request.frequencyPenalty !== undefined) modelOptions.frequency_penalty = request.frequencyPenalty;
  if (request.presencePenalty !== undefined) modelOptions.presence_penalty = request.presencePenalty;
  if (Object.keys(modelOptions).length > 0) body.options = modelOptions;
  return body;
}

function toWireMessages(message: Message, modelId: string): OllamaWireMessage[] {
  switch (message.role) {
    case 'system':
      return [{ role: 'system', content: message.content }];
    case 'user': {
      if (typeof message.content === 'string') return [{ role: 'user', content: message.content }];
      let content = '';
      const images: string[] = [];
      for (const part of message.content) {
        if (part.type === 'text') content += part.text;
        else images.push(imageBase64(part, modelId));
      }
      return [{ role: 'user', content, ...(images.length > 0 ? { images } : {}) }];
    }
    case 'assistant': {
      if (typeof message.content === 'string') return [{ role: 'assistant', content: message.content }];
      let content = '';
      let thinking = '';
      const calls: NonNullable<OllamaWireMessage['tool_calls']> = [];
      for (const part of message.content) {
        if (part.type === 'text') content += part.text;
        else if (part.type === 'reasoning') thinking += part.text;
        else {
          calls.push({
            ...(part.toolCallId.startsWith(OLLAMA_GENERATED_ID_PREFIX) ? {} : { id: part.toolCallId }),
            function: { name: part.toolName, arguments: asObject(part.input) },
          });
        }
      }
      return [
        {
          role: 'assistant',
          content,
          ...(thinking ? { thinking } : {}),
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
      ];
    }
    case 'tool':
      return message.content.map((result) => ({
        role: 'tool' as const,
        // Ollama has no error flag: say it in the text, as the OpenAI mapping does.
        content: `${result.isError ? 'Error: ' : ''}${toolOutputText(result.output)}`,
        tool_name: result.toolName,
        ...(result.toolCallId.startsWith(OLLAMA_GENERATED_ID_PREFIX)
          ? {}
          : { tool_call_id: result.toolCallId }),
      }));
  }
}

function toolOutputText(output: unknown): string {
  if (typeof output === 'string') return output;
  return JSON.stringify(output ?? null);
}

/** Ollama takes images as bare base64; `data:` URLs are unwrapped, other URLs are refused. */
function imageBase64(part: ImagePart, modelId: string): string {
  if ('data' in part) return part.data;
  const data = DATA_URL.exec(part.url);
  if (data) {
    const [, , base64, payload = ''] = data;
    return base64 ? payload : Buffer.from(decodeURIComponent(payload), 'utf8').toString('base64');
  }
  throw new LlmError({
    code: 'invalid-request',
    message:
      'Ollama takes images as bytes, not URLs: pass the image as { type: "image", data, mediaType } or a data: URL.',
    provider: 'ollama',
    model: modelId,
    retryable: false,
  });
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  if (value === undefined) return {};
  return { value };
}
