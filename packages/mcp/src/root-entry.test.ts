import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const sourceFolder = dirname(fileURLToPath(import.meta.url));
const sdkFolder = resolve(sourceFolder, '../node_modules/@modelcontextprotocol/sdk/dist/esm');

/** Specifiers a module imports at load time (not `import type`, not `import()`). */
function staticImports(code: string): string[] {
  const withoutComments = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const clause = String.raw`(?:\*\s+as\s+[\w$]+|\{[^}]*\}|[\w$]+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+[\w$]+))?|\*)`;
  const pattern = new RegExp(
    String.raw`(?:^|[;\s])(?:import|export)\s+(?!type\b)(?:${clause}\s*from\s*)?['"]([^'"]+)['"]`,
    'g',
  );
  return [...withoutComments.matchAll(pattern)].flatMap((match) => (match[1] ? [match[1]] : []));
}

/** Every bare specifier loaded, transitively, when `entry` is imported (own files and the MCP SDK followed). */
function loadGraph(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of staticImports(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        visit(file.endsWith('.ts') ? target.replace(/\.js$/, '.ts') : target);
      } else if (specifier.startsWith('@modelcontextprotocol/sdk/')) {
        const target = resolve(sdkFolder, specifier.slice('@modelcontextprotocol/sdk/'.length));
        visit(existsSync(target) ? target : `${target}.js`);
      } else bare.add(specifier);
    }
  };
  visit(entry);
  return { files, bare };
}

describe('the root entry', () => {
  it('does not load node:child_process (stdio is imported on first use)', () => {
    const { files, bare } = loadGraph(resolve(sourceFolder, 'index.ts'));
    expect([...files].some((file) => file.endsWith('sdk/dist/esm/client/streamableHttp.js'))).toBe(true);
    expect([...files].some((file) => file.endsWith('stdio-transport.ts'))).toBe(false);
    expect([...files].some((file) => file.endsWith('client/stdio.js'))).toBe(false);
    expect([...bare].filter((name) => /child_process|cross-spawn/.test(name))).toEqual([]);
  });

  it('the check itself sees child_process in the stdio transport', () => {
    const { bare } = loadGraph(resolve(sourceFolder, 'stdio-transport.ts'));
    expect(bare.has('node:child_process')).toBe(true);
  });
});
