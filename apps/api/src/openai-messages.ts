import type { ModelSettings } from '@haia/agent';
import type {
  AssistantMessage,
  ImagePart,
  Message,
  ReasoningEffort,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolMessage,
  ToolSpec,
} from '@haia/llm';
import { type ChatCompletionRequest, type OpenAiMessage, REASONING_EFFORTS } from './request-schema.js';

type OpenAiContent = OpenAiMessage['content'];

/** The text of a message's content; several text parts are separate lines, as the client wrote them apart. */
function contentText(content: OpenAiContent): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  let text = '';
  let first = true;
  for (const part of content) {
    if (typeof part.text !== 'string') continue;
    text += first ? part.text : `\n${part.text}`;
    first = false;
  }
  return text;
}

function userContent(content: OpenAiContent): string | Array<TextPart | ImagePart> {
  if (typeof content === 'string') return content;
  if (!content) return '';
  const parts: Array<TextPart | ImagePart> = [];
  let onlyText = true;
  for (const part of content) {
    if (part.type === 'image_url' && part.image_url !== undefined) {
      onlyText = false;
      parts.push({
        type: 'image',
        url: typeof part.image_url === 'string' ? part.image_url : part.image_url.url,
      });
    } else if (typeof part.text === 'string') {
      parts.push({ type: 'text', text: part.text });
    }
  }
  return onlyText ? contentText(content) : parts;
}

/**
 * A tool block of OpenWebUI 0.6 as its frontend resends it: `processDetails` replaces each
 * `<details type="tool_calls" … result="…">` block it showed by `"<result>"`, the result JSON-encoded
 * and HTML-escaped (so it has no `"` or line break of its own), on a line of its own.
 */
const OPENWEBUI_RESENT_TOOL_BLOCK = /(^|\n)"&quot;[^"\n]*&quot;"(?=\n|$)/g;

/**
 * The text of an answer the client resends, without OpenWebUI 0.6's resent tool blocks: the call
 * and its result are stored (and go to the model) as the tool messages they were, and the text
 * then matches the stored answer instead of branching off it.
 */
function resentAnswerText(text: string): string {
  return text.includes('"&quot;') ? text.replace(OPENWEBUI_RESENT_TOOL_BLOCK, '$1') : text;
}

function parseArguments(text: string | null | undefined): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Translates OpenAI chat messages into HAIA's message model: `developer` becomes `system`, tool
 * results name their call's tool, consecutive `tool` messages become one tool message, and an
 * answer's text loses the tool blocks OpenWebUI 0.6 rewrites into it.
 */
export function fromOpenAiMessages(messages: readonly OpenAiMessage[]): Message[] {
  const result: Message[] = [];
  const toolNames = new Map<string, string>();
  let pendingTool: ToolMessage | undefined;
  for (const message of messages) {
    if (message.role !== 'tool') pendingTool = undefined;
    switch (message.role) {
      case 'system':
      case 'developer':
        result.push({ role: 'system', content: contentText(message.content) });
        break;
      case 'user':
        result.push({ role: 'user', content: userContent(message.content) });
        break;
      case 'assistant': {
        // A refusal is stored as the answer's text (after any partial text): resent, it matches it.
        const shown = resentAnswerText(contentText(message.content));
        const text = message.refusal ? shown + message.refusal : shown;
        if (!message.tool_calls?.length) {
          result.push({ role: 'assistant', content: text });
          break;
        }
        const parts: AssistantMessage['content'] = [];
        if (text) parts.push({ type: 'text', text });
        for (const call of message.tool_calls) {
          toolNames.set(call.id, call.function.name);
          parts.push({
            type: 'tool-call',
            toolCallId: call.id,
            toolName: call.function.name,
            input: parseArguments(call.function.arguments),
          });
        }
        result.push({ role: 'assistant', content: parts });
        break;
      }
      case 'tool': {
        const part = {
          type: 'tool-result' as const,
          toolCallId: message.tool_call_id,
          toolName: toolNames.get(message.tool_call_id) ?? 'unknown',
          output: contentText(message.content),
        };
        if (pendingTool) pendingTool.content.push(part);
        else {
          pendingTool = { role: 'tool', content: [part] };
          result.push(pendingTool);
        }
        break;
      }
    }
  }
  return result;
}

