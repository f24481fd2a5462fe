import { describe, expect, it } from 'vitest';
import {
  MAX_TOOL_NAME_LENGTH,
  sanitiseToolName,
  type ToolNameCollision,
  ToolNameRegistry,
} from './tool-names.js';

describe('ToolNameRegistry', () => {
  it('names tools <server>__<tool> with only [A-Za-z0-9_-]', () => {
    const registry = new ToolNameRegistry();
    expect(registry.assign('filesystem', 'read_file')).toBe('filesystem__read_file');
    expect(registry.assign('home.assistant', 'get-state')).toBe('home_assistant__get-state');
    expect(sanitiseToolName('a b/c:d.e')).toBe('a_b_c_d_e');
  });

  it('cuts long names to 64 characters with a hash, so long names sharing a prefix differ', () => {
    const registry = new ToolNameRegistry();
    const base = 'x'.repeat(80);
    const first = registry.assign('server', `${base}_one`);
    const second = registry.assign('server', `${base}_two`);
    expect(first).toHaveLength(MAX_TOOL_NAME_LENGTH);
    expect(second).toHaveLength(MAX_TOOL_NAME_LENGTH);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^server__x+_[0-9a-f]{6}$/);
  });

  it('gives a colliding name a hash suffix and keeps each name stable', () => {
    const registry = new ToolNameRegistry();
    const plain = registry.assign('a_b', 'tool');
    const clash = registry.assign('a.b', 'tool');
    expect(plain).toBe('a_b__tool');
    expect(clash).toMatch(/^a_b__tool_[0-9a-f]{6}$/);
    expect(registry.assign('a.b', 'tool')).toBe(clash);
    expect(registry.assign('a_b', 'tool')).toBe(plain);
  });

  it('frees the names of tools a server no longer has', () => {
    const registry = new ToolNameRegistry();
    registry.assign('s', 'old');
    registry.assign('s', 'kept');
    registry.release('s', new Set(['kept']));
    expect(registry.assign('s', 'kept')).toBe('s__kept');
    expect(registry.assign('s_', '_old')).toBe('s____old');
    expect(registry.assign('s', 'old')).toBe('s__old');
  });

  it('gives a contested name to the server earlier in the config, whichever asks first, and says so', () => {
    const settle = (order: Array<[string, string]>) => {
      const collisions: ToolNameCollision[] = [];
      const renamed: string[] = [];
      const registry = new ToolNameRegistry({
        serverOrder: ['a.b', 'a_b'],
        onCollision: (collision) => collisions.push(collision),
        onRenamed: (server) => renamed.push(server),
      });
      for (const [server, tool] of order) registry.assign(server, tool);
      const names = { first: registry.assign('a.b', 'tool'), second: registry.assign('a_b', 'tool') };
      return { names, collisions, renamed };
    };
    const inOrder = settle([
      ['a.b', 'tool'],
      ['a_b', 'tool'],
    ]);
    const reversed = settle([
      ['a_b', 'tool'],
      ['a.b', 'tool'],
    ]);
    expect(inOrder.names.first).toBe('a_b__tool');
    expect(inOrder.names.second).toMatch(/^a_b__tool_[0-9a-f]{6}$/);
    expect(reversed.names).toEqual(inOrder.names);
    expect(inOrder.renamed).toEqual([]);
    expect(reversed.renamed).toEqual(['a_b']);
    for (const { collisions } of [inOrder, reversed]) {
      expect(collisions).toEqual([
        {
          name: 'a_b__tool',
          kept: { server: 'a.b', tool: 'tool' },
          renamed: { server: 'a_b', tool: 'tool', name: inOrder.names.second },
        },
      ]);
    }
  });
});
