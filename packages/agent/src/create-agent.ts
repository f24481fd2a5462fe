import {
  bindLogger,
  type LanguageModel,
  type Logger,
  type Message,
  noopLogger,
  type ToolCallPart,
  type ToolSpec,
} from '@haia/llm';
import { z } from 'zod';
import { AgentError } from './agent-error.js';
import type { AgentEvent, AgentFinishReason, AgentRunTotals, PendingApproval } from './agent-event.js';
import { estimateMessageTokens, type TokenEstimator } from './context-trimming.js';
import { type Instructions, type LoopSettings, type ModelSettings, runLoop } from './run-loop.js';
import { type StartTimer, startRealTimer } from './start-timer.js';
import type { ApprovalDecision } from './tool-calls.js';
import type { Toolset } from './toolset.js';

/** The bindings of the agent's lines. */
const AGENT_BINDINGS = { component: 'agent' };

/** Limits of one run. */
export interface AgentLimits {
  /** Model turns with tools per run (default 8); then one last turn without tools asks for the answer. */
  maxSteps?: number;
  /** Time limit of each tool call in ms (default 30 000); the tool's signal fires when it passes. */
  toolTimeoutMs?: number;
  /**
   * How long a toolset's `listTools` promise may take each step, in ms (default 10 000). A toolset
   * that has not answered by then is left out of that step with a warning naming it.
   */
  listToolsTimeoutMs?: number;
  /**
   * The context budget in estimated tokens (system prompt, messages and tool specs). Unset: nothing
   * is trimmed. Leave room for the answer: set it below the model's window.
   */
  contextTokens?: number;
  /**
   * The most characters of one tool result the model gets (its JSON for a value that is not text);
   * a longer one is cut, with a note saying so. Default: half of `contextTokens` (at about 4
   * characters a token), else 100 000. A big log or file would otherwise fail the turn.
   */
  maxToolResultChars?: number;
  /** Estimates one message's tokens (default {@link estimateMessageTokens}: about 4 characters a token). */
  estimateTokens?: TokenEstimator;
}

/** Options of {@link createAgent}. */
export interface CreateAgentOptions<Deps> {
  model: LanguageModel;
  /** The system prompt, or a function of `{ deps, tools, clientTools, toolsets, now }` called once per step. */
  instructions?: Instructions<Deps>;
  /** Groups of tools, read once per step; on a name collision the earlier toolset wins. */
  toolsets?: readonly Toolset<Deps>[];
  limits?: AgentLimits;
  /** Model parameters for every call (a run's own `settings` override them). */
  settings?: ModelSettings;
  /** pino or anything shaped like it; silent by default. */
  logger?: Logger;
  /** The clock the instructions see (default `() => new Date()`). */
  now?: () => Date;
  /** The timer that bounds each toolset's `listTools` (default `setTimeout`); injectable for tests. */
  startTimer?: StartTimer;
}

type DepsOption<Deps> = undefined extends Deps ? { deps?: Deps } : { deps: Deps };

/** Options of one run. */
export type RunOptions<Deps> = {
  /** The conversation so far, ending with the user's message (or with tool results). */
  messages: readonly Message[];
  /** Aborts the run: the model call and every running tool stop, the run ends with an `aborted` error. */
  signal?: AbortSignal;
  /** The caller's own tools: offered to the model, never run by the agent. */
  clientTools?: readonly ToolSpec[];
  settings?: ModelSettings;
  /**
   * This run's logger (e.g. bound to the request's correlation id); default: the agent's. The run's
   * lines, its tools' loggers and its model calls (`ChatRequest.logger`) all write through it.
   */
  logger?: Logger;
} & DepsOption<Deps>;

/** Options of {@link Agent.resume}: a run's options plus the decisions on the waiting calls. */
export type ResumeOptions<Deps> = RunOptions<Deps> & {
  /**
   * Decisions on the calls of `approval-required`. `messages` must be the conversation with the
   * run's messages appended (from the store, not from a client). Calls left undecided keep waiting.
   */
  approvals: readonly ApprovalDecision[];
};

/** A run collected by {@link Agent.generate}. */
export interface AgentResult extends AgentRunTotals {
  /** The text the run produced: each step's text, joined by a blank line. */
  text: string;
  finishReason: AgentFinishReason;
  maxStepsReached: boolean;
  response: AgentRunResponse;
  /** Calls waiting for approval (`finishReason: 'approval-required'`). */
  pendingApprovals: PendingApproval[];
  /** Calls of client tools for the caller to run (`finishReason: 'client-tool-calls'`). */
  clientToolCalls: ToolCallPart[];
}

/** Which model answered last; undefined when the run made no model turn. */
export type AgentRunResponse = Extract<AgentEvent, { type: 'finish' }>['response'];

/** A tool-calling agent. Create one with {@link createAgent}; it holds no per-run state. */
export interface Agent<Deps> {
  readonly model: LanguageModel;
  /** Runs the loop, yielding its events; the last one is always `finish` or `error`. */
  run(options: RunOptions<Deps>): AsyncIterable<AgentEvent>;
  /** Continues a run that ended with `approval-required`: approved calls run, declined ones are answered. */
  resume(options: ResumeOptions<Deps>): AsyncIterable<AgentEvent>;
  /** `run` (or `resume`, when `approvals` are given), collected. Throws the `error` event's error. */
  generate(options: RunOptions<Deps> & { approvals?: readonly ApprovalDecision[] }): Promise<AgentResult>;
}

