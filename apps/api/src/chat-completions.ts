import { randomUUID } from 'node:crypto';
import { type LanguageModel, LightAbortController, type Message, type Usage } from '@haia/llm';
import type { Store } from '@haia/store';
import type { Logger } from 'pino';
import type { ActiveTurns } from './active-turns.js';
import { ApiError, errorResponse, toApiError } from './api-error.js';
import { watchClientGone } from './client-gone.js';
import { buildCompletion } from './completion-response.js';
import { type OpenedConversation, openConversation, saveTurn, storeFailure } from './conversation-turn.js';
import { createEventStreamBody, fastResponse } from './fast-response.js';
import type { ApiMetrics } from './metrics.js';
import {
  fromOpenAiMessages,
  fromOpenAiToolChoice,
  fromOpenAiTools,
  modelParameters,
  toOpenAiToolCalls,
} from './openai-messages.js';
import { type OpenAiFinishReason, toOpenAiFinishReason, toOpenAiUsage } from './openai-usage.js';
import { readBody } from './read-body.js';
import { type ChatCompletionRequest, parseChatRequest } from './request-schema.js';
import { detectSideCall } from './side-call.js';
import { ChunkFrames, DONE_FRAME, KEEPALIVE_FRAME } from './sse-writer.js';
import { checkToolCallIds } from './tool-call-ids.js';
import { continueWithToolResults } from './tool-result-continuation.js';
import { createModelRunner, type TurnEvent, type TurnRunner } from './turn-runner.js';

/** A model clients can pick by name: `haia` or a `HAIA_MODELS` entry. */
export interface ChatModelEntry {
  /** The name on `/v1/models`. */
  name: string;
  /** `provider:model` that answers. */
  modelId: string;
  /** The plain model: side calls (titles, tags) go here. */
  model: LanguageModel;
  /** The agent on this model (HAIA's tools); conversation turns go here. */
  runner: TurnRunner;
}

/** What the chat handler needs. */
export interface ChatHandlerOptions {
  store: Store;
  models: ReadonlyMap<string, ChatModelEntry>;
  defaultModel: ChatModelEntry;
  metrics: ApiMetrics;
  logger: Logger;
  turns: ActiveTurns;
  bodyLimitBytes: number;
  /** Where Ollama is expected, for the "start Ollama" hint. */
  ollamaHost: string | undefined;
  /** Wall clock in ms, for `created`. */
  now: () => number;
  /** Gap after which a `: keepalive` comment is sent while HAIA's tools run (default 15 s). */
  keepaliveMs?: number;
}

/** Per-request values the server computed before the handler. */
export interface RequestContext {
  requestId: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** Headers every response carries (request id, CORS). */
  headers: Record<string, string>;
}

const ROUTE = '/v1/chat/completions';
const sideRunners = new WeakMap<LanguageModel, TurnRunner>();

function sideRunner(model: LanguageModel): TurnRunner {
  let runner = sideRunners.get(model);
  if (!runner) {
    runner = createModelRunner(model);
    sideRunners.set(model, runner);
  }
  return runner;
}

function header(request: Request, name: string): string | undefined {
  const value = request.headers.get(name);
  return value && value.trim() !== '' ? value.trim() : undefined;
}

function identify(request: Request, chat: ChatCompletionRequest) {
  const user = chat.user;
  const userId =
    typeof user === 'string'
      ? user || undefined
      : user && typeof user.id === 'string'
        ? user.id
        : header(request, 'x-openwebui-user-id');
  const externalId = header(request, 'x-openwebui-chat-id');
  const agent = request.headers.get('user-agent') ?? '';
  const client =
    externalId || header(request, 'x-openwebui-user-id')
      ? 'openwebui'
      : /^OpenAI\/JS/i.test(agent)
        ? 'openai-sdk'
        : /ai-sdk/i.test(agent)
          ? 'ai-sdk'
          : undefined;
  return { conversationId: header(request, 'x-haia-conversation-id'), externalId, userId, client };
}

