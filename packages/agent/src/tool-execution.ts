import { bindLogger, type Logger, type ToolResultPart } from '@haia/llm';
import type { ToolCallOutcome } from './agent-event.js';
import type { Tool, ToolErrorOutput, ToolOutput } from './tool.js';
import { untilAborted } from './until-aborted.js';

/** A tool call's result with how long it took and how it ended. */
export interface ExecutedToolCall {
  part: ToolResultPart;
  outcome: ToolCallOutcome;
  durationMs: number;
}

/** What {@link executeToolCall} needs. */
export interface ExecuteToolCallOptions<Deps> {
  tool: Tool<Deps, unknown>;
  toolCallId: string;
  /** Already validated with `tool.parseInput`. */
  input: unknown;
  deps: Deps;
  /** The run's signal; when it fires the tool's signal fires too and the call ends at once. */
  runSignal: AbortSignal;
  timeoutMs: number;
  /** Longest result the model gets, in characters (see {@link capToolOutput}). */
  maxResultChars: number;
  logger: Logger;
}

/** An error result for the model. */
export function errorResult(toolCallId: string, toolName: string, message: string): ToolResultPart {
  return { type: 'tool-result', toolCallId, toolName, output: message, isError: true };
}

/**
 * Runs one tool call with its own time limit and the run's signal (the tool's `signal` fires on
 * either). Never throws: a thrown error, a timeout or an abort becomes an error result. The call
 * ends as soon as its signal fires, even when the tool ignores the signal.
 */
export async function executeToolCall<Deps>(
  options: ExecuteToolCallOptions<Deps>,
): Promise<ExecutedToolCall> {
  const { tool, toolCallId, runSignal } = options;
  const started = performance.now();
  const finish = (part: ToolResultPart, outcome: ToolCallOutcome): ExecutedToolCall => ({
    part,
    outcome,
    durationMs: performance.now() - started,
  });
  if (runSignal.aborted) {
    return finish(errorResult(toolCallId, tool.name, abortedText(tool.name)), 'aborted');
  }
  // One controller for both causes (instead of AbortSignal.any) so the timer and the listener are
  // released as soon as the call ends.
  const controller = new AbortController();
  const onRunAbort = () => controller.abort(runSignal.reason);
  runSignal.addEventListener('abort', onRunAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new DOMException(`Tool ${tool.name} timed out after ${options.timeoutMs} ms`, 'TimeoutError'),
    );
  }, options.timeoutMs);
  try {
    const output = await untilAborted(
      tool.execute(options.input, {
        deps: options.deps,
        signal: controller.signal,
        logger: bindLogger(options.logger, { tool: tool.name, toolCallId }),
        toolCallId,
      }),
      controller.signal,
    );
    const max = options.maxResultChars;
    if (isToolErrorOutput(output))
      return finish(
        errorResult(toolCallId, tool.name, capToolOutput(output.content, max) as string),
        'error',
      );
    return finish(
      {
        type: 'tool-result',
        toolCallId,
        toolName: tool.name,
        output: output === undefined ? null : capToolOutput(output, max),
      },
      'ok',
    );
  } catch (error) {
    if (runSignal.aborted)
      return finish(errorResult(toolCallId, tool.name, abortedText(tool.name)), 'aborted');
    if (controller.signal.aborted) {
      return finish(
        errorResult(
          toolCallId,
          tool.name,
          `The tool ${tool.name} timed out after ${options.timeoutMs} ms and was stopped. Try again with a narrower request, or answer without it.`,
        ),
        'timeout',
      );
    }
    const message = describeThrown(error);
    return finish(errorResult(toolCallId, tool.name, `The tool ${tool.name} failed: ${message}`), 'error');
  } finally {
    clearTimeout(timer);
    runSignal.removeEventListener('abort', onRunAbort);
  }
}

function abortedText(toolName: string): string {
  return `The tool ${toolName} was stopped because the run was aborted.`;
}

function isToolErrorOutput(output: ToolOutput): output is ToolErrorOutput {
  return (
    typeof output === 'object' &&
    output !== null &&
    !Array.isArray(output) &&
    output.isError === true &&
    typeof output.content === 'string'
  );
}

/** What a tool threw, in words: an Error's message, an object's `message` or its JSON, else the value. */
function describeThrown(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { message } = error as { message?: unknown };
    if (typeof message === 'string' && message !== '') return message;
    try {
      return JSON.stringify(error);
    } catch {
      return String(error);
    }
  }
  return String(error);
}

/**
 * `output` as the model gets it: as it is when its text (or, for a value that is not text, its
 * JSON) has at most `max` characters; otherwise the first `max` characters as text, with a note
 * that says how much was cut and how to get the rest.
 */
export function capToolOutput(output: unknown, max: number): unknown {
  const text = typeof output === 'string' ? output : jsonOf(output);
  if (text === undefined || text.length <= max) return output;
  // Never end on half of a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}\n\n[HAIA cut this result: the first ${end} of ${text.length} characters are shown. Ask the tool for less (a filter, a smaller range, fewer lines) if the rest is needed.]`;
}

function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
