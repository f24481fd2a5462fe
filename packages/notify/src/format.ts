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

/** The length of `text` in UTF-8 bytes (a lone surrogate counts as the 3 bytes of U+FFFD it becomes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const codePoint = char.codePointAt(0) ?? 0;
    bytes += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Cuts `text` to at most `limit` UTF-8 bytes, ending with `…` when it was cut (never inside a character). */
export function truncateUtf8(text: string, limit: number): string {
  if (utf8Length(text) <= limit) return text;
  const room = limit - utf8Length('…');
  if (room < 0) return '';
  let kept = '';
  let bytes = 0;
  for (const char of text) {
    bytes += utf8Length(char);
    if (bytes > room) break;
    kept += char;
  }
  return `${kept}…`;
}
