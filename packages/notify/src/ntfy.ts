import { type DeliveryOptions, deliver, readJson } from './deliver.js';
import { truncate, truncateUtf8, utf8Length } from './format.js';
import type { DeliveryReceipt, Notification, Notifier, SendOptions, Severity } from './notification.js';
import { NotifyError } from './notify-error.js';

/** Options of {@link createNtfyNotifier}. */
export interface NtfyNotifierOptions extends DeliveryOptions {
  /** The topic URL, e.g. `https://ntfy.sh/my-homelab` or `https://ntfy.example/sub/path/topic`. */
  url: string;
  /** An access token for a protected topic. */
  token?: string;
}

/** ntfy priorities (1 min .. 5 max) by severity; resolved notices are default priority. */
export const NTFY_PRIORITY: Record<Severity | 'resolved', number> = {
  critical: 5,
  warning: 4,
  info: 3,
  resolved: 3,
};

const NTFY_TAGS: Record<Severity | 'resolved', string> = {
  critical: 'rotating_light',
  warning: 'warning',
  info: 'information_source',
  resolved: 'white_check_mark',
};

/**
 * ntfy's default `message-size-limit`, in UTF-8 bytes. A message of this size or more is not shown:
 * ntfy stores it as a file ("You received a file: attachment.txt"), or refuses it when attachments are
 * off. Messages are kept below it.
 */
export const NTFY_MESSAGE_LIMIT_BYTES = 4096;

/** Longest title sent, in characters (so at most 750 bytes of UTF-8, well within ntfy's title limit). */
export const NTFY_TITLE_LIMIT = 250;

/** Splits a topic URL into the server's base URL (for JSON publishing) and the topic. */
export function splitTopicUrl(topicUrl: string): { base: string; topic: string } {
  const url = new URL(topicUrl);
  const segments = url.pathname.split('/').filter(Boolean);
  const topic = segments.pop();
  if (!topic) throw new Error('NTFY_URL must include the topic, like https://ntfy.sh/my-topic');
  url.pathname = `/${segments.join('/')}`;
  url.search = '';
  return { base: url.toString().replace(/\/?$/, '/'), topic };
}

/**
 * The message text of a notification (body, then field lines), below {@link NTFY_MESSAGE_LIMIT_BYTES}:
 * too many fields are dropped from the end (saying how many), then the body is cut to what is left.
 */
function ntfyText(notification: Notification): string {
  const limit = NTFY_MESSAGE_LIMIT_BYTES - 1;
  const fieldLines = (notification.fields ?? []).map((field) => `${field.name}: ${field.value}`);
  let fields = fieldLines.join('\n');
  let kept = fieldLines.length;
  while (utf8Length(fields) > limit && kept > 0) {
    kept--;
    fields = [...fieldLines.slice(0, kept), `… ${fieldLines.length - kept} more fields`].join('\n');
  }
  const room = fields ? limit - utf8Length(fields) - utf8Length('\n\n') : limit;
  return [truncateUtf8(notification.body, room), fields].filter(Boolean).join('\n\n');
}

/** The JSON publish body of a notification; the message stays below ntfy's 4096-byte limit. */
export function formatNtfyMessage(notification: Notification, topic: string): Record<string, unknown> {
  const level = notification.state === 'resolved' ? 'resolved' : notification.severity;
  const title = notification.state === 'resolved' ? `Resolved: ${notification.title}` : notification.title;
  const message: Record<string, unknown> = {
    topic,
    title: truncate(title, NTFY_TITLE_LIMIT),
    message: ntfyText(notification),
    priority: NTFY_PRIORITY[level],
    tags: [NTFY_TAGS[level]],
  };
  const [first, ...rest] = notification.links ?? [];
  if (first) message.click = first.url;
  if (rest.length > 0)
    message.actions = rest.slice(0, 3).map((link) => ({ action: 'view', label: link.label, url: link.url }));
  return message;
}

/** Sends notifications to an ntfy topic (JSON publishing, with priority and tags). */
export function createNtfyNotifier(options: NtfyNotifierOptions): Notifier {
  const { base, topic } = splitTopicUrl(options.url);
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  return {
    channel: 'ntfy',
    async send(notification: Notification, sendOptions: SendOptions = {}): Promise<DeliveryReceipt> {
      const { value, attempts } = await deliver(
        'ntfy',
        { method: 'POST', url: base, headers, json: formatNtfyMessage(notification, topic) },
        interpretNtfy,
        { ...options, ...sendOptions },
      );
      return { channel: 'ntfy', messageId: value, attempts };
    },
  };
}

async function interpretNtfy(response: Response): Promise<string | undefined | NotifyError> {
  const body = (await readJson(response)) as { id?: string; error?: string; code?: number } | undefined;
  if (response.ok) return body?.id;
  const status = response.status;
  const detail = body?.error ?? `HTTP ${status}`;
  const base = { channel: 'ntfy', status, cause: body };
  if (status === 429) {
    const header = response.headers.get('retry-after');
    return new NotifyError({
      ...base,
      code: 'rate-limit',
      message: `ntfy rate limit: ${detail}.`,
      ...(header && Number.isFinite(Number(header)) ? { retryAfterMs: Number(header) * 1000 } : {}),
    });
  }
  if (status === 401 || status === 403) {
    return new NotifyError({
      ...base,
      code: 'auth',
      variable: 'NTFY_TOKEN',
      message: `ntfy refused to publish (${detail}): set NTFY_TOKEN to a token with write access to the topic.`,
    });
  }
  if (status === 404) {
    return new NotifyError({
      ...base,
      code: 'not-found',
      variable: 'NTFY_URL',
      message: `ntfy answered 404 (${detail}): check NTFY_URL (https://server/topic).`,
    });
  }
  if (status >= 500)
    return new NotifyError({ ...base, code: 'server', message: `ntfy server error: ${detail}.` });
  return new NotifyError({
    ...base,
    code: 'invalid-request',
    message: `ntfy rejected the message: ${detail}.`,
  });
}
