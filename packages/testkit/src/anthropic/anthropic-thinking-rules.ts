import { type AnthropicRejection, invalid, isObject, type Json } from './anthropic-rejection.js';

/**
 * Which thinking configurations a model takes: `none` (Claude 3.5 and older), `manual` only
 * (`{ type: 'enabled', budget_tokens }`: Claude 3.7 Sonnet to the 4.5 models), `both` (the 4.6
 * models, where manual is deprecated but still works) or `adaptive` only (`{ type: 'adaptive' }`
 * with `output_config.effort`: Claude Opus 4.7 and later).
 */
export type AnthropicThinkingSupport = 'none' | 'manual' | 'both' | 'adaptive';

/** Thinking support of Claude models, as Anthropic's thinking docs list it. */
const THINKING_SUPPORT: ReadonlyArray<readonly [RegExp, AnthropicThinkingSupport]> = [
  [/^claude-3-7-sonnet/, 'manual'],
  [/^claude-(2|instant|3-)/, 'none'],
  [/^claude-(opus|sonnet)-4-6/, 'both'],
  [/^claude-(opus|sonnet|haiku)-4-[0-5](-|$)|^claude-(opus|sonnet)-4(-2025|$)/, 'manual'],
  [/^claude-[a-z]+-(4-[7-9]|[5-9])|^claude-mythos/, 'adaptive'],
];

/**
 * The thinking support of a Claude model; a model the table does not know (a test's made-up name)
 * takes both.
 */
export function anthropicThinkingSupport(model: string): AnthropicThinkingSupport {
  return THINKING_SUPPORT.find(([pattern]) => pattern.test(model))?.[1] ?? 'both';
}

const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'];

/**
 * Checks `thinking` and `output_config.effort` the way the API does, after the body's other checks:
 * the configuration's shape, the model's support, a budget of at least 1024 below `max_tokens`, no
 * sampling values or forced tool use while thinking, and a tool loop's last assistant message
 * starting with its thinking block.
 */
export function checkAnthropicThinking(
  body: Json,
  support: (model: string) => AnthropicThinkingSupport,
): AnthropicRejection | undefined {
  const effort = isObject(body.output_config) ? body.output_config.effort : undefined;
  if (effort !== undefined && effort !== null && !EFFORTS.includes(String(effort))) {
    return invalid(`output_config.effort: Input should be ${EFFORTS.map((name) => `'${name}'`).join(', ')}`);
  }
  const thinking = body.thinking;
  if (thinking === undefined || thinking === null) return undefined;
  const model = String(body.model);
  if (
    !isObject(thinking) ||
    !['enabled', 'disabled', 'adaptive', 'between_tools'].includes(String(thinking.type))
  ) {
    return invalid(
      "thinking.type: Input tag does not match any of the expected tags: 'enabled', 'disabled', 'adaptive', 'between_tools'",
    );
  }
  if (thinking.type === 'disabled') return undefined;
  const supported = support(model);
  if (supported === 'none') return invalid(`'${model}' does not support thinking.`);
  if (thinking.type === 'enabled') {
    if (supported === 'adaptive') {
      return invalid(
        '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
      );
    }
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || !Number.isInteger(budget)) {
      return invalid('thinking.enabled.budget_tokens: Field required');
    }
    if (budget < 1024) {
      return invalid('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
    }
    if (typeof body.max_tokens === 'number' && body.max_tokens <= budget) {
      return invalid(
        '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size',
      );
    }
  } else if (thinking.type === 'adaptive' && supported === 'manual') {
    return invalid('adaptive thinking is not supported on this model');
  }
  if (body.temperature !== undefined && body.temperature !== 1) {
    return invalid(
      '`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility',
    );
  }
  if (typeof body.top_p === 'number' && body.top_p < 0.95) {
    return invalid('`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.');
  }
  if (body.top_k !== undefined) return invalid('`top_k` cannot be set when thinking is enabled.');
  const choice = isObject(body.tool_choice) ? body.tool_choice.type : undefined;
  if (choice === 'any' || choice === 'tool') {
    return invalid('Thinking may not be enabled when tool_choice forces tool use.');
  }
  return checkToolLoopStartsWithThinking(body.messages as unknown[]);
}

/**
 * While thinking, the assistant message that a request continues (the last one, when only tool
 * results follow it) must start with a thinking block: the thinking that led to its tool calls.
 */
function checkToolLoopStartsWithThinking(messages: unknown[]): AnthropicRejection | undefined {
  const last = messages.at(-1);
  if (!isObject(last) || last.role !== 'user' || !Array.isArray(last.content)) return undefined;
  if (!last.content.some((block) => isObject(block) && block.type === 'tool_result')) return undefined;
  const index = messages.length - 2;
  const assistant = messages[index];
  if (!isObject(assistant) || !Array.isArray(assistant.content)) return undefined;
  const first = assistant.content[0];
  const type = isObject(first) ? String(first.type) : 'text';
  if (type === 'thinking' || type === 'redacted_thinking') return undefined;
  return invalid(
    `messages.${index}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`,
  );
}
