import { describe, expect, it } from 'vitest';
import { repeatedKeys } from './json-line-keys.js';

describe('repeatedKeys', () => {
  it('names the top-level keys written twice, not nested ones or string contents', () => {
    expect(repeatedKeys('{"component":"agent","msg":"x","component":"mcp"}')).toEqual(['component']);
    expect(repeatedKeys('{"a":{"b":1,"b":2},"c":["a","a"],"d":"\\"a\\":1,\\"a\\":2"}')).toEqual([]);
    expect(repeatedKeys('{"a":1,"b":{"a":2},"a":3,"b":4}')).toEqual(['a', 'b']);
  });
});
