import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNotifiers } from '@haia/notify';
import { createProxmoxClient, type ProxmoxClient } from '@haia/proxmox';
import { createStore, type Store } from '@haia/store';
import {
  type DiscordFake,
  hang,
  type NtfyFake,
  PROXMOX_FIXTURE_NOW,
  type ProxmoxFake,
  startDiscordFake,
  startNtfyFake,
  startProxmoxFake,
  startTelegramFake,
  type TelegramFake,
  testCertificates,
} from '@haia/testkit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMonitorMetrics, type MonitorMetrics } from './metrics.js';
import { type CheckName, createMonitor, type MonitorOptions } from './monitor.js';
import { openTestStore, type TestStore } from './test-store.js';

const TELEGRAM_TOKEN = '42:TEST-telegram-token';
const logger = pino({ level: 'silent' });

let proxmox: ProxmoxFake;
let telegram: TelegramFake;
let discord: DiscordFake;
let ntfy: NtfyFake;
let client: ProxmoxClient;
let testStore: TestStore;
let clock: Date;
let metrics: MonitorMetrics;

beforeEach(async () => {
  [proxmox, telegram, discord, ntfy] = await Promise.all([
    startProxmoxFake(),
    startTelegramFake({ token: TELEGRAM_TOKEN, chats: ['-100'] }),
    startDiscordFake(),
    startNtfyFake(),
  ]);
  client = createProxmoxClient({
    url: proxmox.url,
    tokenId: proxmox.tokenId,
    tokenSecret: proxmox.tokenSecret,
    ca: testCertificates().ca,
  });
  testStore = await openTestStore();
  clock = new Date((PROXMOX_FIXTURE_NOW + 3600) * 1000);
  metrics = createMonitorMetrics();
});

afterEach(async () => {
  await client.close();
  await testStore.cleanup();
  await Promise.all([proxmox.close(), telegram.close(), discord.close(), ntfy.close()]);
});

function monitorOn(store: Store, overrides: Partial<MonitorOptions> = {}) {
  return createMonitor({ ...monitorOptions(store), ...overrides });
}

/** The monitor's options for these tests: the three fake channels, threshold 1, the test clock. */
function monitorOptions(store: Store = testStore.store): MonitorOptions {
  return {
    client,
    notifiers: createNotifiers(
      {
        telegram: { botToken: TELEGRAM_TOKEN, chatId: '-100', apiUrl: telegram.url },
        discord: { webhookUrl: discord.webhookUrl },
        ntfy: { url: `${ntfy.url}/homelab` },
      },
      { sleep: async () => {} },
    ),
    store: store.monitor,
    rules: {
      failureThreshold: 1,
      reminderIntervalMs: 3_600_000,
      storageThresholdPercent: 85,
      quietHours: undefined,
      vmIntervalMs: 300_000,
    },
    logger,
    metrics,
    now: () => clock,
  };
}

/** Titles delivered on each channel, in order. */
function delivered() {
  return {
    telegram: telegram.messages.map((message) => message.text.split('\n')[0]),
    discord: discord.messages.map((message) => String(message.embeds[0]?.title)),
    ntfy: ntfy.messages.map((message) => message.title),
  };
}

/**
 * A task of guest `vmid` on pve1 in the fake's history, started `agoSeconds` before the test clock;
 * still running without `end`.
 */
function guestTask(
  type: string,
  vmid: number,
  agoSeconds: number,
  end?: { status: string; durationSeconds: number; user?: string },
) {
  proxmox.addTask({
    node: 'pve1',
    type,
    id: vmid,
    startTime: Math.floor(clock.getTime() / 1000) - agoSeconds,
    ...end,
  });
}

async function run(monitor: ReturnType<typeof monitorOn>, ...checks: CheckName[]) {
  for (const check of checks) {
    await monitor.runCheck(check);
    clock = new Date(clock.getTime() + 60_000);
  }
}

