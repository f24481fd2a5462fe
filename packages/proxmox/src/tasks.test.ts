import { describe, expect, it } from 'vitest';
import { isTaskFailed, taskWarnings } from './tasks.js';

describe('isTaskFailed', () => {
  it('counts anything but OK and WARNINGS: n as failed', () => {
    expect(isTaskFailed('OK')).toBe(false);
    expect(isTaskFailed('WARNINGS: 1')).toBe(false);
    expect(isTaskFailed('WARNINGS: 12')).toBe(false);
    expect(isTaskFailed('start failed: QEMU exited with code 1')).toBe(true);
    expect(isTaskFailed("command 'apt-get update' failed: exit code 100")).toBe(true);
    expect(isTaskFailed('unexpected status')).toBe(true);
    expect(isTaskFailed('WARNINGS: many')).toBe(true);
  });

  it('does not count running tasks', () => {
    expect(isTaskFailed(undefined)).toBe(false);
    expect(isTaskFailed('RUNNING')).toBe(false);
  });

  it('reads the warning count', () => {
    expect(taskWarnings('WARNINGS: 3')).toBe(3);
    expect(taskWarnings('OK')).toBe(0);
    expect(taskWarnings(undefined)).toBe(0);
  });
});
