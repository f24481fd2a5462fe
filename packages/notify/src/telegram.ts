import { type DeliveryOptions, deliver, readJson } from './deliver.js';
import { fitBody, headline, truncate } from './format.js';
import type { DeliveryReceipt, Notification, Notifier, SendOptions } from './notification.js';
import { NotifyError } from './notify-error.js';

/** Options of {@link createTelegramNotifier}. */
export interface TelegramNotifierOptions extends DeliveryOptions {
  botToken: string;
  chatId: string;
  /** Bot API endpoint (default `https://api.telegram.org`; a self-hosted Bot API server or a test fake). */
  apiUrl?: string;
}

/** Telegram's limit on one message's text. */
export const TELEGRAM_TEXT_LIMIT = 4096;

/** Escapes text for Telegram's HTML parse mode. */
export function escapeTelegramHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The HTML text of a notification, at most 4096 characters. */
export function formatTelegramMessage(notification: Notification): string {
  let head = `<b>${escapeTelegramHtml(headline(notification))}</b>`;
  const fieldLines = (notification.fields ?? []).map(
    (field) => `<b>${escapeTelegramHtml(field.name)}:</b> ${escapeTelegramHtml(field.value)}`,
  );
  let links = (notification.links ?? [])
    .map(
      (link) =>
        `<a href="${escapeTelegramHtml(link.url).replace(/"/g, '&quot;')}">${escapeTelegramHtml(link.label)}</a>`,
    )
    .join(' · ');
  let fields = fieldLines.join('\n');
  const render = (body: string) =>
    [head, escapeTelegramHtml(body), fields, links].filter((part) => part.length > 0).join('\n\n');
  // Even without a body, too many fields (or links, or a huge title) would make Telegram refuse the
  // message: drop fields from the end (saying how many), then the links, then cut the title.
  let kept = fieldLines.length;
  while (render('').length > TELEGRAM_TEXT_LIMIT && kept > 0) {
    kept--;
    fields = [...fieldLines.slice(0, kept), `… ${fieldLines.length - kept} more fields`].join('\n');
  }
  if (render('').length > TELEGRAM_TEXT_LIMIT) links = '';
  if (render('').length > TELEGRAM_TEXT_LIMIT) {
    head = `<b>${escapeTelegramHtml(truncate(headline(notification), 500))}</b>`;
  }
  return fitBody(notification.body, TELEGRAM_TEXT_LIMIT, render);
}

interface TelegramResponse {
  ok?: boolean;
  result?: { message_id?: number };
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

/**
 * Sends notifications with the Telegram Bot API's `sendMessage` (HTML formatting).
 *
 * @example
 * const telegram = createTelegramNotifier({ botToken, chatId });
 * await telegram.send({ title: 'VM 102 stopped', body: 'It was running 5 minutes ago.', severity: 'warning', state: 'firing' });
 */
export function createTelegramNotifier(options: TelegramNotifierOptions): Notifier {
  const apiUrl = (options.apiUrl ?? 'https://api.telegram.org').replace(/\/+$/, '');
  return {
    channel: 'telegram',
    async send(notification: Notification, sendOptions: SendOptions = {}): Promise<DeliveryReceipt> {
      const { value, attempts } = await deliver(
        'telegram',
        {
          method: 'POST',
          url: `${apiUrl}/bot${options.botToken}/sendMessage`,
          json: {
            chat_id: options.chatId,
            text: formatTelegramMessage(notification),
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
          },
        },
        interpretTelegram,
        { ...options, ...sendOptions },
      );
      return { channel: 'telegram', messageId: value, attempts };
    },
  };
}

async function interpretTelegram(response: Response): Promise<string | undefined | NotifyError> {
  const body = (await readJson(response)) as TelegramResponse | undefined;
  if (response.ok && body?.ok) return body.result?.message_id?.toString();
  const description = body?.description ?? `HTTP ${response.status}`;
  const status = response.status;
  const base = { channel: 'telegram', status, cause: body };
  if (status === 429) {
    const seconds = body?.parameters?.retry_after;
    return new NotifyError({
      ...base,
      code: 'rate-limit',
      message: `Telegram rate limit: ${description}.`,
      ...(seconds === undefined ? {} : { retryAfterMs: seconds * 1000 }),
    });
  }
  if (status === 401 || status === 404) {
    return new NotifyError({
      ...base,
      code: 'auth',
      variable: 'TELEGRAM_BOT_TOKEN',
      message: `Telegram rejected the bot token (${description}): check TELEGRAM_BOT_TOKEN (from @BotFather).`,
    });
  }
  if (status === 400 && /chat not found/i.test(description)) {
    return new NotifyError({
      ...base,
      code: 'not-found',
      variable: 'TELEGRAM_CHAT_ID',
      message: `Telegram: ${description}. Check TELEGRAM_CHAT_ID and send the bot a message first.`,
    });
  }
  if (status === 403) {
    return new NotifyError({
      ...base,
      code: 'auth',
      variable: 'TELEGRAM_CHAT_ID',
      message: `Telegram refused to post (${description}): make sure the bot is a member of the chat in TELEGRAM_CHAT_ID and is not blocked.`,
    });
  }
  if (status >= 500) {
    return new NotifyError({ ...base, code: 'server', message: `Telegram server error: ${description}.` });
  }
  return new NotifyError({
    ...base,
    code: 'invalid-request',
    message: `Telegram rejected the message: ${description}.`,
  });
}
