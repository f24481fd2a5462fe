import type { ChatRequest, ReasoningEffort } from '../language-model.js';
import type { Logger } from '../logger.js';
import type { AnthropicRequestBody } from './anthropic-request.js';

/**
 * How a Claude model is asked to think: `adaptive` (`thinking: { type: 'adaptive' }` with
 * `output_config.effort`: Claude 4.6 and later, the only way from Opus 4.7), `manual` (a
 * `budget_tokens` budget: Claude 3.7 Sonnet to the 4.5 models) or `none` (the model cannot think).
 */
export type ThinkingMode = 'adaptive' | 'manual' | 'none';

/** Models that take adaptive thinking: the 4.6 models and every later one. */
const ADAPTIVE_MODEL = /^claude-(opus|sonnet|haiku)-4-([6-9])|^claude-[a-z]+-[5-9]|^claude-mythos/;

/** The mode a model is first asked in: adaptive where the name says it takes it, else manual. */
export function initialThinkingMode(modelId: string): ThinkingMode {
  return ADAPTIVE_MODEL.test(modelId) ? 'adaptive' : 'manual';
}

type Effort = Exclude<ReasoningEffort, 'none'>;

/** Manual thinking budgets per effort (Anthropic's minimum budget is 1024). */
export const ANTHROPIC_THINKING_BUDGETS: Readonly<Record<Effort, number>> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16_384,
  xhigh: 32_768,
};

/** `output_config.effort` per effort in adaptive mode (Anthropic's lowest is `low`). */
const ADAPTIVE_EFFORTS: Readonly<Record<Effort, 'low' | 'medium' | 'high' | 'xhigh'>> = {
  minimal: 'low',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'xhigh',
};

/**
 * Whether a request can think: Anthropic refuses thinking with a forced tool call or a prefill, and
 * while thinking, a tool loop's assistant message must start with the thinking that led to its calls
 * (a history from a client or another model has none): such a request goes without thinking.
 */
function canThink(request: Omit<ChatRequest, 'signal'>, body: AnthropicRequestBody): boolean {
  if (request.toolChoice === 'required' || typeof request.toolChoice === 'object') return false;
  const last = body.messages.at(-1);
  // A prefill (the answer so far, to continue) cannot be thought about.
  if (last?.role === 'assistant') return false;
  if (last?.role !== 'user' || typeof last.content === 'string') return true;
  if (!last.content.some((block) => block.type === 'tool_result')) return true;
  const assistant = body.messages.at(-2);
  const first = assistant && typeof assistant.content !== 'string' ? assistant.content[0] : undefined;
  return first?.type === 'thinking' || first?.type === 'redacted_thinking';
}

/**
 * `body` asking the model to think at `effort` in `mode`: adaptive thinking with the effort, or a
 * budget added on top of `max_tokens` (thinking counts toward it, and the answer keeps its share).
 * Thinking takes no sampling values (only the default temperature), so `temperature` and `top_p`
 * are left out. Unchanged for `none` (the model's default, no thinking), the `none` mode, and a
 * request that cannot think.
 */
export function withThinking(
  body: AnthropicRequestBody,
  request: Omit<ChatRequest, 'signal'>,
  mode: ThinkingMode,
): AnthropicRequestBody {
  const effort = request.reasoningEffort;
  if (effort === undefined || effort === 'none' || mode === 'none' || !canThink(request, body)) return body;
  const { temperature: _temperature, top_p: _topP, ...rest } = body;
  const budget = ANTHROPIC_THINKING_BUDGETS[effort];
  const thinking: AnthropicRequestBody = { ...rest, max_tokens: body.max_tokens + budget };
  if (mode === 'manual') return { ...thinking, thinking: { type: 'enabled', budget_tokens: budget } };
  return {
    ...thinking,
    // Opus 4.7 and later leave the thinking text out unless asked: the client shows it as reasoning.
    thinking: { type: 'adaptive', display: 'summarized' },
    output_config: { ...body.output_config, effort: ADAPTIVE_EFFORTS[effort] },
  };
}

/** `body` with `max_tokens` at `limit`, and a manual budget kept below it (or no thinking). */
export function withThinkingLimit(body: AnthropicRequestBody, limit: number): AnthropicRequestBody {
  const thinking = body.thinking;
  if (thinking?.type !== 'enabled' || thinking.budget_tokens < limit) return { ...body, max_tokens: limit };
  const budget = Math.floor(limit / 2);
  if (budget < 1024) {
    const { thinking: _thinking, ...rest } = body;
    return { ...rest, max_tokens: limit };
  }
  return { ...body, max_tokens: limit, thinking: { ...thinking, budget_tokens: budget } };
}

/**
 * The mode a 400 from Anthropic says to ask in instead, or undefined for any other error:
 * "\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\"…"
 * (adaptive), "adaptive thinking is not supported on this model" (manual), "'claude-3-5-haiku-…'
 * does not support thinking." (none).
 */
export function refusedThinkingMode(error: unknown, mode: ThinkingMode): ThinkingMode | undefined {
  if (!(error instanceof Error) || (error as { status?: unknown }).status !== 400) return undefined;
  const { message } = error;
  if (mode === 'manual' && /thinking\.type\.enabled\W* is not supported/.test(message)) return 'adaptive';
  if (
    mode === 'adaptive' &&
    /adaptive thinking is not supported|thinking\.type\.adaptive\W* is not supported/.test(message)
  )
    return 'manual';
  if (mode !== 'none' && /does not support thinking/.test(message)) return 'none';
  return undefined;
}

/** Asks one Claude model to think in the mode it takes, learning the mode from its refusals. */
export interface ThinkingGuard {
  /**
   * `create` with `build(mode)`; when the model refuses that mode of thinking (a 400 before any
   * output), once more in the mode the refusal points to, and that mode from then on.
   */
  send<Result>(
    build: (mode: ThinkingMode) => AnthropicRequestBody,
    create: (body: AnthropicRequestBody) => Promise<Result>,
    thinks: boolean,
  ): Promise<Result>;
}

/** A {@link ThinkingGuard} for `modelId`; the info line of a change of mode goes to `logger`. */
export function createThinkingGuard(modelId: string, logger: Logger): ThinkingGuard {
  let mode = initialThinkingMode(modelId);
  const attempt = <Result>(
    build: (mode: ThinkingMode) => AnthropicRequestBody,
    create: (body: AnthropicRequestBody) => Promise<Result>,
    tried: ThinkingMode[],
  ): Promise<Result> => {
    const asked = mode;
    return create(build(asked)).catch((error: unknown) => {
      const next = refusedThinkingMode(error, asked);
      if (next === undefined || tried.includes(next)) throw error;
      mode = next;
      logger.info(
        { model: modelId, from: asked, to: next },
        'the model refused that kind of thinking: asked again in the kind it takes',
      );
      return attempt(build, create, [...tried, next]);
    });
  };
  return {
    // Not async: a request that does not ask for thinking gets `create`'s own promise.
    send(build, create, thinks) {
      if (!thinks) return create(build(mode));
      return attempt(build, create, [mode]);
    },
  };
}
