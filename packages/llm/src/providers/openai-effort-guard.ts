import type { Logger } from '../logger.js';
import type { RequestGuard } from './guard-chain.js';
import { refusesParameter } from './openai-unsupported-parameter.js';
import { createRefusalGuard, type RefusalGuard } from './refusal-guard.js';

/** The body field of an OpenAI chat request that carries the reasoning effort. */
interface EffortBody {
  reasoning_effort?: string | null;
}

/**
 * The words of a server that takes no `reasoning_effort` for the model: OpenAI's "Unsupported
 * parameter: 'reasoning_effort' is not supported with this model." (gpt-4o, gpt-4.1), Azure's
 * "Unknown parameter: 'reasoning_effort'.", xAI's "does not support parameter reasoningEffort".
 */
const EFFORT_REFUSED =
  /(?:Unsupported|Unknown|Unrecognized request) (?:parameter|argument)[^']*'reasoning_effort'|does not support parameter reasoningEffort/;

/** Whether `error` is a 400 saying the model takes no `reasoning_effort`. */
export function refusesReasoningEffort(error: unknown): boolean {
  return refusesParameter(error, 'reasoning_effort', EFFORT_REFUSED);
}

/**
 * A {@link RefusalGuard} of `reasoning_effort`, for one model. A chat client sends its user's
 * "Reasoning Effort" to every model (OpenWebUI does), and a model that does not reason (gpt-4o)
 * refuses the whole request: it goes again without the effort, and so does that model's every later
 * call. Once the model answered a request with an effort, it is known to take one.
 */
export function createOpenAIEffortGuard(modelId: string, logger: Logger): RefusalGuard<EffortBody> {
  return createRefusalGuard<EffortBody>({
    modelId,
    logger,
    carries: (body) => body.reasoning_effort != null,
    without: (body) => {
      const { reasoning_effort: _effort, ...rest } = body;
      return rest as typeof body;
    },
    refusal: (error) => (refusesReasoningEffort(error) ? 'reasoning_effort' : undefined),
    message: 'the model takes no reasoning effort: sent without it',
    provenByAnswer: true,
  });
}

/** OpenAI's efforts from the least to the most reasoning. */
const EFFORT_ORDER = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'];

/**
 * OpenAI's words for an effort the model does not take: "Unsupported value: 'reasoning_effort' does
 * not support 'minimal' with this model. Supported values are: 'low', 'medium', and 'high'."
 */
const EFFORT_VALUE_REFUSED =
  /'reasoning_effort' does not support '[^']*' with this model\. Supported values are: ([^.]+)/;

/** The efforts a 400 says the model takes, or undefined for any other error. */
export function supportedEfforts(error: unknown): string[] | undefined {
  const { status, message } = (error ?? {}) as { status?: unknown; message?: unknown };
  if (status !== 400 || typeof message !== 'string') return undefined;
  const found = EFFORT_VALUE_REFUSED.exec(message);
  if (!found) return undefined;
  const values = [...(found[1] ?? '').matchAll(/'([^']+)'/g)].map((match) => match[1] as string);
  return values.length > 0 ? values : undefined;
}

/**
 * The supported effort nearest to `asked` in {@link EFFORT_ORDER} (the higher one of two as near),
 * or undefined when none of them is a known effort.
 */
export function nearestEffort(asked: string, supported: readonly string[]): string | undefined {
  const at = EFFORT_ORDER.indexOf(asked);
  let best: string | undefined;
  let distance = Number.POSITIVE_INFINITY;
  for (const value of supported) {
    const index = EFFORT_ORDER.indexOf(value);
    if (index === -1 || at === -1) continue;
    const gap = Math.abs(index - at) - (index > at ? 0.5 : 0);
    if (gap < distance) {
      distance = gap;
      best = value;
    }
  }
  return best;
}

/** Sends a model's requests with an effort it takes, once it has said which it takes. */
export type EffortValueGuard = RequestGuard<EffortBody>;

/**
 * An {@link EffortValueGuard} for one model. Models take different efforts (o3 no `minimal`, gpt-5
 * no `none`, gpt-5.1 no `minimal`), and a client's setting goes to all of them: a refused effort goes
 * again as the nearest one the model named, and so for its later calls.
 */
export function createOpenAIEffortValueGuard(modelId: string, logger: Logger): EffortValueGuard {
  let supported: string[] | undefined;
  return {
    // Not async: a call without an effort (most), or with one the model takes, gets `create`'s promise.
    send(input, create) {
      const asked = input.reasoning_effort;
      if (asked == null) return create(input);
      if (supported !== undefined && !supported.includes(asked)) {
        const nearest = nearestEffort(asked, supported);
        if (nearest !== undefined) return create({ ...input, reasoning_effort: nearest });
      }
      return create(input).catch((error: unknown) => {
        const named = supportedEfforts(error);
        const nearest = named === undefined ? undefined : nearestEffort(asked, named);
        if (named === undefined || nearest === undefined || nearest === asked) throw error;
        supported = named;
        logger.info(
          { model: modelId, requested: asked, sent: nearest },
          'the model does not take that reasoning effort: sent the nearest it takes',
        );
        return create({ ...input, reasoning_effort: nearest });
      });
    },
  };
}
