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
    if (isToolErrorOutput(output)) return finish(errorResult(toolCallId, tool.name, output.content), 'error');
    return finish(
      { type: 'tool-result', toolCallId, toolName: tool.name, output: output === undefined ? null : output },
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
