import { type AnthropicRejection, invalid, isObject, type Json } from './anthropic-rejection.js';
import {
  type AnthropicThinkingSupport,
  anthropicThinkingSupport,
  checkAnthropicThinking,
} from './anthropic-thinking-rules.js';

export type { AnthropicRejection } from './anthropic-rejection.js';

/** How strict the fake's request checks are. */
export interface AnthropicValidationOptions {
  /** The only accepted `x-api-key` (default: any non-empty key). */
  apiKey?: string;
  /** Accepted `anthropic-version` values (default: any `YYYY-MM-DD` date). */
  versions?: readonly string[];
  /**
   * Accept consecutive messages of the same role (the current API merges them; older versions
   * rejected them). Default false, so adapters that forget to merge are caught.
   */
  allowConsecutiveRoles?: boolean;
  /**
   * Models that refuse `temperature` (other than 1), `top_p` and `top_k` with a 400, as Claude
   * Opus 4.7 does (default: `claude-opus-4-7` and its dated versions).
   */
  samplingDeprecated?: (model: string) => boolean;
  /**
   * The most output tokens a model allows: a larger `max_tokens` is refused with Anthropic's 400
   * that names the maximum (default {@link anthropicMaxOutputTokens}: Claude 3 models 4096, and so on;
   * undefined, as for a made-up test model, allows any).
   */
  maxOutputTokens?: (model: string) => number | undefined;
  /**
   * Which `thinking` configurations a model takes (default {@link anthropicThinkingSupport}: none
   * for Claude 3.5 and older, manual budgets for 3.7 Sonnet to the 4.5 models, both for the 4.6
   * models, adaptive only from Opus 4.7; a model it does not know takes both).
   */
  thinkingSupport?: (model: string) => AnthropicThinkingSupport;
  /**
   * Whether a model takes a prefill (messages that end with an assistant message). Default: every
   * model but Claude 4.6 and later, which answer 400 "This model does not support assistant message
   * prefill".
   */
  prefill?: (model: string) => boolean;
}

/** Claude 4.6 and later took the assistant prefill away (Anthropic's 4.6 breaking changes). */
const NO_PREFILL = /^claude-(opus|sonnet|haiku)-4-[6-9]|^claude-[a-z]+-[5-9]|^claude-mythos/;

/** Output token maximums of Claude models, as Anthropic's models overview lists them. */
const MAX_OUTPUT_TOKENS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^claude-3-(haiku|sonnet|opus)-/, 4096],
  [/^claude-3-5-/, 8192],
  [/^claude-3-7-sonnet/, 64000],
  [/^claude-opus-4-(1-|2025)/, 32000],
  [/^claude-(sonnet|haiku|opus)-4/, 64000],
];

/** The maximum `max_tokens` of a Claude model, or undefined for a model the table does not know. */
export function anthropicMaxOutputTokens(model: string): number | undefined {
  return MAX_OUTPUT_TOKENS.find(([pattern]) => pattern.test(model))?.[1];
}

/** Claude Opus 4.7 took the sampling parameters away (Anthropic's migration guide). */
const SAMPLING_DEPRECATED = (model: string) => /^claude-opus-4-7(-|$)/.test(model);

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Checks the headers the way the API does: key first (401), then the version (400). */
export function checkAnthropicHeaders(
  headers: Record<string, string | string[] | undefined>,
  options: AnthropicValidationOptions,
): AnthropicRejection | undefined {
  const key = header(headers, 'x-api-key');
  const authorization = header(headers, 'authorization');
  if (!key && !authorization) {
    return { status: 401, type: 'authentication_error', message: 'x-api-key header is required' };
  }
  if (options.apiKey !== undefined) {
    const given = key ?? authorization?.replace(/^Bearer\s+/i, '');
    if (given !== options.apiKey)
      return { status: 401, type: 'authentication_error', message: 'invalid x-api-key' };
  }
  const version = header(headers, 'anthropic-version');
  if (!version) return invalid('anthropic-version: header is required');
  const known = options.versions ? options.versions.includes(version) : /^\d{4}-\d{2}-\d{2}$/.test(version);
  if (!known) return invalid(`anthropic-version: invalid version "${version}"`);
  const contentType = header(headers, 'content-type') ?? '';
  if (!contentType.includes('application/json')) return invalid('content-type: must be application/json');
  return undefined;
}

