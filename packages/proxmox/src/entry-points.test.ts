import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Every module specifier the file imports, followed through relative imports. */
function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const specifiers = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else specifiers.add(specifier);
    }
  };
  visit(entry);
  return specifiers;
}

const here = dirname(fileURLToPath(import.meta.url));

describe('entry points', () => {
  it('the root entry (the client) imports nothing of ours and no MCP SDK', () => {
    const imports = [...importGraph(resolve(here, 'index.ts'))];
    expect(imports.filter((specifier) => specifier.startsWith('@haia/'))).toEqual([]);
    expect(imports.filter((specifier) => specifier.startsWith('@modelcontextprotocol/'))).toEqual([]);
    expect(imports.sort()).toEqual(['ky', 'node:tls', 'undici', 'zod']);
  });

  it('the tools entry adds only @haia/agent', () => {
    const imports = [...importGraph(resolve(here, 'tools/index.ts'))];
    expect(imports.filter((specifier) => specifier.startsWith('@haia/'))).toEqual(['@haia/agent']);
  });
});
