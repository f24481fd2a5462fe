/**
 * The visible projection of a conversation and its prefix hashes (README: "Resolution rules").
 *
 * A client resends only what it showed: no HAIA tool calls or results, one assistant text per turn,
 * whitespace and reasoning blocks changed. The projection keeps just that, so a stored path and the
 * client's resent history hash the same:
 *
 * - `system` and `tool` messages are left out (they inherit the hash before them);
 * - of `user` and `assistant` content only text (and an image's identity) counts; reasoning,
 *   tool-call and tool-result parts are left out;
 * - consecutive assistant messages (one agent turn: text, tool call, tool result, text) merge into one
 *   assistant entry;
 * - OpenWebUI's `<details type="…">` blocks (reasoning, tool calls) and `<think>` blocks are removed,
 *   then Unicode is NFC-normalised and all whitespace is removed.
 */
import * as crypto from 'node:crypto';
import type { MessageLike } from './types.js';

/** One-shot `crypto.hash` (Node 20.12+) is about twice as fast as `createHash` for short texts. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function sha256(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

/** The hash of the empty projection: where every chain starts. */
export const INITIAL_HASH = sha256('haia:prefix:v1');

/** Where a chain is after some messages: the hash of its closed entries and the open assistant entry. */
export interface ProjectionState {
  /** Hash of every entry before the open assistant entry (or of all entries when none is open). */
  closedHash: string;
  /** Normalised text of the assistant entry still open (more assistant messages merge into it). */
  openAssistant: string | null;
}

/** The state before any message. */
export const INITIAL_STATE: ProjectionState = { closedHash: INITIAL_HASH, openAssistant: null };

const DETAILS_BLOCK = /<details\s+type\s*=\s*["'][^"']*["'][^>]*>[\s\S]*?<\/details>/giu;
const THINK_BLOCK = /<(think|thinking|reasoning)>[\s\S]*?<\/\1>/giu;
const WHITESPACE = /\s+/gu;

/** Texts shorter than this are normalised every time: cheaper than remembering them. */
const REMEMBER_FROM = 64;
/** The most text (in characters, raw and normalised) {@link normaliseText} remembers. */
const REMEMBERED_CHARS = 4 * 1024 * 1024;

/**
 * Normalised texts by their raw text, oldest first. A client resends its whole history every turn,
 * so all but the newest message were normalised the turn before: the whitespace pass alone was
 * three quarters of hashing a 200-message history (about 1.6 ms), a lookup is a string compare.
 */
const remembered = new Map<string, string>();
let rememberedChars = 0;

/** Normalises text the way both sides must agree on (see the module comment). */
export function normaliseText(text: string): string {
  if (text.length < REMEMBER_FROM) return normalise(text);
  const known = remembered.get(text);
  if (known !== undefined) {
    // Kept as the newest: the oldest messages of a long conversation come back every turn.
    remembered.delete(text);
    remembered.set(text, known);
    return known;
  }
  const normalised = normalise(text);
  remembered.set(text, normalised);
  rememberedChars += text.length + normalised.length;
  while (rememberedChars > REMEMBERED_CHARS) {
    const oldest = remembered.entries().next().value;
    if (oldest === undefined) break;
    remembered.delete(oldest[0]);
    rememberedChars -= oldest[0].length + oldest[1].length;
  }
  return normalised;
}

function normalise(text: string): string {
  // Both block patterns start with `<`: most texts have none and skip two regex passes.
  const withoutBlocks = text.includes('<') ? text.replace(DETAILS_BLOCK, '').replace(THINK_BLOCK, '') : text;
  return withoutBlocks.normalize('NFC').replace(WHITESPACE, '');
}

function imageIdentity(url: string): string {
  return `\u0000image:${sha256(url)}\u0000`;
}

/** The text of one content part that the client sees; '' for parts it never sees. */
function partText(part: unknown): string {
  if (typeof part === 'string') return part;
  if (typeof part !== 'object' || part === null) return '';
  const record = part as Record<string, unknown>;
  switch (record.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return typeof record.text === 'string' ? record.text : '';
    case 'image': {
      if (typeof record.url === 'string') return imageIdentity(record.url);
      if (typeof record.data === 'string') {
        const mediaType =
          typeof record.mediaType === 'string' ? record.mediaType : 'application/octet-stream';
        return imageIdentity(`data:${mediaType};base64,${record.data}`);
      }
      return '';
    }
    case 'image_url': {
      const imageUrl = record.image_url;
      const url =
        typeof imageUrl === 'string'
          ? imageUrl
          : typeof imageUrl === 'object' && imageUrl !== null
            ? (imageUrl as { url?: unknown }).url
            : undefined;
      return typeof url === 'string' ? imageIdentity(url) : '';
    }
    default:
      return '';
  }
}

/** The normalised visible text of a user or assistant message (text parts and image identities). */
export function visibleText(message: MessageLike): string {
  const { content } = message;
  if (typeof content === 'string') return normaliseText(content);
  if (!Array.isArray(content)) return '';
  return normaliseText(content.map(partText).join(''));
}

function entryHash(previous: string, role: 'user' | 'assistant', text: string): string {
  return sha256(`${previous}\n${role}\n${text}`);
}

/** The prefix hash of everything the state covers. */
export function currentHash(state: ProjectionState): string {
  return state.openAssistant === null
    ? state.closedHash
    : entryHash(state.closedHash, 'assistant', state.openAssistant);
}

/** Moves the state past one message; returns the new state and that message's prefix hash. */
export function advance(
  state: ProjectionState,
  message: MessageLike,
): { state: ProjectionState; hash: string } {
  if (message.role === 'user') {
    const closedHash = entryHash(currentHash(state), 'user', visibleText(message));
    return { state: { closedHash, openAssistant: null }, hash: closedHash };
  }
  if (message.role === 'assistant') {
    const openAssistant = (state.openAssistant ?? '') + visibleText(message);
    const next = { closedHash: state.closedHash, openAssistant };
    return { state: next, hash: currentHash(next) };
  }
  return { state, hash: currentHash(state) };
}

/** The prefix hash after each message of `messages`, starting from `state`. */
export function hashChain(
  messages: readonly MessageLike[],
  state: ProjectionState = INITIAL_STATE,
): { hashes: string[]; state: ProjectionState } {
  const hashes: string[] = new Array(messages.length);
  // The same steps as `advance`, without recomputing the open assistant entry's hash for the next
  // user message and without an object per message: O(text) once per message.
  let closedHash = state.closedHash;
  let openAssistant = state.openAssistant;
  let current = currentHash(state);
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as MessageLike;
    if (message.role === 'user') {
      closedHash = entryHash(current, 'user', visibleText(message));
      openAssistant = null;
      current = closedHash;
    } else if (message.role === 'assistant') {
      openAssistant = (openAssistant ?? '') + visibleText(message);
      current = entryHash(closedHash, 'assistant', openAssistant);
    }
    hashes[index] = current;
  }
  return { hashes, state: { closedHash, openAssistant } };
}

/**
 * The state after a stored path, given only its tail: the nearest `user` message and what follows it
 * (or the whole path when it has no user message). The user message's stored hash closes every entry
 * before it, so nothing older is needed.
 */
export function stateFromTail(tail: ReadonlyArray<MessageLike & { prefixHash: string }>): ProjectionState {
  const first = tail[0];
  if (first === undefined) return INITIAL_STATE;
  if (first.role === 'user') {
    return hashChain(tail.slice(1), { closedHash: first.prefixHash, openAssistant: null }).state;
  }
  return hashChain(tail).state;
}
