import type { Logger, ToolSpec } from '@haia/llm';
import type { StartTimer } from './start-timer.js';
import type { Tool } from './tool.js';
import type { Toolset } from './toolset.js';
import { isPending } from './until-aborted.js';

/** An agent tool with the toolset it came from. */
export interface StepTool<Deps> {
  tool: Tool<Deps, unknown>;
  toolset: string;
}

/** The tools of one step: read from every toolset once, collisions resolved. */
export interface StepTools<Deps> {
  /** Agent tools by name. */
  agentTools: Map<string, StepTool<Deps>>;
  /** Names of the caller's client tools offered this step. */
  clientToolNames: Set<string>;
  /** The agent tools as the model sees them. */
  agentSpecs: ToolSpec[];
  /** Agent tools then client tools: what the model is offered. */
  specs: ToolSpec[];
  /** Toolsets that answered `listTools`. */
  toolsets: string[];
}

const specCache = new WeakMap<object, ToolSpec>();

function specOf(tool: Tool<unknown, unknown>): ToolSpec {
  let spec = specCache.get(tool);
  if (!spec) {
    spec = { name: tool.name, description: tool.description, inputSchema: tool.inputSchema };
    specCache.set(tool, spec);
  }
  return spec;
}

type ToolList<Deps> = readonly Tool<Deps, unknown>[] | undefined;

const NO_TIMER = () => {};

/** How long a toolset's `listTools` may take, and the timer that measures it. */
export interface ListingBound {
  timeoutMs: number;
  startTimer: StartTimer;
}

/**
 * Reads every toolset once (in parallel) and merges the lists. The first toolset (in the agent's
 * order) to offer a name wins; a later tool with the same name is left out with a warning, and so
 * is a client tool named like an agent tool. A toolset whose `listTools` throws, or whose promise
 * has not settled within `bound.timeoutMs`, is left out of this step with a warning naming it.
 * `warned` keeps each collision warning to once per agent. When every toolset answers at once
 * (fixed tool lists, or none), so does this, without a promise or a timer: the step goes on in the
 * same tick. `signal` (the run's) cancels the timers when the run is aborted while waiting.
 */
export function readStepTools<Deps>(
  toolsets: readonly Toolset<Deps>[],
  clientTools: readonly ToolSpec[],
  logger: Logger,
  warned: Set<string>,
  bound: ListingBound,
  signal?: AbortSignal,
): StepTools<Deps> | Promise<StepTools<Deps>> {
  const leftOut = (toolset: Toolset<Deps>, error: unknown): undefined => {
    logger.warn(
      { toolset: toolset.name, err: error instanceof Error ? error.message : String(error) },
      'toolset failed to list its tools; left out of this step',
    );
    return undefined;
  };
  let cancels: Array<() => void> | undefined;
  const bounded = (toolset: Toolset<Deps>, list: PromiseLike<ToolList<Deps>>): Promise<ToolList<Deps>> =>
    new Promise((resolve) => {
      let settled = false;
      let cancel = NO_TIMER;
      const settle = (tools: ToolList<Deps>) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(tools);
      };
      cancel = bound.startTimer(bound.timeoutMs, () => {
        if (settled || signal?.aborted) return;
        logger.warn(
          { toolset: toolset.name, timeoutMs: bound.timeoutMs },
          `toolset did not list its tools within ${bound.timeoutMs} ms (limits.listToolsTimeoutMs); left out of this step`,
        );
        settle(undefined);
      });
      cancels ??= [];
      cancels.push(cancel);
      Promise.resolve(list).then(settle, (error: unknown) => {
        if (!settled) settle(leftOut(toolset, error));
      });
    });
  const lists = toolsets.map((toolset): ToolList<Deps> | Promise<ToolList<Deps>> => {
    try {
      const list = toolset.listTools();
      return isPending(list) ? bounded(toolset, list) : list;
    } catch (error) {
      return leftOut(toolset, error);
    }
  });
  if (cancels === undefined)
    return mergeTools(toolsets, lists as ToolList<Deps>[], clientTools, logger, warned);
  const timers = cancels;
  // Aborted while waiting: the run ends at once (the loop stops waiting), so the timers go too.
  const onAbort = () => {
    for (const cancel of timers) cancel();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return Promise.all(lists).then((settledLists) => {
    signal?.removeEventListener('abort', onAbort);
    return mergeTools(toolsets, settledLists, clientTools, logger, warned);
  });
}

/** {@link readStepTools}'s merge of the lists the toolsets gave. */
function mergeTools<Deps>(
  toolsets: readonly Toolset<Deps>[],
  lists: readonly ToolList<Deps>[],
  clientTools: readonly ToolSpec[],
  logger: Logger,
  warned: Set<string>,
): StepTools<Deps> {
  const agentTools = new Map<string, StepTool<Deps>>();
  const agentSpecs: ToolSpec[] = [];
  const answered: string[] = [];
  for (const [index, list] of lists.entries()) {
    const toolset = toolsets[index]!;
    if (!list) continue;
    answered.push(toolset.name);
    for (const tool of list) {
      const existing = agentTools.get(tool.name);
      if (existing) {
        const key = `${tool.name}\u0000${toolset.name}`;
        if (!warned.has(key)) {
          warned.add(key);
          logger.warn(
            { tool: tool.name, toolset: toolset.name, keptToolset: existing.toolset },
            'tool name already taken by an earlier toolset; this one is left out',
          );
        }
        continue;
      }
      agentTools.set(tool.name, { tool: tool as Tool<Deps, unknown>, toolset: toolset.name });
      agentSpecs.push(specOf(tool as Tool<unknown, unknown>));
    }
  }
  const clientToolNames = new Set<string>();
  const specs = clientTools.length === 0 ? agentSpecs : [...agentSpecs];
  for (const spec of clientTools) {
    if (agentTools.has(spec.name) || clientToolNames.has(spec.name)) {
      const key = `${spec.name}\u0000client`;
      if (!warned.has(key)) {
        warned.add(key);
        logger.warn({ tool: spec.name }, 'client tool name already taken; the client tool is left out');
      }
      continue;
    }
    clientToolNames.add(spec.name);
    specs.push(spec);
  }
  return { agentTools, clientToolNames, agentSpecs, specs, toolsets: answered };
}
