import type { Logger } from '../logger.js';
import { refusesParameter } from './openai-unsupported-parameter.js';
import { createRefusalGuard, type RefusalGuard } from './refusal-guard.js';

/** The body field of an OpenAI chat request that carries the stop sequences. */
interface StopBody {
  stop?: string | string[] | null;
}

/** Whether `error` is a 400 saying the model takes no `stop` (gpt-5, o3: "Unsupported parameter: 'stop' …"). */
export function refusesStop(error: unknown): boolean {
  return refusesParameter(error, 'stop', /Unsupported parameter: 'stop'/);
}

/**
 * A {@link RefusalGuard} of `stop`, for one model. Reasoning models (gpt-5, gpt-5-mini, the
 * o-series) take no stop sequences and refuse the whole request; a client's stop setting goes to
 * every model, so the request goes again without it (the model then ends where it ends), and so
 * does every later call of that model. One answer to a request with `stop` shows the model takes it.
 */
export function createOpenAIStopGuard(modelId: string, logger: Logger): RefusalGuard<StopBody> {
  return createRefusalGuard<StopBody>({
    modelId,
    logger,
    carries: (body) => body.stop != null && body.stop.length > 0,
    without: (body) => {
      const { stop: _stop, ...rest } = body;
      return rest as typeof body;
    },
    refusal: (error) => (refusesStop(error) ? 'stop' : undefined),
    message: 'the model takes no stop sequences: sent without them',
    provenByAnswer: true,
  });
}
