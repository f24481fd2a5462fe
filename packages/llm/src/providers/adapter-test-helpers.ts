import { expect } from 'vitest';
import type { ChatEvent } from '../chat-event.js';
import type { ChatRequest } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import type { ProviderAdapter } from './provider-adapter.js';

/** Collects every event an adapter yields for one request (test helper). */
export async function run(
  model: ProviderAdapter,
  request: Omit<ChatRequest, 'signal'>,
  signal: AbortSignal = new AbortController().signal,
): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of model.stream(request, signal)) events.push(event);
  return events;
}

/** The events an adapter yielded for one request before it failed, and the `LlmError` it failed with. */
export async function runUntilFailure(
  model: ProviderAdapter,
  request: Omit<ChatRequest, 'signal'>,
): Promise<{ events: ChatEvent[]; error: LlmError }> {
  const events: ChatEvent[] = [];
  const error = await failure(
    (async () => {
      for await (const event of model.stream(request, new AbortController().signal)) events.push(event);
    })(),
  );
  return { events, error };
}

/** The `LlmError` a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise;
  } catch (error) {
    expect(LlmError.isInstance(error)).toBe(true);
    return error as LlmError;
  }
  throw new Error('expected a failure');
}

/** The events of a short scripted answer, "hello", from `acme:m1` (test helper). */
export function helloAnswer(): ChatEvent[] {
  return [
    { type: 'text-delta', text: 'hello' },
    {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 1 },
      response: { model: 'acme:m1', id: undefined },
    },
  ];
}
