import type { SseEvent } from '../replies.js';

/** A text block of a scripted answer; `chunks` are the `text_delta`s (default: the whole text once). */
export interface AnthropicTextBlock {
  type: 'text';
  text: string;
  chunks?: string[];
}

/** A thinking block, sent as `thinking_delta`s followed by one `signature_delta`. */
export interface AnthropicThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
  chunks?: string[];
}

/** A redacted thinking block (arrives whole in `content_block_start`). */
export interface AnthropicRedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
}

/**
 * A tool call. `fragments` are the `input_json_delta.partial_json` strings (default: `""` and then the
 * JSON of `input` cut into three pieces, like the real API); their concatenation must parse, except
 * to script a call that `max_tokens` cut off (then also set `stopReason: 'max_tokens'`).
 */
export interface AnthropicToolUseBlock {
  type: 'tool_use';
  id?: string;
  name: string;
  input: Record<string, unknown>;
  fragments?: string[];
}

/** One content block of a scripted answer. */
export type AnthropicScriptBlock =
  | AnthropicTextBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock
  | AnthropicToolUseBlock;

/** Token counts of a scripted answer (Anthropic's `usage` fields). */
export interface AnthropicScriptUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  /** Sent as `output_tokens_details.thinking_tokens` in `message_delta`. */
  thinkingTokens?: number;
}

/** Anthropic's stop reasons. */
export type AnthropicStopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'pause_turn'
  | 'refusal'
  | 'model_context_window_exceeded';