/** The state of one turn while its events are written out. */
interface TurnState {
  text: string;
  /**
   * Text in which the model declined to answer, sent as OpenAI's `refusal` (not as content) when the
   * client asked for structured output; otherwise it goes out as content, which every chat UI shows.
   */
  refusal: string;
  /** The model declined to answer (either way): the turn finishes with `stop`, as OpenAI's does. */
  refused: boolean;
  reasoning: string;
  clientToolCalls: ReturnType<typeof toOpenAiToolCalls>;
  finishReason: string | undefined;
  usage: Usage | undefined;
  produced: Message[];
  answeredBy: string | undefined;
  /** The agent's model calls and tool calls, for the access line. */
  steps: number | undefined;
  toolCalls: number | undefined;
  error: ApiError | undefined;
  firstTokenAt: number | undefined;
  /** An agent step ended since the last text: the next text goes after a blank line. */
  stepEnded: boolean;
  /** HAIA's own note in the answer (a tool that needs approval, the step limit), stored with it. */
  note: string | undefined;
}

/**
 * `POST /v1/chat/completions`: validates, answers side calls with the plain model, otherwise
 * resolves and extends the conversation, runs the agent and writes OpenAI's SSE stream or JSON.
 * Errors before the first event get their real status; later ones a `data: {"error": …}` frame.
 */
