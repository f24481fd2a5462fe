import type { DeliveryOptions } from './deliver.js';
import { createDiscordNotifier } from './discord.js';
import type { Notifier } from './notification.js';
import { createNtfyNotifier } from './ntfy.js';
import { createTelegramNotifier } from './telegram.js';

/** The channels to build; a channel is built only when its settings are present (as `@haia/config` gives them). */
export interface NotifiersConfig {
  telegram?: { botToken: string; chatId: string; apiUrl?: string } | undefined;
  discord?: { webhookUrl: string } | undefined;
  ntfy?: { url: string; token?: string | undefined } | undefined;
}

/** Builds every configured notifier, in the order telegram, discord, ntfy. */
export function createNotifiers(config: NotifiersConfig, options: DeliveryOptions = {}): Notifier[] {
  const notifiers: Notifier[] = [];
  if (config.telegram) notifiers.push(createTelegramNotifier({ ...options, ...config.telegram }));
  if (config.discord) notifiers.push(createDiscordNotifier({ ...options, ...config.discord }));
  if (config.ntfy) {
    const { token, url } = config.ntfy;
    notifiers.push(createNtfyNotifier({ ...options, url, ...(token ? { token } : {}) }));
  }
  return notifiers;
}
