import {
  addReasoningDelta,
  addUsage,
  type ChatRequest,
  emptyUsage,
  type FinishEvent,
  type FinishReason,
  type LanguageModel,
  LlmError,
  type Logger,
  type Message,
  type ReasoningPart,
  type ResponseInfo,
  type TextPart,
  type ToolCallPart,
  type ToolSpec,
  type Usage,
} from '@haia/llm';
import { AgentError } from './agent-error.js';
import type { AgentErrorEvent, AgentEvent, AgentFinishEvent, AgentFinishReason } from './agent-event.js';
import { type TokenEstimator, trimMessages } from './context-trimming.js';
import { repairToolPairs, unresolvedToolCalls } from './history.js';
import { RunAbort } from './run-abort.js';
import { type ListingBound, readStepTools, type StepTools } from './step-tools.js';
import { type ApprovalDecision, runToolCalls, type ToolCallsOutcome } from './tool-calls.js';
import type { Toolset } from './toolset.js';
import { isPending } from './until-aborted.js';

/** What an instructions function receives, once per step. */
export interface InstructionsContext<Deps> {
  deps: Deps;
  /** The agent's tools offered in this step. */
  tools: readonly ToolSpec[];
  /** The caller's client tools offered in this step. */
  clientTools: readonly ToolSpec[];
  /** Names of the toolsets that answered this step (`proxmox`, MCP server keys). */
  toolsets: readonly string[];
  /** The agent's clock, read once per step. */
  now: Date;
}

/** The system prompt: fixed text, or built per step from the deps, the tools and the time. */
export type Instructions<Deps> = string | ((context: InstructionsContext<Deps>) => string | Promise<string>);

/** Model parameters passed through to every model call. */
export type ModelSettings = Pick<
  ChatRequest,
  | 'maxOutputTokens'
  | 'temperature'
  | 'topP'
  | 'stop'
  | 'responseFormat'
  | 'wholeAnswer'
  | 'seed'
  | 'frequencyPenalty'
  | 'presencePenalty'
  | 'reasoningEffort'
>;

/** The agent's fixed parts, as the loop uses them. */
export interface LoopSettings<Deps> {
  model: LanguageModel;
  instructions: Instructions<Deps> | undefined;
  toolsets: readonly Toolset<Deps>[];
  /** The bound on each toolset's `listTools`. */
  listing: ListingBound;
  maxSteps: number;
  toolTimeoutMs: number;
  contextTokens: number | undefined;
  /** Longest tool result the model gets, in characters. */
  maxToolResultChars: number;
  estimateTokens: TokenEstimator;
  settings: ModelSettings;
  logger: Logger;
  now: () => Date;
  /** Collision warnings already logged by this agent. */
  warned: Set<string>;
}

/** One run's inputs. */
export interface LoopInput<Deps> {
  messages: readonly Message[];
  deps: Deps;
  signal: AbortSignal | undefined;
  clientTools: readonly ToolSpec[];
  settings: ModelSettings | undefined;
  /** Replaces the agent's logger for this run. */
  logger: Logger | undefined;
  /** The run's logger as the caller gave it: every model call of the run writes its lines there. */
  modelLogger: Logger | undefined;
  approvals: readonly ApprovalDecision[];
}

/** Appended to the system prompt of the last turn, made without tools once `maxSteps` is used up. */
export function finalTurnNotice(maxSteps: number): string {
  return (
    `You have used all ${maxSteps} tool steps of this turn, so no more tools can be called. ` +
    'Answer the user now with what you found so far, and say what you could not check.'
  );
}

/** The decisions of a run that resumes nothing (shared: it is never written to). */
const NO_DECISIONS: ReadonlyMap<string, ApprovalDecision> = new Map();

