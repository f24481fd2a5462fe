/** How bad it is. Quiet hours hold back everything but `critical`. */
export type Severity = 'critical' | 'warning' | 'info';

/** Whether the problem started (or is still on) or is over. */
export type AlertState = 'firing' | 'resolved';

/** One message to send to every channel. */
export interface Notification {
  title: string;
  /** Plain text; each channel escapes and formats it. */
  body: string;
  severity: Severity;
  state: AlertState;
  /** Links shown under the body (the first is the click target where the channel has one). */
  links?: Array<{ label: string; url: string }>;
  /** Short facts shown as name/value pairs. */
  fields?: Array<{ name: string; value: string }>;
}

/** What a channel reports after a delivery. */
export interface DeliveryReceipt {
  channel: string;
  /** The channel's id of the message, when it returns one. */
  messageId: string | undefined;
  /** How many HTTP attempts it took. */
  attempts: number;
}

/** Options of one `send`. */
export interface SendOptions {
  signal?: AbortSignal;
}

/** A notification channel. */
export interface Notifier {
  /** `telegram`, `discord` or `ntfy`. */
  readonly channel: string;
  /** Delivers `notification`; throws a `NotifyError` when it could not. */
  send(notification: Notification, options?: SendOptions): Promise<DeliveryReceipt>;
}
