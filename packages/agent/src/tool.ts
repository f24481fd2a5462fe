import type { JsonSchema, Logger } from '@haia/llm';
import { z } from 'zod';

/** Hints about what a tool does, as MCP's tool annotations describe them. */
export interface ToolAnnotations {
  /** A human-readable title. */
  title?: string;
  /** The tool only reads: it never changes anything. */
  readOnly?: boolean;
  /** The tool may destroy or change something; it needs approval unless also read-only. */
  destructive?: boolean;
}

/** What a tool's `execute` receives beside its input. */
export interface ToolContext<Deps> {
  /** The run's typed dependencies (clients, config, the current user). */
  deps: Deps;
  /** Aborted when the run is aborted or the tool's time limit passes. */
  signal: AbortSignal;
  logger: Logger;
  toolCallId: string;
}

/** What a tool returns: text or a JSON value for the model, or an explicit error result. */
export type ToolOutput =
  | string
  | number
  | boolean
  | null
  | Record<string, unknown>
  | unknown[]
  | ToolErrorOutput;

/** An error result the model can read and correct. */
export interface ToolErrorOutput {
  isError: true;
  content: string;
}

/** The outcome of validating a tool's input. */
export type ToolInputParse<Input> = { success: true; data: Input } | { success: false; error: string };

/**
 * A tool the agent can run. Build one from a zod schema with {@link defineTool}; tools from elsewhere
 * (MCP servers) implement this interface directly with their own JSON Schema.
 */
export interface Tool<Deps = unknown, Input = unknown> {
  /** The name the model sees: `[A-Za-z0-9_-]`, at most 64 characters. */
  name: string;
  description: string;
  /** JSON Schema of the input object, as offered to the model. */
  inputSchema: JsonSchema;
  annotations: ToolAnnotations;
  /** True, or a function of the input, when a person must approve the call before it runs. */
  needsApproval?: boolean | ((input: Input) => boolean);
  /** Validates the model's input; an error becomes a tool result the model can read. */
  parseInput(input: unknown): ToolInputParse<Input>;
  execute(input: Input, context: ToolContext<Deps>): Promise<ToolOutput>;
}

/** Options of {@link defineTool}. */
export interface DefineToolOptions<Deps, Schema extends z.ZodType> {
  name: string;
  description: string;
  /** zod schema of the input object; also turned into the JSON Schema the model sees. */
  input: Schema;
  annotations?: ToolAnnotations;
  needsApproval?: boolean | ((input: z.output<Schema>) => boolean);
  /**
   * Runs the tool. Besides a {@link ToolOutput}, any object may be returned, such as a value typed by
   * an interface (a client's `GuestStatus`, which TypeScript does not count as a `Record`): the
   * model gets it as JSON.
   */
  execute(
    input: z.output<Schema>,
    context: ToolContext<Deps>,
  ): Promise<ToolOutput | object> | ToolOutput | object;
}

/**
 * Defines a tool with a zod input schema.
 *
 * @example
 * const getVm = defineTool({
 *   name: 'get_vm_status',
 *   description: 'Status of one VM by node and id',
 *   input: z.object({ node: z.string(), vmid: z.number().int() }),
 *   annotations: { readOnly: true },
 *   execute: ({ node, vmid }, { deps, signal }) =>
 *     deps.proxmox.guestStatus({ node, vmid, type: 'qemu' }, { signal }),
 * });
 */
export function defineTool<Deps = unknown, Schema extends z.ZodType = z.ZodType>(
  options: DefineToolOptions<Deps, Schema>,
): Tool<Deps, z.output<Schema>> {
  const { $schema: _drop, ...inputSchema } = z.toJSONSchema(options.input, { io: 'input' }) as JsonSchema;
  return {
    name: options.name,
    description: options.description,
    inputSchema,
    annotations: options.annotations ?? {},
    ...(options.needsApproval === undefined ? {} : { needsApproval: options.needsApproval }),
    parseInput(input) {
      const result = options.input.safeParse(input);
      if (result.success) return { success: true, data: result.data };
      return { success: false, error: z.prettifyError(result.error) };
    },
    async execute(input, context) {
      // An interface-typed object is a JSON object at run time, as a `Record` is.
      return (await options.execute(input, context)) as ToolOutput;
    },
  };
}

/** True when a call to `tool` with `input` must wait for a person's approval. */
export function requiresApproval<Deps, Input>(tool: Tool<Deps, Input>, input: Input): boolean {
  if (typeof tool.needsApproval === 'function') return tool.needsApproval(input);
  if (tool.needsApproval !== undefined) return tool.needsApproval;
  return tool.annotations.destructive === true && tool.annotations.readOnly !== true;
}
