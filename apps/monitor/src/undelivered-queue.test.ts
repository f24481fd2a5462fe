import { Writable } from 'node:stream';
import { createNotifiers } from '@haia/notify';
import { createProxmoxClient, type ProxmoxClient } from '@haia/proxmox';
import type { Store } from '@haia/store';
import {
  PROXMOX_FIXTURE_NOW,
  type ProxmoxFake,
  startProxmoxFake,
  startTelegramFake,
  type TelegramFake,
  testCertificates,
} from '@haia/testkit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from './alert-engine.js';
import { createMonitorMetrics } from './metrics.js';
import { createMonitor, type MonitorOptions } from './monitor.js';
import { openTestStore, type TestStore, testBackends } from './test-store.js';
import { createUndeliveredQueue, UNDELIVERED_STATE_KEY } from './undelivered-queue.js';

const TELEGRAM_TOKEN = '42:TEST-telegram-token';
/** The Telegram sender tries a send up to 4 times before it gives up. */
const SEND_ATTEMPTS = 4;

/** A pino logger whose lines the test reads. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function alert(index: number, severity: 'warning' | 'critical' = 'warning'): AlertNotification {
  return {
    key: `guest:${index}`,
    kind: 'firing',
    notification: { title: `VM ${index} stopped`, body: 'It was running.', severity, state: 'firing' },
  };
}

// A PGlite on disk starts slowly on a busy machine, and these tests restart it: a roomier time limit.
describe.each(testBackends())('undelivered notifications on %s', { timeout: 60_000 }, (backend) => {
  let testStore: TestStore;
  let telegram: TelegramFake;
  let proxmox: ProxmoxFake;
  let client: ProxmoxClient;
  let clock: Date;

  beforeEach(async () => {
    [testStore, telegram, proxmox] = await Promise.all([
      openTestStore({ backend }),
      startTelegramFake({ token: TELEGRAM_TOKEN, chats: ['-100'] }),
      startProxmoxFake(),
    ]);
    client = createProxmoxClient({
      url: proxmox.url,
      tokenId: proxmox.tokenId,
      tokenSecret: proxmox.tokenSecret,
      ca: testCertificates().ca,
    });
    clock = new Date((PROXMOX_FIXTURE_NOW + 3600) * 1000);
  });

  afterEach(async () => {
    await client.close();
    await testStore.cleanup();
    await Promise.all([telegram.close(), proxmox.close()]);
  });

  /** A monitor on `store` that alerts on Telegram only, as a fresh process would create it. */
  function monitorOn(store: Store, overrides: Partial<MonitorOptions> = {}) {
    return createMonitor({
      client,
      notifiers: createNotifiers(
        { telegram: { botToken: TELEGRAM_TOKEN, chatId: '-100', apiUrl: telegram.url } },
        { sleep: async () => {} },
      ),
      store: store.monitor,
      rules: {
        failureThreshold: 1,
        reminderIntervalMs: undefined,
        storageThresholdPercent: 85,
        quietHours: undefined,
        vmIntervalMs: 300_000,
      },
      logger: pino({ level: 'silent' }),
      metrics: createMonitorMetrics(),
      now: () => clock,
      ...overrides,
    });
  }

  const refuseNextSend = () => {
    for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) telegram.failNext(502, 'Bad Gateway');
  };
  const delivered = () => telegram.messages.map((message) => message.text.split('\n')[0]);
  const tick = () => {
    clock = new Date(clock.getTime() + 60_000);
  };

  it('notifications no channel took are sent after a restart: the firing one, then its resolved notice', async () => {
    const first = monitorOn(testStore.store);
    await first.runCheck('guests');
    tick();
    proxmox.stopGuest(101);
    refuseNextSend();
    await first.runCheck('guests');
    // Telegram is still down when the VM runs again: the resolved notice is refused too, and the
    // firing one stays queued before it (as in memory before).
    tick();
    proxmox.startGuest(101);
    refuseNextSend();
    await first.runCheck('guests');
    expect(delivered()).toEqual([]);

    // The monitor restarts, Telegram is back: the first digest tick sends both, in order, once.
    const restarted = monitorOn(await testStore.reopen());
    await restarted.flushDigest();
    await restarted.flushDigest();
    expect(delivered()).toEqual([
      '<b>🟠 VM 101 (docker-host) stopped</b>',
      '<b>✅ Resolved: VM 101 (docker-host) stopped</b>',
    ]);
    expect(await testStore.store.monitor.getState(UNDELIVERED_STATE_KEY)).toEqual([]);
  });

  it('a retry that fails again keeps the notification for the next tick', async () => {
    const first = monitorOn(testStore.store);
    await first.runCheck('guests');
    tick();
    proxmox.stopGuest(101);
    refuseNextSend();
    await first.runCheck('guests');
    refuseNextSend();
    await first.flushDigest();
    expect(delivered()).toEqual([]);
    const restarted = monitorOn(await testStore.reopen());
    await restarted.flushDigest();
    expect(delivered()).toEqual(['<b>🟠 VM 101 (docker-host) stopped</b>']);
  });

  it('after a restart during quiet hours a non-critical one goes to the digest, a critical one out', async () => {
    const local = (hours: number) => {
      const date = new Date(clock);
      date.setHours(hours, 0, 0, 0);
      return date;
    };
    const quiet: Partial<MonitorOptions> = {
      rules: {
        failureThreshold: 1,
        reminderIntervalMs: undefined,
        storageThresholdPercent: 85,
        quietHours: { startMinute: 22 * 60, endMinute: 7 * 60 },
        vmIntervalMs: 300_000,
      },
    };
    clock = local(21);
    const first = monitorOn(testStore.store, quiet);
    await first.runCheck('guests');
    await first.runCheck('nodes');
    proxmox.stopGuest(101);
    proxmox.setNodeOffline('pve2');
    refuseNextSend();
    await first.runCheck('guests');
    refuseNextSend();
    await first.runCheck('nodes');
    expect(delivered()).toEqual([]);

    clock = local(23);
    const second = monitorOn(await testStore.reopen(), quiet);
    await second.flushDigest();
    expect(delivered()).toEqual(['<b>🔴 Node pve2 is offline</b>']);

    clock = new Date(local(7).getTime() + 86_400_000);
    await second.flushDigest();
    expect(delivered()).toEqual(['<b>🔴 Node pve2 is offline</b>', '<b>🟠 1 alert during quiet hours</b>']);
    expect(telegram.messages[1]?.text).toContain('firing: VM 101 (docker-host) stopped');
  });

  it('keeps at most `max` in the store, dropping the oldest with one log line saying how many', async () => {
    const { logger, lines } = recordingLogger();
    const queue = createUndeliveredQueue({
      store: testStore.store.monitor,
      logger,
      max: 3,
      now: () => clock,
    });
    for (const index of [1, 2, 3]) await queue.add(alert(index));
    expect(lines.filter((line) => String(line.msg).startsWith('dropped'))).toEqual([]);

    const restarted = createUndeliveredQueue({
      store: (await testStore.reopen()).monitor,
      logger,
      max: 3,
      now: () => clock,
    });
    await restarted.add(alert(4, 'critical'));
    const waiting = await restarted.list();
    expect(waiting.map((entry) => entry.key)).toEqual(['guest:2', 'guest:3', 'guest:4']);
    expect(waiting[2]?.notification).toEqual(alert(4, 'critical').notification);
    const dropped = lines.filter((line) => String(line.msg).startsWith('dropped'));
    expect(dropped).toEqual([
      expect.objectContaining({
        dropped: 1,
        max: 3,
        keys: ['guest:1'],
        msg: 'dropped the 1 oldest undelivered notification: at most 3 wait for a channel',
      }),
    ]);

    await restarted.remove(waiting[1]?.id ?? '');
    expect((await restarted.list()).map((entry) => entry.key)).toEqual(['guest:2', 'guest:4']);
  });

  it('ignores a stored value it cannot read, saying so', async () => {
    const { logger, lines } = recordingLogger();
    await testStore.store.monitor.setState(UNDELIVERED_STATE_KEY, [{ key: 'guest:1' }, 'nonsense']);
    const queue = createUndeliveredQueue({ store: testStore.store.monitor, logger, now: () => clock });
    expect(await queue.list()).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({ ignored: 2, msg: expect.stringContaining('unreadable') }),
    ]);
  });
});
