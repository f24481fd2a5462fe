import type { Logger, ToolCallPart, ToolMessage, ToolResultPart } from '@haia/llm';
import type { AgentToolResultEvent, PendingApproval, ToolCallOutcome } from './agent-event.js';
import type { StepTools } from './step-tools.js';
import { requiresApproval, type Tool, type ToolInputParse } from './tool.js';
import { type ExecutedToolCall, errorResult, executeToolCall } from './tool-execution.js';

/** Tool names listed in an unknown-tool result at most. */
const MAX_LISTED_TOOLS = 50;

/** A person's decision on a call that waited for approval. */
export interface ApprovalDecision {
  toolCallId: string;
  approved: boolean;
  /** Why the call was declined; the model reads it. */
  reason?: string;
}

/** What the tool calls of one turn left to do after the agent's own tools ran. */
export interface ToolCallsOutcome {
  /** The tool message answering every call that was run or refused (absent when none was). */
  message: ToolMessage | undefined;
  /** Calls waiting for approval. */
  pending: PendingApproval[];
  /** Calls of client tools, for the caller to run. */
  client: ToolCallPart[];
  answered: number;
  toolTimeMs: number;
}

/** What {@link runToolCalls} needs. */
export interface RunToolCallsOptions<Deps> {
  calls: readonly ToolCallPart[];
  tools: StepTools<Deps>;
  decisions: ReadonlyMap<string, ApprovalDecision>;
  deps: Deps;
  signal: AbortSignal;
  timeoutMs: number;
  /** Longest tool result the model gets, in characters. */
  maxResultChars: number;
  logger: Logger;
  step: number;
}

/**
 * Sorts one turn's calls (unknown tool, invalid input, declined, waiting for approval, client tool,
 * or to run), runs the runnable ones in parallel, and yields a `tool-result` for each answered call
 * as it finishes. Returns the tool message (results in the order of the calls) and what is left.
 */
export async function* runToolCalls<Deps>(
  options: RunToolCallsOptions<Deps>,
): AsyncGenerator<AgentToolResultEvent, ToolCallsOutcome> {
  const { calls, tools, decisions, step, logger } = options;
  const results: Array<ToolResultPart | undefined> = new Array(calls.length);
  const pending: PendingApproval[] = [];
  const client: ToolCallPart[] = [];
  const running = new Map<number, Promise<{ index: number; executed: ExecutedToolCall; toolset: string }>>();
  const immediate: Array<{ index: number; executed: ExecutedToolCall; toolset: string | undefined }> = [];
  let toolTimeMs = 0;

  for (const [index, call] of calls.entries()) {
    const found = tools.agentTools.get(call.toolName);
    if (!found) {
      if (tools.clientToolNames.has(call.toolName)) {
        client.push(call);
        continue;
      }
      const available = [...tools.agentTools.keys(), ...tools.clientToolNames];
      const listed =
        available.length === 0
          ? 'none'
          : available.length > MAX_LISTED_TOOLS
            ? `${available.slice(0, MAX_LISTED_TOOLS).join(', ')} and ${available.length - MAX_LISTED_TOOLS} more`
            : available.join(', ');
      immediate.push({
        index,
        toolset: undefined,
        executed: instant(
          errorResult(
            call.toolCallId,
            call.toolName,
            `There is no tool named "${call.toolName}". Available tools: ${listed}.`,
          ),
          'unknown-tool',
        ),
      });
      continue;
    }
    const { tool, toolset } = found;
    const parsed = safeParse(tool, call.input);
    if (!parsed.success) {
      immediate.push({
        index,
        toolset,
        executed: instant(
          errorResult(
            call.toolCallId,
            call.toolName,
            `Invalid input for the tool ${call.toolName}: ${parsed.error}\nFix the input and call the tool again.`,
          ),
          'invalid-input',
        ),
      });
      continue;
    }
    const decision = decisions.get(call.toolCallId);
    if (decision && !decision.approved) {
      const reason = decision.reason ? ` Reason: ${decision.reason}` : '';
      immediate.push({
        index,
        toolset,
        executed: instant(
          errorResult(
            call.toolCallId,
            call.toolName,
            `The user declined this call to ${call.toolName}; it was not run.${reason} Do not retry it unless the user asks.`,
          ),
          'declined',
        ),
      });
      continue;
    }
    if (!decision && needsApproval(tool, parsed.data)) {
      pending.push({
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        input: parsed.data,
        toolset,
        description: tool.description,
        annotations: tool.annotations,
      });
      continue;
    }
    running.set(
      index,
      executeToolCall({
        tool,
        toolCallId: call.toolCallId,
        input: parsed.data,
        deps: options.deps,
        runSignal: options.signal,
        timeoutMs: options.timeoutMs,
        maxResultChars: options.maxResultChars,
        logger,
      }).then((executed) => ({ index, executed, toolset })),
    );
  }

  const report = (
    index: number,
    executed: ExecutedToolCall,
    toolset: string | undefined,
  ): AgentToolResultEvent => {
    results[index] = executed.part;
    toolTimeMs += executed.durationMs;
    const line = {
      tool: executed.part.toolName,
      toolset,
      toolCallId: executed.part.toolCallId,
      durationMs: Math.round(executed.durationMs * 1000) / 1000,
      outcome: executed.outcome,
    };
    if (executed.outcome === 'ok' || executed.outcome === 'declined') logger.info(line, 'tool call');
    else logger.warn(line, 'tool call failed');
    return {
      type: 'tool-result',
      step,
      toolCallId: executed.part.toolCallId,
      toolName: executed.part.toolName,
      output: executed.part.output,
      isError: executed.part.isError === true,
      outcome: executed.outcome,
      durationMs: executed.durationMs,
    };
  };

  for (const { index, executed, toolset } of immediate) yield report(index, executed, toolset);
  while (running.size > 0) {
    const { index, executed, toolset } = await Promise.race(running.values());
    running.delete(index);
    yield report(index, executed, toolset);
  }

  const content = results.filter((part): part is ToolResultPart => part !== undefined);
  return {
    message: content.length > 0 ? { role: 'tool', content } : undefined,
    pending,
    client,
    answered: content.length,
    toolTimeMs,
  };
}

function safeParse<Deps>(tool: Tool<Deps, unknown>, input: unknown): ToolInputParse<unknown> {
  try {
    return tool.parseInput(input);
  } catch (error) {
    return { success: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function instant(part: ToolResultPart, outcome: ToolCallOutcome): ExecutedToolCall {
  return { part, outcome, durationMs: 0 };
}

/** `requiresApproval`, failing safe: a check that throws means the call waits for approval. */
function needsApproval(tool: Parameters<typeof requiresApproval>[0], input: unknown): boolean {
  try {
    return requiresApproval(tool, input);
  } catch {
    return true;
  }
}
