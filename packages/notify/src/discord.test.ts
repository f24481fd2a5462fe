import { type DiscordFake, startDiscordFake } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiscordNotifier, DISCORD_COLORS, escapeDiscordMarkdown } from './discord.js';
import type { Notification } from './notification.js';
import { NotifyError } from './notify-error.js';

const alert: Notification = {
  title: 'Ceph HEALTH_WARN',
  body: '1 OSD down',
  severity: 'critical',
  state: 'firing',
  fields: [
    { name: 'Check', value: 'OSD_DOWN' },
    { name: 'Detail', value: 'osd.3 on pve2 is down' },
  ],
  links: [{ label: 'Dashboard', url: 'https://pve.lan:8006/#v1:0:=node/pve2:4:ceph' }],
};

let fake: DiscordFake;
const sleeps: number[] = [];
beforeEach(async () => {
  sleeps.length = 0;
  fake = await startDiscordFake();
});
afterEach(() => fake.close());

function notifier(webhookUrl = fake.webhookUrl) {
  return createDiscordNotifier({
    webhookUrl,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

describe('Discord notifier', () => {
  it('posts one embed with the severity colour and gets the message id back', async () => {
    const receipt = await notifier().send(alert);
    expect(receipt.messageId).toMatch(/^\d+$/);
    expect(fake.server.requests[0]?.query.get('wait')).toBe('true');
    const embed = fake.messages[0]?.embeds[0];
    expect(embed).toMatchObject({
      title: '🔴 Ceph HEALTH_WARN',
      color: DISCORD_COLORS.critical,
      url: alert.links?.[0]?.url,
    });
    expect(embed?.description).toContain('1 OSD down');
    expect(embed?.fields).toHaveLength(2);
  });

  it('is green when resolved', async () => {
    await notifier().send({ ...alert, state: 'resolved' });
    expect(fake.messages[0]?.embeds[0]?.color).toBe(DISCORD_COLORS.resolved);
  });

  it('fits Discord limits with oversized content', async () => {
    const fields = Array.from({ length: 40 }, (_, index) => ({
      name: `field ${index} ${'n'.repeat(300)}`,
      value: 'v'.repeat(2000),
    }));
    await notifier().send({ ...alert, title: 'T'.repeat(400), body: 'B'.repeat(10_000), fields });
    expect(fake.messages).toHaveLength(1);
  });

  it('escapes markdown in names, so a VM called _old_ *db* reads as written', async () => {
    const name = 'VM 104 (_old_ *db* ~~x~~ `y` |z| <@everyone>)';
    await notifier().send({
      ...alert,
      title: `${name} stopped`,
      body: `${name} on pve2 was running.\n# not a heading\n- not a list\n1. not a list either`,
      fields: [
        { name: 'Guest', value: name },
        { name: 'Check', value: 'OSD_DOWN' },
      ],
      links: [{ label: '[Proxmox]', url: 'https://pve.lan:8006/#v1:0:=qemu/104(x)' }],
    });
    const escaped = 'VM 104 (\\_old\\_ \\*db\\* \\~\\~x\\~\\~ \\`y\\` \\|z\\| \\<@everyone\\>)';
    const embed = fake.messages[0]?.embeds[0] as { title: string; description: string; fields: unknown[] };
    expect(embed.title).toBe(`🔴 ${escaped} stopped`);
    expect(embed.description).toBe(
      `${escaped} on pve2 was running.\n\\# not a heading\n\\- not a list\n1\\. not a list either\n\n` +
        '[\\[Proxmox\\]](https://pve.lan:8006/#v1:0:=qemu/104(x%29)',
    );
    expect(embed.fields).toEqual([
      { name: 'Guest', value: escaped, inline: false },
      { name: 'Check', value: 'OSD_DOWN', inline: true },
    ]);
  });

  it('cuts escaped text without leaving a backslash that would swallow the ellipsis', async () => {
    await notifier().send({ ...alert, title: '*'.repeat(300), body: '_'.repeat(5000), fields: [] });
    const embed = fake.messages[0]?.embeds[0] as { title: string; description: string };
    for (const text of [embed.title, embed.description]) {
      expect(text.endsWith('…')).toBe(true);
      expect(/(\\*)…$/.exec(text)?.[1]?.length ?? 0).toSatisfy((count: number) => count % 2 === 0);
    }
    expect(escapeDiscordMarkdown('pve1/local-lvm OSD_DOWN')).toBe('pve1/local-lvm OSD_DOWN');
  });

  it('honours retry_after on 429 and delivers once', async () => {
    fake.rateLimitNext(1.5);
    const receipt = await notifier().send(alert);
    expect(receipt.attempts).toBe(2);
    expect(sleeps).toEqual([1500]);
    expect(fake.messages).toHaveLength(1);
  });

  it('names DISCORD_WEBHOOK_URL when the webhook was deleted, without leaking its token', async () => {
    fake.deleteWebhook();
    const error = await notifier()
      .send(alert)
      .catch((caught: unknown) => caught);
    expect(NotifyError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'not-found', variable: 'DISCORD_WEBHOOK_URL', retryable: false });
    expect((error as Error).message).not.toContain('fake-webhook-token');
    expect(fake.server.requests).toHaveLength(1);
  });

  it('reports a wrong webhook token as auth', async () => {
    const error = await notifier(fake.webhookUrl.replace(/[^/]+$/, 'wrong'))
      .send(alert)
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'auth', status: 401 });
  });
});
