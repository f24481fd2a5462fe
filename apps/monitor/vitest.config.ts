import { haiaProject } from '../../vitest.shared.ts';

export default haiaProject('monitor');
