import { createNotifiers } from '@haia/notify';
import { createProxmoxClient, type ProxmoxClient } from '@haia/proxmox';
import {
  type DiscordFake,
  PROXMOX_FIXTURE_NOW,
  type ProxmoxFake,
  startDiscordFake,
  startProxmoxFake,
  startTelegramFake,
  type TelegramFake,
  testCertificates,
} from '@haia/testkit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMonitorMetrics } from './metrics.js';
import { type CheckName, createMonitor, type MonitorOptions } from './monitor.js';
import type { MonitorStore } from './monitor-store.js';
import { openTestStore, type TestStore } from './test-store.js';

// A homelab user's week with the daemon's defaults (threshold 2, reminder 4h, 5-minute ticks),
// against the fake cluster and the fake Telegram and Discord, on an injected clock.

const TELEGRAM_TOKEN = '42:TEST-telegram-token';
const TICK_MS = 300_000;
const QUIET_HOURS = { startMinute: 22 * 60, endMinute: 7 * 60 };

let proxmox: ProxmoxFake;
let telegram: TelegramFake;
let discord: DiscordFake;
let client: ProxmoxClient;
let testStore: TestStore;
let clock: Date;

beforeEach(async () => {
  [proxmox, telegram, discord] = await Promise.all([
    startProxmoxFake(),
    startTelegramFake({ token: TELEGRAM_TOKEN, chats: ['-100'] }),
    startDiscordFake(),
  ]);
  client = createProxmoxClient({
    url: proxmox.url,
    tokenId: proxmox.tokenId,
    tokenSecret: proxmox.tokenSecret,
    ca: testCertificates().ca,
  });
  testStore = await openTestStore();
  clock = localTime(new Date((PROXMOX_FIXTURE_NOW + 86_400) * 1000), 12);
});

afterEach(async () => {
  await client.close();
  await testStore.cleanup();
  await Promise.all([proxmox.close(), telegram.close(), discord.close()]);
});

/** `day` at `hours`:`minutes` local time (quiet hours are local). */
function localTime(day: Date, hours: number, minutes = 0): Date {
  const date = new Date(day);
  date.setHours(hours, minutes, 0, 0);
  return date;
}

function monitorOn(
  store: MonitorStore = testStore.store.monitor,
  rules: Partial<MonitorOptions['rules']> = {},
) {
  return createMonitor({
    client,
    notifiers: createNotifiers(
      {
        telegram: { botToken: TELEGRAM_TOKEN, chatId: '-100', apiUrl: telegram.url },
        discord: { webhookUrl: discord.webhookUrl },
      },
      { sleep: async () => {} },
    ),
    store,
    rules: {
      failureThreshold: 2,
      reminderIntervalMs: 4 * 3_600_000,
      storageThresholdPercent: 85,
      quietHours: undefined,
      vmIntervalMs: TICK_MS,
      ...rules,
    },
    logger: pino({ level: 'silent' }),
    metrics: createMonitorMetrics(),
    now: () => clock,
  });
}

/** One tick of the schedule: the given checks, then the clock moves on by five minutes. */
async function tick(monitor: ReturnType<typeof monitorOn>, ...checks: CheckName[]) {
  for (const check of checks) await monitor.runCheck(check);
  clock = new Date(clock.getTime() + TICK_MS);
}

/** The first line of every Telegram message, without the markup. */
function telegramTitles(): string[] {
  return telegram.messages.map((message) => (message.text.split('\n')[0] ?? '').replace(/<\/?b>/g, ''));
}

/** Telegram fails every attempt of the next `sends` sends (the sender tries 4 times). */
function telegramDown(sends = 1) {
  for (let attempt = 0; attempt < 4 * sends; attempt++) telegram.failNext(500);
}

