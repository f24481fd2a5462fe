import { describe, expect, it } from 'vitest';
import type { ReasoningPart, TextPart, ToolCallPart } from './message.js';
import { addReasoningDelta } from './reasoning-parts.js';

type Part = TextPart | ReasoningPart | ToolCallPart;

describe('addReasoningDelta', () => {
  it('joins the deltas of one block and takes its signature, which closes it', () => {
    const parts: Part[] = [];
    addReasoningDelta(parts, { text: 'Think ' });
    addReasoningDelta(parts, { text: 'hard.' });
    addReasoningDelta(parts, { text: '', signature: 'sig-a' });
    addReasoningDelta(parts, { text: 'Again.', signature: 'sig-b' });
    expect(parts).toEqual([
      { type: 'reasoning', text: 'Think hard.', signature: 'sig-a' },
      { type: 'reasoning', text: 'Again.', signature: 'sig-b' },
    ]);
  });

  it('keeps a redacted block as a part of its own, between open reasoning and what follows', () => {
    const parts: Part[] = [{ type: 'text', text: 'Before.' }];
    addReasoningDelta(parts, { text: 'Open' });
    addReasoningDelta(parts, { text: '', redactedData: 'opaque' });
    addReasoningDelta(parts, { text: 'After' });
    addReasoningDelta(parts, { text: ' that.' });
    expect(parts).toEqual([
      { type: 'text', text: 'Before.' },
      { type: 'reasoning', text: 'Open' },
      { type: 'reasoning', text: '', redactedData: 'opaque' },
      { type: 'reasoning', text: 'After that.' },
    ]);
  });
});
