import { hangUp, startProxmoxFake } from '@haia/testkit';
import { describe, expect, it } from 'vitest';
import { checkProxmox } from './check-proxmox.js';
import { createProxmoxClient } from './proxmox-client.js';
import { startCluster } from './test-support.js';

const now = () => new Date('2026-05-12T10:00:00Z');

describe('checkProxmox', () => {
  it('reports a reachable cluster with its version', async () => {
    const { client, stop } = await startCluster();
    try {
      expect(await checkProxmox(client, { now })).toEqual({
        url: client.url,
        reachable: true,
        version: '9.1.4',
        error: undefined,
        checkedAt: now(),
      });
    } finally {
      await stop();
    }
  });

  it('reports a cluster that is down without throwing', async () => {
    const gone = await startProxmoxFake();
    await gone.close();
    const client = createProxmoxClient({ url: gone.url, tokenId: 'a@pve!b', tokenSecret: 'c' });
    try {
      const health = await checkProxmox(client, { now });
      expect(health).toMatchObject({ reachable: false, version: undefined, checkedAt: now() });
      expect(health.error?.code).toBe('network');
      expect(health.error?.message).toContain('Cannot reach Proxmox');
      expect(health.error?.message).not.toContain('has no port');
    } finally {
      await client.close();
    }
  });

  it('says that a URL without a port went to 443, not to the 8006 Proxmox listens on', async () => {
    // Nothing listens on 127.0.0.1:443 here: the connection is refused.
    const client = createProxmoxClient({ url: 'https://127.0.0.1', tokenId: 'a@pve!b', tokenSecret: 'c' });
    try {
      const health = await checkProxmox(client, { now });
      expect(health.error?.code).toBe('network');
      expect(health.error?.message).toContain('the URL has no port, so 443 was used');
      expect(health.error?.message).toContain('8006');
    } finally {
      await client.close();
    }
  });

  it('reports a rejected token as an auth error', async () => {
    const { client, stop } = await startCluster({ client: { tokenSecret: 'wrong' } });
    try {
      const health = await checkProxmox(client, { now });
      expect(health.reachable).toBe(false);
      expect(health.error?.code).toBe('auth');
    } finally {
      await stop();
    }
  });
});

describe('ProxmoxClient.status', () => {
  it('tracks the last answer and the last connection failure without making a request', async () => {
    let tick = 0;
    const clock = () => new Date(Date.UTC(2026, 4, 12, 10, 0, tick++));
    const { fake, client, stop } = await startCluster({ client: { now: clock } });
    try {
      expect(client.status()).toEqual({
        url: client.url,
        state: 'unknown',
        lastReachedAt: undefined,
        lastError: undefined,
      });
      await client.version();
      expect(client.status()).toMatchObject({ state: 'ok', lastReachedAt: new Date('2026-05-12T10:00:00Z') });
      await expect(client.guestStatus({ node: 'pve1', vmid: 999, type: 'qemu' })).rejects.toThrow();
      expect(client.status()).toMatchObject({ state: 'ok', lastError: undefined });
      fake.server.enqueue(hangUp());
      await expect(client.nodes()).rejects.toThrow();
      const failing = client.status();
      expect(failing.state).toBe('failing');
      expect(failing.lastError).toMatchObject({ code: 'network', at: new Date('2026-05-12T10:00:02Z') });
      fake.server.reset();
      const requests = fake.server.requests.length;
      client.status();
      expect(fake.server.requests.length).toBe(requests);
      await client.version();
      expect(client.status()).toMatchObject({ state: 'ok', lastError: { code: 'network' } });
    } finally {
      await stop();
    }
  });
});
