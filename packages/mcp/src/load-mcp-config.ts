import { readFile } from 'node:fs/promises';
import { rememberArgSecrets } from './arg-secrets.js';
import { type McpConfig, mcpConfigSchema } from './config-schema.js';
import { expandEnv, referencedValues } from './expand-env.js';
import { formatJsonPath } from './json-path.js';
import { type McpConfigProblem, McpError } from './mcp-error.js';

/** Options of {@link loadMcpConfig} and {@link parseMcpConfig}. */
export interface LoadMcpConfigOptions {
  /** Variables for `${VAR}` expansion; the app passes its environment (a library never reads `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * True when the path is only the default (`./mcp_config.json`, no `MCP_CONFIG` set): a missing file
   * then means "no servers" instead of an error. Default `false`.
   */
  optional?: boolean;
}

/**
 * Reads, expands and validates an `mcp_config.json` file.
 *
 * @throws {McpError} `config-not-found` (unless `optional`), `config-unreadable`, `config-invalid-json`
 * (with line and column) or `config-invalid` (every problem with its JSON path, in one message).
 *
 * @example
 * const config = await loadMcpConfig(env.MCP_CONFIG ?? './mcp_config.json', {
 *   env: process.env,
 *   optional: env.MCP_CONFIG === undefined,
 * });
 */
export async function loadMcpConfig(path: string, options: LoadMcpConfigOptions = {}): Promise<McpConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (options.optional) return { mcpServers: {} };
      throw new McpError({
        code: 'config-not-found',
        message: `MCP config file ${path} does not exist; create it (see mcp_config.example.json) or unset MCP_CONFIG`,
        cause: error,
      });
    }
    throw new McpError({
      code: 'config-unreadable',
      message: `MCP config file ${path} could not be read (${code ?? 'unknown error'}); check that it is a readable file`,
      cause: error,
    });
  }
  return parseMcpConfig(text, { ...options, source: path });
}

/** Options of {@link parseMcpConfig}. */
export interface ParseMcpConfigOptions extends LoadMcpConfigOptions {
  /** Named in error messages (the file path). */
  source?: string;
}

/** Parses, expands and validates the text of an `mcp_config.json` file. Throws like {@link loadMcpConfig}. */
export function parseMcpConfig(text: string, options: ParseMcpConfigOptions = {}): McpConfig {
  const source = options.source ?? 'MCP config';
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const where = jsonErrorLocation(text, error);
    const problem: McpConfigProblem = { path: where, message: (error as Error).message };
    throw new McpError({
      code: 'config-invalid-json',
      message: `${source} is not valid JSON at ${where}: ${(error as Error).message}`,
      problems: [problem],
      cause: error,
    });
  }
  raw = withVsCodeServers(raw);
  const expanded = expandEnv(raw, options.env ?? {});
  // A disabled entry is not started: the variables it names need not be set.
  const disabled = disabledServerPaths(raw);
  const problems: McpConfigProblem[] = expanded.problems.filter(
    (problem) => !disabled.some((path) => problem.path.startsWith(path)),
  );
  const parsed = mcpConfigSchema.safeParse(expanded.value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push({ path: formatJsonPath(issue.path), message: issue.message });
  }
  if (problems.length > 0 || !parsed.success) {
    problems.sort((left, right) => left.path.localeCompare(right.path));
    const list = problems.map((problem) => `  - ${problem.path}: ${problem.message}`).join('\n');
    throw new McpError({
      code: 'config-invalid',
      message: `${source} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${list}`,
      problems,
    });
  }
  const config = parsed.data as McpConfig;
  rememberExpandedArgs(raw, config, options.env ?? {});
  return config;
}

/** Marks the variable values the raw `args` of each entry referenced, for the logs to mask. */
function rememberExpandedArgs(
  raw: unknown,
  config: McpConfig,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const servers = (raw as { mcpServers?: Record<string, { args?: unknown }> } | null)?.mcpServers ?? {};
  for (const [name, entry] of Object.entries(config.mcpServers)) {
    const args = servers[name]?.args;
    if (!Array.isArray(args)) continue;
    const values = args.flatMap((arg) => (typeof arg === 'string' ? referencedValues(arg, env) : []));
    rememberArgSecrets(entry, values);
  }
}

/** VS Code's `mcp.json` names the map `servers`: read it as `mcpServers` when that is absent. */
function withVsCodeServers(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const record = raw as Record<string, unknown>;
  if (record.mcpServers !== undefined || record.servers === undefined) return raw;
  const { servers, ...rest } = record;
  return { ...rest, mcpServers: servers };
}

/** The JSON paths (with a trailing separator) of the `mcpServers` entries marked `disabled: true`. */
function disabledServerPaths(raw: unknown): string[] {
  const servers = (raw as { mcpServers?: unknown } | null)?.mcpServers;
  if (typeof servers !== 'object' || servers === null) return [];
  const paths: string[] = [];
  for (const [name, entry] of Object.entries(servers)) {
    if ((entry as { disabled?: unknown } | null)?.disabled !== true) continue;
    const path = formatJsonPath(['mcpServers', name]);
    paths.push(`${path}.`, `${path}[`);
  }
  return paths;
}

/** `line L, column C` of a `JSON.parse` error, from the position V8 reports. */
function jsonErrorLocation(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return `line ${lineColumn[1]}, column ${lineColumn[2]}`;
  const position = /position (\d+)/.exec(message);
  const offset = position ? Number(position[1]) : text.length;
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}
