import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('removes the given secrets and anything shaped like a key or bearer token', () => {
    expect(redactSecrets('key abcd-1234 failed', ['abcd-1234'])).toBe('key [redacted] failed');
    expect(redactSecrets('Incorrect API key provided: sk-proj-AbC123xyz789.')).toBe(
      'Incorrect API key provided: [redacted].',
    );
    expect(redactSecrets('Authorization: Bearer local-token-1')).toBe('Authorization: Bearer [redacted]');
    expect(redactSecrets('key AIzaSyA1234567890abcdefghijklmn ok')).toBe('key [redacted] ok');
    expect(redactSecrets('short ab', ['ab'])).toBe('short ab');
    expect(redactSecrets('model gpt-4o-mini at http://127.0.0.1:8080/v1')).toBe(
      'model gpt-4o-mini at http://127.0.0.1:8080/v1',
    );
    expect(redactSecrets('Could not reach http://haia:PW-SECRET-42@10.0.0.5:8080/v1 (ECONNREFUSED)')).toBe(
      'Could not reach http://[redacted]@10.0.0.5:8080/v1 (ECONNREFUSED)',
    );
    expect(redactSecrets('at https://token@proxy.lan/v1 and mail me at ops@example.com')).toBe(
      'at https://[redacted]@proxy.lan/v1 and mail me at ops@example.com',
    );
  });
});