/** A scripted answer of the fake: served as SSE for `stream: true`, as one JSON message otherwise. */
export interface AnthropicScript {
  content: AnthropicScriptBlock[];
  /** Default `msg_fake_<n>`. */
  id?: string;
  /** Default: the requested model. */
  model?: string;
  /** Default `tool_use` when a tool_use block is present, else `end_turn`. */
  stopReason?: AnthropicStopReason;
  stopSequence?: string | null;
  usage?: AnthropicScriptUsage;
  /** Adds a `ping` event after the first `content_block_start` (default true, like the SDK fixture). */
  ping?: boolean;
  /** Newer API versions repeat input and cache counts in `message_delta.usage` (default false). */
  repeatUsageInDelta?: boolean;
  /** Wait before each event, in ms (slow chunks). */
  delayMs?: number;
  /** Wait before the first event, in ms (default `delayMs`). */
  firstDelayMs?: number;
  /** Writes every event in two TCP writes, cut in the middle, to test partial-frame buffering. */
  splitEvents?: boolean;
  /**
   * Sends `event: error` with this error instead of the rest of the stream, after `afterEvents`
   * events (default: after the first content block), then ends the body: what the API does on
   * overload mid-stream.
   */
  streamError?: { type: string; message: string; afterEvents?: number };
  /**
   * Stops before `message_stop`: after `afterEvents` events (default: all but `message_stop`). `mode`
   * `end` ends the body cleanly, `destroy` kills the socket (default `end`).
   */
  endEarly?: { afterEvents?: number; mode?: 'end' | 'destroy' };
  /**
   * Sends the first `hangAfterEvents` events, then neither writes nor ends until the client goes
   * away or the fake closes: a stalled stream, for abort and timeout tests.
   */
  hangAfterEvents?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

let counter = 0;

/** A fresh id with a prefix, unique within the process. */
export function fakeId(prefix: string): string {
  counter++;
  return `${prefix}_fake${String(counter).padStart(6, '0')}`;
}

function defaultStopReason(script: AnthropicScript): AnthropicStopReason {
  return (
    script.stopReason ?? (script.content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn')
  );
}

function defaultFragments(input: Record<string, unknown>): string[] {
  const text = JSON.stringify(input);
  const third = Math.max(1, Math.floor(text.length / 3));
  return ['', text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)].filter(
    (fragment, index) => index === 0 || fragment !== '',
  );
}

function startUsage(usage: AnthropicScriptUsage = {}) {
  return {
    input_tokens: usage.inputTokens ?? 10,
    cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
    cache_read_input_tokens: usage.cacheReadInputTokens ?? 0,
    output_tokens: 1,
    service_tier: 'standard',
  };
}

function finalUsage(script: AnthropicScript, outputTokens: number) {
  const usage = script.usage ?? {};
  return {
    ...(script.repeatUsageInDelta
      ? {
          input_tokens: usage.inputTokens ?? 10,
          cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
          cache_read_input_tokens: usage.cacheReadInputTokens ?? 0,
        }
      : {}),
    output_tokens: outputTokens,
    ...(usage.thinkingTokens !== undefined
      ? { output_tokens_details: { thinking_tokens: usage.thinkingTokens } }
      : {}),
  };
}

function estimateOutputTokens(script: AnthropicScript): number {
  let characters = 0;
  for (const block of script.content) {
    if (block.type === 'text') characters += block.text.length;
    else if (block.type === 'thinking') characters += block.thinking.length;
    else if (block.type === 'tool_use') characters += JSON.stringify(block.input).length;
  }
  return Math.max(1, Math.ceil(characters / 4));
}

/** Resolves the ids a script leaves out, so the stream and the JSON form agree. */
export function resolveScript(
  script: AnthropicScript,
  requestedModel: string,
): Required<Pick<AnthropicScript, 'id' | 'model'>> & AnthropicScript {
  return {
    ...script,
    id: script.id ?? fakeId('msg'),
    model: script.model ?? requestedModel,
    content: script.content.map((block) =>
      block.type === 'tool_use' ? { ...block, id: block.id ?? fakeId('toolu') } : block,
    ),
  };
}

/**
 * The SSE events the real API sends for `script`, in order (`message_start` … `message_stop`),
 * before any fault injection.
 */
export function anthropicStreamEvents(script: AnthropicScript & { id: string; model: string }): SseEvent[] {
  const events: SseEvent[] = [];
  const add = (data: { type: string } & Record<string, unknown>) => events.push({ event: data.type, data });
  add({
    type: 'message_start',
    message: {
      id: script.id,
      type: 'message',
      role: 'assistant',
      model: script.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: startUsage(script.usage),
    },
  });
  script.content.forEach((block, index) => {
    switch (block.type) {
      case 'text':
        add({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        if (index === 0 && script.ping !== false) add({ type: 'ping' });
        for (const text of block.chunks ?? [block.text]) {
          add({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
        }
        break;
      case 'thinking':
        add({
          type: 'content_block_start',
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        });
        if (index === 0 && script.ping !== false) add({ type: 'ping' });
        for (const thinking of block.chunks ?? [block.thinking]) {
          add({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } });
        }
        add({
          type: 'content_block_delta',
          index,
          delta: { type: 'signature_delta', signature: block.signature },
        });
        break;
      case 'redacted_thinking':
        add({
          type: 'content_block_start',
          index,
          content_block: { type: 'redacted_thinking', data: block.data },
        });
        break;
      case 'tool_use':
        add({
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
        });
        if (index === 0 && script.ping !== false) add({ type: 'ping' });
        for (const partial_json of block.fragments ?? defaultFragments(block.input)) {
          add({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
        }
        break;
    }
    add({ type: 'content_block_stop', index });
  });
  add({
    type: 'message_delta',
    delta: { stop_reason: defaultStopReason(script), stop_sequence: script.stopSequence ?? null },
    usage: finalUsage(script, script.usage?.outputTokens ?? estimateOutputTokens(script)),
  });
  add({ type: 'message_stop' });
  return events;
}

/** The non-streaming JSON message the real API returns for `script`. */
export function anthropicMessage(
  script: AnthropicScript & { id: string; model: string },
): Record<string, unknown> {
  const usage = script.usage ?? {};
  return {
    id: script.id,
    type: 'message',
    role: 'assistant',
    model: script.model,
    content: script.content.map((block) => {
      switch (block.type) {
        case 'text':
          return { type: 'text', text: block.text };
        case 'thinking':
          return { type: 'thinking', thinking: block.thinking, signature: block.signature };
        case 'redacted_thinking':
          return { type: 'redacted_thinking', data: block.data };
        default:
          return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
      }
    }),
    stop_reason: defaultStopReason(script),
    stop_sequence: script.stopSequence ?? null,
    usage: {
      input_tokens: usage.inputTokens ?? 10,
      output_tokens: usage.outputTokens ?? estimateOutputTokens(script),
      cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
      cache_read_input_tokens: usage.cacheReadInputTokens ?? 0,
      ...(usage.thinkingTokens !== undefined
        ? { output_tokens_details: { thinking_tokens: usage.thinkingTokens } }
        : {}),
      service_tier: 'standard',
    },
  };
}