/** What the API says about a message whose text is only whitespace. */
const WHITESPACE_ONLY = 'messages: text content blocks must contain non-whitespace text';

function checkBlock(block: unknown, where: string, role: string): AnthropicRejection | undefined {
  if (!isObject(block) || typeof block.type !== 'string') return invalid(`${where}.type: Field required`);
  switch (block.type) {
    case 'text':
      if (typeof block.text !== 'string') return invalid(`${where}.text: Field required`);
      if (block.text === '') return invalid(`${where}: text content blocks must be non-empty`);
      return undefined;
    case 'image': {
      if (role !== 'user') return invalid(`${where}: image blocks are only allowed in user messages`);
      const source = block.source;
      if (!isObject(source)) return invalid(`${where}.source: Field required`);
      if (source.type === 'base64') {
        if (!['image/jpeg', 'image/png', 'image/gif', 'image/webp'].includes(String(source.media_type))) {
          return invalid(
            `${where}.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`,
          );
        }
        if (typeof source.data !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(source.data)) {
          return invalid(`${where}.source.data: invalid base64 data`);
        }
        return undefined;
      }
      if (source.type === 'url') {
        return typeof source.url === 'string' && /^https?:\/\//.test(source.url)
          ? undefined
          : invalid(`${where}.source.url: must be an http(s) URL`);
      }
      return invalid(
        `${where}.source.type: Input tag '${String(source.type)}' does not match any of the expected tags`,
      );
    }
    case 'thinking':
      if (role !== 'assistant')
        return invalid(`${where}: thinking blocks are only allowed in assistant messages`);
      if (typeof block.thinking !== 'string') return invalid(`${where}.thinking: Field required`);
      if (typeof block.signature !== 'string' || block.signature === '')
        return invalid(`${where}.signature: Field required`);
      return undefined;
    case 'redacted_thinking':
      return typeof block.data === 'string' ? undefined : invalid(`${where}.data: Field required`);
    case 'tool_use':
      if (role !== 'assistant')
        return invalid(`${where}: tool_use blocks are only allowed in assistant messages`);
      if (typeof block.id !== 'string' || block.id === '') return invalid(`${where}.id: Field required`);
      if (typeof block.name !== 'string' || block.name === '')
        return invalid(`${where}.name: Field required`);
      if (!isObject(block.input)) return invalid(`${where}.input: Input should be a valid dictionary`);
      return undefined;
    case 'tool_result': {
      if (role !== 'user') return invalid(`${where}: tool_result blocks are only allowed in user messages`);
      if (typeof block.tool_use_id !== 'string') return invalid(`${where}.tool_use_id: Field required`);
      if (block.is_error !== undefined && typeof block.is_error !== 'boolean') {
        return invalid(`${where}.is_error: Input should be a valid boolean`);
      }
      const content = block.content;
      if (content === undefined || typeof content === 'string') return undefined;
      if (!Array.isArray(content)) return invalid(`${where}.content: Input should be a valid string or list`);
      for (const [index, inner] of content.entries()) {
        const problem = checkBlock(inner, `${where}.content.${index}`, 'user');
        if (problem) return problem;
      }
      return undefined;
    }
    default:
      return invalid(`${where}.type: Input tag '${block.type}' does not match any of the expected tags`);
  }
}

function blocksOf(content: unknown): Json[] {
  return Array.isArray(content) ? (content.filter(isObject) as Json[]) : [];
}

/**
 * Checks a `POST /v1/messages` body the way the API does: required fields, block shapes, role
 * order, and that every `tool_use` is answered by a `tool_result` in the next user message.
 */
