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

/** Two tools that wanted the same public name, and how it was settled. */
export interface ToolNameCollision {
  /** The public name both wanted. */
  name: string;
  /** The tool that holds it: of the server earlier in the config (or, on one server, the one listed first). */
  kept: { server: string; tool: string };
  /** The other tool, and the suffixed name it got instead. */
  renamed: { server: string; tool: string; name: string };
}

/** Options of {@link ToolNameRegistry}. */
export interface ToolNameRegistryOptions {
  /**
   * Server names in config order. When tools of two servers want the same public name, the server
   * earlier in this list gets it, whichever connected first; servers not listed come after, first come.
   */
  serverOrder?: readonly string[];
  /** Called for every collision, to warn about it. */
  onCollision?: (collision: ToolNameCollision) => void;
  /** Called after an earlier server took a name from `server`'s tool, which now has a suffixed one. */
  onRenamed?: (server: string) => void;
}

interface Owner {
  server: string;
  tool: string;
}

/**
 * Hands out the names the model sees, `<server>__<tool>`, sanitised to `[A-Za-z0-9_-]` and cut to 64
 * characters. A name that had to be cut, or that another tool also wants (`a.b` and `a_b` both
 * sanitise to `a_b`), ends in `_` plus a short hash of the full original name, so it stays unique and
 * stable across reconnects. Which of two colliding tools keeps the plain name does not depend on which
 * server connected first: the one earlier in `serverOrder` does.
 */
export class ToolNameRegistry {
  readonly #owners = new Map<string, Owner>();
  readonly #names = new Map<string, string>();
  readonly #rank = new Map<string, number>();
  readonly #options: ToolNameRegistryOptions;

  constructor(options: ToolNameRegistryOptions = {}) {
    this.#options = options;
    for (const [index, server] of (options.serverOrder ?? []).entries()) {
      if (!this.#rank.has(server)) this.#rank.set(server, index);
    }
  }

  /** The unique public name of `tool` on `server`; the same on every call until {@link release} (or until an earlier server takes it). */
  assign(server: string, tool: string): string {
    const existing = this.#names.get(ownerKey(server, tool));
    if (existing !== undefined) return existing;
    const renamed = new Set<string>();
    const name = this.#place({ server, tool }, renamed);
    for (const other of renamed) this.#options.onRenamed?.(other);
    return name;
  }

  /** Frees the names of `server`'s tools that are not in `keep`. */
  release(server: string, keep: ReadonlySet<string> = new Set()): void {
    for (const [key, name] of this.#names) {
      const [ownerServer, tool] = key.split('\u0000') as [string, string];
      if (ownerServer === server && !keep.has(tool)) {
        this.#names.delete(key);
        this.#owners.delete(name);
      }
    }
  }

  /** Gives `owner` its first free candidate name, taking one from a server later in the order. */
  #place(owner: Owner, renamed: Set<string>): string {
    const original = `${owner.server}__${owner.tool}`;
    const full = sanitiseToolName(original);
    const wanted = plainName(full, original);
    let firstHolder: Owner | undefined;
    for (let attempt = 0; ; attempt += 1) {
      const candidate = attempt === 0 ? wanted : withSuffix(full, shortHash(`${original}#${attempt}`));
      const holder = this.#owners.get(candidate);
      if (holder !== undefined && this.#rankOf(owner.server) < this.#rankOf(holder.server)) {
        // An earlier server wins: the later one's tool moves to its next name.
        this.#take(candidate, owner);
        this.#names.delete(ownerKey(holder.server, holder.tool));
        this.#place(holder, renamed);
        renamed.add(holder.server);
        return candidate;
      }
      if (holder === undefined) {
        this.#take(candidate, owner);
        if (firstHolder !== undefined) {
          this.#options.onCollision?.({
            name: wanted,
            kept: { server: firstHolder.server, tool: firstHolder.tool },
            renamed: { server: owner.server, tool: owner.tool, name: candidate },
          });
        }
        return candidate;
      }
      firstHolder ??= holder;
    }
  }

  #take(name: string, owner: Owner): void {
    this.#owners.set(name, owner);
    this.#names.set(ownerKey(owner.server, owner.tool), name);
  }

  #rankOf(server: string): number {
    return this.#rank.get(server) ?? Number.POSITIVE_INFINITY;
  }
}

function ownerKey(server: string, tool: string): string {
  return `${server}\u0000${tool}`;
}

/** The name a tool gets when nothing else wants it. */
function plainName(full: string, original: string): string {
  return full.length <= MAX_TOOL_NAME_LENGTH ? full : withSuffix(full, shortHash(original));
}

function withSuffix(name: string, hash: string): string {
  return `${name.slice(0, MAX_TOOL_NAME_LENGTH - SUFFIX_LENGTH)}_${hash}`;
}
