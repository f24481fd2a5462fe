import type { Logger } from '../logger.js';
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
  const { status, code, param, message } = (error ?? {}) as {
    status?: unknown;
    code?: unknown;
    param?: unknown;
    message?: unknown;
  };
  if (status !== 400) return false;
  if (param === 'reasoning_effort' && (code === 'unsupported_parameter' || code === 'unknown_parameter')) {
    return true;
  }
  return typeof message === 'string' && EFFORT_REFUSED.test(message);
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
