import { describe, test } from 'vitest';
import { createPostgresHarness } from './testing/harness.js';
import { runStoreSuite } from './testing/store-suite.js';

const url = process.env.HAIA_TEST_DATABASE_URL;

if (url) {
  runStoreSuite('postgres (HAIA_TEST_DATABASE_URL, own schema per database)', 'postgres', () =>
    createPostgresHarness(url),
  );
} else if (process.env.CI === 'true') {
  describe('postgres', () => {
    test('HAIA_TEST_DATABASE_URL must be set in CI', () => {
      throw new Error(
        'HAIA_TEST_DATABASE_URL is not set but CI=true: the PostgreSQL variant of the store suite must run in CI. Set it, e.g. postgres://postgres@127.0.0.1:5432/test',
      );
    });
  });
} else {
  const reason = 'skipped: HAIA_TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)';
  console.warn(`@haia/store: the PostgreSQL store suite is ${reason}`);
  // biome-ignore lint/suspicious/noSkippedTests: without a server the variant is skipped visibly; CI=true fails instead.
  describe.skip(`postgres (${reason})`, () => {
    test('store suite on PostgreSQL', () => {});
  });
}
