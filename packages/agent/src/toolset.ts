import type { Tool } from './tool.js';

/**
 * A named group of tools. `listTools` is read once per agent step, so a toolset whose tools change
 * at run time (an MCP server that adds or removes tools) is picked up on the next step.
 */
export interface Toolset<Deps = unknown> {
  /** The toolset's name (`proxmox`, an MCP server's key). */
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: each tool has its own input type; the agent validates it with parseInput
  listTools(): readonly Tool<Deps, any>[] | Promise<readonly Tool<Deps, any>[]>;
}

/** A toolset with a fixed list of tools. */
// biome-ignore lint/suspicious/noExplicitAny: each tool has its own input type; the agent validates it with parseInput
export function createToolset<Deps>(name: string, tools: readonly Tool<Deps, any>[]): Toolset<Deps> {
  return { name, listTools: () => tools };
}
