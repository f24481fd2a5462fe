import { describe, expect, it } from 'vitest';
import { createNotifiers } from './create-notifiers.js';

describe('createNotifiers', () => {
  it('builds exactly the configured channels', () => {
    expect(createNotifiers({})).toEqual([]);
    const all = createNotifiers({
      telegram: { botToken: '1:a', chatId: '1' },
      discord: { webhookUrl: 'https://discord.com/api/webhooks/1/t' },
      ntfy: { url: 'https://ntfy.sh/x', token: undefined },
    });
    expect(all.map((notifier) => notifier.channel)).toEqual(['telegram', 'discord', 'ntfy']);
  });
});
