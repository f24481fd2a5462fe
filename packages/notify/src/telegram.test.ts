import { inspect } from 'node:util';
import { startTelegramFake, type TelegramFake } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from './notification.js';
import { createTelegramNotifier, formatTelegramMessage, TELEGRAM_TEXT_LIMIT } from './telegram.js';
import { failure } from './test-helpers.js';

const TOKEN = '123456:SECRET-bot-token';
const alert: Notification = {
  title: 'VM 102 (db) stopped',
  body: 'It was running 5 minutes ago. <script> & "quotes"',
  severity: 'warning',
  state: 'firing',
  fields: [{ name: 'Node', value: 'pve2' }],
  links: [{ label: 'Proxmox', url: 'https://pve.lan:8006/#v1:0:=qemu/102' }],
};

let fake: TelegramFake;
const sleeps: number[] = [];
const sleep = async (ms: number) => {
  sleeps.push(ms);
};
beforeEach(async () => {
  sleeps.length = 0;
  fake = await startTelegramFake({ token: TOKEN, chats: ['-1001'] });
});
afterEach(() => fake.close());

function notifier(overrides: Partial<Parameters<typeof createTelegramNotifier>[0]> = {}) {
  return createTelegramNotifier({
    botToken: TOKEN,
    chatId: '-1001',
    apiUrl: fake.url,
    sleep,
    random: () => 0.5,
    ...overrides,
  });
}

describe('Telegram notifier', () => {
  it('sends escaped HTML that Telegram accepts', async () => {
    const receipt = await notifier().send(alert);
    expect(receipt).toEqual({ channel: 'telegram', messageId: '1', attempts: 1 });
    const [message] = fake.messages;
    expect(message?.parseMode).toBe('HTML');
    expect(message?.text).toContain('<b>🟠 VM 102 (db) stopped</b>');
    expect(message?.text).toContain('&lt;script&gt; &amp; "quotes"');
    expect(message?.text).toContain('<b>Node:</b> pve2');
    expect(message?.text).toContain('<a href="https://pve.lan:8006/#v1:0:=qemu/102">Proxmox</a>');
  });

  it('marks resolved notices', async () => {
    await notifier().send({ ...alert, state: 'resolved' });
    expect(fake.messages[0]?.text).toMatch(/^<b>✅ Resolved: VM 102/);
  });

  it('keeps a huge body within 4096 characters with valid markup', async () => {
    const long = { ...alert, body: '<&>'.repeat(3000) };
    expect(formatTelegramMessage(long).length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    await notifier().send(long);
    expect(fake.messages[0]?.text.length).toBeLessThanOrEqual(4096);
    expect(fake.messages[0]?.text).toContain('…');
  });

  it('keeps a message with many long fields within 4096 characters, saying how many were left out', async () => {
    const fields = Array.from({ length: 40 }, (_, index) => ({
      name: `Field ${index}`,
      value: 'v'.repeat(150),
    }));
    const crowded = { ...alert, fields };
    const text = formatTelegramMessage(crowded);
    expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(text).toMatch(/… \d+ more fields/);
    expect(text).toContain('<b>Field 0:</b>');
    await notifier().send(crowded);
    expect(fake.messages).toHaveLength(1);
  });

  it('never cuts an emoji in half', async () => {
    const emoji = { ...alert, body: '🙂'.repeat(3000), fields: [] };
    const text = formatTelegramMessage(emoji);
    expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });

  it('waits retry_after on 429 and delivers once', async () => {
    fake.rateLimitNext(3, 2);
    const receipt = await notifier().send(alert);
    expect(receipt.attempts).toBe(3);
    expect(sleeps).toEqual([3000, 3000]);
    expect(fake.messages).toHaveLength(1);
  });

  it('retries a 5xx with backoff', async () => {
    fake.failNext(502);
    const receipt = await notifier({ baseDelayMs: 100 }).send(alert);
    expect(receipt.attempts).toBe(2);
    expect(sleeps).toEqual([75]);
    expect(fake.messages).toHaveLength(1);
  });

  it('gives up after maxAttempts', async () => {
    fake.rateLimitNext(1, 5);
    const error = await failure(notifier({ maxAttempts: 2 }).send(alert));
    expect(error.code).toBe('rate-limit');
    expect(fake.server.requests).toHaveLength(2);
  });

  it('never sends twice after an ambiguous failure', async () => {
    fake.acceptThenDropNext();
    const error = await failure(notifier().send(alert));
    expect(error.code).toBe('ambiguous');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/may have been delivered/);
    // The transport's error is kept as the cause, without the URL that holds the token.
    expect(inspect(error, { depth: 5 })).not.toContain('SECRET');
    expect(fake.messages).toHaveLength(1);
    expect(fake.server.requests).toHaveLength(1);
  });

  it('names TELEGRAM_BOT_TOKEN for a bad token and never shows the token', async () => {
    const error = await failure(notifier({ botToken: '999:WRONG-SECRET' }).send(alert));
    expect(error).toMatchObject({ code: 'auth', status: 401, variable: 'TELEGRAM_BOT_TOKEN' });
    expect(error.message).toContain('TELEGRAM_BOT_TOKEN');
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toContain('SECRET');
  });

  it('names TELEGRAM_CHAT_ID when the chat does not exist', async () => {
    const error = await failure(notifier({ chatId: '42' }).send(alert));
    expect(error).toMatchObject({ code: 'not-found', variable: 'TELEGRAM_CHAT_ID' });
    expect(error.message).toContain('chat not found');
  });

  it('retries a refused connection, then reports a network error', async () => {
    const url = fake.url;
    await fake.close();
    const error = await failure(notifier({ apiUrl: url, maxAttempts: 2 }).send(alert));
    expect(error.code).toBe('network');
    expect(error.message).toContain('ECONNREFUSED');
    expect(inspect(error, { depth: 5 })).not.toContain('SECRET');
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(sleeps).toHaveLength(1);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await failure(notifier().send(alert, { signal: controller.signal }));
    expect(error.code).toBe('aborted');
  });
});