describe('monitor against the fake cluster and the fake channels', () => {
  it('a VM that stops: one alert per channel, no repeats, one resolved notice', async () => {
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'guests');
    expect(delivered().telegram).toEqual([]);
    proxmox.stopGuest(101);
    await run(monitor, 'guests', 'guests', 'guests');
    expect(delivered()).toEqual({
      telegram: ['<b>🟠 VM 101 (docker-host) stopped</b>'],
      discord: ['🟠 VM 101 (docker-host) stopped'],
      ntfy: ['VM 101 (docker-host) stopped'],
    });
    expect(telegram.messages[0]?.text).toContain('was running and is now stopped');
    proxmox.startGuest(101);
    await run(monitor, 'guests', 'guests');
    expect(delivered()).toEqual({
      telegram: [
        '<b>🟠 VM 101 (docker-host) stopped</b>',
        '<b>✅ Resolved: VM 101 (docker-host) stopped</b>',
      ],
      discord: ['🟠 VM 101 (docker-host) stopped', '✅ Resolved: VM 101 (docker-host) stopped'],
      ntfy: ['VM 101 (docker-host) stopped', 'Resolved: VM 101 (docker-host) stopped'],
    });
    expect(await metrics.registry.getSingleMetricAsString('haia_monitor_notifications_total')).toContain(
      'haia_monitor_notifications_total{channel="telegram",outcome="sent"} 2',
    );
  });

  it('a guest shut down through Proxmox is no alert, and a crash after it starts again is', async () => {
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'guests');
    // A shutdown from the web UI (a qmshutdown task that took 40 s), and a CT stopped with `pct stop`.
    guestTask('qmshutdown', 101, 40, { status: 'OK', durationSeconds: 40 });
    proxmox.stopGuest(101);
    guestTask('vzstop', 200, 5, { status: 'OK', durationSeconds: 2, user: 'admin@pve' });
    proxmox.stopGuest(200);
    await run(monitor, 'guests', 'guests', 'guests');
    expect(delivered().telegram).toEqual([]);
    // It stays quiet while stopped, and running again is no "resolved" notice either.
    proxmox.startGuest(101);
    await run(monitor, 'guests', 'guests');
    expect(delivered().telegram).toEqual([]);
    // Stopped with no task (a crash): the old shutdown task does not count.
    proxmox.stopGuest(101);
    await run(monitor, 'guests', 'guests');
    expect(delivered().telegram).toEqual(['<b>🟠 VM 101 (docker-host) stopped</b>']);
  });

  it('a stop task that failed, belongs to another guest, or ended before the last run does not silence', async () => {
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'guests');
    guestTask('qmshutdown', 101, 200, { status: 'VM quit/powerdown failed', durationSeconds: 180 });
    guestTask('qmstop', 101, 3000, { status: 'OK', durationSeconds: 5 });
    guestTask('qmstop', 100, 10, { status: 'OK', durationSeconds: 5 });
    proxmox.stopGuest(101);
    await run(monitor, 'guests');
    expect(delivered().telegram).toEqual(['<b>🟠 VM 101 (docker-host) stopped</b>']);
  });

  it('a shutdown still running counts; a task list that cannot be read alerts as before', async () => {
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'guests');
    guestTask('qmshutdown', 100, 10);
    proxmox.stopGuest(100);
    await run(monitor, 'guests', 'guests');
    expect(delivered().telegram).toEqual([]);
    proxmox.denyPermission(/\/nodes\/pve1\/tasks/, '/nodes/pve1, Sys.Audit');
    guestTask('vzshutdown', 200, 10, { status: 'OK', durationSeconds: 3 });
    proxmox.stopGuest(200);
    await run(monitor, 'guests');
    expect(delivered().telegram).toEqual(['<b>🟠 CT 200 (pihole) stopped</b>']);
  });

  it('waits for the failure threshold before firing', async () => {
    const monitor = monitorOn(testStore.store, {
      rules: {
        failureThreshold: 3,
        reminderIntervalMs: undefined,
        storageThresholdPercent: 85,
        quietHours: undefined,
        vmIntervalMs: 300_000,
      },
    });
    await run(monitor, 'guests');
    proxmox.stopGuest(101);
    await run(monitor, 'guests', 'guests');
    expect(delivered().telegram).toHaveLength(0);
    await run(monitor, 'guests');
    expect(delivered().telegram).toHaveLength(1);
  });

  it('does not notify again after a restart while firing, and reminds only after the interval', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'haia-monitor-'));
    try {
      let store = await createStore({ dataDir });
      await run(monitorOn(store), 'guests');
      proxmox.stopGuest(101);
      await run(monitorOn(store), 'guests');
      expect(delivered().telegram).toHaveLength(1);
      await store.close();
      store = await createStore({ dataDir });
      const restarted = monitorOn(store);
      await run(restarted, 'guests', 'guests');
      expect(delivered().telegram).toHaveLength(1);
      clock = new Date(clock.getTime() + 3_600_000);
      await run(restarted, 'guests', 'guests');
      expect(delivered().telegram).toEqual([
        '<b>🟠 VM 101 (docker-host) stopped</b>',
        '<b>🟠 Still: VM 101 (docker-host) stopped</b>',
      ]);
      await store.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('delivers once after a 429', async () => {
    telegram.rateLimitNext(1);
    discord.rateLimitNext(0.5);
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'guests');
    proxmox.stopGuest(101);
    await run(monitor, 'guests');
    expect(telegram.messages).toHaveLength(1);
    expect(discord.messages).toHaveLength(1);
    expect(telegram.server.requests).toHaveLength(2);
  });

  it('sends an alert again when every channel refused it, and its resolved notice too', async () => {
    const monitor = createMonitor({
      ...monitorOptions(),
      notifiers: createNotifiers(
        { telegram: { botToken: TELEGRAM_TOKEN, chatId: '-100', apiUrl: telegram.url } },
        { sleep: async () => {} },
      ),
    });
    await run(monitor, 'guests');
    proxmox.stopGuest(101);
    // Telegram fails every attempt of the first send (the sender tries up to 4 times).
    for (let attempt = 0; attempt < 4; attempt++) telegram.failNext(502, 'Bad Gateway');
    await run(monitor, 'guests');
    expect(telegram.messages).toHaveLength(0);
    await run(monitor, 'guests');
    expect(telegram.messages).toHaveLength(0);
    // The next digest tick, with Telegram back: the alert goes out once.
    await monitor.flushDigest();
    await monitor.flushDigest();
    expect(delivered().telegram).toEqual(['<b>🟠 VM 101 (docker-host) stopped</b>']);
    proxmox.startGuest(101);
    for (let attempt = 0; attempt < 4; attempt++) telegram.failNext(502, 'Bad Gateway');
    await run(monitor, 'guests');
    await monitor.flushDigest();
    expect(delivered().telegram).toEqual([
      '<b>🟠 VM 101 (docker-host) stopped</b>',
      '<b>✅ Resolved: VM 101 (docker-host) stopped</b>',
    ]);
  });

  it('a node that goes offline is one alert, not one per guest on it', async () => {
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'guests', 'nodes');
    proxmox.setNodeOffline('pve2');
    await run(monitor, 'guests', 'nodes', 'guests', 'nodes');
    expect(delivered().telegram).toEqual(['<b>🔴 Node pve2 is offline</b>']);
    expect(telegram.messages[0]?.text).toContain('lost quorum');
    proxmox.setNodeOffline('pve2', false);
    await run(monitor, 'guests', 'nodes');
    expect(delivered().ntfy).toEqual(['Node pve2 is offline', 'Resolved: Node pve2 is offline']);
  });

  it('Ceph HEALTH_WARN names its checks', async () => {
    const monitor = monitorOn(testStore.store);
    proxmox.setCephHealth('HEALTH_WARN', {
      OSD_DOWN: {
        severity: 'HEALTH_WARN',
        summary: { message: '1 osds down', count: 1 },
        detail: [{ message: 'osd.3 (root=default,host=pve2) is down' }],
      },
    });
    await run(monitor, 'ceph');
    expect(delivered().discord).toEqual(['🟠 Ceph HEALTH_WARN']);
    expect(discord.messages[0]?.embeds[0]?.description).toContain('OSD_DOWN: 1 osds down');
    proxmox.setCephHealth('HEALTH_OK');
    await run(monitor, 'ceph');
    expect(delivered().discord).toEqual(['🟠 Ceph HEALTH_WARN', '✅ Resolved: Ceph HEALTH_WARN']);
  });

  it('storage above the threshold, and a failed start task notified once', async () => {
    const monitor = monitorOn(testStore.store);
    proxmox.setStorageUsage('local-lvm', 320_000_000_000);
    await run(monitor, 'storage');
    expect(delivered().ntfy).toEqual([
      'Storage pve1/local-lvm is 91.9% full',
      'Storage pve2/local-lvm is 91.9% full',
    ]);
    proxmox.addTask({
      node: 'pve2',
      type: 'qmstart',
      id: 102,
      status: "can't lock file '/var/lock/qemu-server/lock-102.conf' - got timeout",
      startTime: Math.floor(clock.getTime() / 1000),
    });
    await run(monitor, 'tasks', 'tasks');
    expect(delivered().ntfy.slice(2)).toEqual(['VM 102 failed to start']);
    // A backup that ran for two hours and failed just now: Proxmox's `since` is about the start.
    const now = Math.floor(clock.getTime() / 1000);
    proxmox.addTask({
      node: 'pve1',
      type: 'vzdump',
      status: 'job errors',
      startTime: now - 7200,
      durationSeconds: 7190,
    });
    // One that failed long before the monitor's first look is not news.
    proxmox.addTask({
      node: 'pve1',
      type: 'aptupdate',
      status: 'exit code 100',
      startTime: now - 20_000,
      durationSeconds: 10,
    });
    await run(monitor, 'tasks', 'tasks');
    expect(delivered().ntfy.slice(2)).toEqual(['VM 102 failed to start', 'Task vzdump failed on pve1']);
  });

  it("a node whose task list fails does not hide the other nodes' failed tasks", async () => {
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'tasks');
    proxmox.addTask({
      node: 'pve1',
      type: 'vzdump',
      status: 'job errors',
      startTime: Math.floor(clock.getTime() / 1000),
    });
    proxmox.server.enqueue(
      (response) => {
        response.writeHead(500, 'Internal Server Error', { 'content-type': 'application/json' });
        response.end('{"data":null}');
      },
      { path: /\/nodes\/pve2\/tasks/ },
    );
    await run(monitor, 'tasks');
    expect(delivered().ntfy).toEqual(['Task vzdump failed on pve1']);
  });

  it('a full storage that goes unavailable is not "resolved": it is reported unavailable', async () => {
    const monitor = monitorOn(testStore.store);
    proxmox.setStorageUsage('local-lvm', 320_000_000_000);
    await run(monitor, 'storage');
    expect(delivered().ntfy).toHaveLength(2);
    proxmox.setStorageStatus('local-lvm', 'unknown', 'pve1');
    await run(monitor, 'storage', 'storage');
    expect(delivered().ntfy.slice(2)).toEqual(['Storage pve1/local-lvm is unavailable']);
    proxmox.setStorageStatus('local-lvm', 'available', 'pve1');
    proxmox.setStorageUsage('local-lvm', 1_000_000_000);
    await run(monitor, 'storage');
    expect(delivered().ntfy.slice(3).sort()).toEqual([
      'Resolved: Storage pve1/local-lvm is 91.9% full',
      'Resolved: Storage pve1/local-lvm is unavailable',
      'Resolved: Storage pve2/local-lvm is 91.9% full',
    ]);
  });

  it('the failure threshold counts guests runs for the API alert, not every check of one tick', async () => {
    const monitor = monitorOn(testStore.store, {
      rules: { ...monitorOptions().rules, failureThreshold: 2 },
    });
    await run(monitor, 'guests');
    await proxmox.close();
    await run(monitor, 'guests', 'nodes', 'tasks', 'storage');
    expect(delivered().telegram).toEqual([]);
    await run(monitor, 'guests');
    expect(delivered().telegram).toEqual(['<b>🔴 Proxmox API unreachable</b>']);
  });

  it('Ceph that does not answer is a Ceph alert; a cluster without Ceph has nothing to watch', async () => {
    const monitor = monitorOn(testStore.store);
    proxmox.setCephHealth('HEALTH_OK', {});
    await run(monitor, 'guests', 'ceph');
    expect(delivered().telegram).toEqual([]);
    proxmox.server.enqueue(hang(), { path: /\/cluster\/ceph\/status/ });
    const slow = createMonitor({
      ...monitorOptions(),
      client: createProxmoxClient({
        url: proxmox.url,
        tokenId: proxmox.tokenId,
        tokenSecret: proxmox.tokenSecret,
        ca: testCertificates().ca,
        timeoutMs: 300,
      }),
    });
    await run(slow, 'ceph', 'guests');
    expect(delivered().telegram).toEqual(['<b>🟠 Ceph does not answer</b>']);
    await run(monitor, 'ceph');
    expect(delivered().telegram.at(-1)).toBe('<b>✅ Resolved: Ceph does not answer</b>');
    proxmox.setCephInstalled(false);
    await run(monitor, 'ceph');
    expect(await metrics.registry.getSingleMetricAsString('haia_monitor_checks_total')).not.toContain(
      'check="ceph",outcome="error"',
    );
  });

  it('an unreachable Proxmox API is one alert, not a crash', async () => {
    const monitor = monitorOn(testStore.store);
    await run(monitor, 'guests');
    await proxmox.close();
    await run(monitor, 'guests', 'nodes', 'ceph', 'storage', 'tasks');
    expect(delivered().telegram).toEqual(['<b>🔴 Proxmox API unreachable</b>']);
    expect(await metrics.registry.getSingleMetricAsString('haia_monitor_checks_total')).toContain(
      'outcome="unreachable"',
    );
  });

  it('quiet hours hold non-critical alerts and send one digest when they end', async () => {
    const local = (hours: number) => {
      const date = new Date(clock);
      date.setHours(hours, 0, 0, 0);
      return date;
    };
    clock = local(23);
    const monitor = monitorOn(testStore.store, {
      rules: {
        failureThreshold: 1,
        reminderIntervalMs: undefined,
        storageThresholdPercent: 85,
        quietHours: { startMinute: 22 * 60, endMinute: 7 * 60 },
        vmIntervalMs: 300_000,
      },
    });
    await run(monitor, 'guests');
    proxmox.stopGuest(101);
    await run(monitor, 'guests');
    proxmox.setNodeOffline('pve2');
    await run(monitor, 'nodes');
    expect(delivered().telegram).toEqual(['<b>🔴 Node pve2 is offline</b>']);
    await monitor.flushDigest();
    expect(delivered().telegram).toHaveLength(1);
    clock = new Date(local(7).getTime() + 86_400_000);
    await monitor.flushDigest();
    await monitor.flushDigest();
    expect(delivered().telegram).toEqual([
      '<b>🔴 Node pve2 is offline</b>',
      '<b>🟠 1 alert during quiet hours</b>',
    ]);
    expect(telegram.messages[1]?.text).toContain('firing: VM 101 (docker-host) stopped');
  });

  it('adds the AI summary, and sends without it when the summary fails or is too slow', async () => {
    let mode: 'ok' | 'fail' | 'slow' = 'ok';
    const monitor = monitorOn(testStore.store, {
      summaryTimeoutMs: 50,
      summarize: async (_notification, signal) => {
        if (mode === 'fail') throw new Error('model down');
        if (mode === 'slow')
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return 'The VM was shut down from inside. Start it with qm start 101.';
      },
    });
    await run(monitor, 'guests');
    proxmox.stopGuest(101);
    await run(monitor, 'guests');
    expect(telegram.messages[0]?.text).toContain('Start it with qm start 101.');
    mode = 'fail';
    proxmox.stopGuest(100);
    await run(monitor, 'guests');
    mode = 'slow';
    proxmox.setCephHealth('HEALTH_ERR');
    await run(monitor, 'ceph');
    expect(telegram.messages.map((message) => message.text.includes('qm start'))).toEqual([
      true,
      false,
      false,
    ]);
  });
});
