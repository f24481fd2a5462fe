import { haiaProject } from '../../vitest.shared.ts';

export default haiaProject('store', { testTimeout: 30_000 });
