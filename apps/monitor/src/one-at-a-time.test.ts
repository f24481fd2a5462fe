import { describe, expect, it } from 'vitest';
import { oneAtATime } from './one-at-a-time.js';

describe('oneAtATime', () => {
  it('starts a task only once the one before settled, also after a failure', async () => {
    const run = oneAtATime();
    const events: string[] = [];
    let release: () => void = () => {};
    const first = run(async () => {
      events.push('first start');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      events.push('first end');
      throw new Error('first failed');
    });
    const second = run(async () => {
      events.push('second start');
      return 2;
    });
    await Promise.resolve();
    expect(events).toEqual(['first start']);
    release();
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe(2);
    expect(events).toEqual(['first start', 'first end', 'second start']);
  });
});
