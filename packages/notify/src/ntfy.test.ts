import { type NtfyFake, startNtfyFake } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from './notification.js';
import { createNtfyNotifier, splitTopicUrl } from './ntfy.js';

const alert: Notification = {
  title: 'Storage local-lvm 91% full',
  body: 'pve1: 91% of 100 GiB used',
  severity: 'warning',
  state: 'firing',
  links: [
    { label: 'Open', url: 'https://pve.lan:8006' },
    { label: 'Docs', url: 'https://pve.proxmox.com/wiki/Storage' },
  ],
};

let fake: NtfyFake;
beforeEach(async () => {
  fake = await startNtfyFake({ token: 'tk_SECRET' });
});
afterEach(() => fake.close());

describe('ntfy notifier', () => {
  it('splits topic URLs, also under a sub-path', () => {
    expect(splitTopicUrl('https://ntfy.sh/homelab')).toEqual({ base: 'https://ntfy.sh/', topic: 'homelab' });
    expect(splitTopicUrl('https://h.lan/ntfy/alerts')).toEqual({
      base: 'https://h.lan/ntfy/',
      topic: 'alerts',
    });
    expect(() => splitTopicUrl('https://ntfy.sh/')).toThrow(/topic/);
  });

  it('publishes with title, priority, tags, click and actions', async () => {
    const receipt = await createNtfyNotifier({ url: `${fake.url}/homelab`, token: 'tk_SECRET' }).send(alert);
    expect(receipt.messageId).toMatch(/^fake/);
    expect(fake.messages[0]).toMatchObject({
      topic: 'homelab',
      title: 'Storage local-lvm 91% full',
      priority: 4,
      tags: ['warning'],
      click: 'https://pve.lan:8006',
    });
    expect(fake.server.requests[0]?.json()).toMatchObject({ actions: [{ action: 'view', label: 'Docs' }] });
  });

  it('sends resolved notices at default priority', async () => {
    await createNtfyNotifier({ url: `${fake.url}/homelab`, token: 'tk_SECRET' }).send({
      ...alert,
      state: 'resolved',
    });
    expect(fake.messages[0]).toMatchObject({
      priority: 3,
      tags: ['white_check_mark'],
      title: 'Resolved: Storage local-lvm 91% full',
    });
  });

  it('names NTFY_TOKEN when publishing is refused', async () => {
    const error = await createNtfyNotifier({ url: `${fake.url}/homelab` })
      .send(alert)
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'auth', status: 403, variable: 'NTFY_TOKEN' });
    expect((error as Error).message).not.toContain('tk_SECRET');
  });

  it('retries after a rate limit', async () => {
    fake.rateLimitNext();
    const receipt = await createNtfyNotifier({
      url: `${fake.url}/homelab`,
      token: 'tk_SECRET',
      sleep: async () => {},
    }).send(alert);
    expect(receipt.attempts).toBe(2);
    expect(fake.messages).toHaveLength(1);
  });
});
