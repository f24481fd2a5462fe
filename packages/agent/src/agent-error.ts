/** What went wrong in a run, beside the model's own failures (those stay `LlmError`). */
export type AgentErrorCode =
  /** The caller's signal fired, or the consumer stopped reading the events. */
  | 'aborted'
  /** The instructions function threw. */
  | 'instructions'
  /** The model threw something that is not an `LlmError`. */
  | 'model'
  /** `createAgent` got options it cannot work with. */
  | 'invalid-options'
  /** `resume` got an approval for a call that is not waiting for one. */
  | 'invalid-resume'
  /** A defect in the agent or a tool that broke its contract (e.g. `parseInput` threw). */
  | 'internal';

/** Fields of an {@link AgentError}. */
export interface AgentErrorOptions {
  code: AgentErrorCode;
  message: string;
  cause?: unknown;
}

const MARKER = Symbol.for('haia.agent.error');

/** The one error `@haia/agent` reports. Tool failures are not errors: they become tool results the model reads. */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: AgentErrorCode;
  readonly [MARKER] = true;

  constructor(options: AgentErrorOptions) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
  }

  /** True for an `AgentError`, also one from another copy of this package. */
  static isInstance(error: unknown): error is AgentError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}