/** The agent loop: resolve waiting calls, then model turns and tool calls until an answer. */
export async function* runLoop<Deps>(
  agent: LoopSettings<Deps>,
  input: LoopInput<Deps>,
): AsyncGenerator<AgentEvent> {
  const started = performance.now();
  const abort = new RunAbort(input.signal);
  const logger = input.logger ?? agent.logger;
  // Object.assign, not a double spread (which V8 builds as a larger, slower object).
  const settings = Object.assign({}, agent.settings, input.settings);

  const produced: Message[] = [];
  const history: Message[] = [...repairToolPairs(input.messages)];
  let usage: Usage = emptyUsage();
  let steps = 0;
  let toolCalls = 0;
  let toolTimeMs = 0;
  let response: ResponseInfo | undefined;
  let ended = false;

  const append = (message: Message) => {
    history.push(message);
    produced.push(message);
  };
  const totals = () => ({ messages: produced, usage, steps, toolCalls, toolTimeMs });
  const failure = (error: LlmError | AgentError): AgentErrorEvent => {
    ended = true;
    logger.warn(
      {
        steps,
        usage,
        durationMs: Math.round(performance.now() - started),
        code: error.code,
        err: error.message,
      },
      'agent run failed',
    );
    return { type: 'error', error, ...totals() };
  };
  const success = (finishReason: AgentFinishReason, maxStepsReached: boolean): AgentFinishEvent => {
    ended = true;
    // Debug, not info: the caller's own request line and each model call's line already say this.
    logger.debug(
      {
        steps,
        usage,
        toolCalls,
        finishReason,
        maxStepsReached,
        durationMs: Math.round(performance.now() - started),
      },
      'agent run',
    );
    return { type: 'finish', finishReason, maxStepsReached, response, ...totals() };
  };
  const aborted = (cause?: unknown) =>
    new AgentError({ code: 'aborted', message: 'The run was aborted.', cause: cause ?? abort.reason });

  /** Runs a turn's calls; returns the event that ends the run, or undefined to go on. */
  async function* afterCalls(
    calls: readonly ToolCallPart[],
    tools: StepTools<Deps>,
    decisions: ReadonlyMap<string, ApprovalDecision>,
    step: number,
  ): AsyncGenerator<AgentEvent, ToolCallsOutcome> {
    const outcome = yield* runToolCalls({
      calls,
      tools,
      decisions,
      deps: input.deps,
      signal: abort.forTools(),
      timeoutMs: agent.toolTimeoutMs,
      maxResultChars: agent.maxToolResultChars,
      logger,
      step,
    });
    if (outcome.message) append(outcome.message);
    toolCalls += outcome.answered;
    toolTimeMs += outcome.toolTimeMs;
    return outcome;
  }

  /** The event that ends the run after a turn's calls, or undefined to go on with a model turn. */
  function* stopAfter(outcome: ToolCallsOutcome): Generator<AgentEvent, boolean> {
    if (abort.aborted) {
      yield failure(aborted());
      return true;
    }
    if (outcome.pending.length > 0) {
      // Approvals first: client calls of the same turn are handed over once the approvals are settled.
      ended = true;
      yield { type: 'approval-required', pending: outcome.pending };
      yield success('approval-required', false);
      return true;
    }
    if (outcome.client.length > 0) {
      ended = true;
      yield { type: 'client-tool-calls', toolCalls: outcome.client };
      yield success('client-tool-calls', false);
      return true;
    }
    return false;
  }

  try {
    if (abort.aborted) {
      yield failure(aborted());
      return;
    }
    // Calls of the last assistant turn that still wait (for approval or for the client) come first.
    const waiting = unresolvedToolCalls(history);
    const decisions: ReadonlyMap<string, ApprovalDecision> =
      input.approvals.length === 0
        ? NO_DECISIONS
        : new Map(input.approvals.map((decision) => [decision.toolCallId, decision]));
    for (const toolCallId of decisions.keys()) {
      if (!waiting.some((call) => call.toolCallId === toolCallId)) {
        yield failure(
          new AgentError({
            code: 'invalid-resume',
            message: `No call with id ${toolCallId} is waiting for approval in these messages; it may have been decided already.`,
          }),
        );
        return;
      }
    }
    /** This step's tools, read from every toolset (bounded) plus the client's. */
    const listStepTools = () =>
      readStepTools(agent.toolsets, input.clientTools, logger, agent.warned, agent.listing, abort.signal);
    if (waiting.length > 0) {
      const listed = listStepTools();
      const tools = isPending(listed) ? await abort.until(listed) : listed;
      const outcome = yield* afterCalls(waiting, tools, decisions, 0);
      if (yield* stopAfter(outcome)) return;
    }

    for (;;) {
      if (abort.aborted) {
        yield failure(aborted());
        return;
      }
      steps++;
      const step = steps;
      const final = step > agent.maxSteps;
      // A fixed tool list and instructions that return a string: no await (no promise, no listener).
      const listed = listStepTools();
      const tools = isPending(listed) ? await abort.until(listed) : listed;

      let system: string | undefined;
      try {
        if (typeof agent.instructions === 'function') {
          const written = agent.instructions({
            deps: input.deps,
            tools: tools.agentSpecs,
            clientTools: input.clientTools,
            toolsets: tools.toolsets,
            now: agent.now(),
          });
          system = isPending(written) ? await abort.until(Promise.resolve(written)) : written;
        } else system = agent.instructions;
      } catch (error) {
        if (abort.aborted) throw error;
        yield failure(
          new AgentError({
            code: 'instructions',
            message: `The agent's instructions function failed: ${error instanceof Error ? error.message : String(error)}`,
            cause: error,
          }),
        );
        return;
      }
      if (final)
        system = system ? `${system}\n\n${finalTurnNotice(agent.maxSteps)}` : finalTurnNotice(agent.maxSteps);

      let messages: Message[] = system ? [{ role: 'system', content: system }, ...history] : history;
      if (agent.contextTokens !== undefined) {
        const toolTokens =
          tools.specs.length > 0
            ? agent.estimateTokens({ role: 'system', content: JSON.stringify(tools.specs) })
            : 0;
        const trimmed = trimMessages(messages, agent.contextTokens - toolTokens, agent.estimateTokens);
        if (trimmed.dropped > 0) {
          logger.info(
            {
              step,
              dropped: trimmed.dropped,
              estimatedTokens: trimmed.estimatedTokens,
              budget: agent.contextTokens,
            },
            'context trimmed: oldest turns left out',
          );
        }
        messages = trimmed.messages;
      }
      const request: ChatRequest = { ...settings, messages, signal: abort.signal };
      if (input.modelLogger) request.logger = input.modelLogger;
      if (tools.specs.length > 0) {
        request.tools = tools.specs;
        // The last turn still lists the tools (some providers refuse tool history without them) but forbids calls.
        if (final) request.toolChoice = 'none';
      }

      const parts: Array<TextPart | ReasoningPart | ToolCallPart> = [];
      const calls: ToolCallPart[] = [];
      let finish: FinishEvent | undefined;
      let droppedCalls = 0;
      const keepPartial = () => {
        const kept = parts.filter((part) => part.type !== 'tool-call');
        if (kept.length > 0) append({ role: 'assistant', content: kept });
      };
      try {
        for await (const event of agent.model.stream(request)) {
          switch (event.type) {
            case 'text-delta': {
              const last = parts.at(-1);
              if (last?.type === 'text') last.text += event.text;
              else parts.push({ type: 'text', text: event.text });
              yield event.refusal
                ? { type: 'text-delta', step, text: event.text, refusal: true }
                : { type: 'text-delta', step, text: event.text };
              break;
            }
            case 'reasoning-delta': {
              addReasoningDelta(parts, event);
              yield {
                type: 'reasoning-delta',
                step,
                text: event.text,
                ...(event.signature ? { signature: event.signature } : {}),
                ...(event.redactedData !== undefined ? { redactedData: event.redactedData } : {}),
              };
              break;
            }
            case 'tool-call': {
              if (final) {
                droppedCalls++;
                break;
              }
              const call: ToolCallPart = {
                type: 'tool-call',
                toolCallId: event.toolCallId,
                toolName: event.toolName,
                input: event.input,
              };
              parts.push(call);
              calls.push(call);
              yield {
                type: 'tool-call',
                step,
                toolCallId: call.toolCallId,
                toolName: call.toolName,
                input: call.input,
                client: tools.clientToolNames.has(call.toolName),
              };
              break;
            }
            case 'fallback':
              yield { type: 'fallback', step, model: event.model, failed: event.failed };
              break;
            case 'finish':
              finish = event;
              break;
          }
          if (abort.aborted) break;
        }
      } catch (error) {
        keepPartial();
        if (abort.aborted) yield failure(aborted(error));
        else if (LlmError.isInstance(error)) yield failure(error);
        else {
          yield failure(
            new AgentError({
              code: 'model',
              message: `The model failed: ${error instanceof Error ? error.message : String(error)}`,
              cause: error,
            }),
          );
        }
        return;
      }
      if (abort.aborted) {
        keepPartial();
        yield failure(aborted());
        return;
      }
      if (droppedCalls > 0) {
        logger.warn(
          { step, droppedCalls },
          'the model called tools in the final turn without tools; calls ignored',
        );
      }
      const finishReason: FinishReason = finish?.finishReason ?? 'other';
      const stepUsage = finish?.usage ?? emptyUsage();
      usage = addUsage(usage, stepUsage);
      response = finish?.response ?? {
        model: `${agent.model.provider}:${agent.model.modelId}`,
        id: undefined,
      };
      if (parts.length > 0) append({ role: 'assistant', content: parts });

      let outcome: ToolCallsOutcome | undefined;
      if (calls.length > 0) outcome = yield* afterCalls(calls, tools, NO_DECISIONS, step);
      logger.debug({ step, finishReason, usage: stepUsage, toolCalls: calls.length }, 'agent step');
      if (!abort.aborted) {
        yield {
          type: 'step-finish',
          step,
          finishReason,
          usage: stepUsage,
          response,
          toolCalls: calls.length,
        };
      }
      if (outcome) {
        if (yield* stopAfter(outcome)) return;
        continue;
      }
      if (abort.aborted) {
        yield failure(aborted());
        return;
      }
      const reported: FinishReason =
        final && (droppedCalls > 0 || finishReason === 'tool-calls') ? 'other' : finishReason;
      yield success(reported, final);
      return;
    }
  } catch (error) {
    if (abort.aborted) {
      // Reading the toolsets or building the instructions was cut short by the abort.
      yield failure(aborted(error));
      return;
    }
    // A defect, never a tool's or the model's failure (those are handled above): still end with an event.
    yield failure(
      new AgentError({
        code: 'internal',
        message: `The agent failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      }),
    );
  } finally {
    // The consumer stopped reading before the end: stop the tools still running (a model call in
    // flight is closed by its iterator's return(), which leaving the loop calls).
    abort.end(ended ? undefined : aborted(new Error('the consumer stopped reading the events')));
  }
}