export function checkAnthropicBody(
  body: unknown,
  options: AnthropicValidationOptions,
): AnthropicRejection | undefined {
  if (!isObject(body)) return invalid('body: Input should be a valid dictionary');
  if (typeof body.model !== 'string' || body.model === '') return invalid('model: Field required');
  if (body.max_tokens === undefined) return invalid('max_tokens: Field required');
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 0) {
    return invalid('max_tokens: Input should be a valid integer greater than or equal to 0');
  }
  const maximum = (options.maxOutputTokens ?? anthropicMaxOutputTokens)(body.model);
  if (maximum !== undefined && body.max_tokens > maximum) {
    return invalid(
      `max_tokens: ${body.max_tokens} > ${maximum}, which is the maximum allowed number of output tokens for ${body.model}`,
    );
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    return invalid('stream: Input should be a valid boolean');
  if (body.system !== undefined && typeof body.system !== 'string') {
    if (!Array.isArray(body.system)) return invalid('system: Input should be a valid string or list');
    for (const [index, block] of body.system.entries()) {
      if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') {
        return invalid(`system.${index}: Input should be a text block`);
      }
    }
  }
  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((item) => typeof item !== 'string')) {
      return invalid('stop_sequences: Input should be a valid list of strings');
    }
    if (body.stop_sequences.some((item) => item === '')) {
      return invalid('stop_sequences: each stop sequence must be non-empty');
    }
    // "\n" or "\n\n" (common stops for OpenAI models) are refused.
    if (body.stop_sequences.some((item) => item.trim() === '')) {
      return invalid('stop_sequences: each stop sequence must contain non-whitespace');
    }
  }
  if (
    body.temperature !== undefined &&
    (typeof body.temperature !== 'number' || body.temperature < 0 || body.temperature > 1)
  ) {
    return invalid('temperature: Input should be less than or equal to 1');
  }
  if ((options.samplingDeprecated ?? SAMPLING_DEPRECATED)(body.model)) {
    const given =
      body.temperature !== undefined && body.temperature !== 1
        ? 'temperature'
        : ['top_p', 'top_k'].find((name) => body[name] !== undefined);
    if (given) return invalid(`\`${given}\` is deprecated for this model.`);
  }
  // Claude Sonnet 4.5, Haiku 4.5, Opus 4.1 and every model since refuse the two together.
  if (body.temperature !== undefined && body.top_p !== undefined) {
    return invalid('`temperature` and `top_p` cannot both be specified for this model. Please use only one.');
  }
  const toolNames = new Set<string>();
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return invalid('tools: Input should be a valid list');
    for (const [index, tool] of body.tools.entries()) {
      if (!isObject(tool) || typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(tool.name)) {
        return invalid(`tools.${index}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
      }
      if (!isObject(tool.input_schema) || tool.input_schema.type !== 'object') {
        return invalid(`tools.${index}.input_schema.type: Input should be 'object'`);
      }
      if (toolNames.has(tool.name)) return invalid(`tools: Tool names must be unique ("${tool.name}")`);
      toolNames.add(tool.name);
    }
  }
  if (body.tool_choice !== undefined) {
    const choice = body.tool_choice;
    if (!isObject(choice) || !['auto', 'any', 'tool', 'none'].includes(String(choice.type))) {
      return invalid(
        "tool_choice.type: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
      );
    }
    if (choice.type === 'tool' && !toolNames.has(String(choice.name))) {
      return invalid(`tool_choice.name: Tool '${String(choice.name)}' not found in tools`);
    }
    if ((choice.type === 'any' || choice.type === 'tool') && toolNames.size === 0) {
      return invalid('tool_choice: tool_choice may only be specified while providing tools');
    }
  }
  if (body.output_config !== undefined) {
    const config = body.output_config;
    if (!isObject(config)) return invalid('output_config: Input should be a valid dictionary');
    const format = config.format;
    if (
      format !== undefined &&
      format !== null &&
      (!isObject(format) || format.type !== 'json_schema' || !isObject(format.schema))
    ) {
      return invalid("output_config.format: expected {type: 'json_schema', schema: {...}}");
    }
  }
  if (!Array.isArray(body.messages)) return invalid('messages: Field required');
  if (body.messages.length === 0) return invalid('messages: at least one message is required');
  let previousRole: string | undefined;
  let pendingToolUses: string[] = [];
  for (const [index, message] of body.messages.entries()) {
    const where = `messages.${index}`;
    if (!isObject(message)) return invalid(`${where}: Input should be a valid dictionary`);
    const role = message.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') {
      return invalid(`${where}.role: Input should be 'user', 'assistant' or 'system'`);
    }
    const content = message.content;
    const isLastAssistant = index === body.messages.length - 1 && role === 'assistant';
    if (typeof content === 'string') {
      if (content === '' && !isLastAssistant) {
        return invalid(
          `${where}: all messages must have non-empty content except for the optional final assistant message`,
        );
      }
      if (content.trim() === '' && !isLastAssistant) return invalid(WHITESPACE_ONLY);
    } else if (Array.isArray(content)) {
      if (content.length === 0 && !isLastAssistant) {
        return invalid(
          `${where}: all messages must have non-empty content except for the optional final assistant message`,
        );
      }
      for (const [blockIndex, block] of content.entries()) {
        const problem = checkBlock(block, `${where}.content.${blockIndex}`, role);
        if (problem) return problem;
      }
      // Text blocks that are all whitespace, with nothing else in the message, are refused (a
      // whitespace block next to real text is accepted).
      const whitespaceOnly = content.every(
        (block) => isObject(block) && block.type === 'text' && String(block.text).trim() === '',
      );
      if (whitespaceOnly && content.length > 0 && !isLastAssistant) return invalid(WHITESPACE_ONLY);
    } else {
      return invalid(`${where}.content: Input should be a valid string or list`);
    }
    if (role === 'system') continue;
    if (!options.allowConsecutiveRoles && role === previousRole) {
      return invalid(
        `${where}: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`,
      );
    }
    const blocks = blocksOf(content);
    const results = blocks.filter((block) => block.type === 'tool_result');
    if (pendingToolUses.length > 0) {
      const answered = new Set(results.map((block) => String(block.tool_use_id)));
      const missing = pendingToolUses.filter((id) => !answered.has(id));
      if (role !== 'user' || missing.length > 0) {
        return invalid(
          `${where}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ') || pendingToolUses.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
      const firstOther = blocks.findIndex((block) => block.type !== 'tool_result');
      if (firstOther !== -1 && blocks.slice(firstOther).some((block) => block.type === 'tool_result')) {
        return invalid(
          `${where}: tool_result blocks must come first in the content array, before any other blocks`,
        );
      }
    }
    const expected = new Set(pendingToolUses);
    for (const result of results) {
      if (!expected.has(String(result.tool_use_id))) {
        return invalid(
          `${where}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(result.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
        );
      }
    }
    pendingToolUses =
      role === 'assistant'
        ? blocks.filter((block) => block.type === 'tool_use').map((block) => String(block.id))
        : [];
    previousRole = role;
  }
  const prefill = checkPrefill(body, options.prefill ?? ((model) => !NO_PREFILL.test(model)));
  return prefill ?? checkAnthropicThinking(body, options.thinkingSupport ?? anthropicThinkingSupport);
}

/**
 * A final assistant message (a prefill, which Claude continues): refused by a model without
 * prefill, and refused when its text ends with whitespace.
 */
function checkPrefill(body: Json, takesPrefill: (model: string) => boolean): AnthropicRejection | undefined {
  const last = (body.messages as unknown[]).at(-1);
  if (!isObject(last) || last.role !== 'assistant') return undefined;
  if (!takesPrefill(String(body.model))) {
    return invalid(
      'This model does not support assistant message prefill. The conversation must end with a user message.',
    );
  }
  const blocks = blocksOf(last.content);
  const text =
    typeof last.content === 'string' ? last.content : blocks.findLast((block) => block.type === 'text')?.text;
  if (typeof text === 'string' && text !== '' && text !== text.trimEnd()) {
    return invalid('messages: final assistant content cannot end with trailing whitespace');
  }
  return undefined;
}
