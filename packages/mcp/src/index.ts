/**
 * @module @haia/mcp
 * `mcp_config.json` → connected MCP servers (stdio, streamable HTTP, legacy SSE) → `@haia/agent` toolsets.
 * The root entry never imports `node:child_process` at load time: the stdio transport is loaded on first use.
 */
export type {
  McpConfig,
  McpRemoteServerConfig,
  McpServerCommonConfig,
  McpServerConfig,
  McpStdioServerConfig,
} from './config-schema.js';
export { mcpConfigSchema } from './config-schema.js';
export { type CreateMcpToolsetsOptions, createMcpToolsets, type McpToolsets } from './create-mcp-toolsets.js';
export { type ExpandEnvResult, expandEnv } from './expand-env.js';
export {
  type LoadMcpConfigOptions,
  loadMcpConfig,
  type ParseMcpConfigOptions,
  parseMcpConfig,
} from './load-mcp-config.js';
export type { Logger } from './logger.js';
export { type McpCallResult, mapToolResult } from './map-tool-result.js';
export { type McpConfigProblem, McpError, type McpErrorCode, type McpErrorOptions } from './mcp-error.js';
export {
  INHERITED_ENV_VARIABLES,
  type McpServerState,
  type McpServerStatus,
  type ReconnectOptions,
} from './server-connection.js';
export {
  MAX_TOOL_NAME_LENGTH,
  sanitiseToolName,
  type ToolNameCollision,
  ToolNameRegistry,
  type ToolNameRegistryOptions,
} from './tool-names.js';
