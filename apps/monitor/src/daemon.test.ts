import { createNotifiers } from '@haia/notify';
import { createProxmoxClient } from '@haia/proxmox';
import { createStore, type Store } from '@haia/store';
import {
  hang,
  type ProxmoxFake,
  startProxmoxFake,
  startTelegramFake,
  type TelegramFake,
  testCertificates,
} from '@haia/testkit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Daemon, startDaemon } from './daemon.js';
import { createMonitorMetrics } from './metrics.js';
import { createMonitor } from './monitor.js';
import { openTestStore, type TestStore } from './test-store.js';

const TOKEN = '7:TEST-daemon-token';
const logger = pino({ level: 'silent' });
const onServer = Boolean(process.env.HAIA_TEST_DATABASE_URL);

let proxmox: ProxmoxFake;
let telegram: TelegramFake;
let primary: TestStore;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  proxmox = await startProxmoxFake();
  proxmox.setCephHealth('HEALTH_OK');
  telegram = await startTelegramFake({ token: TOKEN, chats: ['1'] });
  primary = await openTestStore();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await primary.cleanup();
  await Promise.all([proxmox.close(), telegram.close()]);
});

/** One monitor instance (its own client, store connection and daemon) with second-scale intervals. */
function instance(store: Store): Daemon {
  const client = createProxmoxClient({
    url: proxmox.url,
    tokenId: proxmox.tokenId,
    tokenSecret: proxmox.tokenSecret,
    ca: testCertificates().ca,
  });
  const metrics = createMonitorMetrics();
  const monitor = createMonitor({
    client,
    notifiers: createNotifiers({ telegram: { botToken: TOKEN, chatId: '1', apiUrl: telegram.url } }),
    store: store.monitor,
    rules: {
      failureThreshold: 1,
      reminderIntervalMs: undefined,
      storageThresholdPercent: 85,
      quietHours: undefined,
      vmIntervalMs: 150,
    },
    logger,
    metrics,
  });
  const daemon = startDaemon({
    monitor,
    store: store.monitor,
    intervals: { vmIntervalMs: 150, cephIntervalMs: 1000, storageIntervalMs: 1000 },
    logger,
    metrics,
    digestIntervalMs: 1000,
    stopTimeoutMs: 2000,
  });
  cleanups.push(async () => {
    await daemon.stop();
    await client.close();
  });
  return daemon;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('the daemon', () => {
  it('runs every check on its schedule and alerts once', async () => {
    const daemon = instance(primary.store);
    await until(
      () =>
        daemon.isLeader() && proxmox.server.requests.some((request) => request.path.endsWith('/ceph/status')),
      'the first runs',
    );
    proxmox.stopGuest(101);
    await until(() => telegram.messages.length === 1, 'the alert');
    const seen = proxmox.server.requests.length;
    await until(() => proxmox.server.requests.length > seen + 8, 'more check runs');
    expect(telegram.messages.map((message) => message.text.split('\n')[0])).toEqual([
      '<b>🟠 VM 101 (docker-host) stopped</b>',
    ]);
    await daemon.stop();
  });

  it('stop() aborts a check that hangs once its grace time is over', async () => {
    proxmox.server.enqueue(hang(), { path: '/api2/json/cluster/resources' });
    const daemon = instance(primary.store);
    await until(() => proxmox.server.activeRequests() > 0, 'a hanging request');
    const stopped = daemon.stop();
    await stopped;
    await until(() => proxmox.server.activeRequests() === 0, 'the hanging request to be closed');
    expect(telegram.messages).toHaveLength(0);
  });

  it.runIf(onServer || process.env.CI === 'true')(
    'two instances on one database: one leader, and the other takes over (PostgreSQL: runs with HAIA_TEST_DATABASE_URL, always in CI)',
    async () => {
      if (!primary.server)
        throw new Error('HAIA_TEST_DATABASE_URL must be set in CI: the leader test needs PostgreSQL');
      const secondStore = await createStore({
        url: primary.server.url,
        schema: primary.server.schema,
        pool: { max: 3 },
      });
      cleanups.push(() => secondStore.close());
      const first = instance(primary.store);
      const second = instance(secondStore);
      await until(() => first.isLeader() || second.isLeader(), 'a leader');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([first.isLeader(), second.isLeader()].filter(Boolean)).toHaveLength(1);
      proxmox.stopGuest(101);
      await until(() => telegram.messages.length === 1, 'the alert');
      const seen = proxmox.server.requests.length;
      await until(() => proxmox.server.requests.length > seen + 8, 'more check runs');
      expect(telegram.messages).toHaveLength(1);
      const [leader, follower, leaderStore] = first.isLeader()
        ? [first, second, primary.store]
        : [second, first, secondStore];
      await leader.stop();
      await leaderStore.monitor.close();
      await until(() => follower.isLeader(), 'the other instance to take over');
      expect(telegram.messages).toHaveLength(1);
    },
  );
});
