import { describe, expect, it } from 'vitest';
import { buildDigest, isQuietTime } from './quiet-hours.js';

const local = (hours: number, minutes = 0) => new Date(2026, 11, 1, hours, minutes);

describe('isQuietTime', () => {
  it('handles windows across midnight and within a day', () => {
    const night = { startMinute: 22 * 60, endMinute: 7 * 60 };
    expect(isQuietTime(local(23), night)).toBe(true);
    expect(isQuietTime(local(3), night)).toBe(true);
    expect(isQuietTime(local(7), night)).toBe(false);
    expect(isQuietTime(local(12), night)).toBe(false);
    const lunch = { startMinute: 12 * 60, endMinute: 13 * 60 };
    expect(isQuietTime(local(12, 30), lunch)).toBe(true);
    expect(isQuietTime(local(13, 0), lunch)).toBe(false);
    expect(isQuietTime(local(3), undefined)).toBe(false);
  });
});

describe('buildDigest', () => {
  it('summarises held notifications with the worst severity', () => {
    const digest = buildDigest([
      {
        key: 'a',
        kind: 'firing',
        heldAt: local(23, 5),
        notification: { title: 'VM 102 stopped', body: '', severity: 'warning', state: 'firing' },
      },
      {
        key: 'a',
        kind: 'resolved',
        heldAt: local(23, 40),
        notification: { title: 'VM 102 stopped', body: '', severity: 'warning', state: 'resolved' },
      },
      {
        key: 'b',
        kind: 'firing',
        heldAt: local(2, 0),
        notification: { title: 'Storage 90% full', body: '', severity: 'info', state: 'firing' },
      },
    ]);
    expect(digest).toMatchObject({
      title: '3 alerts during quiet hours',
      severity: 'warning',
      state: 'firing',
    });
    expect(digest.body.split('\n')).toEqual([
      '23:05 firing: VM 102 stopped',
      '23:40 resolved: VM 102 stopped',
      '02:00 firing: Storage 90% full',
    ]);
  });
});