export async function handleChatCompletion(
  request: Request,
  context: RequestContext,
  options: ChatHandlerOptions,
): Promise<Response> {
  const { metrics } = options;
  // A light controller: the turn's signal is only read by the agent and the model calls, which hand
  // their tools and attempts signals of their own (each real AbortSignal costs a hidden class on Node 20).
  const abort = new LightAbortController();
  // Registered before the body is read: a shutdown that begins meanwhile waits for this turn too,
  // instead of closing its connection under it.
  const endTurn = options.turns.begin((reason) => abort.abort(reason));
  let chat: ChatCompletionRequest;
  try {
    chat = parseChatRequest(await readBody(request, options.bodyLimitBytes));
  } catch (error) {
    endTurn();
    return failed(toApiError(error), context, options, { stream: undefined });
  }
  const entry = options.models.get(chat.model) ?? options.defaultModel;
  const responseModel = options.models.has(chat.model) ? chat.model : entry.modelId;
  const stream = chat.stream === true;
  // The openai SDK's `parse()` expects a refusal in `refusal`, not in the JSON it parses.
  const structuredOutput =
    chat.response_format?.type === 'json_schema' || chat.response_format?.type === 'json_object';
  const sideCall = detectSideCall(chat.messages, request.headers, stream);
  const incoming = fromOpenAiMessages(chat.messages);
  // Every line of this request (the access line, the agent's, the model's, the tools') carries its id.
  const logger = options.logger.child({ requestId: context.requestId });

  let conversation: OpenedConversation | undefined;
  try {
    const identity = sideCall ? undefined : identify(request, chat);
    // Only a request by id can continue with bare tool results (no promise for the others).
    const continuation =
      identity?.conversationId !== undefined
        ? await continueWithToolResults(options.store, metrics, logger, identity, incoming)
        : undefined;
    // Before anything is stored: a history the model refuses would break every later turn.
    checkToolCallIds(chat.messages, continuation?.storedCalls);
    if (identity) {
      conversation = await openConversation(
        options.store,
        metrics,
        logger,
        identity,
        continuation?.messages ?? incoming,
      );
    }
  } catch (error) {
    endTurn();
    return failed(toApiError(error), context, options, { stream, model: responseModel });
  }
  const headers: Record<string, string> = { ...context.headers };
  if (conversation) headers['x-haia-conversation-id'] = conversation.conversationId;

  let clientClosed = false;
  const onClientGone = () => {
    clientClosed = true;
    abort.abort(new Error('the client closed the connection'));
  };
  const stopWatching = watchClientGone(request, onClientGone);
  const runner = sideCall ? sideRunner(entry.model) : entry.runner;
  const iterator = runner
    .run({
      messages: conversation ? conversation.context : incoming,
      signal: abort.signal,
      clientTools: fromOpenAiTools(chat.tools),
      toolChoice: fromOpenAiToolChoice(chat.tool_choice),
      parameters: modelParameters(chat),
      logger,
    })
    [Symbol.asyncIterator]();

  const state: TurnState = {
    text: '',
    refusal: '',
    refused: false,
    reasoning: '',
    clientToolCalls: [],
    finishReason: undefined,
    usage: undefined,
    produced: [],
    answeredBy: undefined,
    steps: undefined,
    toolCalls: undefined,
    error: undefined,
    firstTokenAt: undefined,
    stepEnded: false,
    note: undefined,
  };
  const hints = { ollamaHost: options.ollamaHost };
  let stored = false;
  /** Stores what the run produced, once: before the stream's last frames, or with the turn's end. */
  const storeTurn = async () => {
    if (stored) return;
    stored = true;
    const model = state.answeredBy ?? entry.modelId;
    const produced = state.note === undefined ? state.produced : withNote(state.produced, state.note);
    if (conversation && produced.length > 0) {
      const storeStatus = state.error ? 'partial' : 'complete';
      try {
        await saveTurn(options.store, metrics, logger, conversation, produced, {
          status: storeStatus,
          model,
          usage: state.usage ?? { inputTokens: 0, outputTokens: 0 },
        });
      } catch (error) {
        logger.error({ err: error }, 'storing the answer failed');
        // The database is out of reach: the client is told, not left to believe the conversation
        // remembers this answer. (A conversation deleted meanwhile has nothing left to remember.)
        const failure = storeFailure(error);
        if (failure.status === 503 && !state.error) {
          state.error = new ApiError({
            status: 503,
            message: `HAIA answered but could not store the answer, so the conversation will not remember it: ${failure.message}`,
            code: failure.code,
            headers: failure.headers,
            cause: error,
          });
        }
      }
    }
  };
  const finishTurn = async (outcome: string, status: number) => {
    stopWatching();
    const model = state.answeredBy ?? entry.modelId;
    await storeTurn();
    endTurn();
    const latency = performance.now() - context.startedAt;
    metrics.recordRequest(ROUTE, status, latency / 1000);
    if (state.usage) metrics.recordTokens(model, state.usage.inputTokens, state.usage.outputTokens);
    (outcome === 'error' ? logger.warn : logger.info).call(
      logger,
      {
        route: ROUTE,
        status,
        model,
        stream,
        sideCall,
        conversationId: conversation?.conversationId,
        latencyMs: Math.round(latency * 10) / 10,
        ttftMs:
          state.firstTokenAt === undefined
            ? undefined
            : Math.round((state.firstTokenAt - context.startedAt) * 10) / 10,
        inputTokens: state.usage?.inputTokens,
        outputTokens: state.usage?.outputTokens,
        steps: state.steps,
        toolCalls: state.toolCalls,
        outcome,
        ...(state.error ? { errorCode: state.error.code } : {}),
      },
      'request',
    );
  };

  /** Applies one event to the state; returns the SSE frame to send, if any. */
  const apply = (event: TurnEvent): string | undefined => {
    switch (event.type) {
      case 'text-delta': {
        if (event.text === '') return undefined;
        if (state.firstTokenAt === undefined) markFirstToken();
        if (event.refusal === true) {
          const first = !state.refused;
          state.refused = true;
          if (structuredOutput) {
            state.refusal += event.text;
            return frames.refusal(event.text);
          }
          // OpenWebUI and LibreChat read only `content`: a refusal elsewhere would show as nothing.
          // After partial text it starts a paragraph of its own.
          const shown = first && state.text !== '' ? `\n\n${event.text}` : event.text;
          state.text += shown;
          return frames.content(shown);
        }
        // A later agent step's text starts a new paragraph, not the end of the last sentence.
        const text = state.stepEnded && state.text !== '' ? `\n\n${event.text}` : event.text;
        state.stepEnded = false;
        state.text += text;
        return frames.content(text);
      }
      case 'step-finish':
        state.stepEnded = true;
        return undefined;
      case 'reasoning-delta':
        if (event.text === '') return undefined;
        if (state.firstTokenAt === undefined) markFirstToken();
        state.reasoning += event.text;
        return frames.reasoning(event.text);
      case 'tool-result':
        metrics.toolCalls.inc({
          tool: event.toolName,
          outcome: event.outcome ?? (event.isError ? 'error' : 'ok'),
        });
        return undefined;
      case 'client-tool-calls':
        state.clientToolCalls = toOpenAiToolCalls(event.toolCalls);
        return frames.toolCalls(state.clientToolCalls);
      case 'approval-required': {
        const names = event.pending.map((call) => call.toolName).join(', ');
        return addNote(
          `(HAIA stopped before running ${names}: that tool needs a person's approval, which this API cannot ask for yet.)`,
        );
      }
      case 'finish':
        state.finishReason = event.finishReason;
        state.usage = event.usage;
        state.produced = event.messages;
        state.answeredBy = event.response?.model;
        state.steps = event.steps;
        state.toolCalls = event.toolCalls;
        if (event.maxStepsReached && state.text.trim() === '' && state.clientToolCalls.length === 0) {
          // The model kept calling tools to the end: say why there is no answer, not an empty reply.
          return addNote(
            `(HAIA stopped after ${event.steps ?? 'its'} model turns without an answer: HAIA_MAX_STEPS is the limit. Ask for less at once, or raise it.)`,
          );
        }
        return undefined;
      case 'error':
        state.usage = event.usage;
        state.produced = event.messages;
        state.error =
          abort.signal.aborted && !clientClosed
            ? new ApiError({
                status: 503,
                message: 'HAIA is shutting down: the answer so far is stored as partial. Retry in a moment.',
                code: 'shutting_down',
                cause: event.error,
              })
            : toApiError(event.error, hints);
        return undefined;
      default:
        return undefined;
    }
  };
  /** Adds HAIA's `note` to the answer (after a blank line when there is text), to send and to store. */
  const addNote = (note: string): string => {
    const shown = state.text === '' ? note : `\n\n${note}`;
    state.text += shown;
    state.note = note;
    return frames.content(shown);
  };
  const markFirstToken = () => {
    state.firstTokenAt = performance.now();
    metrics.recordFirstToken(entry.modelId, (state.firstTokenAt - context.startedAt) / 1000);
  };
  const onEvent = (result: IteratorResult<TurnEvent>): TurnEvent | undefined =>
    result.done ? undefined : result.value;
  const onRunnerThrew = (error: unknown): TurnEvent => {
    // A runner that throws instead of reporting `error`: keep what was said so far.
    const produced: Message[] = state.text ? [{ role: 'assistant', content: state.text }] : [];
    return {
      type: 'error',
      error,
      usage: state.usage ?? { inputTokens: 0, outputTokens: 0 },
      messages: produced,
    };
  };
  // One promise per event (no async wrapper around the iterator's own).
  const next = (): Promise<TurnEvent | undefined> => {
    try {
      return iterator.next().then(onEvent, onRunnerThrew);
    } catch (error) {
      return Promise.resolve(onRunnerThrew(error));
    }
  };

  // Wait for the first event: an upstream failure before it still gets a real HTTP status. A fallback
  // model says first which model took over: the chunks name it, as the JSON answer does.
  let first = await next();
  let tookOver: string | undefined;
  while (first?.type === 'fallback') {
    tookOver = first.model;
    first = await next();
  }
  const frames = new ChunkFrames(
    `chatcmpl-${randomUUID()}`,
    Math.floor(options.now() / 1000),
    options.models.has(chat.model) ? chat.model : (tookOver ?? responseModel),
  );
  if (first?.type === 'error') {
    apply(first);
    const error = state.error as ApiError;
    await finishTurn(abort.signal.aborted ? 'client-closed' : 'error', error.status);
    return errorResponse(error, headers);
  }

  if (!stream) {
    let event: TurnEvent | undefined = first;
    while (event) {
      apply(event);
      event = await next();
    }
    await storeTurn();
    if (state.error) {
      await finishTurn(abort.signal.aborted ? 'client-closed' : 'error', state.error.status);
      return errorResponse(state.error, headers);
    }
    const body = buildCompletion({
      id: frames.id,
      created: frames.created,
      // A model the client named is echoed; otherwise the reply names the model that answered (a fallback too).
      model: options.models.has(chat.model) ? chat.model : (state.answeredBy ?? responseModel),
      text: state.text,
      refusal: state.refusal,
      reasoning: state.reasoning,
      toolCalls: state.clientToolCalls.map(({ index: _index, ...call }) => call),
      finishReason: finishReasonOf(state),
      usage: toOpenAiUsage(state.usage),
    });
    await finishTurn(state.clientToolCalls.length > 0 ? 'tool-calls' : 'ok', 200);
    return fastResponse(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json', ...headers },
    });
  }

  const includeUsage = chat.stream_options?.include_usage === true;
  const keepaliveMs = options.keepaliveMs ?? 15_000;
  const body = createEventStreamBody(onClientGone);
  let lastWrite = performance.now();
  // Frames produced in the same event-loop turn (a burst of upstream chunks) go out as one write.
  let pending = '';
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    body.write(text);
  };
  const write = (frame: string) => {
    if (!body.open) return;
    lastWrite = performance.now();
    pending += frame;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  metrics.activeStreams.inc();
  const keepalive = setInterval(() => {
    if (performance.now() - lastWrite >= keepaliveMs) write(KEEPALIVE_FRAME);
  }, keepaliveMs);
  keepalive.unref();
  void (async () => {
    write(frames.role());
    let event: TurnEvent | undefined = first;
    while (event) {
      const frame = apply(event);
      if (frame !== undefined) write(frame);
      // The first event (with the role frame) goes out at once, not after the other sockets of this
      // event-loop turn: it is the client's time to first token. Later frames are batched.
      if (event === first) flush();
      event = await next();
    }
    clearInterval(keepalive);
    // Stored before the last frames: a client that sends its next turn as soon as it reads
    // `[DONE]` finds this answer in the conversation (else it would be stored a second time).
    await storeTurn();
    let outcome = 'ok';
    if (state.error) {
      outcome = abort.signal.aborted ? 'client-closed' : 'error';
      write(frames.error(state.error));
    } else {
      const clientTools = state.clientToolCalls.length > 0;
      if (clientTools) outcome = 'tool-calls';
      write(frames.finish(finishReasonOf(state)));
      if (includeUsage) write(frames.usage(toOpenAiUsage(state.usage)));
      write(DONE_FRAME);
    }
    flush();
    if (!body.open && outcome === 'ok') outcome = 'client-closed';
    await finishTurn(outcome, 200);
    metrics.activeStreams.dec();
    body.end();
  })();
  return body.response({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...headers,
  });
}

