import type { FinishReason, LlmError, Message, ResponseInfo, ToolCallPart, Usage } from '@haia/llm';
import type { AgentError } from './agent-error.js';
import type { ToolAnnotations } from './tool.js';

/**
 * Why a run ended: the last model turn's reason, or `approval-required` / `client-tool-calls` when
 * the run stopped to wait for a person or for the caller's own tools.
 */
export type AgentFinishReason = FinishReason | 'approval-required' | 'client-tool-calls';

/** How one tool call ended, as logged and reported in `tool-result`. */
export type ToolCallOutcome =
  | 'ok'
  | 'error'
  | 'invalid-input'
  | 'unknown-tool'
  | 'timeout'
  | 'aborted'
  | 'declined';

/**
 * A piece of the answer's text. `step` is the model turn it belongs to (1 for the first);
 * `refusal: true` when the model declined to answer in it (the model event's flag, passed on).
 */
export interface AgentTextDeltaEvent {
  type: 'text-delta';
  step: number;
  text: string;
  refusal?: true;
}

/** A piece of the model's reasoning (or a whole encrypted block, as `redactedData`). */
export interface AgentReasoningDeltaEvent {
  type: 'reasoning-delta';
  step: number;
  text: string;
  signature?: string;
  redactedData?: string;
}

/** A fallback model moved on to `model` for this step, because `failed` failed before answering. */
export interface AgentFallbackEvent {
  type: 'fallback';
  step: number;
  /** `provider:model` of the model that answers the step. */
  model: string;
  /** `provider:model` of the model that failed. */
  failed: string;
}

/** The model called a tool (complete, with parsed input), as soon as the model's stream says so. */
export interface AgentToolCallEvent {
  type: 'tool-call';
  step: number;
  toolCallId: string;
  toolName: string;
  input: unknown;
  /** True for a tool of the caller's `clientTools`: the agent does not run it. */
  client: boolean;
}

/** A tool call's result, in the order the calls finish. `isError` results are read by the model. */
export interface AgentToolResultEvent {
  type: 'tool-result';
  /** The step whose calls this answers; 0 for calls resolved at the start of `resume`. */
  step: number;
  toolCallId: string;
  toolName: string;
  output: unknown;
  isError: boolean;
  outcome: ToolCallOutcome;
  /** Wall time of the call, validation included. */
  durationMs: number;
}

/** One model turn and the tool calls it made are done. */
export interface AgentStepFinishEvent {
  type: 'step-finish';
  step: number;
  /** The model's reason for ending its turn. */
  finishReason: FinishReason;
  usage: Usage;
  response: ResponseInfo;
  /** Tool calls the model made in this step (agent and client tools). */
  toolCalls: number;
}

/** A call waiting for a person's decision. */
export interface PendingApproval {
  toolCallId: string;
  toolName: string;
  input: unknown;
  /** The toolset the tool comes from. */
  toolset: string;
  description: string;
  annotations: ToolAnnotations;
}

/** The run stops: these calls need approval. Pass the decisions to `agent.resume`. `finish` follows. */
export interface AgentApprovalRequiredEvent {
  type: 'approval-required';
  pending: PendingApproval[];
}

/** The run stops: the model called tools of the caller's `clientTools`. `finish` follows. */
export interface AgentClientToolCallsEvent {
  type: 'client-tool-calls';
  toolCalls: ToolCallPart[];
}

/** Totals of a run, in `finish` and `error`. */
export interface AgentRunTotals {
  /**
   * Every message the run produced, in order (assistant turns, tool results), ready to store and to
   * append to the conversation. The input messages are not repeated.
   */
  messages: Message[];
  /** Usage summed over every model turn. */
  usage: Usage;
  /** Model turns made. */
  steps: number;
  /** Tool calls answered (agent tools; error results included). */
  toolCalls: number;
  /** Sum of the tool calls' durations (they overlap when run in parallel). */
  toolTimeMs: number;
}

/** The run ended normally. Always the last event, unless `error` is. */
export interface AgentFinishEvent extends AgentRunTotals {
  type: 'finish';
  finishReason: AgentFinishReason;
  /** True when `maxSteps` was used up and the last turn was made without tools. */
  maxStepsReached: boolean;
  /** Which model answered last; undefined when the run made no model turn. */
  response: ResponseInfo | undefined;
}

/**
 * The run failed: a model error (`LlmError`, e.g. `rate-limit`), an abort (`AgentError` code
 * `aborted`), or another `AgentError`. Always the last event. `messages` holds what was produced
 * before the failure (a partial answer's text included), with every tool call paired with a result.
 */
export interface AgentErrorEvent extends AgentRunTotals {
  type: 'error';
  error: LlmError | AgentError;
}

/** What `agent.run` and `agent.resume` yield. */
export type AgentEvent =
  | AgentTextDeltaEvent
  | AgentReasoningDeltaEvent
  | AgentFallbackEvent
  | AgentToolCallEvent
  | AgentToolResultEvent
  | AgentStepFinishEvent
  | AgentApprovalRequiredEvent
  | AgentClientToolCallsEvent
  | AgentFinishEvent
  | AgentErrorEvent;
