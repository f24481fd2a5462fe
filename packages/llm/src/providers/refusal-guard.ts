import type { Logger } from '../logger.js';
import type { RequestGuard } from './guard-chain.js';

/**
 * Sends a model's requests, and leaves out a part the model refused (a sampling parameter, a
 * reasoning effort, a token limit field) from then on: `send` is `create(input)`, and when the
 * provider refuses it for that part (a 400 before any output), `create` once more without it, and
 * so for every later call of this model.
 */
export type RefusalGuard<Base> = RequestGuard<Base>;

/** Options of {@link createRefusalGuard}. */
export interface RefusalGuardOptions<Base> {
  modelId: string;
  logger: Logger;
  /** Whether `input` has the part (without it there is nothing to send again). */
  carries(input: Base): boolean;
  /** `input` without the part. */
  without<Input extends Base>(input: Input): Input;
  /** What a provider error says the model refused (the log line's `parameter`), or undefined. */
  refusal(error: unknown): string | undefined;
  /** The info line written once, when the model refused it. */
  message: string;
  /**
   * Whether one answer to a request with the part proves the model takes it whatever its value
   * (a token limit field, not a sampling value): later calls then go as they are, unguarded.
   */
  provenByAnswer?: boolean;
}

/**
 * A {@link RefusalGuard} for one model. Providers take features away from newer models and refuse a
 * request that still sends them; a chat client that sends its user's settings to every model
 * should still get an answer, so the request goes again without the refused part.
 */
export function createRefusalGuard<Base>(options: RefusalGuardOptions<Base>): RefusalGuard<Base> {
  let refused = false;
  let proven = false;
  const accepted = <Result>(result: Result): Result => {
    proven = true;
    return result;
  };
  return {
    // Not async: a call without the part (most), or once proven, gets `create`'s own promise.
    send(input, create) {
      if (proven || !options.carries(input)) return create(input);
      if (refused) return create(options.without(input));
      const answered = options.provenByAnswer ? create(input).then(accepted) : create(input);
      return answered.catch((error: unknown) => {
        const parameter = options.refusal(error);
        if (parameter === undefined) throw error;
        refused = true;
        options.logger.info({ model: options.modelId, parameter }, options.message);
        return create(options.without(input));
      });
    },
  };
}