/**
 * The turn's `finish_reason`: `stop` after a refusal, as OpenAI answers one (the refusal field says
 * why; `content_filter` would make the openai SDK's `parse()` throw instead of returning it).
 */
function finishReasonOf(state: TurnState): OpenAiFinishReason {
  const clientTools = state.clientToolCalls.length > 0;
  if (state.refused && !clientTools) return 'stop';
  return toOpenAiFinishReason(state.finishReason, clientTools);
}

/**
 * `produced` with HAIA's `note` at its end, as the client saw it (a text part of the last message when
 * that is the assistant's, else an assistant message of its own), so the client's next turn, which
 * resends the note, continues this answer.
 */
function withNote(produced: readonly Message[], note: string): Message[] {
  const messages = [...produced];
  const last = messages.at(-1);
  if (last?.role !== 'assistant') {
    messages.push({ role: 'assistant', content: note });
    return messages;
  }
  const content =
    typeof last.content === 'string' ? [{ type: 'text' as const, text: last.content }] : last.content;
  messages[messages.length - 1] = { role: 'assistant', content: [...content, { type: 'text', text: note }] };
  return messages;
}

async function failed(
  error: ApiError,
  context: RequestContext,
  options: ChatHandlerOptions,
  details: { stream: boolean | undefined; model?: string },
): Promise<Response> {
  const latency = performance.now() - context.startedAt;
  options.metrics.recordRequest(ROUTE, error.status, latency / 1000);
  const log =
    error.status >= 500 ? options.logger.warn.bind(options.logger) : options.logger.info.bind(options.logger);
  log(
    {
      requestId: context.requestId,
      route: ROUTE,
      status: error.status,
      model: details.model,
      stream: details.stream,
      latencyMs: Math.round(latency * 10) / 10,
      outcome: 'error',
      errorCode: error.code,
      ...(error.status >= 500 && error.cause ? { err: error.cause } : {}),
      ...(error.param ? { param: error.param } : {}),
    },
    'request',
  );
  return errorResponse(error, context.headers);
}
