import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from './heap-growth.js';

describe('heapGrowthFlag', () => {
  it('bounds the growth by default', () => {
    expect(heapGrowthFlag([])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapGrowthFlag(['--enable-source-maps', '--max-old-space-size=2048'])).toBe(
      `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
    );
  });

  it("keeps an operator's own setting from the command line", () => {
    expect(heapGrowthFlag(['--heap-growing-percent=300'])).toBeUndefined();
    expect(heapGrowthFlag(['--inspect', '--heap-growing-percent', '20'])).toBeUndefined();
  });

  it('takes effect when set in a running process: garbage is collected sooner', () => {
    // 300 000 small objects kept alive next to 3 million that live long enough to reach the old
    // space; the largest old space V8 allowed, with the flag set at run time and without.
    const script = `(function main() {
      const v8 = require('node:v8');
      if (process.argv[1]) v8.setFlagsFromString(process.argv[1]);
      const live = [];
      for (let i = 0; i < 300000; i++) live.push({ i, s: [i] });
      const ring = new Array(300000);
      let peak = 0;
      for (let i = 0; i < 3000000; i++) {
        ring[i % 300000] = { i, list: [i, i + 1, i + 2] };
        if (i % 5000 === 0) {
          const old = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space');
          peak = Math.max(peak, old.space_size);
        }
      }
      process.stdout.write(String(peak));
    })();`;
    const peak = (flag: string) =>
      Number(spawnSync(process.execPath, ['-e', script, '--', flag], { encoding: 'utf8' }).stdout);
    const bounded = peak(heapGrowthFlag([]) ?? '');
    const unbounded = peak('');
    expect(bounded).toBeGreaterThan(0);
    // About 95 MB against 175 MB on Node 20.
    expect(bounded).toBeLessThan(unbounded * 0.75);
  });
});
