import type {
  ChatCompletionContentPart,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ChatRequest } from '../language-model.js';
import type { Message, ToolChoice } from '../message.js';

/** Options of {@link toOpenAIRequest}. */
export interface OpenAIRequestOptions {
  /** `max_completion_tokens` (OpenAI) or the older `max_tokens` most compatible servers know. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

/** Translates a {@link ChatRequest} into a streaming Chat Completions body. */
export function toOpenAIRequest(
  modelId: string,
  request: Omit<ChatRequest, 'signal'>,
  options: OpenAIRequestOptions,
): ChatCompletionCreateParamsStreaming {
  const body: ChatCompletionCreateParamsStreaming = {
    model: modelId,
    messages: request.messages.flatMap(toOpenAIMessages),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.tools?.length) {
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
    }));
  }
  // Without tools OpenAI refuses a tool_choice (400 "only allowed when 'tools' are specified"), vLLM too.
  if (request.toolChoice !== undefined && body.tools)
    body.tool_choice = toOpenAIToolChoice(request.toolChoice);
  if (request.maxOutputTokens !== undefined) body[options.maxTokensField] = request.maxOutputTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop?.length) body.stop = request.stop;
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.frequencyPenalty !== undefined) body.frequency_penalty = request.frequencyPenalty;
  if (request.presencePenalty !== undefined) body.presence_penalty = request.presencePenalty;
  if (request.reasoningEffort !== undefined) body.reasoning_effort = request.reasoningEffort;
  const format = request.responseFormat;
  if (format?.type === 'json') {
    body.response_format = format.schema
      ? {
          type: 'json_schema',
          json_schema: {
            name: format.name ?? 'response',
            schema: format.schema,
            ...(format.description !== undefined ? { description: format.description } : {}),
            ...(format.strict !== undefined ? { strict: format.strict } : {}),
          },
        }
      : { type: 'json_object' };
  }
  return body;
}

function toOpenAIToolChoice(choice: ToolChoice): ChatCompletionToolChoiceOption {
  if (typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.toolName } };
}

/** One of our messages as OpenAI messages (a tool message becomes one `tool` message per result). */
export function toOpenAIMessages(message: Message): ChatCompletionMessageParam[] {
  switch (message.role) {
    case 'system':
      return [{ role: 'system', content: message.content }];
    case 'user': {
      if (typeof message.content === 'string') return [{ role: 'user', content: message.content }];
      const content: ChatCompletionContentPart[] = message.content.map((part) => {
        if (part.type === 'text') return { type: 'text', text: part.text };
        const url = 'url' in part ? part.url : `data:${part.mediaType};base64,${part.data}`;
        return { type: 'image_url', image_url: { url } };
      });
      return [{ role: 'user', content }];
    }
    case 'assistant': {
      if (typeof message.content === 'string') return [{ role: 'assistant', content: message.content }];
      let text = '';
      const toolCalls: Array<{
        id: string;
        type: 'function';
        function: { name: string; arguments: string };
      }> = [];
      for (const part of message.content) {
        if (part.type === 'text') text += part.text;
        else if (part.type === 'tool-call') {
          toolCalls.push({
            id: part.toolCallId,
            type: 'function',
            // Arguments that were not JSON were kept as their text: sent back as the model wrote them.
            function: {
              name: part.toolName,
              arguments: typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? {}),
            },
          });
        }
        // Reasoning is not sent back: Chat Completions has no field for it.
      }
      return [
        {
          role: 'assistant',
          content: text === '' && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
      ];
    }
    case 'tool':
      return message.content.map((result) => {
        const output =
          typeof result.output === 'string' ? result.output : JSON.stringify(result.output ?? null);
        return {
          role: 'tool' as const,
          tool_call_id: result.toolCallId,
          content: result.isError ? `Error: ${output}` : output,
        };
      });
  }
}
