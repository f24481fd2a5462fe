import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActiveTurns } from './active-turns.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('ActiveTurns', () => {
  it('counts the turns in flight, whichever order they end in, and ignores a second end', () => {
    const turns = new ActiveTurns();
    const ends = [1, 2, 3, 4].map(() => turns.begin(() => {}));
    expect(turns.size).toBe(4);
    ends[2]?.();
    ends[0]?.();
    ends[0]?.();
    expect(turns.size).toBe(2);
    ends[3]?.();
    ends[1]?.();
    expect(turns.size).toBe(0);
    const again = turns.begin(() => {});
    expect(turns.size).toBe(1);
    again();
    expect(turns.size).toBe(0);
  });

  it('lets running turns finish within the grace period without aborting them', async () => {
    vi.useFakeTimers();
    const turns = new ActiveTurns();
    const aborted: unknown[] = [];
    const endFirst = turns.begin((reason) => aborted.push(reason));
    const endSecond = turns.begin((reason) => aborted.push(reason));
    let drained = false;
    const drain = turns.drain(1000).then(() => {
      drained = true;
    });
    endSecond();
    await vi.advanceTimersByTimeAsync(500);
    expect(drained).toBe(false);
    endFirst();
    await drain;
    expect(drained).toBe(true);
    expect(aborted).toEqual([]);
  });

  it('aborts only the turns still running when the grace period ends, and waits for them to end', async () => {
    vi.useFakeTimers();
    const turns = new ActiveTurns();
    const aborted: string[] = [];
    const ends = new Map<string, () => void>();
    for (const name of ['a', 'b', 'c']) {
      ends.set(
        name,
        turns.begin(() => {
          aborted.push(name);
          // An aborted turn stores its partial answer, then ends.
          queueMicrotask(() => ends.get(name)?.());
        }),
      );
    }
    ends.get('b')?.();
    const drain = turns.drain(100);
    await vi.advanceTimersByTimeAsync(100);
    await drain;
    expect(aborted.sort()).toEqual(['a', 'c']);
    expect(turns.size).toBe(0);
  });

  it('returns at once when nothing runs', async () => {
    await expect(new ActiveTurns().drain(30_000)).resolves.toBeUndefined();
  });
});
