import { formatJsonPath } from './json-path.js';
import type { McpConfigProblem } from './mcp-error.js';

const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The values (set and not empty) of the variables `text` references with `${VAR}` or `${VAR:-default}`. */
export function referencedValues(text: string, env: Readonly<Record<string, string | undefined>>): string[] {
  const values: string[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    if (match[1] === '$') continue;
    const value = env[match[2] as string];
    if (value) values.push(value);
  }
  return values;
}

/** The result of {@link expandEnv}: the expanded value and each reference that could not be filled. */
export interface ExpandEnvResult {
  value: unknown;
  problems: McpConfigProblem[];
}

/**
 * Expands `${VAR}` and `${VAR:-default}` in every string of a JSON value (object keys stay as they
 * are). `${VAR:-default}` uses the default when `VAR` is unset or empty, as in a POSIX shell; `$${VAR}`
 * is a literal `${VAR}`. An unset `${VAR}` without a default is a problem at its JSON path; values are
 * never put into problem messages.
 */
export function expandEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
): ExpandEnvResult {
  const problems: McpConfigProblem[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(REFERENCE, (match, escaped: string, name: string, fallback: string | undefined) => {
        if (escaped === '$') return match.slice(1);
        const current = env[name];
        if (fallback !== undefined) return current === undefined || current === '' ? fallback : current;
        if (current === undefined) {
          problems.push({
            path: formatJsonPath(path),
            message: `uses \${${name}} but ${name} is not set; set it or give a default as \${${name}:-default}`,
          });
          return '';
        }
        return current;
      });
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (typeof node === 'object' && node !== null) {
      const result: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) result[key] = walk(item, [...path, key]);
      return result;
    }
    return node;
  };
  return { value: walk(value, []), problems };
}
