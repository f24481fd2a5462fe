/**
 * @module @haia/agent
 * HAIA's tool-calling agent: model turns, tool calls, limits, approvals and events.
 */
// For tools and toolsets that bind their own keys (`component`, ...) to a `ToolContext.logger`.
export { bindLogger } from '@haia/llm';
export { AgentError, type AgentErrorCode, type AgentErrorOptions } from './agent-error.js';
export type {
  AgentApprovalRequiredEvent,
  AgentClientToolCallsEvent,
  AgentErrorEvent,
  AgentEvent,
  AgentFallbackEvent,
  AgentFinishEvent,
  AgentFinishReason,
  AgentReasoningDeltaEvent,
  AgentRunTotals,
  AgentStepFinishEvent,
  AgentTextDeltaEvent,
  AgentToolCallEvent,
  AgentToolResultEvent,
  PendingApproval,
  ToolCallOutcome,
} from './agent-event.js';
export {
  estimateMessageTokens,
  type TokenEstimator,
  type TrimResult,
  trimMessages,
} from './context-trimming.js';
export {
  type Agent,
  type AgentLimits,
  type AgentResult,
  type AgentRunResponse,
  type CreateAgentOptions,
  collectRun,
  createAgent,
  type ResumeOptions,
  type RunOptions,
} from './create-agent.js';
export { type HomelabInstructionsOptions, homelabInstructions } from './homelab-instructions.js';
export type { Instructions, InstructionsContext, ModelSettings } from './run-loop.js';
export type { StartTimer } from './start-timer.js';
export {
  type DefineToolOptions,
  defineTool,
  requiresApproval,
  type Tool,
  type ToolAnnotations,
  type ToolContext,
  type ToolErrorOutput,
  type ToolInputParse,
  type ToolOutput,
} from './tool.js';
export type { ApprovalDecision } from './tool-calls.js';
export { createToolset, type Toolset } from './toolset.js';
