import { z } from 'zod';

/** Settings every server entry accepts, whatever its transport. */
const commonFields = {
  /** Keep the entry but do not start or connect it. */
  disabled: z.boolean().default(false),
  /** Time limit of one tool call on this server, in milliseconds. */
  timeoutMs: z
    .number({ error: 'expected a number of milliseconds' })
    .int('expected a whole number of milliseconds')
    .min(100, 'is in milliseconds: use at least 100 (e.g. 30000 for 30 s)')
    .max(3_600_000, 'is in milliseconds: at most 3600000 (1 hour)')
    .optional(),
  /** Only these MCP tool names (before prefixing; `*` matches any run of characters). */
  allowTools: z.array(z.string().min(1)).optional(),
  /** Never these MCP tool names (before prefixing; `*` matches any run of characters); wins over `allowTools`. */
  denyTools: z.array(z.string().min(1)).optional(),
  /**
   * Destructive tools normally need a person's approval. `true` lets every tool of this server run
   * without it; a list names the MCP tools that may.
   */
  autoApprove: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
};

const stdioServerSchema = z.strictObject({
  type: z.literal('stdio'),
  command: z.string().min(1, 'must name the program to start'),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string({ error: 'environment values must be strings' })).default({}),
  cwd: z.string().min(1).optional(),
  ...commonFields,
});

const remoteUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const httpServerSchema = z.strictObject({
  type: z.literal('http'),
  url: remoteUrl,
  headers: z.record(z.string(), z.string({ error: 'header values must be strings' })).default({}),
  ...commonFields,
});

const sseServerSchema = z.strictObject({
  type: z.literal('sse'),
  url: remoteUrl,
  headers: z.record(z.string(), z.string({ error: 'header values must be strings' })).default({}),
  ...commonFields,
});

/** Accepts `streamable-http`/`streamableHttp` as `http`, and infers `type` when it is missing. */
function normaliseType(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const entry = value as Record<string, unknown>;
  if (entry.type === 'streamable-http' || entry.type === 'streamableHttp') return { ...entry, type: 'http' };
  if (entry.type !== undefined) return entry;
  if ('command' in entry) return { ...entry, type: 'stdio' };
  if (typeof entry.url === 'string') {
    const isSse = /\/sse\/?$/.test(entry.url.split('?')[0] ?? '');
    return { ...entry, type: isSse ? 'sse' : 'http' };
  }
  return entry;
}

const serverSchema = z.preprocess(
  normaliseType,
  z.discriminatedUnion('type', [stdioServerSchema, httpServerSchema, sseServerSchema], {
    error: (issue) =>
      issue.code === 'invalid_union' && issue.input !== undefined && typeof issue.input === 'object'
        ? 'needs "command" (a local stdio server) or "url" (a remote server); "type" may be "stdio", "http" or "sse"'
        : 'expected an object with "command" (stdio) or "url" (remote)',
  }),
);

/** The `mcp_config.json` file: the `mcpServers` map Claude Desktop, Cursor and VS Code users already have. */
export const mcpConfigSchema = z.looseObject({
  mcpServers: z
    .record(z.string().min(1, 'server names must not be empty'), serverSchema, {
      error: 'expected an object mapping server names to server entries',
    })
    .default({}),
});

/** Settings shared by every server entry. */
export interface McpServerCommonConfig {
  disabled: boolean;
  timeoutMs?: number | undefined;
  allowTools?: string[] | undefined;
  denyTools?: string[] | undefined;
  autoApprove: boolean | string[];
}

/** A local server started as a child process and spoken to over stdin/stdout. */
export interface McpStdioServerConfig extends McpServerCommonConfig {
  type: 'stdio';
  command: string;
  args: string[];
  /** The child's whole environment, besides PATH and HOME. */
  env: Record<string, string>;
  cwd?: string | undefined;
}

/** A remote server over streamable HTTP (`http`) or the legacy HTTP+SSE transport (`sse`). */
export interface McpRemoteServerConfig extends McpServerCommonConfig {
  type: 'http' | 'sse';
  url: string;
  headers: Record<string, string>;
}

/** One entry of `mcpServers`, after validation and `${VAR}` expansion. */
export type McpServerConfig = McpStdioServerConfig | McpRemoteServerConfig;

/** A validated config: server name (its key in `mcpServers`) to entry. */
export interface McpConfig {
  mcpServers: Record<string, McpServerConfig>;
}
