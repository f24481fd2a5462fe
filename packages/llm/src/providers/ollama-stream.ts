import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChatEvent, FinishEvent, FinishReason } from '../chat-event.js';
import { LlmError } from '../llm-error.js';
import { OLLAMA_GENERATED_ID_PREFIX } from './ollama-request.js';

const toolCallSchema = z.object({
  id: z.string().optional(),
  function: z.object({
    index: z.number().optional(),
    name: z.string(),
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  }),
});

/** One NDJSON line of `/api/chat` (and the whole non-streaming answer). */
export const ollamaChunkSchema = z.object({
  model: z.string().optional(),
  created_at: z.string().optional(),
  message: z
    .object({
      role: z.string().optional(),
      content: z.string().optional(),
      thinking: z.string().optional(),
      tool_calls: z.array(toolCallSchema).nullish(),
    })
    .optional(),
  done: z.boolean().optional(),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
  error: z.string().optional(),
});

/** A parsed `/api/chat` line. */
export type OllamaChunk = z.infer<typeof ollamaChunkSchema>;

/** Maps `done_reason` (and whether calls were made) to ours. */
export function mapOllamaDoneReason(reason: string | undefined, madeToolCalls: boolean): FinishReason {
  if (reason === undefined || reason === '' || reason === 'stop')
    return madeToolCalls ? 'tool-calls' : 'stop';
  if (reason === 'length') return 'length';
  return 'other';
}

/**
 * Splits a byte stream into lines and parses each as a validated `/api/chat` chunk, incrementally:
 * a line split across reads is buffered until its newline.
 */
export async function* readOllamaLines(
  body: ReadableStream<Uint8Array>,
  modelId: string,
): AsyncGenerator<OllamaChunk> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line !== '') yield parseLine(line, modelId);
        newline = buffer.indexOf('\n');
      }
      if (done) break;
    }
    const rest = buffer.trim();
    if (rest !== '') yield parseLine(rest, modelId);
  } finally {
    // Stops the body (and so the socket) when the consumer leaves early.
    await reader.cancel().catch(() => {});
  }
}

function parseLine(line: string, modelId: string): OllamaChunk {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new LlmError({
      code: 'server',
      message: `Ollama sent a stream line that is not JSON: ${line.slice(0, 120)}`,
      provider: 'ollama',
      model: modelId,
      cause,
    });
  }
  const result = ollamaChunkSchema.safeParse(value);
  if (!result.success) {
    throw new LlmError({
      code: 'server',
      message: `Ollama sent a stream line of an unexpected shape: ${result.error.issues[0]?.message ?? 'invalid'}`,
      provider: 'ollama',
      model: modelId,
      cause: result.error,
    });
  }
  return result.data;
}

/** Turns `/api/chat` chunks into chat events; `finish` throws when no `done: true` came. */
export class OllamaStreamState {
  private done: OllamaChunk | undefined;
  private callCount = 0;
  private readonly callPrefix = `${OLLAMA_GENERATED_ID_PREFIX}${randomUUID().slice(0, 8)}-`;

  constructor(private readonly modelId: string) {}

  /** The events of one chunk; throws on an in-stream `{"error": …}` line. */
  push(chunk: OllamaChunk): ChatEvent[] {
    if (chunk.error !== undefined) {
      throw new LlmError({
        code: 'server',
        message: `Ollama failed while answering with ${this.modelId}: ${chunk.error}`,
        provider: 'ollama',
        model: this.modelId,
      });
    }
    const events: ChatEvent[] = [];
    const message = chunk.message;
    if (message?.thinking) events.push({ type: 'reasoning-delta', text: message.thinking });
    if (message?.content) events.push({ type: 'text-delta', text: message.content });
    for (const call of message?.tool_calls ?? []) {
      const index = this.callCount++;
      events.push({
        type: 'tool-call',
        toolCallId: call.id || `${this.callPrefix}${index}`,
        toolName: call.function.name,
        input: parseArguments(call.function.arguments),
      });
    }
    if (chunk.done === true) this.done = chunk;
    return events;
  }

  /** Whether the final chunk arrived. */
  get finished(): boolean {
    return this.done !== undefined;
  }

  /** The closing event; throws when the stream ended without `done: true`. */
  finish(): FinishEvent {
    if (!this.done) {
      throw new LlmError({
        code: 'network',
        message: `Ollama's stream for ${this.modelId} ended before "done": the answer is incomplete (did the server stop?).`,
        provider: 'ollama',
        model: this.modelId,
      });
    }
    return {
      type: 'finish',
      finishReason: mapOllamaDoneReason(this.done.done_reason, this.callCount > 0),
      usage: { inputTokens: this.done.prompt_eval_count ?? 0, outputTokens: this.done.eval_count ?? 0 },
      response: { model: `ollama:${this.modelId}`, id: undefined },
    };
  }
}

function parseArguments(value: Record<string, unknown> | string | undefined): unknown {
  if (value === undefined) return {};
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
