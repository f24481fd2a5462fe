import { type DeliveryOptions, deliver, readJson } from './deliver.js';
import { headline, truncate } from './format.js';
import type { DeliveryReceipt, Notification, Notifier, SendOptions, Severity } from './notification.js';
import { NotifyError } from './notify-error.js';

/** Options of {@link createDiscordNotifier}. */
export interface DiscordNotifierOptions extends DeliveryOptions {
  /** `https://discord.com/api/webhooks/<id>/<token>`: a secret, never logged. */
  webhookUrl: string;
}

/** Embed colours: red, orange, blue by severity; green when resolved. */
export const DISCORD_COLORS: Record<Severity | 'resolved', number> = {
  critical: 0xe74c3c,
  warning: 0xf39c12,
  info: 0x3498db,
  resolved: 0x2ecc71,
};

/** Discord's limits on a webhook message (characters). */
export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fieldName: 256,
  fieldValue: 1024,
  fields: 25,
  embedTotal: 6000,
};

/**
 * Escapes text for Discord's markdown (embed titles, descriptions and fields render it), so a VM
 * named `_old_ *test*` or `<@everyone>` shows as written: a backslash before each markdown character
 * (not before a `_` inside a word such as `OSD_DOWN`, which Discord leaves alone), and before `#`,
 * `-` or `1.` that would start a heading or a list at the start of a line.
 */
export function escapeDiscordMarkdown(text: string): string {
  return text
    .replace(/[\\*~`|[\]<>]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\$&')
    .replace(/^(\s*)([#-])/gm, '$1\\$2')
    .replace(/^(\s*\d+)\./gm, '$1\\.');
}

/** {@link truncate} for escaped text: never leaves a lone backslash that would escape the `…`. */
function truncateEscaped(text: string, limit: number): string {
  const cut = truncate(text, limit);
  if (cut === text) return cut;
  const backslashes = /\\*…$/.exec(cut)?.[0].length ?? 1;
  return (backslashes - 1) % 2 === 1 ? `${cut.slice(0, -2)}…` : cut;
}

/** The webhook body of a notification: one embed, within Discord's limits, with its text escaped. */
export function formatDiscordMessage(notification: Notification): Record<string, unknown> {
  const title = truncateEscaped(escapeDiscordMarkdown(headline(notification)), DISCORD_LIMITS.title);
  const links = (notification.links ?? [])
    .map((link) => `[${escapeDiscordMarkdown(link.label)}](${link.url.replace(/\)/g, '%29')})`)
    .join(' · ');
  // The whole embed must stay under 6000 characters: the body gets up to half when there are fields.
  let budget = DISCORD_LIMITS.embedTotal - title.length;
  const hasFields = (notification.fields ?? []).length > 0;
  const descriptionLimit = Math.min(DISCORD_LIMITS.description, hasFields ? Math.floor(budget / 2) : budget);
  const description = truncateEscaped(
    [escapeDiscordMarkdown(notification.body), links].filter(Boolean).join('\n\n'),
    descriptionLimit,
  );
  budget -= description.length;
  const fields: Array<{ name: string; value: string; inline: boolean }> = [];
  for (const field of (notification.fields ?? []).slice(0, DISCORD_LIMITS.fields)) {
    const name = truncateEscaped(escapeDiscordMarkdown(field.name || '-'), DISCORD_LIMITS.fieldName);
    const value = truncateEscaped(
      escapeDiscordMarkdown(field.value || '-'),
      Math.min(DISCORD_LIMITS.fieldValue, budget - name.length),
    );
    if (budget - name.length - value.length < 0 || value.length === 0) break;
    budget -= name.length + value.length;
    fields.push({ name, value, inline: value.length <= 40 });
  }
  const embed: Record<string, unknown> = {
    title,
    description,
    color: DISCORD_COLORS[notification.state === 'resolved' ? 'resolved' : notification.severity],
    fields,
    timestamp: new Date().toISOString(),
  };
  if (notification.links?.[0]) embed.url = notification.links[0].url;
  return { embeds: [embed], allowed_mentions: { parse: [] } };
}

interface DiscordResponse {
  id?: string;
  message?: string;
  code?: number;
  retry_after?: number;
}

/**
 * Sends notifications to a Discord channel through a webhook (`?wait=true`, so Discord confirms
 * each message with its id).
 */
export function createDiscordNotifier(options: DiscordNotifierOptions): Notifier {
  const url = new URL(options.webhookUrl);
  url.searchParams.set('wait', 'true');
  return {
    channel: 'discord',
    async send(notification: Notification, sendOptions: SendOptions = {}): Promise<DeliveryReceipt> {
      const { value, attempts } = await deliver(
        'discord',
        { method: 'POST', url: url.toString(), json: formatDiscordMessage(notification) },
        interpretDiscord,
        { ...options, ...sendOptions },
      );
      return { channel: 'discord', messageId: value, attempts };
    },
  };
}

async function interpretDiscord(response: Response): Promise<string | undefined | NotifyError> {
  const body = (await readJson(response)) as DiscordResponse | undefined;
  if (response.ok) return body?.id;
  const status = response.status;
  const detail = body?.message ?? `HTTP ${status}`;
  const base = { channel: 'discord', status, cause: body };
  if (status === 429) {
    const header = response.headers.get('retry-after') ?? response.headers.get('x-ratelimit-reset-after');
    const seconds = body?.retry_after ?? (header === null ? undefined : Number(header));
    return new NotifyError({
      ...base,
      code: 'rate-limit',
      message: `Discord rate limit: ${detail}.`,
      ...(seconds === undefined || Number.isNaN(seconds) ? {} : { retryAfterMs: Math.ceil(seconds * 1000) }),
    });
  }
  if (status === 401 || status === 403 || status === 404) {
    return new NotifyError({
      ...base,
      code: status === 404 ? 'not-found' : 'auth',
      variable: 'DISCORD_WEBHOOK_URL',
      message: `Discord rejected the webhook (${detail}): it was deleted or the URL is wrong. Create a webhook in the channel's settings and set DISCORD_WEBHOOK_URL.`,
    });
  }
  if (status >= 500)
    return new NotifyError({ ...base, code: 'server', message: `Discord server error: ${detail}.` });
  return new NotifyError({
    ...base,
    code: 'invalid-request',
    message: `Discord rejected the message: ${detail}.`,
  });
}
