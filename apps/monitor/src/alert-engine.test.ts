import { describe, expect, it } from 'vitest';
import { type AlertRules, evaluateCheck, formatDuration } from './alert-engine.js';
import type { AlertRecord } from './alert-record.js';
import type { Observation } from './observation.js';

const rules: AlertRules = { failureThreshold: 2, reminderIntervalMs: 3_600_000 };
const bad: Observation = {
  key: 'guest:102',
  ok: false,
  severity: 'warning',
  title: 'VM 102 stopped',
  body: 'was running',
};
const good: Observation = { ...bad, ok: true, body: 'running again' };
const at = (minutes: number) => new Date(Date.UTC(2026, 11, 1, 12, minutes));

/** Runs observations through the engine like the monitor does, keeping the records between runs. */
function simulate(steps: Array<{ minute: number; observations: Observation[] }>, ruleSet = rules) {
  const stored = new Map<string, AlertRecord>();
  const sent: string[] = [];
  for (const step of steps) {
    const evaluation = evaluateCheck(
      { check: 'guests', observations: step.observations },
      stored,
      ruleSet,
      at(step.minute),
    );
    for (const record of evaluation.records) stored.set(record.key, record);
    for (const notification of evaluation.notifications)
      sent.push(`${step.minute}:${notification.kind}:${notification.notification.title}`);
  }
  return { stored, sent };
}

describe('evaluateCheck', () => {
  it('goes pending, then firing after the threshold, notifying once', () => {
    const { stored, sent } = simulate([
      { minute: 0, observations: [bad] },
      { minute: 5, observations: [bad] },
      { minute: 10, observations: [bad] },
    ]);
    expect(sent).toEqual(['5:firing:VM 102 stopped']);
    expect(stored.get('guest:102')).toMatchObject({
      status: 'firing',
      consecutiveBad: 3,
      firingSince: at(5),
    });
  });

  it('drops a pending alert silently when the object recovers', () => {
    const { stored, sent } = simulate([
      { minute: 0, observations: [bad] },
      { minute: 5, observations: [good] },
    ]);
    expect(sent).toEqual([]);
    expect(stored.get('guest:102')?.status).toBe('resolved');
  });

  it('notifies resolve once with how long it lasted', () => {
    const { sent, stored } = simulate([
      { minute: 0, observations: [bad] },
      { minute: 5, observations: [bad] },
      { minute: 50, observations: [good] },
      { minute: 55, observations: [good] },
    ]);
    expect(sent).toEqual(['5:firing:VM 102 stopped', '50:resolved:VM 102 stopped']);
    expect(stored.get('guest:102')?.status).toBe('resolved');
  });

  it('puts the duration into the resolved notice', () => {
    const stored = new Map<string, AlertRecord>();
    for (const [minute, observation] of [
      [0, bad],
      [5, bad],
      [50, good],
    ] as const) {
      const evaluation = evaluateCheck(
        { check: 'guests', observations: [observation] },
        stored,
        rules,
        at(minute),
      );
      for (const record of evaluation.records) stored.set(record.key, record);
      if (minute === 50)
        expect(evaluation.notifications[0]?.notification).toMatchObject({
          state: 'resolved',
          body: 'running again It lasted 45m.',
        });
    }
  });

  it('reminds only after the reminder interval', () => {
    const { sent } = simulate([
      { minute: 0, observations: [bad] },
      { minute: 5, observations: [bad] },
      { minute: 30, observations: [bad] },
      { minute: 65, observations: [bad] },
      { minute: 70, observations: [bad] },
    ]);
    expect(sent).toEqual(['5:firing:VM 102 stopped', '65:reminder:Still: VM 102 stopped']);
  });

  it('never reminds without an interval, and fires at once with threshold 1', () => {
    const { sent } = simulate(
      [
        { minute: 0, observations: [bad] },
        { minute: 500, observations: [bad] },
      ],
      { failureThreshold: 1, reminderIntervalMs: undefined },
    );
    expect(sent).toEqual(['0:firing:VM 102 stopped']);
  });

  it('resolves alerts whose object is no longer observed', () => {
    const { sent } = simulate(
      [
        { minute: 0, observations: [bad] },
        { minute: 5, observations: [] },
      ],
      { failureThreshold: 1, reminderIntervalMs: undefined },
    );
    expect(sent).toEqual(['0:firing:VM 102 stopped', '5:resolved:VM 102 stopped']);
  });

  it('notifies an event once, ever', () => {
    const event: Observation = {
      key: 'task:UPID:1',
      ok: false,
      event: true,
      severity: 'warning',
      title: 'VM 102 failed to start',
      body: 'error',
    };
    const { sent, stored } = simulate([
      { minute: 0, observations: [event] },
      { minute: 5, observations: [event] },
      { minute: 10, observations: [] },
    ]);
    expect(sent).toEqual(['0:firing:VM 102 failed to start']);
    expect(stored.get('task:UPID:1')?.status).toBe('resolved');
  });

  it('honours a success threshold against flapping', () => {
    const { sent } = simulate(
      [
        { minute: 0, observations: [bad] },
        { minute: 5, observations: [good] },
        { minute: 10, observations: [bad] },
        { minute: 15, observations: [good] },
        { minute: 20, observations: [good] },
      ],
      { failureThreshold: 1, successThreshold: 2, reminderIntervalMs: undefined },
    );
    expect(sent).toEqual(['0:firing:VM 102 stopped', '20:resolved:VM 102 stopped']);
  });

  it('leaves other checks alone', () => {
    const other: AlertRecord = {
      key: 'ceph:health',
      check: 'ceph',
      status: 'firing',
      severity: 'warning',
      title: 'Ceph',
      body: '',
      fields: [],
      links: [],
      event: false,
      consecutiveBad: 3,
      consecutiveGood: 0,
      firstBadAt: at(0),
      firingSince: at(0),
      lastNotifiedAt: at(0),
      resolvedAt: null,
      updatedAt: at(0),
    };
    const evaluation = evaluateCheck(
      { check: 'guests', observations: [] },
      new Map([[other.key, other]]),
      rules,
      at(5),
    );
    expect(evaluation).toEqual({ records: [], notifications: [] });
  });
});

describe('formatDuration', () => {
  it('prints the two largest units', () => {
    expect(formatDuration(40_000)).toBe('40s');
    expect(formatDuration(12 * 60_000)).toBe('12m');
    expect(formatDuration(65 * 60_000)).toBe('1h 5m');
    expect(formatDuration(26 * 3_600_000 + 60_000)).toBe('1d 2h');
  });
});
