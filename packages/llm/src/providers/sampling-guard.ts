import type { Logger } from '../logger.js';
import { createRefusalGuard, type RefusalGuard } from './refusal-guard.js';

/** The sampling fields of a provider's request body (Anthropic's has the first two only). */
interface SamplingBody {
  temperature?: number | null;
  top_p?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
}

/** The fields a sampling guard leaves out once a model refused one of them. */
const SAMPLING_FIELDS = ['temperature', 'top_p', 'frequency_penalty', 'presence_penalty'] as const;

/** Options of {@link createSamplingGuard}. */
export interface SamplingGuardOptions {
  modelId: string;
  logger: Logger;
  /** The parameter a provider error says the model refuses (`temperature`, ...), or undefined. */
  refusedParameter(error: unknown): string | undefined;
}

/**
 * A {@link RefusalGuard} of the sampling parameters, for one model. Newer reasoning models take
 * them away (OpenAI's gpt-5 and o-series allow only the default `temperature` and `top_p` of 1 and
 * no penalties, Claude Opus 4.7 none at all) and refuse a request that sets them; a chat client
 * that sends its user's temperature should still get an answer.
 */
export function createSamplingGuard(options: SamplingGuardOptions): RefusalGuard<SamplingBody> {
  return createRefusalGuard<SamplingBody>({
    modelId: options.modelId,
    logger: options.logger,
    carries: hasSampling,
    without: withoutSampling,
    refusal: options.refusedParameter,
    message: 'the model refuses sampling parameters: sent without temperature, top_p and penalties',
  });
}

function hasSampling(body: SamplingBody): boolean {
  return SAMPLING_FIELDS.some((field) => body[field] !== undefined);
}

function withoutSampling<Body extends SamplingBody>(body: Body): Body {
  const kept = { ...body };
  for (const field of SAMPLING_FIELDS) delete kept[field];
  return kept;
}

/**
 * OpenAI's words for a reasoning model (gpt-5, o-series) refusing a sampling value: "Unsupported
 * value: 'temperature' does not support 0.2 with this model", "Unsupported parameter:
 * 'presence_penalty' is not supported with this model".
 */
const OPENAI_REFUSED_SAMPLING =
  /Unsupported (?:value|parameter): '(temperature|top_p|frequency_penalty|presence_penalty)'/;

/**
 * The parameter a 400 in OpenAI's shape says the model refuses, or undefined for any other error:
 * from the SDK's `APIError` (`code`, `param`), or from the message of the error a compatible
 * client made of the body (a proxy such as LiteLLM passes OpenAI's text on).
 */
export function refusedOpenAISampling(error: unknown): string | undefined {
  const { status, code, param, message } = error as {
    status?: unknown;
    code?: unknown;
    param?: unknown;
    message?: unknown;
  };
  if (status !== 400) return undefined;
  const field = SAMPLING_FIELDS.find((name) => name === param);
  if ((code === 'unsupported_value' || code === 'unsupported_parameter') && field) return field;
  return typeof message === 'string' ? OPENAI_REFUSED_SAMPLING.exec(message)?.[1] : undefined;
}
