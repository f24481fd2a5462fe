import type {
  AssistantMessage,
  ChatRequest,
  LanguageModel,
  Logger,
  Message,
  ResponseInfo,
  ToolCallPart,
  ToolChoice,
  ToolSpec,
  Usage,
} from '@haia/llm';
import type { ModelParameters } from './openai-messages.js';

/**
 * What a chat turn yields: `@haia/agent`'s `AgentEvent`, read structurally (only the fields the API
 * uses), so the plain model (side calls) and the agent go through the same writer.
 */
export type TurnEvent =
  /** `refusal: true`: text in which the model declined to answer. */
  | { type: 'text-delta'; text: string; refusal?: true }
  | { type: 'reasoning-delta'; text: string }
  /** A fallback model moved on to `model` (`provider:model`) before that model's first event. */
  | { type: 'fallback'; model: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown; client?: boolean }
  | { type: 'tool-result'; toolCallId: string; toolName: string; isError?: boolean; outcome?: string }
  | { type: 'step-finish' }
  | { type: 'approval-required'; pending: ReadonlyArray<{ toolName: string }> }
  | { type: 'client-tool-calls'; toolCalls: ToolCallPart[] }
  | {
      type: 'finish';
      finishReason: string;
      usage: Usage;
      messages: Message[];
      response?: ResponseInfo | undefined;
      /** Model calls the agent made (absent for the plain model). */
      steps?: number;
      /** HAIA's own tool calls the agent ran (absent for the plain model). */
      toolCalls?: number;
      /** The agent used up its steps (`HAIA_MAX_STEPS`) and made its last turn without tools. */
      maxStepsReached?: boolean;
    }
  | { type: 'error'; error: unknown; usage: Usage; messages: Message[] };

/** One turn's input. */
export interface TurnInput {
  messages: Message[];
  signal: AbortSignal;
  /** The client's own tools: offered to the model, a call to one ends the turn. */
  clientTools: ToolSpec[];
  toolChoice?: ToolChoice | undefined;
  parameters: ModelParameters;
  /**
   * The request's logger, bound to its `requestId`: the run's lines, its tools' and its model calls'
   * (`ChatRequest.logger`) are written there.
   */
  logger: Logger;
}

/** Runs a turn: the agent (with HAIA's tools), or the plain model for side calls. */
export interface TurnRunner {
  run(input: TurnInput): AsyncIterable<TurnEvent>;
}

/**
 * The plain model as a {@link TurnRunner}: one model call, no HAIA tools (the client's tools are
 * offered and end the turn), errors reported as an `error` event carrying the partial answer.
 */
export function createModelRunner(model: LanguageModel): TurnRunner {
  return {
    async *run(input) {
      let text = '';
      let reasoning = '';
      const toolCalls: ToolCallPart[] = [];
      const produced = (): Message[] => {
        if (!text && !reasoning && toolCalls.length === 0) return [];
        const content: Exclude<AssistantMessage['content'], string> = [];
        if (reasoning) content.push({ type: 'reasoning', text: reasoning });
        if (text) content.push({ type: 'text', text });
        content.push(...toolCalls);
        return [{ role: 'assistant', content: reasoning || toolCalls.length ? content : text }];
      };
      const request: ChatRequest = {
        messages: input.messages,
        signal: input.signal,
        logger: input.logger,
        ...input.parameters,
      };
      if (input.clientTools.length > 0) request.tools = input.clientTools;
      if (input.toolChoice) request.toolChoice = input.toolChoice;
      try {
        for await (const event of model.stream(request)) {
          switch (event.type) {
            case 'text-delta':
              text += event.text;
              yield event;
              break;
            case 'reasoning-delta':
              reasoning += event.text;
              yield event;
              break;
            case 'fallback':
              yield event;
              break;
            case 'tool-call': {
              const call: ToolCallPart = {
                type: 'tool-call',
                toolCallId: event.toolCallId,
                toolName: event.toolName,
                input: event.input,
              };
              toolCalls.push(call);
              yield { ...event, client: true };
              break;
            }
            case 'finish':
              if (toolCalls.length > 0) yield { type: 'client-tool-calls', toolCalls };
              yield {
                type: 'finish',
                finishReason: toolCalls.length > 0 ? 'client-tool-calls' : event.finishReason,
                usage: event.usage,
                messages: produced(),
                response: event.response,
              };
              return;
          }
        }
      } catch (error) {
        yield { type: 'error', error, usage: { inputTokens: 0, outputTokens: 0 }, messages: produced() };
      }
    },
  };
}
