/**
 * The message model every part of HAIA speaks (DESIGN.md section 2). The store persists these as
 * JSON, the agent loops over them, and the API translates them to and from the OpenAI wire format.
 */

/** Plain text. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** An image given by URL (`https://…` or a `data:` URL). */
export interface ImageUrlPart {
  type: 'image';
  url: string;
}

/** An image given as base64 bytes with its media type (`image/png`, `image/jpeg`, …). */
export interface ImageDataPart {
  type: 'image';
  data: string;
  mediaType: string;
}

/** An image part: by URL or by bytes. */
export type ImagePart = ImageUrlPart | ImageDataPart;

/** Reasoning ("thinking") the model produced. `signature` lets Anthropic verify it when sent back. */
export interface ReasoningPart {
  type: 'reasoning';
  text: string;
  signature?: string;
  /**
   * Reasoning the provider encrypted (Anthropic's `redacted_thinking`), opaque, with `text` empty:
   * sent back as it came, since Anthropic refuses a tool round trip that leaves it out.
   */
  redactedData?: string;
}

/** A call the model made to a tool, with its parsed input. */
export interface ToolCallPart {
  type: 'tool-call';
  toolCallId: string;
  toolName: string;
  input: unknown;
}

/** The result of one tool call, naming the call it answers. `output` is text or any JSON value. */
export interface ToolResultPart {
  type: 'tool-result';
  toolCallId: string;
  toolName: string;
  output: unknown;
  isError?: boolean;
}

/** Instructions for the model. Providers place it where their API wants it. */
export interface SystemMessage {
  role: 'system';
  content: string;
}

/** What the user said: text, or text and image parts. */
export interface UserMessage {
  role: 'user';
  content: string | Array<TextPart | ImagePart>;
}

/** What the model answered: text, reasoning and tool calls, in order. */
export interface AssistantMessage {
  role: 'assistant';
  content: string | Array<TextPart | ReasoningPart | ToolCallPart>;
}

/** Results of the tool calls of the preceding assistant message. */
export interface ToolMessage {
  role: 'tool';
  content: ToolResultPart[];
}

/** One message of a conversation. */
export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A message's role. */
export type Role = Message['role'];

/** JSON Schema, as tools and structured output describe their shapes. */
export type JsonSchema = Record<string, unknown>;

/** A tool the model may call. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the input object. */
  inputSchema: JsonSchema;
}

/** Whether and which tool the model must call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'tool'; toolName: string };

/** The text of a message's content, with non-text parts left out. */
export function messageText(message: Message): string {
  if (typeof message.content === 'string') return message.content;
  let text = '';
  for (const part of message.content) if (part.type === 'text') text += part.text;
  return text;
}
