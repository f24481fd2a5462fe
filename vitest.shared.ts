import { defineProject } from 'vitest/config';

/** Vitest settings every package shares: resolve workspace packages from source, no build needed. */
export function haiaProject(name: string, overrides: { testTimeout?: number } = {}) {
  return defineProject({
    resolve: { conditions: ['@haia/source'] },
    ssr: { resolve: { conditions: ['@haia/source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 30_000,
    },
  });
}
