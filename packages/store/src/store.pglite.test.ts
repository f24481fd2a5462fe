import { createPgliteHarness } from './testing/harness.js';
import { runStoreSuite } from './testing/store-suite.js';

runStoreSuite('pglite (temporary directories)', 'pglite', createPgliteHarness);