/** The client's `tools` as HAIA tool specs; `[]` or absent means none. */
export function fromOpenAiTools(tools: ChatCompletionRequest['tools']): ToolSpec[] {
  if (!tools?.length) return [];
  return tools.map((tool) => ({
    name: tool.function.name,
    description: tool.function.description ?? '',
    inputSchema: tool.function.parameters ?? { type: 'object', properties: {} },
  }));
}

/** The client's `tool_choice` in HAIA's terms. */
export function fromOpenAiToolChoice(choice: ChatCompletionRequest['tool_choice']): ToolChoice | undefined {
  if (!choice) return undefined;
  if (typeof choice === 'string') return choice;
  return { type: 'tool', toolName: choice.function.name };
}

/**
 * The request's settings for the model calls of its turn: the agent's `ModelSettings`, so a setting
 * the API passes cannot be dropped on the way to an agent run.
 */
export type ModelParameters = ModelSettings;

/**
 * The model parameters of a request: token limit, sampling, stop sequences, response format, and
 * `wholeAnswer` for a client that did not ask for a stream.
 */
export function modelParameters(request: ChatCompletionRequest): ModelParameters {
  const parameters: ModelParameters = {};
  // A JSON client needs only the finished answer: openai-compatible then asks for one too.
  if (request.stream !== true) parameters.wholeAnswer = true;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens) parameters.maxOutputTokens = maxTokens;
  if (request.temperature !== undefined && request.temperature !== null)
    parameters.temperature = request.temperature;
  if (request.top_p !== undefined && request.top_p !== null) parameters.topP = request.top_p;
  if (request.stop) parameters.stop = typeof request.stop === 'string' ? [request.stop] : request.stop;
  if (typeof request.seed === 'number') parameters.seed = request.seed;
  if (typeof request.frequency_penalty === 'number') parameters.frequencyPenalty = request.frequency_penalty;
  if (typeof request.presence_penalty === 'number') parameters.presencePenalty = request.presence_penalty;
  const effort = request.reasoning_effort ?? effortOf(request.reasoning);
  if (effort) parameters.reasoningEffort = effort;
  const format = request.response_format;
  if (format && format.type !== 'text') {
    parameters.responseFormat = {
      type: 'json',
      ...(format.json_schema?.schema ? { schema: format.json_schema.schema } : {}),
      ...(format.json_schema?.name ? { name: format.json_schema.name } : {}),
      ...(format.json_schema?.description ? { description: format.json_schema.description } : {}),
      ...(typeof format.json_schema?.strict === 'boolean' ? { strict: format.json_schema.strict } : {}),
    };
  }
  return parameters;
}

/** The effort of a `reasoning: { effort }` object, when it is one HAIA knows. */
function effortOf(reasoning: unknown): ReasoningEffort | undefined {
  if (typeof reasoning !== 'object' || reasoning === null) return undefined;
  const effort = (reasoning as { effort?: unknown }).effort;
  return (REASONING_EFFORTS as readonly unknown[]).includes(effort) ? (effort as ReasoningEffort) : undefined;
}

/** OpenAI `tool_calls` of a message for the client's own tools. */
export function toOpenAiToolCalls(calls: readonly Pick<ToolCallPart, 'toolCallId' | 'toolName' | 'input'>[]) {
  return calls.map((call, index) => ({
    index,
    id: call.toolCallId,
    type: 'function' as const,
    function: {
      name: call.toolName,
      arguments: typeof call.input === 'string' ? call.input : JSON.stringify(call.input ?? {}),
    },
  }));
}
