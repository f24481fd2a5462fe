import { describe, expect, it } from 'vitest';
import {
  canBeSecret,
  isSecretName,
  MIN_NAMED_SECRET_LENGTH,
  MIN_SECRET_LENGTH,
  secretsToMask,
} from './secret-values.js';

describe('secretsToMask', () => {
  it('leaves out short, common values and keeps the rest longest first, once each', () => {
    expect(MIN_SECRET_LENGTH).toBe(8);
    expect(canBeSecret('true')).toBe(false);
    expect(canBeSecret('1234567')).toBe(false);
    expect(canBeSecret('12345678')).toBe(true);
    expect(
      secretsToMask(['true', '1', 'info', 'ghp_abcdefgh', 'ghp_abcdefgh_longer', 'ghp_abcdefgh']),
    ).toEqual(['ghp_abcdefgh_longer', 'ghp_abcdefgh']);
  });

  it('masks a short value whose place says it is a secret (a password named so, a header)', () => {
    expect(MIN_NAMED_SECRET_LENGTH).toBe(4);
    for (const name of [
      'GITHUB_TOKEN',
      'PGPASSWORD',
      'DB_PWD',
      'OPENAI_API_KEY',
      'CLIENT_SECRET',
      'BASIC_AUTH',
    ]) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ['LOG_LEVEL', 'DEBUG', 'PORT', 'HOME']) expect(isSecretName(name), name).toBe(false);
    expect(secretsToMask(['info', 'true'], ['hunter2', 'abc'])).toEqual(['hunter2']);
    // The same word in both lists is kept once.
    expect(secretsToMask(['s3cretpassword'], ['s3cretpassword'])).toEqual(['s3cretpassword']);
  });
});
