import { type ChatEvent, emptyUsage, type FinishReason, type Usage } from '../chat-event.js';
import { collectStream } from '../collect-stream.js';
import type { ChatRequest, GenerateResult, LanguageModel } from '../language-model.js';
import { LlmError } from '../llm-error.js';

/** A scripted answer in short form; text and reasoning are sent as one delta each. */
export interface MockAnswer {
  text?: string;
  reasoning?: string;
  toolCalls?: Array<{ toolCallId?: string; toolName: string; input: unknown }>;
  finishReason?: FinishReason;
  usage?: Usage;
}

/** One call's script: exact events (a `finish` is added when missing), a short answer, or an error to throw. */
export type MockResult = ChatEvent[] | MockAnswer | Error;

/** Decides a call's result from the request and the call's index (0 for the first call). */
export type MockResultFunction = (request: ChatRequest, index: number) => MockResult | Promise<MockResult>;

/** Options of {@link MockLanguageModel}. */
export interface MockLanguageModelOptions {
  /** One result for every call, one per call in order, or a function. */
  results: MockResult | MockResult[] | MockResultFunction;
  provider?: string;
  modelId?: string;
  /** Wait between events, in ms (default 0: no timer at all). */
  delayMs?: number;
}

/**
 * A `LanguageModel` for tests of code that uses one: scripted results, recorded calls, abort honoured.
 *
 * @example
 * const model = new MockLanguageModel({ results: [{ toolCalls: [{ toolName: 'list_vms', input: {} }] }, { text: 'Two VMs.' }] });
 * await model.generate({ messages: [{ role: 'user', content: 'hi' }] });
 * model.calls[0]?.messages;
 */
export class MockLanguageModel implements LanguageModel {
  readonly provider: string;
  readonly modelId: string;
  /** Every request received, in order. */
  readonly calls: ChatRequest[] = [];
  private readonly options: MockLanguageModelOptions;

  constructor(options: MockLanguageModelOptions) {
    this.options = options;
    this.provider = options.provider ?? 'mock';
    this.modelId = options.modelId ?? 'mock-model';
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatEvent> {
    const index = this.calls.length;
    this.calls.push(request);
    const result = await this.resultFor(request, index);
    if (result instanceof Error) throw result;
    const events = Array.isArray(result) ? [...result] : answerEvents(result, index);
    // Exactly one finish, last: a scripted list is cut after its first finish.
    const firstFinish = events.findIndex((event) => event.type === 'finish');
    if (firstFinish !== -1) events.length = firstFinish + 1;
    if (events.at(-1)?.type !== 'finish') {
      const hasToolCalls = events.some((event) => event.type === 'tool-call');
      const answer = Array.isArray(result) ? {} : result;
      events.push({
        type: 'finish',
        finishReason: answer.finishReason ?? (hasToolCalls ? 'tool-calls' : 'stop'),
        usage: answer.usage ?? emptyUsage(),
        response: { model: `${this.provider}:${this.modelId}`, id: `mock-${index + 1}` },
      });
    }
    for (const event of events) {
      if (this.options.delayMs) await wait(this.options.delayMs, request.signal);
      this.throwIfAborted(request.signal);
      yield event;
    }
  }

  generate(request: ChatRequest): Promise<GenerateResult> {
    return collectStream(this.stream(request));
  }

  private async resultFor(request: ChatRequest, index: number): Promise<MockResult> {
    const { results } = this.options;
    if (typeof results === 'function') return results(request, index);
    if (!Array.isArray(results) || isEventList(results)) return results as MockResult;
    const list = results as MockResult[];
    const result = list[index];
    if (result === undefined) {
      throw new Error(`MockLanguageModel: call ${index + 1} has no scripted result (${list.length} given)`);
    }
    return result;
  }

  private throwIfAborted(signal: AbortSignal | undefined) {
    if (signal?.aborted) {
      throw new LlmError({
        code: 'aborted',
        message: 'The model call was aborted.',
        provider: this.provider,
        model: this.modelId,
        cause: signal.reason,
      });
    }
  }
}

function isEventList(results: readonly unknown[]): boolean {
  const first = results[0];
  return (
    typeof first === 'object' &&
    first !== null &&
    !(first instanceof Error) &&
    !Array.isArray(first) &&
    'type' in first
  );
}

function answerEvents(answer: MockAnswer, index: number): ChatEvent[] {
  const events: ChatEvent[] = [];
  if (answer.reasoning) events.push({ type: 'reasoning-delta', text: answer.reasoning });
  if (answer.text) events.push({ type: 'text-delta', text: answer.text });
  for (const [position, call] of (answer.toolCalls ?? []).entries()) {
    events.push({
      type: 'tool-call',
      toolCallId: call.toolCallId ?? `call_${index}_${position}`,
      toolName: call.toolName,
      input: call.input,
    });
  }
  return events;
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
