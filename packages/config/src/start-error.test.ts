import { describe, expect, it } from 'vitest';
import { describeStartError } from './start-error.js';

describe('describeStartError', () => {
  it('shows an error with a code as its message and its cause, without a stack', () => {
    const error = Object.assign(
      new Error('HAIA cannot open its database: check DATABASE_URL', { cause: new Error('ECONNREFUSED') }),
      { code: 'unavailable' },
    );
    expect(describeStartError(error)).toBe(
      'HAIA cannot open its database: check DATABASE_URL\n  cause: ECONNREFUSED',
    );
    const same = Object.assign(new Error('listen EADDRINUSE: 8000', { cause: new Error('8000') }), {
      code: 'EADDRINUSE',
    });
    expect(describeStartError(same)).toBe('listen EADDRINUSE: 8000');
  });

  it('shows anything else (a bug) with its stack', () => {
    const bug = new TypeError('x is undefined');
    expect(describeStartError(bug)).toBe(bug.stack);
    expect(describeStartError('plain')).toBe('plain');
  });
});
