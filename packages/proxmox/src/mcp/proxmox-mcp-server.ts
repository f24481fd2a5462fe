import { bindLogger, type Tool, type ToolContext, type ToolOutput } from '@haia/agent';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { noopProxmoxLogger, type ProxmoxLogger } from '../logger.js';
import type { ProxmoxClient } from '../proxmox-client.js';
import { createProxmoxTools } from '../tools/proxmox-tools.js';

/** Options of {@link createProxmoxMcpServer}. */
export interface ProxmoxMcpServerOptions {
  /** Server name announced to clients (default `haia-proxmox`). */
  name?: string;
  /** Server version announced to clients. */
  version?: string;
  logger?: ProxmoxLogger;
}

function isErrorOutput(output: ToolOutput): output is { isError: true; content: string } {
  return typeof output === 'object' && output !== null && !Array.isArray(output) && output.isError === true;
}

function toResult(output: ToolOutput): CallToolResult {
  if (isErrorOutput(output)) return { isError: true, content: [{ type: 'text', text: output.content }] };
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  return { content: [{ type: 'text', text }] };
}

/**
 * An MCP server (not yet connected) offering the same read-only Proxmox tools as the `proxmox`
 * toolset, each annotated `readOnlyHint: true`. Connect it to a transport (stdio, streamable HTTP).
 *
 * @example
 * const server = createProxmoxMcpServer(client);
 * await server.connect(new StdioServerTransport());
 */
export function createProxmoxMcpServer(client: ProxmoxClient, options: ProxmoxMcpServerOptions = {}): Server {
  // Bound, not a pino child: the client's `component: 'proxmox'` on a tool's call then replaces it.
  const logger = bindLogger(options.logger ?? noopProxmoxLogger, { component: 'proxmox-mcp' });
  const tools = createProxmoxTools(client);
  const byName = new Map<string, Tool<unknown, unknown>>(tools.map((tool) => [tool.name, tool]));
  const server = new Server(
    { name: options.name ?? 'haia-proxmox', version: options.version ?? '0.1.0' },
    {
      capabilities: { tools: {} },
      instructions:
        'Read-only tools for a Proxmox VE cluster: guests, nodes, storage, Ceph health and tasks. Nothing can be changed through them.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: { ...tool.inputSchema, type: 'object' as const },
      annotations: {
        ...(tool.annotations.title ? { title: tool.annotations.title } : {}),
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      return { isError: true, content: [{ type: 'text', text: `Unknown tool ${request.params.name}` }] };
    }
    const input = tool.parseInput(request.params.arguments ?? {});
    if (!input.success) {
      return { isError: true, content: [{ type: 'text', text: `Invalid input: ${input.error}` }] };
    }
    const context: ToolContext<unknown> = {
      deps: undefined,
      signal: extra.signal,
      logger,
      toolCallId: String(extra.requestId),
    };
    try {
      return toResult(await tool.execute(input.data, context));
    } catch (error) {
      logger.warn({ tool: tool.name, error: (error as Error).message }, 'proxmox tool failed');
      return { isError: true, content: [{ type: 'text', text: (error as Error).message }] };
    }
  });
  return server;
}
