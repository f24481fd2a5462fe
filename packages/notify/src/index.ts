/**
 * @module @haia/notify
 * One `Notifier` interface over Telegram, Discord and ntfy, with retries that never send twice.
 */
export { createNotifiers, type NotifiersConfig } from './create-notifiers.js';
export type { DeliveryOptions } from './deliver.js';
export {
  createDiscordNotifier,
  DISCORD_COLORS,
  DISCORD_LIMITS,
  type DiscordNotifierOptions,
  escapeDiscordMarkdown,
  formatDiscordMessage,
} from './discord.js';
export { headline } from './format.js';
export { type Logger, noopLogger } from './logger.js';
export type {
  AlertState,
  DeliveryReceipt,
  Notification,
  Notifier,
  SendOptions,
  Severity,
} from './notification.js';
export { NotifyError, type NotifyErrorCode, type NotifyErrorOptions } from './notify-error.js';
export {
  createNtfyNotifier,
  formatNtfyMessage,
  NTFY_MESSAGE_LIMIT_BYTES,
  NTFY_PRIORITY,
  NTFY_TITLE_LIMIT,
  type NtfyNotifierOptions,
  splitTopicUrl,
} from './ntfy.js';
export {
  createTelegramNotifier,
  escapeTelegramHtml,
  formatTelegramMessage,
  TELEGRAM_TEXT_LIMIT,
  type TelegramNotifierOptions,
} from './telegram.js';
