import { Writable } from 'node:stream';
import type { Message } from '@haia/llm';
import { type Logger, pino } from 'pino';
import type { AgentEvent } from './agent-event.js';

/** Every event of a run, in order. */
export async function collectEvents(events: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const list: AgentEvent[] = [];
  for await (const event of events) list.push(event);
  return list;
}

/** The events of one type. */
export function eventsOf<Type extends AgentEvent['type']>(
  events: readonly AgentEvent[],
  type: Type,
): Extract<AgentEvent, { type: Type }>[] {
  return events.filter((event): event is Extract<AgentEvent, { type: Type }> => event.type === type);
}

/** The last event, which must be of `type`. */
export function lastEvent<Type extends 'finish' | 'error'>(
  events: readonly AgentEvent[],
  type: Type,
): Extract<AgentEvent, { type: Type }> {
  const last = events.at(-1);
  if (last?.type !== type)
    throw new Error(`expected the last event to be ${type}, got ${JSON.stringify(last)}`);
  return last as Extract<AgentEvent, { type: Type }>;
}

/** A user message. */
export function user(text: string): Message {
  return { role: 'user', content: text };
}

/** A real pino logger writing JSON lines into memory (`raw`: each line's text). */
export function memoryLogger(): {
  logger: Logger;
  lines: () => Array<Record<string, unknown>>;
  raw: () => string[];
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, destination);
  const raw = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '');
  return { logger, lines: () => raw().map((line) => JSON.parse(line) as Record<string, unknown>), raw };
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Resolves when `signal` fires. */
export function abortOf(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}
