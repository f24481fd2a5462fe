/** The longest tool name the model providers accept. */
export const MAX_TOOL_NAME_LENGTH = 64;

const SUFFIX_LENGTH = 7; // "_" + 6 hex characters

/** `[A-Za-z0-9_-]` only: every other character becomes `_`. */
export function sanitiseToolName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Six hex characters of the 32-bit FNV-1a hash of `text` (stable, runtime-neutral). */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0').slice(0, 6);
}

/**
 * Hands out the names the model sees, `<server>__<tool>`, sanitised to `[A-Za-z0-9_-]` and cut to 64
 * characters. A name that had to be cut, or that another tool already holds (`a.b` and `a_b` both
 * sanitise to `a_b`), ends in `_` plus a short hash of the full original name, so it stays unique and
 * stable across reconnects.
 */
export class ToolNameRegistry {
  readonly #owners = new Map<string, string>();
  readonly #names = new Map<string, string>();

  /** The unique public name of `tool` on `server`; the same on every call until {@link release}. */
  assign(server: string, tool: string): string {
    const owner = `${server}\u0000${tool}`;
    const existing = this.#names.get(owner);
    if (existing !== undefined) return existing;
    const full = sanitiseToolName(`${server}__${tool}`);
    let candidate =
      full.length <= MAX_TOOL_NAME_LENGTH ? full : withSuffix(full, shortHash(`${server}__${tool}`));
    for (let attempt = 1; this.#owners.has(candidate); attempt += 1) {
      candidate = withSuffix(full, shortHash(`${server}__${tool}#${attempt}`));
    }
    this.#owners.set(candidate, owner);
    this.#names.set(owner, candidate);
    return candidate;
  }

  /** Frees the names of `server`'s tools that are not in `keep`. */
  release(server: string, keep: ReadonlySet<string> = new Set()): void {
    for (const [owner, name] of this.#names) {
      const [ownerServer, tool] = owner.split('\u0000') as [string, string];
      if (ownerServer === server && !keep.has(tool)) {
        this.#names.delete(owner);
        this.#owners.delete(name);
      }
    }
  }
}

function withSuffix(name: string, hash: string): string {
  return `${name.slice(0, MAX_TOOL_NAME_LENGTH - SUFFIX_LENGTH)}_${hash}`;
}