const limitsSchema = z.object({
  maxSteps: z.number().int().min(1).default(8),
  toolTimeoutMs: z.number().int().min(1).default(30_000),
  listToolsTimeoutMs: z.number().int().min(1).default(10_000),
  contextTokens: z.number().int().min(1).optional(),
  maxToolResultChars: z.number().int().min(100).optional(),
});

/** {@link AgentLimits.maxToolResultChars} when it is not set. */
function defaultToolResultChars(contextTokens: number | undefined): number {
  return contextTokens === undefined ? 100_000 : contextTokens * 2;
}

/**
 * Creates an agent: a model, instructions, toolsets and limits. `Deps` are the typed dependencies
 * each run passes and every tool receives.
 *
 * @example
 * const agent = createAgent<{ proxmox: ProxmoxClient }>({
 *   model,
 *   instructions: ({ now, tools }) => homelabInstructions({ now, tools, connected: { proxmox: true } }),
 *   toolsets: [proxmoxToolset],
 *   limits: { maxSteps: 8, toolTimeoutMs: 30_000 },
 * });
 * for await (const event of agent.run({ messages, deps: { proxmox }, signal })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.text);
 * }
 */
export function createAgent<Deps = undefined>(options: CreateAgentOptions<Deps>): Agent<Deps> {
  const parsedLimits = limitsSchema.safeParse({
    maxSteps: options.limits?.maxSteps,
    toolTimeoutMs: options.limits?.toolTimeoutMs,
    listToolsTimeoutMs: options.limits?.listToolsTimeoutMs,
    contextTokens: options.limits?.contextTokens,
    maxToolResultChars: options.limits?.maxToolResultChars,
  });
  if (!parsedLimits.success) {
    throw new AgentError({
      code: 'invalid-options',
      message: `Invalid agent limits: ${z.prettifyError(parsedLimits.error)}`,
      cause: parsedLimits.error,
    });
  }
  const limits = parsedLimits.data;
  const settings: LoopSettings<Deps> = {
    model: options.model,
    instructions: options.instructions,
    toolsets: options.toolsets ?? [],
    listing: { timeoutMs: limits.listToolsTimeoutMs, startTimer: options.startTimer ?? startRealTimer },
    maxSteps: limits.maxSteps,
    toolTimeoutMs: limits.toolTimeoutMs,
    contextTokens: limits.contextTokens,
    maxToolResultChars: limits.maxToolResultChars ?? defaultToolResultChars(limits.contextTokens),
    estimateTokens: options.limits?.estimateTokens ?? estimateMessageTokens,
    settings: options.settings ?? {},
    // Bound, not a pino child: a tool's `component` (`mcp`, ...) then replaces `agent` on its lines.
    logger: bindLogger(options.logger ?? noopLogger, AGENT_BINDINGS),
    now: options.now ?? (() => new Date()),
    warned: new Set(),
  };
  const start = (runOptions: RunOptions<Deps>, approvals: readonly ApprovalDecision[]) =>
    runLoop(settings, {
      messages: runOptions.messages,
      deps: runOptions.deps as Deps,
      signal: runOptions.signal,
      clientTools: runOptions.clientTools ?? [],
      settings: runOptions.settings,
      logger: runOptions.logger ? bindLogger(runOptions.logger, AGENT_BINDINGS) : undefined,
      modelLogger: runOptions.logger,
      approvals,
    });
  return {
    model: options.model,
    run: (runOptions) => start(runOptions, []),
    resume: (resumeOptions) => start(resumeOptions, resumeOptions.approvals),
    generate: (generateOptions) => collectRun(start(generateOptions, generateOptions.approvals ?? [])),
  };
}

/** Collects a run's events into an {@link AgentResult}; throws the error of an `error` event. */
export async function collectRun(events: AsyncIterable<AgentEvent>): Promise<AgentResult> {
  const texts: string[] = [];
  let stepText = '';
  let stepOfText = 0;
  let pendingApprovals: PendingApproval[] = [];
  let clientToolCalls: ToolCallPart[] = [];
  for await (const event of events) {
    switch (event.type) {
      case 'text-delta':
        if (event.step !== stepOfText && stepText !== '') {
          texts.push(stepText);
          stepText = '';
        }
        stepOfText = event.step;
        stepText += event.text;
        break;
      case 'approval-required':
        pendingApprovals = event.pending;
        break;
      case 'client-tool-calls':
        clientToolCalls = event.toolCalls;
        break;
      case 'error':
        throw event.error;
      case 'finish': {
        if (stepText !== '') texts.push(stepText);
        const { type: _type, ...rest } = event;
        return { ...rest, text: texts.join('\n\n'), pendingApprovals, clientToolCalls };
      }
      default:
        break;
    }
  }
  throw new AgentError({ code: 'internal', message: 'The run ended without a finish event.' });
}
