import { z } from 'zod';
import { ApiError } from './api-error.js';

const ContentPartSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  image_url: z.union([z.string(), z.looseObject({ url: z.string() })]).optional(),
});

const ContentSchema = z.union([z.string(), z.array(ContentPartSchema)]).nullish();

const ToolCallSchema = z.object({
  id: z.string(),
  type: z.string().optional(),
  function: z.object({ name: z.string(), arguments: z.string().nullish() }),
});

const MessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: ContentSchema, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: ContentSchema, name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: ContentSchema,
    name: z.string().optional(),
    tool_calls: z.array(ToolCallSchema).nullish(),
    reasoning_content: z.string().nullish(),
    /** A refusal HAIA (or OpenAI) sent, resent by the client with `content: null`. */
    refusal: z.string().nullish(),
  }),
  z.object({ role: z.literal('tool'), content: ContentSchema, tool_call_id: z.string() }),
]);

const ClientToolSchema = z.object({
  type: z.string().optional(),
  function: z.object({
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
  }),
});

const ToolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.string().optional(), function: z.object({ name: z.string() }) }),
]);

const ResponseFormatSchema = z.object({
  type: z.enum(['text', 'json_object', 'json_schema']),
  json_schema: z
    .object({
      name: z.string().optional(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    })
    .optional(),
});

/** OpenAI's `reasoning_effort` values. */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;

/**
 * The body of `POST /v1/chat/completions`, as lenient as OpenAI's: unknown fields are dropped,
 * `user` may be a string or an object (OpenWebUI pipelines), `tools: []` means no tools.
 */
export const ChatCompletionRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.number().int().min(1).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  seed: z.number().int().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  reasoning_effort: z.enum(REASONING_EFFORTS).nullish(),
  /** LibreChat's and OpenRouter's form, `{ effort }`: read when it names a known effort, else ignored. */
  reasoning: z.unknown().optional(),
  response_format: ResponseFormatSchema.nullish(),
  tools: z.array(ClientToolSchema).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  user: z.union([z.string(), z.looseObject({ id: z.unknown().optional() })]).nullish(),
});

/** A validated chat request. */
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;
/** One message of a validated chat request. */
export type OpenAiMessage = ChatCompletionRequest['messages'][number];

/**
 * Parses a request body into a {@link ChatCompletionRequest}; throws a 400 {@link ApiError} naming
 * the first bad field (`param`) for anything else.
 */
export function parseChatRequest(body: string): ChatCompletionRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ApiError({
      status: 400,
      message: 'The request body is not valid JSON. Send a JSON object (Content-Type: application/json).',
      code: 'invalid_json',
    });
  }
  const result = ChatCompletionRequestSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const param = issue ? formatPath(issue.path) : null;
    throw new ApiError({
      status: 400,
      message: issue
        ? `Invalid request: ${param ? `${param}: ` : ''}${issue.message}.`
        : 'Invalid request body.',
      param,
      code: 'invalid_value',
    });
  }
  const request = result.data;
  if (request.n !== undefined && request.n !== null && request.n > 1) {
    throw new ApiError({
      status: 400,
      message: 'HAIA answers with one choice per request: n must be 1 (or left out).',
      param: 'n',
      code: 'unsupported_value',
    });
  }
  refuseUnreadableParts(request.messages);
  return request;
}

/** The content parts of a user message HAIA passes on: text and images. */
const USER_PART_TYPES = new Set(['text', 'image_url']);

/**
 * A 400 for a user message part HAIA cannot pass on (audio, files): dropped silently, the model
 * would answer as if the user had not sent it.
 */
function refuseUnreadableParts(messages: readonly OpenAiMessage[]): void {
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as OpenAiMessage;
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    const position = message.content.findIndex((part) => !USER_PART_TYPES.has(part.type));
    if (position === -1) continue;
    const type = (message.content[position] as { type: string }).type;
    throw new ApiError({
      status: 400,
      message: `HAIA cannot pass content parts of type "${type}" to the model yet (messages[${index}].content[${position}]): send text and image_url parts.`,
      param: `messages[${index}].content[${position}].type`,
      code: 'unsupported_value',
    });
  }
}

function formatPath(path: readonly PropertyKey[]): string | null {
  let text = '';
  for (const key of path)
    text += typeof key === 'number' ? `[${key}]` : text ? `.${String(key)}` : String(key);
  return text || null;
}
