import {
  type DiscordFake,
  type NtfyFake,
  startDiscordFake,
  startNtfyFake,
  startTelegramFake,
  type TelegramFake,
} from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiscordNotifier } from './discord.js';
import type { Logger } from './logger.js';
import type { Notification } from './notification.js';
import { createNtfyNotifier } from './ntfy.js';
import { createTelegramNotifier } from './telegram.js';
import { failure } from './test-helpers.js';

const alert: Notification = {
  title: 'VM 102 (db) stopped',
  body: 'It was running 5 minutes ago.',
  severity: 'warning',
  state: 'firing',
};

let telegram: TelegramFake;
let discord: DiscordFake;
let ntfy: NtfyFake;
const sleeps: number[] = [];
const warnings: Array<Record<string, unknown>> = [];
const logger: Logger = {
  debug() {},
  info() {},
  warn(object) {
    warnings.push(object as Record<string, unknown>);
  },
  error() {},
};
const delivery = {
  logger,
  random: () => 0.5,
  sleep: async (ms: number) => {
    sleeps.push(ms);
  },
};

beforeEach(async () => {
  sleeps.length = 0;
  warnings.length = 0;
  [telegram, discord, ntfy] = await Promise.all([
    startTelegramFake({ token: '1:TOKEN', chats: ['-1001'] }),
    startDiscordFake(),
    startNtfyFake(),
  ]);
});
afterEach(() => Promise.all([telegram.close(), discord.close(), ntfy.close()]));

const telegramNotifier = () =>
  createTelegramNotifier({ botToken: '1:TOKEN', chatId: '-1001', apiUrl: telegram.url, ...delivery });

describe('deliver: a retry-after longer than maxDelayMs', () => {
  it('is not retried early on Telegram: one attempt, no shortened wait', async () => {
    telegram.rateLimitNext(120);
    const notifier = telegramNotifier();
    const error = await failure(notifier.send(alert));
    expect(error).toMatchObject({ code: 'rate-limit', status: 429, retryAfterMs: 120_000, retryable: true });
    expect(error.message).toContain('asked to wait 120 s, longer than maxDelayMs (60 s): not retried now');
    expect(sleeps).toEqual([]);
    expect(telegram.server.requests).toHaveLength(1);
    expect(warnings).toEqual([expect.objectContaining({ attempt: 1, code: 'rate-limit', willRetry: false })]);
  });

  it('is not retried early on Discord, against a lower maxDelayMs', async () => {
    discord.rateLimitNext(2.5);
    const notifier = createDiscordNotifier({ webhookUrl: discord.webhookUrl, maxDelayMs: 1000, ...delivery });
    const error = await failure(notifier.send(alert));
    expect(error.message).toContain('asked to wait 2.5 s, longer than maxDelayMs (1 s)');
    expect(sleeps).toEqual([]);
    expect(discord.server.requests).toHaveLength(1);
    expect(discord.messages).toHaveLength(0);
  });

  it('is not retried early on ntfy (a Retry-After header)', async () => {
    ntfy.rateLimitNext(1, 120);
    const notifier = createNtfyNotifier({ url: `${ntfy.url}/homelab`, ...delivery });
    const error = await failure(notifier.send(alert));
    expect(error).toMatchObject({ code: 'rate-limit', retryAfterMs: 120_000 });
    expect(error.message).toMatch(/^ntfy rate limit: .*asked to wait 120 s/);
    expect(sleeps).toEqual([]);
    expect(ntfy.server.requests).toHaveLength(1);
    expect(warnings.map((warning) => warning.willRetry)).toEqual([false]);
  });

  it('still waits a retry-after up to maxDelayMs exactly, then delivers', async () => {
    telegram.rateLimitNext(60);
    const notifier = telegramNotifier();
    const receipt = await notifier.send(alert);
    expect(receipt.attempts).toBe(2);
    expect(sleeps).toEqual([60_000]);
  });

  it('still caps the backoff when the server gives no retry-after', async () => {
    ntfy.rateLimitNext(3);
    const notifier = createNtfyNotifier({
      url: `${ntfy.url}/homelab`,
      baseDelayMs: 10_000,
      maxDelayMs: 8000,
      ...delivery,
    });
    const receipt = await notifier.send(alert);
    expect(receipt.attempts).toBe(4);
    expect(sleeps).toEqual([7500, 8000, 8000]);
    expect(ntfy.messages).toHaveLength(1);
  });
});
