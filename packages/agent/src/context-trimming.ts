import type { Message } from '@haia/llm';

/** Estimates the tokens one message takes in the model's context. */
export type TokenEstimator = (message: Message) => number;

/** Characters an image is counted as (about 800 tokens, a typical vision tile budget). */
const IMAGE_CHARACTERS = 3200;
/** Characters of per-message overhead (role, separators). */
const MESSAGE_OVERHEAD = 16;

/**
 * The default estimate: about four characters per token over text, reasoning, tool names, inputs
 * and outputs (as JSON), a flat 800 tokens per image, and a few tokens of overhead per message.
 * Crude on purpose: it is only used to decide when to drop old turns.
 */
export function estimateMessageTokens(message: Message): number {
  let characters = MESSAGE_OVERHEAD;
  if (typeof message.content === 'string') {
    characters += message.content.length;
  } else {
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
        case 'reasoning':
          characters += part.text.length;
          break;
        case 'image':
          characters += IMAGE_CHARACTERS;
          break;
        case 'tool-call':
          characters += part.toolName.length + jsonLength(part.input);
          break;
        case 'tool-result':
          characters += part.toolName.length + jsonLength(part.output);
          break;
      }
    }
  }
  return Math.ceil(characters / 4);
}

function jsonLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** What {@link trimMessages} kept. */
export interface TrimResult {
  messages: Message[];
  /** How many messages were left out. */
  dropped: number;
  /** The estimate of what was kept. */
  estimatedTokens: number;
}

/**
 * Fits `messages` into `budget` tokens by leaving out the oldest turns first.
 *
 * - System messages are always kept, and so is the last user message.
 * - Before the last user message, whole turns go (a user message and the assistant and tool
 *   messages that answer it), oldest first.
 * - After it (the run in progress), the oldest assistant turns go together with their tool
 *   results, never the newest one. A tool call is never separated from its result.
 *
 * When everything droppable is gone and the estimate is still over budget, what is left is
 * returned (the model will say if it is too long).
 */
export function trimMessages(
  messages: readonly Message[],
  budget: number,
  estimate: TokenEstimator = estimateMessageTokens,
): TrimResult {
  const sizes = messages.map((message) => estimate(message));
  let total = 0;
  for (const size of sizes) total += size;
  if (total <= budget) return { messages: [...messages], dropped: 0, estimatedTokens: total };

  const units = droppableUnits(messages);
  const droppedIndexes = new Set<number>();
  for (const unit of units) {
    if (total <= budget) break;
    for (const index of unit) {
      droppedIndexes.add(index);
      total -= sizes[index]!;
    }
  }
  return {
    messages: messages.filter((_, index) => !droppedIndexes.has(index)),
    dropped: droppedIndexes.size,
    estimatedTokens: total,
  };
}

/** Groups of message indexes that may be dropped together, oldest first (system messages excluded). */
function droppableUnits(messages: readonly Message[]): number[][] {
  let lastUser = -1;
  for (let index = messages.length - 1; index >= 0; index--) {
    if (messages[index]!.role === 'user') {
      lastUser = index;
      break;
    }
  }
  const units: number[][] = [];
  // Before the last user message: whole turns, each starting at a user message (a preamble before
  // the first user message is a turn of its own).
  let current: number[] = [];
  for (let index = 0; index < Math.max(lastUser, 0); index++) {
    const message = messages[index]!;
    if (message.role === 'system') continue;
    if (message.role === 'user' && current.length > 0) {
      units.push(current);
      current = [];
    }
    current.push(index);
  }
  if (current.length > 0) units.push(current);
  // After it: each assistant message with the tool messages that follow it; the newest stays.
  const tail: number[][] = [];
  for (let index = lastUser + 1; index < messages.length; index++) {
    const message = messages[index]!;
    if (message.role === 'system') continue;
    if (message.role === 'tool' && tail.length > 0) tail.at(-1)!.push(index);
    else tail.push([index]);
  }
  tail.pop();
  units.push(...tail);
  return units;
}
