import { type NtfyFake, startNtfyFake } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from './notification.js';
import { createNtfyNotifier, formatNtfyMessage, NTFY_MESSAGE_LIMIT_BYTES, splitTopicUrl } from './ntfy.js';

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

const notifier = () => createNtfyNotifier({ url: `${fake.url}/homelab`, token: 'tk_SECRET' });
const bytes = (text: string | undefined) => Buffer.byteLength(text ?? '');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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

  it('keeps a normal message as it was', async () => {
    const withField = { ...alert, fields: [{ name: 'Node', value: 'pve1' }] };
    expect(formatNtfyMessage(withField, 'homelab')).toMatchObject({
      title: 'Storage local-lvm 91% full',
      message: 'pve1: 91% of 100 GiB used\n\nNode: pve1',
    });
    await notifier().send(withField);
    expect(fake.messages[0]).toMatchObject({
      title: 'Storage local-lvm 91% full',
      message: 'pve1: 91% of 100 GiB used\n\nNode: pve1',
      attachment: undefined,
    });
  });

  it('shows a message of 4096 bytes or more as a file, like ntfy (the fake is faithful)', async () => {
    const publish = (message: string) =>
      fetch(fake.url, {
        method: 'POST',
        headers: { authorization: 'Bearer tk_SECRET' },
        body: JSON.stringify({ topic: 'homelab', message }),
      });
    await publish('ü'.repeat(2048));
    await publish(`${'ü'.repeat(2047)}x`);
    expect(fake.messages[0]).toMatchObject({
      message: 'You received a file: attachment.txt',
      attachment: { name: 'attachment.txt', size: 4096 },
    });
    expect(fake.messages[1]?.attachment).toBeUndefined();
  });

  it('cuts a huge body with emoji and umlauts to a message below 4096 bytes, keeping the fields', async () => {
    const long = { ...alert, body: 'Pool ü 🙂 '.repeat(1000), fields: [{ name: 'Node', value: 'pve1' }] };
    await notifier().send(long);
    const message = fake.messages[0];
    expect(message?.attachment).toBeUndefined();
    expect(bytes(message?.message)).toBeLessThan(NTFY_MESSAGE_LIMIT_BYTES);
    expect(bytes(message?.message)).toBeGreaterThan(NTFY_MESSAGE_LIMIT_BYTES - 16);
    const [body, fields] = message?.message.split('\n\n') ?? [];
    expect(body).toMatch(/^Pool ü 🙂 Pool/);
    expect(body?.endsWith('…')).toBe(true);
    expect(fields).toBe('Node: pve1');
    expect(message?.message).not.toMatch(LONE_SURROGATE);
    expect(message?.message).not.toContain('\uFFFD');
  });

  it('drops fields from the end with a "more fields" line when the fields alone are too long', async () => {
    const fields = Array.from({ length: 40 }, (_, index) => ({
      name: `Field ${index}`,
      value: 'ü'.repeat(150),
    }));
    await notifier().send({ ...alert, fields });
    const message = fake.messages[0];
    expect(message?.attachment).toBeUndefined();
    expect(bytes(message?.message)).toBeLessThan(NTFY_MESSAGE_LIMIT_BYTES);
    expect(message?.message).toMatch(/^Field 0: ü/m);
    expect(message?.message).toMatch(/\n… \d+ more fields$/);
  });

  it('cuts a huge title', async () => {
    await notifier().send({ ...alert, title: '🙂'.repeat(1000) });
    const title = fake.messages[0]?.title ?? '';
    expect(title.length).toBeLessThanOrEqual(250);
    expect(title.endsWith('…')).toBe(true);
    expect(title).not.toMatch(LONE_SURROGATE);
  });
});
