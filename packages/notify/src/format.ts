import type { Notification, Severity } from './notification.js';

const SEVERITY_EMOJI: Record<Severity, string> = { critical: '🔴', warning: '🟠', info: '🔵' };

/** The emoji that leads a notification's title: green when resolved, else by severity. */
export function stateEmoji(notification: Notification): string {
  return notification.state === 'resolved' ? '✅' : SEVERITY_EMOJI[notification.severity];
}

/** The title with its state: `🔴 VM 102 stopped` or `✅ Resolved: VM 102 stopped`. */
export function headline(notification: Notification): string {
  const prefix = notification.state === 'resolved' ? 'Resolved: ' : '';
  return `${stateEmoji(notification)} ${prefix}${notification.title}`;
}

/** Cuts `text` to at most `limit` characters, ending with `…` when it was cut (never inside an emoji's surrogate pair). */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = Math.max(0, limit - 1);
  if (end > 0 && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * Shortens the body until `render(body)` fits `limit` (render escapes and frames it, so the body is
 * cut before escaping and the markup stays valid).
 */
export function fitBody(body: string, limit: number, render: (body: string) => string): string {
  let rendered = render(body);
  if (rendered.length <= limit) return rendered;
  let length = body.length;
  while (length > 0) {
    length = Math.max(0, length - (rendered.length - limit) - 1);
    rendered = render(truncate(body, length));
    if (rendered.length <= limit) return rendered;
  }
  return render('');
}
