import type { ReasoningDeltaEvent } from './chat-event.js';
import type { ReasoningPart, TextPart, ToolCallPart } from './message.js';

/**
 * Adds a `reasoning-delta` to the parts of an assistant message being built from a stream. It
 * continues the last part when that is reasoning still open; a signed part is complete (the
 * signature comes last) and a redacted one stands alone, so what follows them starts a part of its
 * own: each block goes back to the provider as it came.
 */
export function addReasoningDelta(
  parts: Array<TextPart | ReasoningPart | ToolCallPart>,
  event: Pick<ReasoningDeltaEvent, 'text' | 'signature' | 'redactedData'>,
): void {
  if (event.redactedData !== undefined) {
    parts.push({ type: 'reasoning', text: '', redactedData: event.redactedData });
    return;
  }
  const last = parts.at(-1);
  if (last?.type === 'reasoning' && last.signature === undefined && last.redactedData === undefined) {
    last.text += event.text;
    if (event.signature) last.signature = event.signature;
    return;
  }
  parts.push({
    type: 'reasoning',
    text: event.text,
    ...(event.signature ? { signature: event.signature } : {}),
  });
}
