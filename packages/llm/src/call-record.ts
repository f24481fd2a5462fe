import type { FinishReason } from './chat-event.js';
import type { LlmErrorCode } from './llm-error.js';
import type { Logger } from './logger.js';

/** How a call ended. `cancelled`: the caller stopped reading before the end. */
export type CallOutcome = 'success' | 'error' | 'aborted' | 'cancelled';

/** One model call, as logged once per call and passed to the `onCall` hook. */
export interface CallRecord {
  provider: string;
  model: string;
  /** From the start of the call to its end, retries and back-off included. */
  latencyMs: number;
  /** From the start of the call to its first event; absent when nothing came. */
  timeToFirstTokenMs: number | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cachedInputTokens: number | undefined;
  reasoningTokens: number | undefined;
  finishReason: FinishReason | undefined;
  /** Attempts after the first. */
  retries: number;
  outcome: CallOutcome;
  errorCode: LlmErrorCode | undefined;
  /** The error's message (never contains an API key). */
  errorMessage?: string;
}

/** Receives every call's record, for metrics. Exceptions it throws are logged and ignored. */
export type CallHook = (record: CallRecord) => void;

/** The level of the `llm call` line of a call that did not fail (a failed call's line is a warning). */
export type CallLogLevel = 'info' | 'debug';

/** Writes a record as one log line (`level` unless it failed) and hands it to the hook. */
export function reportCall(
  record: CallRecord,
  logger: Logger,
  onCall: CallHook | undefined,
  level: CallLogLevel = 'info',
): void {
  if (record.outcome === 'error') logger.warn(record, 'llm call failed');
  else if (level === 'debug') logger.debug(record, 'llm call');
  else logger.info(record, 'llm call');
  if (!onCall) return;
  try {
    onCall(record);
  } catch (error) {
    logger.warn({ err: error }, 'llm onCall hook threw');
  }
}
