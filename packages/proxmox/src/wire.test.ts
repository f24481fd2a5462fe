import { describe, expect, it } from 'vitest';
import { splitList, wireFlag, wireNumber } from './wire.js';

describe('wire decoders', () => {
  it('reads numbers sent as strings', () => {
    expect(wireNumber.parse('4400.000')).toBe(4400);
    expect(wireNumber.parse('0.42')).toBe(0.42);
    expect(wireNumber.parse(7)).toBe(7);
    expect(wireNumber.safeParse('abc').success).toBe(false);
    expect(wireNumber.safeParse('').success).toBe(false);
  });

  it('reads 0/1 flags as booleans', () => {
    expect([0, 1, '0', '1', true, false].map((value) => wireFlag.parse(value))).toEqual([
      false,
      true,
      false,
      true,
      true,
      false,
    ]);
    expect(wireFlag.safeParse(2).success).toBe(false);
  });

  it('splits tag and content lists', () => {
    expect(splitList('automation;prod')).toEqual(['automation', 'prod']);
    // Proxmox's split_list reads a hand-edited `tags: prod web` as two tags.
    expect(splitList('prod web,db; x')).toEqual(['prod', 'web', 'db', 'x']);
    expect(splitList('images,rootdir', /,/)).toEqual(['images', 'rootdir']);
    expect(splitList(undefined)).toEqual([]);
    expect(splitList(' ; ')).toEqual([]);
  });
});