describe('a homelab week with haia-monitor', () => {
  it('a guest alert is neither resolved nor repeated while its node is offline', async () => {
    const monitor = monitorOn();
    await tick(monitor, 'guests', 'nodes');
    proxmox.stopGuest(201);
    await tick(monitor, 'guests', 'nodes');
    await tick(monitor, 'guests', 'nodes');
    expect(telegramTitles()).toEqual(['🟠 CT 201 (jellyfin) stopped']);
    proxmox.setNodeOffline('pve2');
    await tick(monitor, 'guests', 'nodes');
    await tick(monitor, 'guests', 'nodes');
    // pve2 is gone: CT 201's state cannot be seen, so its alert is not "resolved".
    expect(telegramTitles()).toEqual(['🟠 CT 201 (jellyfin) stopped', '🔴 Node pve2 is offline']);
    proxmox.setNodeOffline('pve2', false);
    await tick(monitor, 'guests', 'nodes');
    expect(telegramTitles().slice(2)).toEqual(['✅ Resolved: Node pve2 is offline']);
    proxmox.startGuest(201);
    await tick(monitor, 'guests', 'nodes');
    expect(telegramTitles().slice(3)).toEqual(['✅ Resolved: CT 201 (jellyfin) stopped']);
  });

  it('the Proxmox API refusing the token, then back: one alert and one resolved notice', async () => {
    const monitor = monitorOn();
    await tick(monitor, 'guests');
    for (let run = 0; run < 3; run++) {
      proxmox.server.enqueue(
        (response) => {
          response.writeHead(401, 'authentication failure', { 'content-length': '0' });
          response.end();
        },
        { path: /\/cluster\/resources/ },
      );
    }
    await tick(monitor, 'guests');
    await tick(monitor, 'guests');
    await tick(monitor, 'guests');
    expect(telegramTitles()).toEqual(['🔴 Proxmox API unreachable']);
    expect(telegram.messages[0]?.text).toContain('PROXMOX_TOKEN_SECRET');
    expect(telegram.messages[0]?.text).not.toContain(proxmox.tokenSecret);
    await tick(monitor, 'guests');
    expect(telegramTitles()).toEqual(['🔴 Proxmox API unreachable', '✅ Resolved: Proxmox API unreachable']);
    expect(telegram.messages[1]?.text).toContain('It lasted 10m');
  });

  it('a resolved notice never arrives before the alert that is still waiting for a channel', async () => {
    const monitor = monitorOn();
    await tick(monitor, 'guests');
    proxmox.stopGuest(101);
    await tick(monitor, 'guests');
    telegramDown();
    for (let attempt = 0; attempt < 4; attempt++) discord.failNext(500);
    await tick(monitor, 'guests');
    expect(telegram.messages).toHaveLength(0);
    // The channels are back before the next digest tick, and so is the VM.
    proxmox.startGuest(101);
    await tick(monitor, 'guests');
    expect(telegram.messages).toHaveLength(0);
    await monitor.flushDigest();
    expect(telegramTitles()).toEqual([
      '🟠 VM 101 (docker-host) stopped',
      '✅ Resolved: VM 101 (docker-host) stopped',
    ]);
    expect(discord.messages.map((message) => message.embeds[0]?.title)).toEqual([
      '🟠 VM 101 (docker-host) stopped',
      '✅ Resolved: VM 101 (docker-host) stopped',
    ]);
  });

  it('keeps a waiting resolved notice behind its alert when the retry fails again', async () => {
    const monitor = createMonitor(monitorOptionsTelegramOnly());
    await tick(monitor, 'guests');
    proxmox.stopGuest(101);
    await tick(monitor, 'guests');
    telegramDown();
    await tick(monitor, 'guests');
    proxmox.startGuest(101);
    await tick(monitor, 'guests');
    // The digest tick's retry of the alert fails once more: its resolved notice must wait too.
    telegramDown();
    await monitor.flushDigest();
    expect(telegram.messages).toHaveLength(0);
    await monitor.flushDigest();
    expect(telegramTitles()).toEqual([
      '🟠 VM 101 (docker-host) stopped',
      '✅ Resolved: VM 101 (docker-host) stopped',
    ]);
  });

  it('quiet hours across midnight: critical at once, the rest in one morning digest, kept while Telegram is down', async () => {
    clock = localTime(clock, 21, 50);
    const monitor = monitorOn(testStore.store.monitor, { quietHours: QUIET_HOURS });
    await tick(monitor, 'guests', 'nodes');
    clock = localTime(clock, 23, 30);
    proxmox.stopGuest(101);
    await tick(monitor, 'guests', 'nodes');
    await tick(monitor, 'guests', 'nodes');
    await monitor.flushDigest();
    expect(telegramTitles()).toEqual([]);
    clock = localTime(new Date(clock.getTime() + 86_400_000), 2);
    proxmox.setNodeOffline('pve2');
    await tick(monitor, 'guests', 'nodes');
    await tick(monitor, 'guests', 'nodes');
    await monitor.flushDigest();
    expect(telegramTitles()).toEqual(['🔴 Node pve2 is offline']);
    // 07:00: the digest is due, and Telegram and Discord are both down for its first try.
    clock = localTime(clock, 7);
    telegramDown();
    for (let attempt = 0; attempt < 4; attempt++) discord.failNext(500);
    await monitor.flushDigest();
    expect(telegramTitles()).toEqual(['🔴 Node pve2 is offline']);
    clock = new Date(clock.getTime() + 60_000);
    await monitor.flushDigest();
    await monitor.flushDigest();
    expect(telegramTitles()).toEqual(['🔴 Node pve2 is offline', '🟠 1 alert during quiet hours']);
    expect(telegram.messages[1]?.text).toContain('23:35 firing: VM 101 (docker-host) stopped');
  });

  it('storage filling past 85% and 95%, hovering at the thresholds, then freed', async () => {
    const monitor = monitorOn();
    const storageTitles = () => telegramTitles().filter((title) => title.includes('pve1/local-lvm'));
    const fill = async (...percents: number[]) => {
      for (const percent of percents) {
        proxmox.setStorageUsage('local-lvm', Math.round((348_160_786_432 * percent) / 100));
        await tick(monitor, 'storage');
      }
    };
    await fill(80, 86, 86);
    expect(storageTitles()).toEqual(['🟠 Storage pve1/local-lvm is 86.0% full']);
    // Around 85%: the alert keeps firing instead of resolving and firing again every half hour.
    await fill(84.9, 85.2, 85.2, 84.8, 85.1, 85.1, 84.9);
    expect(storageTitles()).toEqual(['🟠 Storage pve1/local-lvm is 86.0% full']);
    // Past 95%: told at once that it is critical now, and only once while it hovers there.
    await fill(96);
    expect(storageTitles().slice(1)).toEqual(['🔴 Storage pve1/local-lvm is 96.0% full']);
    await fill(94.9, 95.1, 94.9, 95.2);
    expect(storageTitles()).toHaveLength(2);
    await fill(70);
    expect(storageTitles().slice(2)).toEqual(['✅ Resolved: Storage pve1/local-lvm is 95.2% full']);
    expect(telegram.messages.at(-1)?.text).toContain('70.0% used');
  });

  it('a nightly backup that fails two nights in a row: one alert each night', async () => {
    const monitor = monitorOn();
    await tick(monitor, 'tasks');
    for (const night of [1, 2]) {
      clock = localTime(new Date(clock.getTime() + 86_400_000), 3);
      const start = Math.floor(clock.getTime() / 1000) - 3600;
      proxmox.addTask({
        node: 'pve1',
        type: 'vzdump',
        status: 'job errors',
        startTime: start,
        durationSeconds: 3500,
      });
      await tick(monitor, 'tasks');
      await tick(monitor, 'tasks');
      await tick(monitor, 'tasks');
      expect(telegramTitles()).toHaveLength(night);
    }
    expect(telegramTitles()).toEqual(['🟠 Task vzdump failed on pve1', '🟠 Task vzdump failed on pve1']);
  });

  it('a restart in the middle of an open alert: no second alert, and the resolved notice still comes', async () => {
    // On disk, so that the restarted monitor opens the same data.
    await testStore.cleanup();
    testStore = await openTestStore({ backend: 'pglite' });
    let monitor = monitorOn();
    await tick(monitor, 'guests', 'storage');
    proxmox.stopGuest(100);
    await tick(monitor, 'guests');
    await tick(monitor, 'guests');
    expect(telegramTitles()).toEqual(['🟠 VM 100 (homeassistant) stopped']);
    // A resolved notice no channel took is waiting when the daemon restarts.
    proxmox.setStorageUsage('local-lvm', 320_000_000_000);
    await tick(monitor, 'storage');
    await tick(monitor, 'storage');
    proxmox.setStorageUsage('local-lvm', 1_000_000_000);
    telegramDown(2);
    for (let attempt = 0; attempt < 8; attempt++) discord.failNext(500);
    await tick(monitor, 'storage');
    const before = telegramTitles().length;

    const store = await testStore.reopen();
    monitor = monitorOn(store.monitor);
    await monitor.flushDigest();
    await tick(monitor, 'guests', 'storage');
    await tick(monitor, 'guests', 'storage');
    expect(telegramTitles().slice(before).sort()).toEqual([
      '✅ Resolved: Storage pve1/local-lvm is 91.9% full',
      '✅ Resolved: Storage pve2/local-lvm is 91.9% full',
    ]);
    expect(telegramTitles().filter((title) => title.includes('VM 100'))).toHaveLength(1);
    proxmox.startGuest(100);
    await tick(monitor, 'guests');
    expect(telegramTitles().at(-1)).toBe('✅ Resolved: VM 100 (homeassistant) stopped');
  });
});

/** The monitor's options with Telegram as the only channel. */
function monitorOptionsTelegramOnly(): MonitorOptions {
  return {
    client,
    notifiers: createNotifiers(
      { telegram: { botToken: TELEGRAM_TOKEN, chatId: '-100', apiUrl: telegram.url } },
      { sleep: async () => {} },
    ),
    store: testStore.store.monitor,
    rules: {
      failureThreshold: 2,
      reminderIntervalMs: 4 * 3_600_000,
      storageThresholdPercent: 85,
      quietHours: undefined,
      vmIntervalMs: TICK_MS,
    },
    logger: pino({ level: 'silent' }),
    metrics: createMonitorMetrics(),
    now: () => clock,
  };
}
